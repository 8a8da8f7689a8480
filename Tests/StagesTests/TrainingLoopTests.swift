import Foundation
import PipeTestSupport
import Testing
@testable import Stages

/// The loop around every trainer: metric order, the non-finite guard, evaluation cadence, checkpoints.
@Suite struct TrainingLoopTests {
    /// A trainer whose "loss" is scripted per step; state is the step alone.
    final class ScriptedTrainer: Trainer {
        var step = 0
        let losses: [Double]
        var evaluations: [Int] = []
        init(_ losses: [Double]) { self.losses = losses }
        func trainStep() throws -> [(String, Double)] {
            defer { step += 1 }
            return [("train/loss", losses[step]), ("train/lr", 0.1)]
        }
        func evaluate() throws -> [(String, Double)] { evaluations.append(step); return [("valid/loss", Double(step))] }
        func saveState(to directory: String) throws {
            try TrainerState.writeJSON(["step": step], to: directory + "/state.json")
        }
        func restoreState(from directory: String) throws {
            step = try TrainerState.readJSON([String: Int].self, from: directory + "/state.json")["step"]!
        }
    }

    func context(_ label: String, resume: String? = nil) throws -> DirectoryStageContext {
        try DirectoryStageContext(kind: "test-loop", params: [:], inputs: [:], outputs: ["metrics"],
                                  root: try DirectoryStageContext.temporaryDirectory(label), resumeDirectory: resume)
    }

    @Test func recordsStepsEvaluatesOnCadenceAndSmooths() throws {
        let c = try context("loop-basic")
        let trainer = ScriptedTrainer([4, 3, 2, 1, 1])
        let loop = try TrainingLoop(context: c, name: "test", steps: 5, evalEvery: 2, checkpointEvery: 0,
                                    progress: [.init("loss", "train/loss")])
        let summary = try loop.run(trainer)
        #expect(trainer.evaluations == [2, 4, 5])   // every 2 steps and after the last
        let lines = try String(contentsOfFile: try c.outputPath("metrics") + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 5)
        #expect(lines[1] == #"{"step":2,"train/loss":3,"train/lr":0.1,"valid/loss":2}"#)
        #expect(lines[2] == #"{"step":3,"train/loss":2,"train/lr":0.1}"#)
        var ema = 4.0
        for loss in [3.0, 2, 1, 1] { ema = 0.95 * ema + 0.05 * loss }
        #expect(summary.smoothed("train/loss") == ema)
        #expect(summary.evaluation("valid/loss") == 5)
        #expect(c.series("train/loss").map(\.value) == [4, 3, 2, 1, 1])
    }

    @Test func aNonFiniteMetricStopsNamingItAndTheStep() throws {
        let c = try context("loop-nan")
        let loop = try TrainingLoop(context: c, name: "sft", steps: 4, evalEvery: nil, checkpointEvery: 0, progress: [])
        #expect(throws: StageError.failed("sft: train/loss became nan at step 3 (lower lr?)")) {
            _ = try loop.run(ScriptedTrainer([1, 1, .nan, 1]))
        }
    }

    @Test func resumesFromTheLatestCheckpointWithItsMetrics() throws {
        let resume = try DirectoryStageContext.temporaryDirectory("loop-resume")
        let plain = try context("loop-plain")
        _ = try TrainingLoop(context: plain, name: "t", steps: 7, evalEvery: 3, checkpointEvery: 0, progress: [.init("l", "train/loss")])
            .run(ScriptedTrainer([7, 6, 5, 4, 3, 2, 1]))
        let first = try context("loop-first", resume: resume)
        _ = try TrainingLoop(context: first, name: "t", steps: 7, evalEvery: 3, checkpointEvery: 3, progress: [.init("l", "train/loss")])
            .run(ScriptedTrainer([7, 6, 5, 4, 3, 2, 1]))
        #expect(ResumeCheckpoints(root: resume).latest()?.step == 6)   // step 3, then 6 replaced it; none at the last step
        let second = try context("loop-second", resume: resume)
        let trainer = ScriptedTrainer([7, 6, 5, 4, 3, 2, 1])
        let summary = try TrainingLoop(context: second, name: "t", steps: 7, evalEvery: 3, checkpointEvery: 3, progress: [.init("l", "train/loss")])
            .run(trainer)
        #expect(summary.stepsRun == 1 && trainer.evaluations == [7])
        for file in ["metrics.jsonl", EventFileWriter.fileName] {
            let expected = FileManager.default.contents(atPath: try plain.outputPath("metrics") + "/" + file)
            #expect(FileManager.default.contents(atPath: try second.outputPath("metrics") + "/" + file) == expected, "\(file)")
        }
        #expect(second.logLines.contains("t: resuming at step 6 of 7 from \(resume)/step-000000006"))
        // The first execution ran all 7 steps (its checkpoint at 6 stayed); the second redid step 7.
        #expect(second.logLines.contains("t: 2 executions of this key ran 8 steps for 7: 1 redone after interruptions, "
                                         + "at most 1 at one resume (checkpoint every 3)"), "\(second.logLines)")
        #expect(!first.logLines.contains { $0.contains("executions of this key") }, "one execution: no work line")
    }

    /// Executions killed after their last checkpoint: the steps past it are counted once as run and
    /// again when redone; a line torn by the kill is left out.
    @Test func theWorkLedgerCountsRedoneSteps() throws {
        let text = "start 0\n1\n2\n3\n4\n5\nstart 3\n4\n5\n6\n7\nstart 6\n7\n8\n9\n1"
        let executions = WorkLedger.parse(text)
        #expect(executions == [.init(start: 0, reached: 5), .init(start: 3, reached: 7), .init(start: 6, reached: 9)])
        let tally = WorkLedger.tally(executions)
        #expect(tally == WorkLedger.Tally(executions: 3, stepsRun: 12, redone: 3, mostRedoneAtOnce: 2))
        // A resume killed before it caught up redoes only what it ran.
        #expect(WorkLedger.tally(WorkLedger.parse("start 0\n1\n2\n3\nstart 0\n1\nstart 0\n1\n2\n3\n4\n")).redone == 4)
        #expect(WorkLedger.parse("").isEmpty && WorkLedger.parse("7\n").isEmpty)
    }

    @Test func aPartialCheckpointIsNeverTheLatest() throws {
        let root = try DirectoryStageContext.temporaryDirectory("loop-partial")
        let checkpoints = ResumeCheckpoints(root: root)
        try checkpoints.write(step: 2) { try Data("a".utf8).write(to: URL(fileURLWithPath: $0 + "/x")) }
        struct Killed: Error {}
        #expect(throws: Killed.self) { try checkpoints.write(step: 4) { _ in throw Killed() } }
        #expect(checkpoints.latest()?.step == 2)
        try FileManager.default.removeItem(atPath: root + "/step-000000002")
        #expect(checkpoints.latest() == nil)   // the pointer names a checkpoint that is gone
    }
}

extension TrainingLoopTests {
    /// A trainer that requests a checkpoint (as SIGUSR1 does) during one step.
    final class RequestingTrainer: Trainer {
        let inner: ScriptedTrainer
        let request: CheckpointRequest
        let atStep: Int
        var step: Int { inner.step }
        init(_ losses: [Double], request: CheckpointRequest, atStep: Int) {
            inner = ScriptedTrainer(losses); self.request = request; self.atStep = atStep
        }
        func trainStep() throws -> [(String, Double)] {
            if inner.step + 1 == atStep { request.request() }
            return try inner.trainStep()
        }
        func evaluate() throws -> [(String, Double)] { try inner.evaluate() }
        func saveState(to directory: String) throws { try inner.saveState(to: directory) }
        func restoreState(from directory: String) throws { try inner.restoreState(from: directory) }
    }

    /// A requested checkpoint is written at the end of the step it came in, off the `checkpointEvery`
    /// grid, the marker says so, training goes on, and resuming from it gives the uninterrupted bytes.
    @Test func aRequestedCheckpointIsWrittenOffTheGridAndMarked() throws {
        let losses: [Double] = [7, 6, 5, 4, 3, 2, 1]
        let plain = try context("loop-request-plain")
        _ = try TrainingLoop(context: plain, name: "t", steps: 7, evalEvery: 3, checkpointEvery: 0, progress: [.init("l", "train/loss")])
            .run(ScriptedTrainer(losses))

        let resume = try DirectoryStageContext.temporaryDirectory("loop-request-resume")
        let marker = try DirectoryStageContext.temporaryDirectory("loop-request-marker") + "/checkpointed"
        let request = CheckpointRequest(markerPath: marker)
        let first = try context("loop-request-first", resume: resume)
        let loop = try TrainingLoop(context: first, name: "t", steps: 7, evalEvery: 3, checkpointEvery: 4, progress: [.init("l", "train/loss")])
        loop.checkpointRequest = request
        let requesting = RequestingTrainer(losses, request: request, atStep: 5)
        // The attempt is killed right after the marker (here: a copy of the resume directory as it was then).
        let snapshot = try DirectoryStageContext.temporaryDirectory("loop-request-snapshot")
        let summary = try loop.run(requesting)
        #expect(summary.stepsRun == 7, "training goes on after the checkpoint")
        #expect(try String(contentsOfFile: marker, encoding: .utf8) == "step 5\n")
        #expect(ResumeCheckpoints(root: resume).latest()?.step == 5, "step 4 on the grid, then 5 on request")
        #expect(first.logLines.contains("t: checkpoint at step 5 on request (SIGUSR1)"))
        #expect(!request.take(), "the request was taken")
        try FileManager.default.removeItem(atPath: snapshot)
        try FileManager.default.copyItem(atPath: resume, toPath: snapshot)

        let second = try context("loop-request-second", resume: snapshot)
        let resumed = ScriptedTrainer(losses)
        let rest = try TrainingLoop(context: second, name: "t", steps: 7, evalEvery: 3, checkpointEvery: 4, progress: [.init("l", "train/loss")])
            .run(resumed)
        #expect(rest.stepsRun == 2 && resumed.evaluations == [6, 7])
        for file in ["metrics.jsonl", EventFileWriter.fileName] {
            let expected = FileManager.default.contents(atPath: try plain.outputPath("metrics") + "/" + file)
            #expect(FileManager.default.contents(atPath: try second.outputPath("metrics") + "/" + file) == expected, "\(file)")
        }
    }

    /// A request during the last step writes nothing: there is nothing left to resume, and the marker
    /// would have the job requeued while it is finishing.
    @Test func aRequestInTheLastStepIsLeftAlone() throws {
        let resume = try DirectoryStageContext.temporaryDirectory("loop-request-last")
        let marker = resume + "-marker"
        let request = CheckpointRequest(markerPath: marker)
        let loop = try TrainingLoop(context: try context("loop-request-last-run", resume: resume), name: "t", steps: 3,
                                    evalEvery: nil, checkpointEvery: 0, progress: [])
        loop.checkpointRequest = request
        _ = try loop.run(RequestingTrainer([3, 2, 1], request: request, atStep: 3))
        #expect(ResumeCheckpoints(root: resume).latest() == nil)
        #expect(!FileManager.default.fileExists(atPath: marker))
    }
}
