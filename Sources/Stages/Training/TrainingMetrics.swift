#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// The per-step metrics writer every training stage uses. For each `record(step:_:)` it
/// - appends one line to `metrics.jsonl`: `{"step":N,"<name>":value,…}` in the given order, numbers in
///   Swift's shortest round-trip form, non-finite values as `null`;
/// - appends one event to the TensorBoard event file (`tensorboard --logdir <directory>`);
/// - forwards the values to the stage context (live view and the run record).
///
/// Determinism: both files are part of an output artifact, whose digest must depend only on the
/// stage's inputs, params and seed. So the event file has a fixed name (no time or host) and its
/// `wall_time` is the step number in seconds since the epoch (TensorBoard's default x-axis is the
/// step; its "relative"/"wall" axes then also count steps). Real elapsed time belongs to the runner's
/// run record and the stage log, never to the artifact.
public final class TrainingMetrics {
    public let directory: String
    private let jsonl: UnsafeMutablePointer<FILE>
    private let events: EventFileWriter
    private let context: StageContext?

    /// Creates `directory` (if needed), `metrics.jsonl` and the event file. With `continuing`, a
    /// directory of earlier copies of both files (a checkpoint's), they start as those copies and grow.
    public init(directory: String, context: StageContext? = nil, continuing: String? = nil) throws {
        self.directory = directory
        self.context = context
        if mkdir(directory, 0o755) != 0 && errno != EEXIST {
            throw StageError.failed("cannot create \(directory): \(String(cString: strerror(errno)))")
        }
        if let continuing {
            for name in [Self.fileName, EventFileWriter.fileName] {
                try? FileManager.default.removeItem(atPath: directory + "/" + name)
                do { try FileManager.default.copyItem(atPath: continuing + "/" + name, toPath: directory + "/" + name) } catch {
                    throw StageError.failed("cannot continue metrics from \(continuing)/\(name): \(error.localizedDescription)")
                }
            }
        }
        guard let handle = fopen(directory + "/" + Self.fileName, continuing == nil ? "wb" : "ab") else {
            throw StageError.failed("cannot create \(directory)/\(Self.fileName): \(String(cString: strerror(errno)))")
        }
        jsonl = handle
        events = try EventFileWriter(directory: directory, append: continuing != nil)
    }

    public static let fileName = "metrics.jsonl"

    /// Copies both files as they are now into `directory` (for a checkpoint).
    public func snapshot(into directory: String) throws {
        close()
        for name in [Self.fileName, EventFileWriter.fileName] {
            try FileManager.default.copyItem(atPath: self.directory + "/" + name, toPath: directory + "/" + name)
        }
    }

    deinit { fclose(jsonl) }

    public func record(step: Int, _ values: [(String, Double)]) throws {
        let line = Self.jsonLine(step: step, values)
        let bytes = Array(line.utf8)
        guard bytes.withUnsafeBytes({ fwrite($0.baseAddress, 1, $0.count, jsonl) }) == bytes.count else {
            throw StageError.failed("write to \(directory)/metrics.jsonl failed")
        }
        try events.write(step: step, wallTime: Double(step), scalars: values)
        // Flushed per step so `tail -f` and a live TensorBoard see progress.
        fflush(jsonl)
        events.flush()
        context?.metrics(step: step, values)
    }

    /// Flushes both files (also done per record; call at the end for clarity).
    public func close() {
        fflush(jsonl)
        events.flush()
    }

    public static func jsonLine(step: Int, _ values: [(String, Double)]) -> String {
        var line = "{\"step\":\(step)"
        for (name, value) in values {
            line += "," + JSONText.quoted(name) + ":" + JSONText.number(value)
        }
        return line + "}\n"
    }
}
