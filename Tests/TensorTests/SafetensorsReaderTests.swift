import Foundation
import Testing
@testable import Tensor

@Suite("Half-precision conversions")
struct FloatConversionTests {
    /// Every one of the 65,536 binary16 patterns decodes as Swift's own Float16 does.
    @Test func halfDecodesExactlyForEveryPattern() {
        #if !(os(macOS) && arch(x86_64))
        for bits in 0...UInt16.max {
            let ours = FloatConversion.float(halfBits: bits), reference = Float(Float16(bitPattern: bits))
            #expect(ours.bitPattern == reference.bitPattern || (ours.isNaN && reference.isNaN), "half 0x\(String(bits, radix: 16))")
            if ours.bitPattern != reference.bitPattern && !(ours.isNaN && reference.isNaN) { return }
        }
        #endif
        #expect(FloatConversion.float(halfBits: 0x3C00) == 1)
        #expect(FloatConversion.float(halfBits: 0xC000) == -2)
        #expect(FloatConversion.float(halfBits: 0x7BFF) == 65504)
        #expect(FloatConversion.float(halfBits: 0x0001) == 0x1p-24)
        #expect(FloatConversion.float(halfBits: 0x7C00) == .infinity)
        #expect(FloatConversion.float(halfBits: 0x8000).bitPattern == (-0.0 as Float).bitPattern)
    }

    /// Encoding rounds to nearest even, like Float16(x), including subnormals, overflow and ties.
    @Test func halfEncodesLikeFloat16() {
        var values: [Float] = [0, -0.0, 1, -1, 65504, 65519.99, 65520, 1e9, -1e9, 0x1p-24, 0x1p-25, 0x1.8p-25, 0x1p-26,
                               6.1e-5, 3.0e-8, .infinity, -.infinity, 1 + 0x1p-11, 1 + 0x1.8p-10, 1 + 0x1p-10 + 0x1p-11]
        let rng = Philox(seed: 4)
        for i in 0..<20_000 {
            // Random sign, exponent across the half range and beyond, random mantissa.
            let e = Int(rng.uniformDouble(stream: 0, index: UInt64(i)) * 50) - 30
            let m = Float(rng.uniformDouble(stream: 1, index: UInt64(i)) + 1)
            values.append((i % 2 == 0 ? 1 : -1) * m * Float(sign: .plus, exponent: e, significand: 1))
        }
        #if !(os(macOS) && arch(x86_64))
        for x in values {
            #expect(FloatConversion.halfBits(x) == Float16(x).bitPattern, "\(x)")
        }
        #endif
        #expect(FloatConversion.halfBits(1) == 0x3C00)
        #expect(FloatConversion.halfBits(1 + 0x1p-11) == 0x3C00)           // tie → even
        #expect(FloatConversion.halfBits(1 + 0x1.8p-10) == 0x3C02)         // tie → even (up)
        #expect(FloatConversion.halfBits(65520) == 0x7C00)                 // rounds to infinity
        #expect(FloatConversion.halfBits(0x1p-25) == 0x0000)               // tie between 0 and the smallest subnormal
        #expect(FloatConversion.halfBits(0x1.8p-25) == 0x0001)
        #expect(FloatConversion.float(halfBits: FloatConversion.halfBits(.nan)).isNaN)
    }

    @Test func bfloat16() {
        #expect(FloatConversion.bfloat16Bits(1) == 0x3F80)
        #expect(FloatConversion.float(bfloat16Bits: 0x3F80) == 1)
        #expect(FloatConversion.float(bfloat16Bits: 0xC0A0) == -5)
        #expect(FloatConversion.bfloat16Bits(Float(bitPattern: 0x3F80_8000)) == 0x3F80)  // tie → even
        #expect(FloatConversion.bfloat16Bits(Float(bitPattern: 0x3F81_8000)) == 0x3F82)  // tie → even (up)
        #expect(FloatConversion.bfloat16Bits(Float(bitPattern: 0x3F80_8001)) == 0x3F81)
        #expect(FloatConversion.bfloat16Bits(.greatestFiniteMagnitude) == 0x7F80)       // rounds to infinity
        #expect(FloatConversion.float(bfloat16Bits: FloatConversion.bfloat16Bits(.nan)).isNaN)
        #expect(FloatConversion.float(bfloat16Bits: FloatConversion.bfloat16Bits(.infinity)) == .infinity)
    }
}

@Suite("Safetensors reader (header first, tensors on demand)")
struct SafetensorsReaderTests {
    static let values: [Float] = [1, -2, 0.5, 3.25, -0.125, 1024, 0, 7]

    func write(_ tensors: [SafetensorsTensor]) throws -> String {
        let path = NSTemporaryDirectory() + "st-reader-\(UUID().uuidString).safetensors"
        try Safetensors.write(tensors, to: path)
        return path
    }

    @Test func readsEveryFloatingPointDTypeAsFloat32() throws {
        let v = Self.values  // all exactly representable in F16 and BF16
        let path = try write([
            SafetensorsTensor(name: "f32", shape: [2, 4], floats: v),
            SafetensorsTensor(name: "f16", shape: [2, 4], floats: v, storedAs: .f16),
            SafetensorsTensor(name: "bf16", shape: [8], floats: v, storedAs: .bf16),
            SafetensorsTensor(name: "f64", shape: [4, 2], floats: v, storedAs: .f64),
            SafetensorsTensor(name: "ids", shape: [2], int32s: [1, 2]),
        ])
        defer { try? FileManager.default.removeItem(atPath: path) }
        let reader = try SafetensorsReader(path: path)
        #expect(reader.names == ["bf16", "f16", "f32", "f64", "ids"])
        #expect(try reader.info("f16").dtype == .f16 && reader.info("f16").shape == [2, 4])
        for name in ["f32", "f16", "bf16", "f64"] { #expect(try reader.floats(name) == v, "\(name)") }
        // Element ranges (as a chunked comparison reads them).
        var part = [Float](repeating: -1, count: 5)
        try part.withUnsafeMutableBufferPointer { try reader.readFloats("f16", elements: 3..<6, into: $0) }
        #expect(part == [3.25, -0.125, 1024, -1, -1])
        // Wrong dtype, wrong size, unknown name, range out of bounds: errors, never a trap.
        #expect { _ = try reader.floats("ids") } throws: { "\($0)".contains("tensor 'ids' is I32, expected a floating-point dtype") }
        var small = [Float](repeating: 0, count: 3)
        #expect { try small.withUnsafeMutableBufferPointer { try reader.readFloats("f32", into: $0) } } throws: {
            "\($0)".contains("has 8 elements (shape [2, 4]), expected 3")
        }
        #expect { try small.withUnsafeMutableBufferPointer { try reader.readFloats("f32", elements: 6..<9, into: $0) } } throws: {
            "\($0)".contains("do not fit")
        }
        #expect { _ = try reader.floats("nope") } throws: { "\($0)".contains("no tensor named 'nope'") }
    }

    /// Half-precision tensors larger than the reader's conversion chunk convert correctly across chunks.
    @Test func convertsAcrossChunks() throws {
        let n = (1 << 18) * 2 + 5
        let v = (0..<n).map { Float($0 % 256) - 128 }  // exact in BF16 (8 significant bits)
        let path = try write([SafetensorsTensor(name: "big", shape: [n], floats: v, storedAs: .bf16)])
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try SafetensorsReader(path: path).floats("big") == v)
    }

    /// Opening reads the header only: a (sparse) 4 GiB data section costs nothing until a tensor is read.
    @Test func openingReadsOnlyTheHeader() throws {
        let n = 1 << 30
        let header = Array("{\"w\":{\"dtype\":\"F32\",\"shape\":[\(n)],\"data_offsets\":[0,\(4 * n)]}}".utf8)
        let path = NSTemporaryDirectory() + "st-sparse-\(UUID().uuidString).safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        var bytes = withUnsafeBytes(of: UInt64(header.count).littleEndian, Array.init) + header
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.truncate(atOffset: UInt64(bytes.count + 4 * n))
        try handle.close()
        bytes.removeAll()
        let start = ContinuousClock.now
        let reader = try SafetensorsReader(path: path)
        #expect(try reader.info("w").shape == [n])
        #expect(ContinuousClock.now - start < .seconds(1))
        var first = [Float](repeating: 1, count: 4)
        try first.withUnsafeMutableBufferPointer { try reader.readFloats("w", elements: (n - 4)..<n, into: $0) }
        #expect(first == [0, 0, 0, 0])
    }

    /// The header is validated as strictly as SafetensorsFile's: truncations, a huge length, holes.
    @Test func rejectsMalformedFiles() throws {
        let bytes = try Safetensors.serialize([SafetensorsTensor(name: "a", shape: [2], floats: [1, 2]),
                                               SafetensorsTensor(name: "b", shape: [1], floats: [3])])
        let path = NSTemporaryDirectory() + "st-bad-\(UUID().uuidString).safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        for cut in [0, 7, 8, 40, bytes.count - 1] {
            try Data(bytes.prefix(cut)).write(to: URL(fileURLWithPath: path))
            #expect(throws: SafetensorsError.self) { _ = try SafetensorsReader(path: path) }
        }
        try Data(bytes + [0, 0, 0, 0]).write(to: URL(fileURLWithPath: path))
        #expect { _ = try SafetensorsReader(path: path) } throws: { ($0 as? SafetensorsError)?.kind == .hole }
        try Data([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F] + bytes.dropFirst(8)).write(to: URL(fileURLWithPath: path))
        #expect { _ = try SafetensorsReader(path: path) } throws: { ($0 as? SafetensorsError)?.kind == .headerTooLarge }
        #expect { _ = try SafetensorsReader(path: path + ".missing") } throws: { "\($0)".contains("cannot open") }
        #expect { _ = try SafetensorsReader(path: NSTemporaryDirectory()) } throws: { "\($0)".contains("not a regular file") }
    }
}
