import Foundation
import Testing
@testable import Tensor

@Suite("Safetensors")
struct SafetensorsTests {
    static func sample() -> [SafetensorsTensor] {
        [
            SafetensorsTensor(name: "transformer.wte.weight", shape: [3, 2], floats: [1, -2, 3.5, 0, .infinity, -0.25]),
            SafetensorsTensor(name: "step", shape: [], int64s: [42]),
            SafetensorsTensor(name: "ids", shape: [2, 2], int32s: [1, 2, 3, -4]),
            SafetensorsTensor(name: "mask", dtype: .u8, shape: [3], bytes: [1, 0, 1]),
            SafetensorsTensor(name: "empty", shape: [0, 4], floats: []),
        ]
    }

    @Test func roundTrip() throws {
        let bytes = try Safetensors.serialize(Self.sample(), metadata: ["format": "pt", "note": "ünïcode \"q\""])
        let file = try SafetensorsFile(bytes: bytes)
        #expect(file.metadata == ["format": "pt", "note": "ünïcode \"q\""])
        #expect(try file.floats("transformer.wte.weight") == [1, -2, 3.5, 0, .infinity, -0.25])
        #expect(try file.info("transformer.wte.weight").shape == [3, 2])
        #expect(try file.int64s("step") == [42])
        #expect(try file.info("step").shape == [])
        #expect(try file.int32s("ids") == [1, 2, 3, -4])
        #expect(try file.uint8s("mask") == [1, 0, 1])
        #expect(try file.floats("empty") == [])
        #expect(file.names == ["empty", "ids", "mask", "step", "transformer.wte.weight"])
        // Data section starts 8-aligned and each tensor is aligned to its element size.
        let headerLength = Int(bytes[0]) | Int(bytes[1]) << 8
        #expect(headerLength % 8 == 0)
        for t in file.tensors { #expect(t.dataRange.lowerBound % t.dtype.byteSize == 0) }
        #expect(throws: SafetensorsError.self) { _ = try file.floats("ids") }
        #expect(throws: SafetensorsError.self) { _ = try file.floats("missing") }
    }

    @Test func deterministicBytesWhateverTheInputOrder() throws {
        let a = try Safetensors.serialize(Self.sample())
        let b = try Safetensors.serialize(Self.sample().reversed())
        #expect(a == b)
        // The header is the reference writer's layout: 8-byte types first, then by name.
        let header = String(decoding: a[8..<(8 + Int(a[0]) + Int(a[1]) << 8)], as: UTF8.self)
        #expect(header.hasPrefix(#"{"__metadata__":{"format":"pt"},"step":{"dtype":"I64","shape":[],"data_offsets":[0,8]},"empty""#))
    }

    @Test func writeAndReadFile() throws {
        let path = NSTemporaryDirectory() + "st-\(UUID().uuidString).safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Safetensors.write(Self.sample(), to: path)
        let file = try SafetensorsFile(path: path)
        var out = [Float](repeating: 0, count: 6)
        try out.withUnsafeMutableBufferPointer { try file.copyFloats("transformer.wte.weight", into: $0) }
        #expect(out == [1, -2, 3.5, 0, .infinity, -0.25])
        #expect(!FileManager.default.fileExists(atPath: path + ".tmp"))
        // The file reader validates like the in-memory one: truncations and a huge length are rejected.
        let bytes = try Safetensors.serialize(Self.sample())
        for cut in [0, 7, 8, 40, bytes.count - 1] {
            try Data(bytes.prefix(cut)).write(to: URL(fileURLWithPath: path))
            #expect(throws: SafetensorsError.self) { _ = try SafetensorsFile(path: path) }
        }
        try Data([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F] + bytes.dropFirst(8)).write(to: URL(fileURLWithPath: path))
        #expect(throws: SafetensorsError.self) { _ = try SafetensorsFile(path: path) }
        #expect(throws: SafetensorsError.self) { _ = try SafetensorsFile(path: path + ".missing") }
    }

    @Test func rejectsDuplicateNamesOnWrite() {
        let t = SafetensorsTensor(name: "a", shape: [1], floats: [1])
        #expect(throws: SafetensorsError.self) { _ = try Safetensors.serialize([t, t]) }
        let wrongSize = SafetensorsTensor(name: "b", shape: [2], floats: [1])
        #expect(throws: SafetensorsError.self) { _ = try Safetensors.serialize([wrongSize]) }
    }

    /// A file written by an independent implementation (Python with struct + json, as the reference
    /// format describes) reads back correctly.
    @Test func readsFixtureWrittenByPython() throws {
        guard let python = Self.python3() else {
            print("skipped: python3 not found")
            return
        }
        let dir = NSTemporaryDirectory() + "st-py-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let script = """
        import json, struct, sys
        tensors = {"w": ("F32", [2, 3], struct.pack("<6f", 0.5, -1, 2, 3, 4, 1e-3)),
                   "n": ("I64", [2], struct.pack("<2q", -7, 1 << 40)),
                   "h": ("F16", [2], struct.pack("<2e", 1.5, -2.0))}
        header, data = {"__metadata__": {"format": "pt"}}, b""
        for name in ["w", "n", "h"]:  # deliberately not the writer's order
            dtype, shape, raw = tensors[name]
            header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
            data += raw
        text = json.dumps(header, indent=1).encode()  # whitespace and newlines, as other writers may emit
        text += b" " * (-len(text) % 8)
        open(sys.argv[1], "wb").write(struct.pack("<Q", len(text)) + text + data)
        """
        try script.write(toFile: dir + "/make.py", atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [dir + "/make.py", dir + "/fixture.safetensors"]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let file = try SafetensorsFile(path: dir + "/fixture.safetensors")
        #expect(try file.floats("w") == [0.5, -1, 2, 3, 4, 1e-3])
        #expect(try file.int64s("n") == [-7, 1 << 40])
        #expect(try file.info("h").dtype == .f16)
        #expect(try file.info("h").shape == [2])
        try file.withBytes("h") { #expect(Array($0) == [0x00, 0x3E, 0x00, 0xC0]) }
        #expect(file.metadata["format"] == "pt")
    }

    static func python3() -> String? {
        let candidates = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map { "\($0)/python3" }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}

@Suite("Safetensors rejects malformed files")
struct SafetensorsMalformedTests {
    /// A file with a hand-written header and `dataSize` zero bytes of data.
    static func file(header: String, dataSize: Int, declaredLength: UInt64? = nil) -> [UInt8] {
        var json = Array(header.utf8)
        while json.count % 8 != 0 { json.append(0x20) }
        var out: [UInt8] = []
        withUnsafeBytes(of: (declaredLength ?? UInt64(json.count)).littleEndian) { out.append(contentsOf: $0) }
        return out + json + [UInt8](repeating: 0, count: dataSize)
    }

    static func kind(_ bytes: [UInt8]) -> SafetensorsError.Kind? {
        do { _ = try SafetensorsFile(bytes: bytes, file: "test.safetensors"); return nil } catch { return error.kind }
    }

    @Test func acceptsTheFormatsOwnExample() throws {
        let bytes = Self.file(header: #"{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}"#, dataSize: 16)
        #expect(try SafetensorsFile(bytes: bytes).int32s("test") == [0, 0, 0, 0])
    }

    @Test func truncated() throws {
        let valid = try Safetensors.serialize(SafetensorsTests.sample())
        #expect(Self.kind([]) == .tooShort)
        #expect(Self.kind(Array(valid.prefix(5))) == .tooShort)
        #expect(Self.kind(Array(valid.prefix(20))) == .tooShort)            // inside the header
        #expect(Self.kind(Array(valid.dropLast(3))) == .offsetsOutOfBounds)  // inside the data
    }

    @Test func hugeHeaderLength() {
        #expect(Self.kind(Self.file(header: "{}", dataSize: 0, declaredLength: UInt64.max)) == .headerTooLarge)
        #expect(Self.kind(Self.file(header: "{}", dataSize: 0, declaredLength: 100_000_001)) == .headerTooLarge)
        #expect(Self.kind(Self.file(header: "{}", dataSize: 0, declaredLength: 1_000_000)) == .tooShort)
    }

    @Test func overlappingOffsets() {
        let header = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#
        #expect(Self.kind(Self.file(header: header, dataSize: 12)) == .overlap)
        let same = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#
        #expect(Self.kind(Self.file(header: same, dataSize: 4)) == .overlap)
    }

    @Test func holesAndUncoveredData() {
        let gap = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#
        #expect(Self.kind(Self.file(header: gap, dataSize: 12)) == .hole)
        let tail = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#
        #expect(Self.kind(Self.file(header: tail, dataSize: 8)) == .hole)
    }

    @Test func wrongSpan() {
        let header = #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#
        #expect(Self.kind(Self.file(header: header, dataSize: 8)) == .spanMismatch)
        let overflow = #"{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}}"#
        #expect(Self.kind(Self.file(header: overflow, dataSize: 8)) == .spanMismatch)
    }

    @Test func badDType() {
        let header = #"{"a":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}}"#
        #expect(Self.kind(Self.file(header: header, dataSize: 4)) == .unknownDType)
    }

    @Test func headerNotJSON() {
        #expect(Self.kind(Self.file(header: "{not json}", dataSize: 0)) == .headerNotJSON)
        #expect(Self.kind(Self.file(header: "[1,2]", dataSize: 0)) == .headerNotJSON)
        #expect(Self.kind(Self.file(header: #"{"a":1} x"#, dataSize: 0)) == .headerNotJSON)
        #expect(Self.kind(Self.file(header: String(repeating: "[", count: 10_000), dataSize: 0)) == .headerNotJSON)
        #expect(Self.kind(Self.file(header: #"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}}"#, dataSize: 0)) == .badEntry)
        #expect(Self.kind(Self.file(header: #"{"__metadata__":{"format":1}}"#, dataSize: 0)) == .badEntry)
    }

    @Test func duplicateNames() {
        let header = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#
        #expect(Self.kind(Self.file(header: header, dataSize: 8)) == .duplicateName)
    }

    @Test func duplicateNameAmongManyTensors() {
        // Past a handful of keys the reader checks names with a set: a late duplicate of the first name
        // must still be caught, at the duplicate's byte.
        var entries = (0..<40).map { #""t\#($0)":{"dtype":"U8","shape":[1],"data_offsets":[\#($0),\#($0 + 1)]}"# }
        entries.append(#""t0":{"dtype":"U8","shape":[0],"data_offsets":[40,40]}"#)
        let header = "{" + entries.joined(separator: ",") + "}"
        do {
            _ = try SafetensorsFile(bytes: Self.file(header: header, dataSize: 40), file: "big.safetensors")
            Issue.record("accepted a duplicate tensor name")
        } catch {
            let at = 8 + header.utf8.count - entries.last!.utf8.count - 1
            #expect(error.kind == .duplicateName)
            #expect(error.description == #"big.safetensors: invalid safetensors file: header JSON at byte \#(at): duplicate key "t0""#)
        }
    }

    @Test func headerIntegers() {
        func entry(shape: String, offsets: String = "[0,4]") -> String {
            #"{"a":{"dtype":"F32","shape":\#(shape),"data_offsets":\#(offsets)}}"#
        }
        #expect(Self.kind(Self.file(header: entry(shape: "[1.5]"), dataSize: 4)) == .badEntry)
        #expect(Self.kind(Self.file(header: entry(shape: "[-0]"), dataSize: 4)) == .badEntry)
        #expect(Self.kind(Self.file(header: entry(shape: "[1]", offsets: "[0,4.5]"), dataSize: 4)) == .badEntry)
        #expect(Self.kind(Self.file(header: entry(shape: "[1]", offsets: "[0,1e30]"), dataSize: 4)) == .badEntry)
        // An empty tensor with a dimension a Double cannot hold exactly is refused, not rounded.
        #expect(Self.kind(Self.file(header: entry(shape: "[0,9007199254740993]", offsets: "[0,0]"), dataSize: 0)) == .spanMismatch)
    }

    @Test func errorNamesTheFile() {
        do {
            _ = try SafetensorsFile(bytes: Self.file(header: "{oops", dataSize: 0), file: "ckpt/model.safetensors")
            Issue.record("accepted a malformed header")
        } catch {
            #expect(error.description.hasPrefix("ckpt/model.safetensors: invalid safetensors file: header JSON at byte"))
        }
    }
}
