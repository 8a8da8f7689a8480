import Foundation
import PipeTestSupport
import Testing
@testable import Stages

/// An independent TFRecord + protobuf reader (generic wire-format walk, not the writer's code).
enum EventReader {
    struct Event: Equatable {
        var wallTime: Double = 0
        var step: Int64 = 0
        var fileVersion: String?
        var scalars: [(String, Float)] = []
        static func == (a: Event, b: Event) -> Bool {
            a.wallTime == b.wallTime && a.step == b.step && a.fileVersion == b.fileVersion
                && a.scalars.map(\.0) == b.scalars.map(\.0) && a.scalars.map(\.1) == b.scalars.map(\.1)
        }
    }
    struct Corrupt: Error { let why: String }

    static func crc32c(_ data: ArraySlice<UInt8>) -> UInt32 {
        var crc: UInt32 = ~0
        for byte in data {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F63B78 : crc >> 1 }
        }
        let c = ~crc
        return ((c >> 15) | (c << 17)) &+ 0xa282ead8
    }

    static func u32(_ b: [UInt8], _ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(b[at + $1]) << (8 * $1) } }
    static func u64(_ b: [UInt8], _ at: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(b[at + $1]) << (8 * $1) } }

    static func records(_ bytes: [UInt8]) throws -> [[UInt8]] {
        var out: [[UInt8]] = [], i = 0
        while i < bytes.count {
            guard i + 12 <= bytes.count else { throw Corrupt(why: "truncated length") }
            let n = Int(u64(bytes, i))
            guard crc32c(bytes[i..<(i + 8)]) == u32(bytes, i + 8) else { throw Corrupt(why: "length crc") }
            guard i + 12 + n + 4 <= bytes.count else { throw Corrupt(why: "truncated data") }
            let data = bytes[(i + 12)..<(i + 12 + n)]
            guard crc32c(data) == u32(bytes, i + 12 + n) else { throw Corrupt(why: "data crc") }
            out.append(Array(data))
            i += 16 + n
        }
        return out
    }

    /// Walks protobuf fields: (field number, wire type, varint value or payload bytes).
    static func fields(_ b: [UInt8]) throws -> [(Int, Int, UInt64, [UInt8])] {
        var i = 0, out: [(Int, Int, UInt64, [UInt8])] = []
        func varint() throws -> UInt64 {
            var v: UInt64 = 0, shift: UInt64 = 0
            while true {
                guard i < b.count else { throw Corrupt(why: "varint") }
                let byte = b[i]; i += 1
                v |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { return v }
                shift += 7
            }
        }
        while i < b.count {
            let key = try varint()
            let field = Int(key >> 3), wire = Int(key & 7)
            switch wire {
            case 0: out.append((field, 0, try varint(), []))
            case 1: out.append((field, 1, u64(b, i), [])); i += 8
            case 5: out.append((field, 5, UInt64(u32(b, i)), [])); i += 4
            case 2:
                let n = Int(try varint()); out.append((field, 2, 0, Array(b[i..<(i + n)]))); i += n
            default: throw Corrupt(why: "wire type \(wire)")
            }
        }
        return out
    }

    static func events(_ bytes: [UInt8]) throws -> [Event] {
        try records(bytes).map { record in
            var e = Event()
            for (field, _, value, payload) in try fields(record) {
                switch field {
                case 1: e.wallTime = Double(bitPattern: value)
                case 2: e.step = Int64(bitPattern: value)
                case 3: e.fileVersion = String(decoding: payload, as: UTF8.self)
                case 5:
                    for (_, _, _, v) in try fields(payload) {
                        var tag = "", x: Float = .nan
                        for (f, _, val, p) in try fields(v) {
                            if f == 1 { tag = String(decoding: p, as: UTF8.self) }
                            if f == 2 { x = Float(bitPattern: UInt32(val)) }
                        }
                        e.scalars.append((tag, x))
                    }
                default: break
                }
            }
            return e
        }
    }
}

@Suite("Telemetry")
struct TelemetryTests {
    @Test func crc32cCheckValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([]) == 0)
    }

    @Test func goldenScalarEvent() {
        // Event{wall_time: 1.0, step: 3, summary{value{tag:"a", simple_value: 0.5}}}, encoded by hand from the proto.
        let expected: [UInt8] = [0x09, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F, 0x10, 0x03, 0x2A, 0x0A, 0x0A, 0x08, 0x0A, 0x01, 0x61,
                                 0x15, 0x00, 0x00, 0x00, 0x3F]
        #expect(EventFileWriter.scalarEvent(step: 3, wallTime: 1, scalars: [("a", 0.5)]) == expected)
        let framed = EventFileWriter.frame(expected)
        #expect(framed.count == expected.count + 16)
        #expect((try? EventReader.records(framed)) == [expected])
    }

    @Test func metricsFilesRoundTripThroughAnIndependentReader() throws {
        let root = try DirectoryStageContext.temporaryDirectory("telemetry")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let context = try DirectoryStageContext(kind: "sft", params: [:], inputs: [:], outputs: ["metrics"], root: root)
        let dir = try context.outputPath("metrics")
        let metrics = try TrainingMetrics(directory: dir, context: context)
        for step in 1...300 {
            try metrics.record(step: step, [("train/loss", 3.0 / Double(step)), ("lr", 1e-4), ("奖励/reward", Double(step) * 0.25)])
        }
        try metrics.record(step: 301, [("train/loss", .nan)])
        metrics.close()

        let events = try EventReader.events(Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/" + EventFileWriter.fileName))))
        #expect(events.count == 302)
        #expect(events[0].fileVersion == "brain.Event:2")
        #expect(events[1].step == 1)
        #expect(events[1].wallTime == 1)
        #expect(events[1].scalars.map(\.0) == ["train/loss", "lr", "奖励/reward"])
        #expect(events[1].scalars.map(\.1) == [3, Float(1e-4), 0.25])
        #expect(events[300].step == 300 && events[300].scalars[0].1 == Float(3.0 / 300))
        #expect(events[301].scalars[0].1.isNaN)

        let lines = try String(contentsOfFile: dir + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 301)
        #expect(lines[0] == #"{"step":1,"train/loss":3,"lr":0.0001,"奖励/reward":0.25}"#)
        #expect(lines[1] == #"{"step":2,"train/loss":1.5,"lr":0.0001,"奖励/reward":0.5}"#)
        #expect(lines[300] == #"{"step":301,"train/loss":null}"#)
        for line in lines { _ = try JSONSerialization.jsonObject(with: Data(line.utf8)) }
        #expect(context.series("train/loss").count == 301)
    }

    @Test func outputBytesAreDeterministic() throws {
        func run() throws -> (Data, Data) {
            let dir = try DirectoryStageContext.temporaryDirectory("telemetry-det")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let m = try TrainingMetrics(directory: dir)
            for s in 0..<20 { try m.record(step: s, [("x", Double(s).squareRoot())]) }
            m.close()
            return (try Data(contentsOf: URL(fileURLWithPath: dir + "/metrics.jsonl")),
                    try Data(contentsOf: URL(fileURLWithPath: dir + "/" + EventFileWriter.fileName)))
        }
        let a = try run(), b = try run()
        #expect(a.0 == b.0 && a.1 == b.1)
    }

    /// Cross-check with TensorBoard's own reader when a Python with `tensorboard` is given in
    /// PIPE_TB_PYTHON (e.g. a venv); skipped otherwise.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["PIPE_TB_PYTHON"] != nil,
                   "set PIPE_TB_PYTHON to a Python with tensorboard installed"))
    func tensorBoardReadsOurEventFile() throws {
        let python = ProcessInfo.processInfo.environment["PIPE_TB_PYTHON"]!
        let dir = try DirectoryStageContext.temporaryDirectory("telemetry-tb")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let m = try TrainingMetrics(directory: dir)
        for s in 1...5 { try m.record(step: s, [("ppo/loss/policy", Double(s) * 0.5), ("env/reward_mean", -Double(s))]) }
        m.close()
        let script = """
        import sys
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
        acc = EventAccumulator(sys.argv[1]); acc.Reload()
        for tag in sorted(acc.Tags()["scalars"]):
            print(tag, " ".join(f"{e.step}:{e.value:g}:{e.wall_time:g}" for e in acc.Scalars(tag)))
        """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", script, dir]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(text == "env/reward_mean 1:-1:1 2:-2:2 3:-3:3 4:-4:4 5:-5:5\nppo/loss/policy 1:0.5:1 2:1:2 3:1.5:3 4:2:4 5:2.5:5\n")
    }
}
