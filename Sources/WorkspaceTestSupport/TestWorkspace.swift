import Commands
import Foundation

/// A throw-away workspace directory for end-to-end tests: write files, run `pipe` in it, inspect
/// the store. Removed on `remove()` (tests call it in `defer`).
public final class TestWorkspace: @unchecked Sendable {
    public let root: String

    public init(_ label: String = "pipe-e2e") throws {
        root = try Self.temporaryDirectory(label)
    }

    /// A fresh temporary directory (for tests that need only a directory).
    public static func temporaryDirectory(_ label: String = "pipe-test") throws -> String {
        let path = NSTemporaryDirectory() + "\(label)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// A workspace holding the 6-stage command pipeline (tokenise → sft → pairs → rm → ppo → evaluate),
    /// with its `stages/` declarations, `data/corpus.txt` and `pipelines/rlhf.yaml`.
    public static func rlhfShaped(_ label: String = "pipe-e2e", ppoSleepSeconds: Double = 0) throws -> TestWorkspace {
        let workspace = try TestWorkspace(label)
        try CommandPipelineFixture.write(into: workspace.root, ppoSleepSeconds: ppoSleepSeconds)
        return workspace
    }

    public func path(_ relative: String) -> String { root + "/" + relative }

    public func write(_ relative: String, _ text: String) throws {
        let url = URL(fileURLWithPath: path(relative))
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }

    public func read(_ relative: String) throws -> String {
        try String(contentsOfFile: path(relative), encoding: .utf8)
    }

    public func exists(_ relative: String) -> Bool { FileManager.default.fileExists(atPath: path(relative)) }

    /// Non-hidden entries of a directory (sorted), or [] if it does not exist.
    public func list(_ relative: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path(relative))) ?? []).filter { !$0.hasPrefix(".") }.sorted()
    }

    /// Sets a file's modification time to now without changing its bytes (like `touch`).
    public func touch(_ relative: String) throws {
        try FileManager.default.setAttributes([.modificationDate: Date()], ofItemAtPath: path(relative))
    }

    /// Stage names the fixture's commands appended to the ledger (one line per execution).
    public func ledger() -> [String] {
        let text = (try? read(CommandPipelineFixture.ledgerFile)) ?? ""
        return text.split(separator: "\n").map { String($0.split(separator: " ").first ?? "") }
    }

    public func clearLedger() throws { try write(CommandPipelineFixture.ledgerFile, "") }

    /// Environment that makes the fixture's commands write the ledger.
    public var ledgerEnvironment: [String: String] { ["PIPE_LEDGER": path(CommandPipelineFixture.ledgerFile)] }

    public func remove() { try? FileManager.default.removeItem(atPath: root) }
}
