import Foundation
import StageWire
import Testing
import WorkspaceTestSupport

@Suite("Stage events file")
struct StageEventsFileTests {
    @Test func eventsRoundTripThroughTheFileAndPartialLinesWait() throws {
        let dir = try TestWorkspace.temporaryDirectory("pipe-runner-events")
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
}
