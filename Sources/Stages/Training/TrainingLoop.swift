import Foundation

/// The one loop every training stage runs: steps a `Trainer` to `steps`, appends each step's metrics
/// (plus held-out metrics every `evalEvery` steps and after the last) to `metrics.jsonl` and TensorBoard,
/// stops on the first non-finite metric naming it and the step, shows smoothed progress with an ETA, and
/// every `checkpointEvery` steps writes a checkpoint into the key's resume directory, from which a rerun
/// of the same key after a kill continues to the same bytes. A `CheckpointRequest` (SIGUSR1) adds a
/// checkpoint at the end of the step it arrives in. A `WorkLedger` beside the checkpoints records every
/// execution's steps, so the one that completes a resumed key logs how much work was redone.
public final class TrainingLoop {
    /// A value shown in the progress line: `label` then the metric's exponential moving average.
    public struct ProgressField: Sendable {
        public var label: String
        public var metric: String
        public var format: String
        public init(_ label: String, _ metric: String, format: String = "%.3f") {
            self.label = label; self.metric = metric; self.format = format
        }
    }

    /// What the loop leaves for the stage's summary.
    public struct Summary: Sendable {
        /// Moving averages of the progress fields' metrics, by metric name.
        public var smoothed: [String: Double]
        /// The metrics of the last evaluation (empty without one).
        public var lastEvaluation: [(String, Double)]
        /// Steps run by this execution (fewer than `steps` after a resume).
        public var stepsRun: Int
        /// Wall-clock seconds of this execution's steps (log only: never in an artifact).
        public var seconds: Double

        public func smoothed(_ metric: String) -> Double { smoothed[metric] ?? .nan }
        public func evaluation(_ metric: String) -> Double? { lastEvaluation.first { $0.0 == metric }?.1 }
    }

    /// The loop's own part of a checkpoint.
    struct State: Codable {
        var step: Int
        var smoothed: [String: Double]
        var lastEvaluationNames: [String]
        var lastEvaluationValues: [Double]
    }

    /// One smoothing for every stage's progress line and summary: EMA with weight 0.95 on the past
    /// (two literals: `1 - 0.95` is not 0.05 in binary, and the summary is in an artifact).
    static let pastWeight = 0.95, newWeight = 0.05

    let context: StageContext
    let name: String
    let steps: Int
    let evalEvery: Int?
    let checkpointEvery: Int
    let progressFields: [ProgressField]
    let hint: String
    let metricsDirectory: String
    /// Where an off-grid checkpoint request comes from (the process's SIGUSR1 flag by default).
    public var checkpointRequest: CheckpointRequest = .shared

    /// - Parameters:
    ///   - name: the stage kind, for messages ("sft: train/loss became nan at step 12").
    ///   - evalEvery: steps between evaluations (nil: never evaluate).
    ///   - checkpointEvery: steps between checkpoints (0: none); only when the context has a resume directory.
    ///   - hint: what to try when a metric diverges, e.g. "lower lr?".
    public init(context: StageContext, name: String, steps: Int, evalEvery: Int?, checkpointEvery: Int,
                progress: [ProgressField], hint: String = "lower lr?", metricsOutput: String = "metrics") throws {
        guard steps >= 1 else { throw StageError.failed("\(name): nothing to train (0 steps)") }
        self.context = context
        self.name = name
        self.steps = steps
        self.evalEvery = evalEvery.map { max(1, $0) }
        self.checkpointEvery = checkpointEvery
        self.progressFields = progress
        self.hint = hint
        self.metricsDirectory = try context.outputPath(metricsOutput)
    }

    public func run(_ trainer: Trainer) throws -> Summary {
        let checkpoints = context.resumeDirectory.map(ResumeCheckpoints.init(root:))
        var state = State(step: 0, smoothed: [:], lastEvaluationNames: [], lastEvaluationValues: [])
        let metrics: TrainingMetrics
        if let latest = checkpoints?.latest() {
            state = try TrainerState.readJSON(State.self, from: latest.path + "/loop.json")
            try trainer.restoreState(from: latest.path + "/trainer")
            guard trainer.step == state.step, state.step == latest.step else {
                throw StageError.failed("\(name): checkpoint \(latest.path) is inconsistent (step \(state.step) vs \(trainer.step)); delete it to start over")
            }
            metrics = try TrainingMetrics(directory: metricsDirectory, context: context, continuing: latest.path + "/metrics")
            context.log("\(name): resuming at step \(state.step) of \(steps) from \(latest.path)")
        } else {
            metrics = try TrainingMetrics(directory: metricsDirectory, context: context)
        }
        if trainer.step == 0 {
            let initial = try trainer.initialEvaluation()
            if !initial.isEmpty {
                if let (metric, value) = initial.first(where: { !$0.1.isFinite }) {
                    throw StageError.failed("\(name): \(metric) is \(value) before the first step")
                }
                try metrics.record(step: 0, initial)
                context.log("\(name) step 0 (before training): " + initial.map { "\($0) \(String(format: "%.4g", $1))" }.joined(separator: ", "))
            }
        }
        let first = state.step
        var ledger = context.resumeDirectory.map(WorkLedger.init(root:))
        ledger?.begin(at: first)
        defer { ledger?.close() }
        let clock = ProgressClock()
        let logEvery = max(1, steps / 10)
        while trainer.step < steps {
            var values = try trainer.trainStep()
            let step = trainer.step
            ledger?.finished(step: step)
            if let every = evalEvery, step % every == 0 || step == steps {
                let evaluation = try trainer.evaluate()
                if !evaluation.isEmpty {
                    values += evaluation
                    state.lastEvaluationNames = evaluation.map(\.0)
                    state.lastEvaluationValues = evaluation.map(\.1)
                }
            }
            if let (metric, value) = values.first(where: { !$0.1.isFinite }) {
                throw StageError.failed("\(name): \(metric) became \(value) at step \(step) (\(hint))")
            }
            try metrics.record(step: step, values)
            for field in progressFields {
                guard let value = values.first(where: { $0.0 == field.metric })?.1 else { continue }
                state.smoothed[field.metric] = state.smoothed[field.metric].map { Self.pastWeight * $0 + Self.newWeight * value } ?? value
            }
            state.step = step
            let line = progressFields.compactMap { field in
                state.smoothed[field.metric].map { field.label + " " + String(format: field.format, $0) }
            }.joined(separator: " ")
            context.progress(phase: "train", step: step, total: steps,
                             message: line + " " + clock.eta(step: step - first, total: steps - first))
            if step % logEvery == 0 || step == steps {
                let held = state.lastEvaluationNames.isEmpty ? "" : ", " + zip(state.lastEvaluationNames, state.lastEvaluationValues)
                    .map { "\($0) \(String(format: "%.4g", $1))" }.joined(separator: ", ")
                context.log("\(name) step \(step)/\(steps): \(line)\(held)")
            }
            // A requested checkpoint (SIGUSR1 before a Slurm time limit) is taken at the end of the
            // step it arrived in; after the last step there is nothing left to resume.
            let requested = step < steps && checkpointRequest.take()
            if let checkpoints, step < steps, requested || (checkpointEvery > 0 && step % checkpointEvery == 0) {
                try checkpoints.write(step: step) { directory in
                    try FileManager.default.createDirectory(atPath: directory + "/trainer", withIntermediateDirectories: true)
                    try trainer.saveState(to: directory + "/trainer")
                    try FileManager.default.createDirectory(atPath: directory + "/metrics", withIntermediateDirectories: true)
                    try metrics.snapshot(into: directory + "/metrics")
                    try TrainerState.writeJSON(state, to: directory + "/loop.json")
                }
            }
            if requested {
                context.log("\(name): " + (checkpoints == nil ? "checkpoint requested at step \(step), but this execution has no resume directory"
                                                                : "checkpoint at step \(step) on request (SIGUSR1)"))
                try checkpointRequest.acknowledge(step: step)
            }
        }
        metrics.close()
        let seconds = clock.elapsed
        context.log("\(name): \(state.step - first) steps in \(ProgressClock.duration(seconds))")
        if let executions = ledger?.executions(), executions.count > 1 {
            let tally = WorkLedger.tally(executions)
            context.log("\(name): \(tally.executions) executions of this key ran \(tally.stepsRun) steps for \(steps): "
                        + "\(tally.redone) redone after interruptions, at most \(tally.mostRedoneAtOnce) at one resume "
                        + "(checkpoint every \(checkpointEvery))")
        }
        return Summary(smoothed: state.smoothed,
                       lastEvaluation: Array(zip(state.lastEvaluationNames, state.lastEvaluationValues)),
                       stepsRun: state.step - first, seconds: seconds)
    }
}
