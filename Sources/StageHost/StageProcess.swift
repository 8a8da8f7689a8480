import Foundation
import StageWire
import Stages
import Tensor

/// The child side of a built-in stage: what `pipe _stage invocation.json` does.
public enum StageProcess {
    /// All built-in kinds this binary can run: the ML stages plus the runner's own self-test stage.
    public static var registry: [any BuiltinStage.Type] { Builtins.all + [SelfTestStage.self] }

    /// The kind names of `registry`, sorted: what the scheduler is told this binary runs.
    public static var kinds: [String] { registry.map { $0.kind }.sorted() }

    public static func stage(kind: String) -> (any BuiltinStage.Type)? {
        registry.first { $0.kind == kind }
    }

    /// Runs the invocation and returns the process exit status (0 ok, 1 stage error, 2 bad invocation).
    public static func main(invocationPath: String) -> Int32 {
        let invocation: StageInvocation
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: invocationPath))
            invocation = try JSONDecoder().decode(StageInvocation.self, from: data)
        } catch {
            writeStderr("pipe _stage: cannot read invocation \(invocationPath): \(error)\n")
            return 2
        }
        guard let stage = stage(kind: invocation.kind) else {
            writeStderr("pipe _stage: no built-in stage named '\(invocation.kind)' in this pipe binary (known: \(kinds.joined(separator: ", ")))\n")
            return 2
        }
        if let expected = invocation.blasCore, expected.lowercased() != BLAS.kernelSignature.lowercased() {
            writeStderr("error: stage '\(invocation.stageName)': its key was computed for the kernels '\(expected)' but this process runs '\(BLAS.kernelSignature)' (\(BLAS.coreTypeVariable)=\(ProcessInfo.processInfo.environment[BLAS.coreTypeVariable] ?? "unset"), \(DecodeGemm.pathVariable)=\(ProcessInfo.processInfo.environment[DecodeGemm.pathVariable] ?? "unset")); run it on a node like the one `pipe run` ran on, or set both variables the same for `pipe run` and its stages\n")
            return 2
        }
        // Before anything else: USR1 (a Slurm job nearing its limit) must never end the stage.
        CheckpointRequest.shared.installSignalHandler()
        do {
            let context = try EventStageContext(invocation)
            try stage.run(context)
            context.flushProgress()
            return 0
        } catch {
            writeStderr("error: stage '\(invocation.stageName)' (\(invocation.kind)) failed: \(error)\n")
            return 1
        }
    }

    static func writeStderr(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}

/// `StageContext` of a stage process: paths from the invocation, events to the events file, log
/// lines to stdout (which the executor captures into the stage's log artifact).
final class EventStageContext: StageContext, @unchecked Sendable {
    let invocation: StageInvocation
    private let events: EventsFileWriter
    private let lock = NSLock()
    private var lastProgressWrite: ContinuousClock.Instant?
    private var unwrittenProgress: StageEvent?
    /// Progress events are throttled: a stage may report every step, the live view redraws ~10×/s.
    private let progressInterval = Duration.milliseconds(100)

    init(_ invocation: StageInvocation) throws {
        self.invocation = invocation
        events = try EventsFileWriter(path: invocation.eventsPath)
        // Start clean: a requeued Slurm job runs again in the staging directory of its first attempt,
        // which may have left partial outputs and scratch files (the log and events are appended to).
        for path in [invocation.scratchPath] + invocation.outputs.keys.sorted().compactMap({ invocation.outputs[$0] }) {
            try Self.emptyDirectory(path)
        }
    }

    /// Creates `path` as an empty directory, removing what a previous attempt left in it.
    static func emptyDirectory(_ path: String) throws {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        if fm.fileExists(atPath: path, isDirectory: &isDirectory) {
            if isDirectory.boolValue {
                for name in try fm.contentsOfDirectory(atPath: path) { try fm.removeItem(atPath: path + "/" + name) }
                return
            }
            try fm.removeItem(atPath: path)
        }
        try fm.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    var kind: String { invocation.kind }
    var stageName: String { invocation.stageName }
    var seed: UInt64 { invocation.seed }
    var params: StageParams { StageParams(invocation.params) }
    var scratchPath: String { invocation.scratchPath }
    var threads: Int { invocation.threads }
    var threadBudgetPath: String? { invocation.threadBudgetPath }
    var resumeDirectory: String? { invocation.resumeDirectory }

    func inputPath(_ name: String) throws -> String {
        guard let path = invocation.inputs[name] else {
            throw StageError.badInput(name, "not wired (inputs: \(invocation.inputs.keys.sorted().joined(separator: ", ")))")
        }
        return path
    }

    func inputSource(_ name: String) -> String? { invocation.inputSources?[name] }

    func outputPath(_ name: String) throws -> String {
        guard let path = invocation.outputs[name] else {
            throw StageError.failed("output '\(name)' is not declared (outputs: \(invocation.outputs.keys.sorted().joined(separator: ", ")))")
        }
        return path
    }

    func progress(phase: String, step: Int, total: Int?, message: String) {
        let event = StageEvent.progress(phase: phase, step: step, total: total, message: message)
        let now = ContinuousClock.now
        lock.lock()
        let due = lastProgressWrite.map { now - $0 >= progressInterval } ?? true
        let isLast = total.map { step >= $0 } ?? false
        if due || isLast {
            lastProgressWrite = now
            unwrittenProgress = nil
            lock.unlock()
            events.append(event)
        } else {
            unwrittenProgress = event
            lock.unlock()
        }
    }

    func flushProgress() {
        lock.lock()
        let event = unwrittenProgress
        unwrittenProgress = nil
        lock.unlock()
        if let event { events.append(event) }
    }

    func metrics(step: Int, _ values: [(String, Double)]) {
        events.append(.metrics(step: step, values))
    }

    func log(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}
