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
