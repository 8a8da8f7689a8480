import Foundation
import Stages

/// A tiny built-in that exercises the built-in stage path end to end (invocation file, events,
/// metrics, outputs, failure) without any ML code. Declare it in a workspace as
/// `stages/selftest.yaml` with `builtin: pipe-selftest`.
///
/// Params: `text` (string, written to `out/text.txt`), `steps` (int, progress steps reported),
/// `sleep_ms` (int, pause per step), `fail` (bool, throw after the steps), `pool_tasks` (int: tasks
/// run on the stage's worker pool each step, reported as the metric `selftest/threads`; the log's
/// last line lists the thread counts the pool ran on).
/// Optional input `source`: its files' names are listed in `out/inputs.txt`.
public enum SelfTestStage: BuiltinStage {
    public static let kind = "pipe-selftest"
    /// Test-only: reads its params leniently (absent ones take the documented defaults).
    public static func checkParams(_ params: StageParams) throws {}

    public static func run(_ context: StageContext) throws {
        let text = (try? context.params.string("text")) ?? ""
        let steps = (try? context.params.int("steps")) ?? 3
        let sleepMilliseconds = (try? context.params.int("sleep_ms")) ?? 0
        let shouldFail = (try? context.params.bool("fail")) ?? false
        let poolTasks = max(0, (try? context.params.int("pool_tasks")) ?? 0)
        let pool = context.workerPool()
        for step in 1...max(1, steps) {
            if sleepMilliseconds > 0 { usleep(UInt32(sleepMilliseconds) * 1000) }
            if poolTasks > 0 { pool.run(tasks: poolTasks) { _ in } }
            context.progress(phase: "work", step: step, total: steps, message: "step \(step)")
            var values = [("selftest/value", Double(step) * 0.5)]
            if poolTasks > 0 { values.append(("selftest/threads", Double(pool.threads))) }
            context.metrics(step: step, values)
        }
        context.log("selftest wrote \(text.utf8.count) bytes")
        if poolTasks > 0 { context.log("selftest pool threads: " + pool.threadHistory.map(String.init).joined(separator: " ")) }
        if shouldFail { throw StageError.failed("selftest asked to fail (param fail: true)") }
        let out = try context.outputPath("out")
        try Data(text.utf8).write(to: URL(fileURLWithPath: out + "/text.txt"))
        if let source = try? context.inputPath("source") {
            let names = (try FileManager.default.subpathsOfDirectory(atPath: source)).sorted()
            try Data((names.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: out + "/inputs.txt"))
        }
    }
}
