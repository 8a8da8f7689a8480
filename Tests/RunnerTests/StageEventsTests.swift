import Foundation
import PipeTestSupport
@testable import Runner
import Stages
import Tensor
import Testing

@Suite("Stage events and the built-in stage process")
struct StageEventsTests {
    @Test func eventsRoundTripThroughTheFileAndPartialLinesWait() throws {
        let dir = try DirectoryStageContext.temporaryDirectory("pipe-runner-events")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/events.jsonl"
        let writer = try EventsFileWriter(path: path)
        let reader = EventsFileReader(path: path)
        #expect(reader.readNew().isEmpty)
        writer.append(.progress(phase: "train", step: 3, total: 10, message: "loss 2.3"))
        writer.append(.metrics(step: 3, [("train/loss", 2.3), ("lr", 1e-4)]))
        let events = reader.readNew()
        #expect(events.count == 2)
        #expect(events[0] == .progress(phase: "train", step: 3, total: 10, message: "loss 2.3"))
        #expect(events[1].metricPairs.map(\.0) == ["train/loss", "lr"])
        #expect(reader.readNew().isEmpty, "events are read once")

        // A command stage writing by hand: junk is skipped, a half-written line waits for its end.
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        handle.seekToEndOfFile()
        handle.write(Data("not json\n{\"type\":\"progress\",\"step\":4,".utf8))
        #expect(reader.readNew().isEmpty)
        handle.write(Data("\"total\":10}\n".utf8))
        try handle.close()
        #expect(reader.readNew().map(\.step) == [4])
    }

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
}
