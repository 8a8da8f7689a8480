import Foundation
import Pipeline
import StageHost
import Stages

/// A `StageContext` for tests: inputs and outputs are plain directories, events are kept in memory.
/// Lets a built-in stage run in-process, without the runner, on data a test generated. Params are the
/// kind's declared defaults (the repository's `stages/<kind>.yaml`, read by the real loader) with the
/// given ones overriding them; an override the declaration lacks is an error.
public final class DirectoryStageContext: StageContext, @unchecked Sendable {
    public let kind: String
    public let stageName: String
    public let seed: UInt64
    public let params: StageParams
    public let scratchPath: String
    public let threads: Int
    /// The key's resume directory (nil: no checkpoints), as the runner would give it.
    public var resumeDirectory: String?
    private let inputs: [String: String]
    private let outputs: [String: String]
    private let lock = NSLock()
    private var _logLines: [String] = []
    private var _metrics: [(step: Int, name: String, value: Double)] = []

    /// - Parameters:
    ///   - root: a fresh directory; outputs are created under `root/outputs/<name>`.
    public init(kind: String, params: [String: StageParamValue], inputs: [String: String],
                outputs: [String], root: String, seed: UInt64 = 42, threads: Int = 1, resumeDirectory: String? = nil) throws {
        self.kind = kind
        self.stageName = kind
        self.seed = seed
        self.params = try Self.declaredParams(kind: kind, overrides: params)
        self.resumeDirectory = resumeDirectory
        self.inputs = inputs
        self.threads = threads
        var outs: [String: String] = [:]
        for name in outputs {
            let path = root + "/outputs/" + name
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            outs[name] = path
        }
        self.outputs = outs
        self.scratchPath = root + "/scratch"
        try FileManager.default.createDirectory(atPath: scratchPath, withIntermediateDirectories: true)
    }

    public func inputPath(_ name: String) throws -> String {
        guard let path = inputs[name] else { throw StageError.badInput(name, "not wired in this test") }
        return path
    }

    public func outputPath(_ name: String) throws -> String {
        guard let path = outputs[name] else { throw StageError.failed("output '\(name)' not declared in this test") }
        return path
    }

    public func progress(phase: String, step: Int, total: Int?, message: String) {}

    public func metrics(step: Int, _ values: [(String, Double)]) {
        lock.lock(); defer { lock.unlock() }
        for (name, value) in values { _metrics.append((step, name, value)) }
    }

    public func log(_ line: String) {
        lock.lock(); defer { lock.unlock() }
        _logLines.append(line)
    }

    public var logLines: [String] { lock.lock(); defer { lock.unlock() }; return _logLines }

    /// The series of one metric, in reporting order.
    public func series(_ name: String) -> [(step: Int, value: Double)] {
        lock.lock(); defer { lock.unlock() }
        return _metrics.filter { $0.name == name }.map { ($0.step, $0.value) }
    }

    /// The repository checkout these tests belong to (holds `stages/`).
    public static var repositoryRoot: String {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }

    /// The declared defaults of a kind with overrides; a kind without a declaration (a test-only
    /// built-in) gets exactly the given params.
    public static func declaredParams(kind: String, overrides: [String: StageParamValue]) throws -> StageParams {
        let workspace = Workspace(root: repositoryRoot)
        guard workspace.declaredKinds().contains(kind) else { return StageParams(overrides) }
        return try DeclaredParams.defaults(kind: kind, workspace: workspace, overrides: overrides)
    }

    /// A fresh temporary directory for a test.
    public static func temporaryDirectory(_ label: String = "pipe-test") throws -> String {
        let path = NSTemporaryDirectory() + "\(label)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}
