import Foundation
import PipeTestSupport
@testable import StageHost
import StageWire
import Tensor
import Testing

@Suite("The built-in stage process")
struct StageProcessTests {
    @Test func stageProcessRunsABuiltinFromAnInvocationFile() throws {
        let dir = try DirectoryStageContext.temporaryDirectory("pipe-runner-builtin")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let invocation = StageInvocation(kind: SelfTestStage.kind, stageName: "probe",
                                         params: ["text": .string("héllo"), "steps": .int(4)],
                                         inputs: [:], outputs: ["out": dir + "/outs/out"], seed: 1, threads: 1,
                                         scratchPath: dir + "/scratch", eventsPath: dir + "/events.jsonl")
        try JSONEncoder().encode(invocation).write(to: URL(fileURLWithPath: dir + "/invocation.json"))
        #expect(StageProcess.main(invocationPath: dir + "/invocation.json") == 0)
        #expect(try String(contentsOfFile: dir + "/outs/out/text.txt", encoding: .utf8) == "héllo")
        let events = EventsFileReader(path: dir + "/events.jsonl").readNew()
        #expect(events.filter { $0.type == .metrics }.count == 4)
        #expect(events.last(where: { $0.type == .progress })?.step == 4, "the final progress event is never throttled away")
    }

    @Test func stageProcessRejectsUnknownKindsAndReportsStageErrors() throws {
        let dir = try DirectoryStageContext.temporaryDirectory("pipe-runner-builtin-bad")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var invocation = StageInvocation(kind: "no-such-kind", stageName: "x", params: [:], inputs: [:],
                                         outputs: ["out": dir + "/out"], seed: 1, threads: 1,
                                         scratchPath: dir + "/scratch", eventsPath: dir + "/events.jsonl")
        try JSONEncoder().encode(invocation).write(to: URL(fileURLWithPath: dir + "/invocation.json"))
        #expect(StageProcess.main(invocationPath: dir + "/invocation.json") == 2)
        invocation.kind = SelfTestStage.kind
        invocation.params = ["fail": .bool(true), "steps": .int(1)]
        try JSONEncoder().encode(invocation).write(to: URL(fileURLWithPath: dir + "/invocation.json"))
        #expect(StageProcess.main(invocationPath: dir + "/invocation.json") == 1)
        #expect(StageProcess.main(invocationPath: dir + "/missing.json") == 2)
    }

    @Test func stageProcessRefusesAKernelFamilyOtherThanTheKeys() throws {
        let dir = try DirectoryStageContext.temporaryDirectory("pipe-runner-blas-core")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var invocation = StageInvocation(kind: SelfTestStage.kind, stageName: "probe", params: ["steps": .int(1)],
                                         inputs: [:], outputs: ["out": dir + "/outs/out"], seed: 1, threads: 1,
                                         scratchPath: dir + "/scratch", eventsPath: dir + "/events.jsonl",
                                         blasCore: "NoSuchCore")
        try JSONEncoder().encode(invocation).write(to: URL(fileURLWithPath: dir + "/invocation.json"))
        #expect(StageProcess.main(invocationPath: dir + "/invocation.json") == 2)
        #expect(!FileManager.default.fileExists(atPath: dir + "/outs/out/text.txt"), "nothing is produced under a misstated key")
        invocation.blasCore = BLAS.kernelSignature.uppercased()   // the kernels this process runs: case does not matter
        try JSONEncoder().encode(invocation).write(to: URL(fileURLWithPath: dir + "/invocation.json"))
        #expect(StageProcess.main(invocationPath: dir + "/invocation.json") == 0)
    }

    /// A requeued Slurm job runs the stage again in its first attempt's staging directory: outputs and
    /// scratch start empty, while the events file is appended to.
    @Test func aRerunInTheSameStagingStartsWithEmptyOutputsAndAppendsEvents() throws {
        let dir = try DirectoryStageContext.temporaryDirectory("pipe-runner-requeued")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let invocation = StageInvocation(kind: SelfTestStage.kind, stageName: "probe", params: ["steps": .int(2)],
                                         inputs: [:], outputs: ["out": dir + "/outs/out"], seed: 1, threads: 1,
                                         scratchPath: dir + "/scratch", eventsPath: dir + "/events.jsonl")
        try JSONEncoder().encode(invocation).write(to: URL(fileURLWithPath: dir + "/invocation.json"))
        #expect(StageProcess.main(invocationPath: dir + "/invocation.json") == 0)
        let firstEvents = EventsFileReader(path: dir + "/events.jsonl").readNew().count
        // What a killed first attempt may leave behind.
        for leftover in ["outs/out/partial.bin", "scratch/tmp.bin"] {
            try Data("stale".utf8).write(to: URL(fileURLWithPath: dir + "/" + leftover))
        }
        #expect(StageProcess.main(invocationPath: dir + "/invocation.json") == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/outs/out") == ["text.txt"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/scratch").isEmpty)
        #expect(EventsFileReader(path: dir + "/events.jsonl").readNew().count == 2 * firstEvents, "events are appended")
    }
}

@Suite("Thread budget files")
struct ThreadBudgetFileTests {
    @Test func aBudgetFileHoldsOnePositiveNumberAndAnythingElseReadsAsNone() throws {
        let dir = try DirectoryStageContext.temporaryDirectory("pipe-thread-budget")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/threads"
        #expect(ThreadBudgetFile.read(path) == nil, "missing")
        try ThreadBudgetFile.write(3, to: path)
        #expect(ThreadBudgetFile.read(path) == 3)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "3\n")
        #expect(!FileManager.default.fileExists(atPath: path + ".new"), "written beside, then renamed over")
        for garbage in ["", "0\n", "-2\n", "two\n", "99999999999\n"] {
            try garbage.write(toFile: path, atomically: true, encoding: .utf8)
            #expect(ThreadBudgetFile.read(path) == nil, "\(garbage.debugDescription)")
        }
        #expect(throws: (any Error).self) { try ThreadBudgetFile.write(2, to: dir + "/no/such/dir/threads") }

        try ThreadBudgetFile.write(2, to: path)
        let reader = ThreadBudgetReader(path: path, interval: .seconds(60))
        #expect(reader.current() == 2)
        try ThreadBudgetFile.write(4, to: path)
        #expect(reader.current() == 2, "read at most once per interval")
        let eager = ThreadBudgetReader(path: path, interval: .zero)
        #expect(eager.current() == 4)
        try "garbled".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(eager.current() == 4, "a garbled file leaves the last budget in force")
    }

    /// The stage process follows its budget file while it runs: the runner's rewrites (1 → 2 → 1)
    /// reach the stage's pool at its next safe point.
    @Test func aStageProcessPoolFollowsItsBudgetFile() throws {
        let dir = try DirectoryStageContext.temporaryDirectory("pipe-thread-budget-stage")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let budgetPath = dir + "/threads", eventsPath = dir + "/events.jsonl"
        try ThreadBudgetFile.write(1, to: budgetPath)
        let invocation = StageInvocation(kind: SelfTestStage.kind, stageName: "probe",
                                         params: ["steps": .int(9), "sleep_ms": .int(150), "pool_tasks": .int(4)],
                                         inputs: [:], outputs: ["out": dir + "/outs/out"], seed: 1, threads: 1,
                                         scratchPath: dir + "/scratch", eventsPath: eventsPath, threadBudgetPath: budgetPath)
        try JSONEncoder().encode(invocation).write(to: URL(fileURLWithPath: dir + "/invocation.json"))
        // Plays the runner: raises the budget after step 2, lowers it after step 5.
        let runner = Thread {
            let reader = EventsFileReader(path: eventsPath)
            var raised = false
            let deadline = Date().addingTimeInterval(30)
            while Date() < deadline {
                for event in reader.readNew() where event.type == .metrics {
                    if event.step == 2 && !raised { try? ThreadBudgetFile.write(2, to: budgetPath); raised = true }
                    if event.step == 5 { try? ThreadBudgetFile.write(1, to: budgetPath); return }
                }
                usleep(5_000)
            }
        }
        runner.start()
        #expect(StageProcess.main(invocationPath: dir + "/invocation.json") == 0)
        let threads = EventsFileReader(path: eventsPath).readNew().filter { $0.type == .metrics }.compactMap { event in
            event.metricPairs.first { $0.0 == "selftest/threads" }.map { Int($0.1) }
        }
        #expect(threads.count == 9)
        var folded: [Int] = []
        for count in threads where count != folded.last { folded.append(count) }
        #expect(folded == [1, 2, 1], "\(threads)")
    }
}
