import Foundation

/// The checkpoints of one stage key, in the directory the runner keeps for that key across executions
/// (`StageContext.resumeDirectory`). Each checkpoint is a directory `step-<N>` that becomes visible only
/// when complete (written as `step-<N>.partial`, then renamed), and `latest` names the newest one
/// (written to a temporary file, then renamed), so a kill at any instant leaves either the previous
/// checkpoint or the new one, never a half-written one that looks valid.
public struct ResumeCheckpoints {
    public let root: String
    static let pointerFile = "latest"

    public init(root: String) { self.root = root }

    /// The newest complete checkpoint, if any.
    public func latest() -> (step: Int, path: String)? {
        guard let data = FileManager.default.contents(atPath: root + "/" + Self.pointerFile),
              let name = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines),
              name.hasPrefix("step-"), let step = Int(name.dropFirst(5)), step > 0 else { return nil }
        let path = root + "/" + name
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else { return nil }
        return (step, path)
    }

    /// Writes a checkpoint for `step` through `body` (which fills the directory it is given), publishes
    /// it as the latest, and removes the older ones.
    public func write(step: Int, _ body: (String) throws -> Void) throws {
        let fm = FileManager.default
        let name = String(format: "step-%09d", step)
        let partial = root + "/" + name + ".partial"
        let final = root + "/" + name
        try? fm.removeItem(atPath: partial)
        try fm.createDirectory(atPath: partial, withIntermediateDirectories: true)
        try body(partial)
        try? fm.removeItem(atPath: final)
        guard rename(partial, final) == 0 else {
            throw StageError.failed("cannot publish checkpoint \(final): \(String(cString: strerror(errno)))")
        }
        let pointer = root + "/" + Self.pointerFile
        let temporary = pointer + ".partial"
        try Data((name + "\n").utf8).write(to: URL(fileURLWithPath: temporary))
        guard rename(temporary, pointer) == 0 else {
            throw StageError.failed("cannot publish checkpoint pointer \(pointer): \(String(cString: strerror(errno)))")
        }
        for other in (try? fm.contentsOfDirectory(atPath: root)) ?? [] where other.hasPrefix("step-") && other != name {
            try? fm.removeItem(atPath: root + "/" + other)
        }
    }
}
