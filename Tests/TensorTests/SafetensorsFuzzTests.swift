import RandomTestSupport
import Testing
@testable import Tensor

@Suite("Safetensors fuzzing")
struct SafetensorsFuzzTests {
    /// Random byte flips, truncations and header-length edits of a valid file: the reader must either
    /// accept (with every tensor inside the data) or throw, never trap or read out of bounds.
    @Test func randomCorruptionsNeverCrash() throws {
        let valid = try Safetensors.serialize(SafetensorsTests.sample())
        var rng = SplitMix64(seed: 20_261_122)
        var accepted = 0, rejected = 0
        for _ in 0..<4000 {
            var bytes = valid
            switch rng.below(4) {
            case 0:
                for _ in 0..<(1 + rng.below(4)) { bytes[rng.below(bytes.count)] ^= UInt8(1 << rng.below(8)) }
            case 1:
                bytes = Array(bytes.prefix(rng.below(bytes.count)))
            case 2:
                bytes[rng.below(8)] = UInt8(truncatingIfNeeded: rng.next())
            default:
                // Replace a header byte with a JSON-significant character.
                let specials = Array("{}[],:\"0123456789-e ".utf8)
                bytes[8 + rng.below(Int(valid[0]))] = specials[rng.below(specials.count)]
            }
            do {
                let file = try SafetensorsFile(bytes: bytes)
                let dataSize = bytes.count - 8 - Int(bytes[0]) - Int(bytes[1]) << 8
                for t in file.tensors {
                    #expect(t.dataRange.upperBound <= dataSize)
                    _ = try file.withBytes(t.name) { $0.reduce(0) { $0 &+ Int($1) } }
                }
                accepted += 1
            } catch {
                rejected += 1
            }
        }
        #expect(rejected > 1000)
        #expect(accepted + rejected == 4000)
    }
}
