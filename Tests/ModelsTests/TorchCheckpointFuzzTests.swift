import Foundation
import Testing
import RandomTestSupport
import Tensor
@testable import Models

/// Damaged `pytorch_model.bin` files (cut at many lengths, bytes flipped with a fixed seed) either load or
/// throw an error naming the file: never a crash, a trap or a huge allocation.
@Suite("pytorch_model.bin damage")
struct TorchCheckpointFuzzTests {
    static let source = TorchCheckpointTests.fixtures + "/bin-f16"

    /// Loads `bytes` as the folder's pytorch_model.bin; the error text, or nil when it loads.
    static func load(_ bytes: [UInt8], in dir: String) throws -> String? {
        try Data(bytes).write(to: URL(fileURLWithPath: dir + "/pytorch_model.bin"))
        do {
            _ = try GPTModel.load(from: dir)
            return nil
        } catch {
            return "\(error)"
        }
    }

    static func folder(_ label: String) throws -> (dir: String, bytes: [UInt8]) {
        let dir = temporaryDirectory(label)
        try FileManager.default.copyItem(atPath: source + "/config.json", toPath: dir + "/config.json")
        let bytes = [UInt8](try #require(FileManager.default.contents(atPath: source + "/pytorch_model.bin")))
        #expect(try load(bytes, in: dir) == nil)
        return (dir, bytes)
    }

    /// Every cut throws (the end-of-central-directory record is gone): at every 97th byte, every 7th of
    /// the first 3 kB (headers, the pickle) and every byte of the last 300 (the central directory).
    @Test func everyTruncationIsRefused() throws {
        let (dir, bytes) = try Self.folder("torch-cut")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/cut.bin"
        let lengths = Set(Array(stride(from: 0, to: bytes.count, by: 97)) + Array(stride(from: 0, to: 3072, by: 7))
            + Array((bytes.count - 300)..<bytes.count))
        for length in lengths.sorted() {
            try Data(bytes[0..<length]).write(to: URL(fileURLWithPath: path))
            #expect { try TorchCheckpointReader(path: path) } throws: { "\($0)".hasPrefix(path + ": ") }
        }
    }

    /// Random flips: each loads (a flipped weight is just another weight) or names the file; a flip
    /// anywhere in data.pkl is always caught (its CRC-32).
    @Test func flippedBytesLoadOrAreRefused() throws {
        let (dir, bytes) = try Self.folder("torch-flip")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let pickle = Self.pickleRange(bytes)
        var random = SplitMix64(seed: 13)
        var loaded = 0, refused = 0
        for round in 0..<800 {
            var damaged = bytes
            var positions: [Int] = []
            for _ in 0..<(round % 5 == 4 ? 8 : 1) {
                let at = round % 3 == 0 ? pickle.lowerBound + random.below(pickle.count) : random.below(bytes.count)
                damaged[at] ^= UInt8(1 + random.below(255))
                positions.append(at)
            }
            guard let error = try Self.load(damaged, in: dir) else {
                loaded += 1
                #expect(!positions.contains { pickle.contains($0) }, "round \(round): a damaged pickle loaded")
                continue
            }
            refused += 1
            #expect(error.hasPrefix(dir + "/"), "round \(round): \(error)")
        }
        #expect(loaded > 50 && refused > 200, "loaded \(loaded), refused \(refused)")
    }

    /// data.pkl's bytes: after its local header, up to its data descriptor (torch writes one after each entry).
    static func pickleRange(_ bytes: [UInt8]) -> Range<Int> {
        let start = 30 + Int(bytes[26]) + Int(bytes[27]) << 8 + Int(bytes[28]) + Int(bytes[29]) << 8
        var end = start
        while !(bytes[end] == 0x50 && bytes[end + 1] == 0x4B && bytes[end + 2] == 7 && bytes[end + 3] == 8) { end += 1 }
        return start..<end
    }
}
