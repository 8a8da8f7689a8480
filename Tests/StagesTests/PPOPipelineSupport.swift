import Foundation
import PipeTestSupport
import Stages

/// Runs built-in stages in-process, in pipeline order, with the defaults of their `stages/<kind>.yaml`
/// overridden per stage (see `DirectoryStageContext`). Stands in for the runner in tests and the
/// real-data driver.
final class StageChain {
    let root: String
    let seed: UInt64
    let threads: Int
    private(set) var outputs: [String: String] = [:]   // "stage.output" → path
    private(set) var contexts: [String: DirectoryStageContext] = [:]

    /// Reuse a stage's earlier outputs under `root` when they completed (a `.done` marker), for tuning
    /// later stages without retraining earlier ones.
    let reuse: Bool

    init(root: String, seed: UInt64 = 42, threads: Int = 1, reuse: Bool = false) {
        self.root = root; self.seed = seed; self.threads = threads; self.reuse = reuse
    }

    /// Runs one stage. `inputs` maps input names to "stage.output" references or absolute paths.
    @discardableResult
    func run(_ name: String, _ stage: any BuiltinStage.Type, inputs: [String: String], outputs: [String],
             with overrides: [String: StageParamValue] = [:]) throws -> DirectoryStageContext {
        let resolved = try inputs.mapValues { ref -> String in
            if ref.hasPrefix("/") { return ref }
            guard let path = outputs_(ref) else { throw StageError.failed("\(name): unknown input reference \(ref)") }
            return path
        }
        let marker = root + "/" + name + "/.done"
        let finished = reuse && FileManager.default.fileExists(atPath: marker)
        let context = try DirectoryStageContext(kind: stage.kind, params: overrides, inputs: resolved, outputs: outputs,
                                                root: root + "/" + name, seed: seed, threads: threads)
        let start = Date()
        if !finished {
            try stage.run(context)
            _ = FileManager.default.createFile(atPath: marker, contents: Data())
        }
        for o in outputs { self.outputs[name + "." + o] = try context.outputPath(o) }
        contexts[name] = context
        if ProcessInfo.processInfo.environment["PIPE_CHAIN_VERBOSE"] != nil {
            print("== \(name) (\(stage.kind)) \(String(format: "%.1f", Date().timeIntervalSince(start))) s")
            for line in context.logLines { print("   " + line) }
        }
        return context
    }

    private func outputs_(_ ref: String) -> String? { outputs[ref] }
}
