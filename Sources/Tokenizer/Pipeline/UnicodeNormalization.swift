@_spi(_Unicode) import Swift
import Foundation

/// NFD, NFC, NFKD and NFKC as the `tokenizers` package computes them (its `unicode-normalization-alignments`
/// crate, whose Unicode tables are older than Swift's). Canonical forms come from the Swift standard library
/// (Foundation's composition is wrong on Linux for supplementary-plane text: U+10041 + U+0301 becomes "Á");
/// compatibility mappings from Foundation one scalar at a time. Where the two Unicode versions disagree —
/// characters and marks the crate does not know, found by comparing every code point with `tokenizers`
/// 0.23.3 — the crate's behaviour is kept: such a character stays as it is and nothing reorders or composes
/// across it; U+0F73, U+0F75, U+0F81 are decomposed before the standard library sees them
/// (it does not reorder a mark that a decomposition puts after a higher-class mark).
enum UnicodeNormalization {
    enum Form: Sendable { case nfd, nfc, nfkd, nfkc }

    /// Code points the crate leaves alone (unassigned in its tables) where Swift's tables decompose,
    /// compose or reorder them.
    static let unknownToTokenizers: [ClosedRange<UInt32>] = [
        0x7FD...0x7FD, 0x899...0x89B, 0x8CF...0x8D3, 0xC3C...0xC3C, 0xD3B...0xD3C, 0xEBA...0xEBA, 0x1715...0x1715,
        0x1ABF...0x1AC0, 0x1AC3...0x1AC4, 0x1ACA...0x1ACA, 0x1ADD...0x1ADD, 0x1AE6...0x1AE6, 0x1AEB...0x1AEB, 0x1DF6...0x1DFA,
        0x32FF...0x32FF, 0xA7F2...0xA7F4, 0xA82C...0xA82C, 0xAB69...0xAB69, 0x105C9...0x105C9, 0x105E4...0x105E4,
        0x10781...0x10785, 0x10787...0x107B0, 0x107B2...0x107BA, 0x10EFA...0x10EFB, 0x10EFD...0x10EFF, 0x10F46...0x10F47,
        0x10F4B...0x10F4B, 0x10F4D...0x10F50, 0x10F83...0x10F83, 0x10F85...0x10F85, 0x11070...0x11070, 0x1133B...0x1133B,
        0x11383...0x11383, 0x11385...0x11385, 0x1138E...0x1138E, 0x11391...0x11391, 0x113C5...0x113C5, 0x113C7...0x113C8,
        0x113CE...0x113D0, 0x11839...0x1183A, 0x11938...0x11938, 0x1193D...0x1193E, 0x11943...0x11943, 0x119E0...0x119E0,
        0x11A34...0x11A34, 0x11A47...0x11A47, 0x11A99...0x11A99, 0x11D42...0x11D42, 0x11D44...0x11D45, 0x11D97...0x11D97,
        0x11F41...0x11F42, 0x16121...0x16128, 0x1612F...0x1612F, 0x16D68...0x16D6A, 0x16FF0...0x16FF1, 0x1E030...0x1E06D,
        0x1E4EC...0x1E4EE, 0x1E5EF...0x1E5EF, 0x1F16C...0x1F16C, 0x1FBF0...0x1FBF9
    ]

    private static let unknownBMP: [Bool] = {
        var table = [Bool](repeating: false, count: 0x10000)
        for r in unknownToTokenizers where r.lowerBound < 0x10000 { for v in r where v < 0x10000 { table[Int(v)] = true } }
        return table
    }()

    static func isUnknown(_ v: UInt32) -> Bool {
        if v < 0x10000 { return unknownBMP[Int(v)] }
        return unknownToTokenizers.contains { $0.contains(v) }
    }

    /// Full compatibility decompositions of the BMP scalars that have one.
    private static let bmpCompatibility: [UInt32: [UInt32]] = {
        var table: [UInt32: [UInt32]] = [:]
        for v in UInt32(0xA0)..<0x10000 {
            guard let s = Unicode.Scalar(v) else { continue }
            let d = String(s).decomposedStringWithCompatibilityMapping.unicodeScalars.map(\.value)
            if d != [v] { table[v] = d }
        }
        return table
    }()

    private static func compatibility(_ v: UInt32) -> [UInt32]? {
        if v < 0xA0 { return nil }
        if v < 0x10000 { return bmpCompatibility[v] }
        guard let s = Unicode.Scalar(v) else { return nil }
        let d = String(s).decomposedStringWithCompatibilityMapping.unicodeScalars.map(\.value)
        return d == [v] ? nil : d
    }

    static func normalize(_ input: [UInt32], _ form: Form) -> [UInt32] {
        if input.allSatisfy({ $0 < 0x80 }) { return input }
        var out: [UInt32] = []
        out.reserveCapacity(input.count)
        var segment: [UInt32] = []
        func flush() {
            guard !segment.isEmpty else { return }
            out += normalizeSegment(segment, form)
            segment.removeAll(keepingCapacity: true)
        }
        for v in input {
            switch v {
            case 0x0F73: segment += [0x0F71, 0x0F72]
            case 0x0F75: segment += [0x0F71, 0x0F74]
            case 0x0F81: segment += [0x0F71, 0x0F80]
            default:
                if isUnknown(v) { flush(); out.append(v) } else { segment.append(v) }
            }
        }
        flush()
        return out
    }

    private static func normalizeSegment(_ input: [UInt32], _ form: Form) -> [UInt32] {
        var text = input
        if form == .nfkd || form == .nfkc { text = text.flatMap { compatibility($0) ?? [$0] } }
        let string = stringOfScalars(text)
        let composed = form == .nfc || form == .nfkc
        let result = composed ? string._nfc.map(\.value) : string._nfd.map(\.value)
        guard composed, result.contains(where: isUnknown) else { return result }
        // A composition into a character the crate does not know: it keeps the pieces.
        return result.flatMap { v in isUnknown(v) ? stringOfScalars([v])._nfd.map(\.value) : [v] }
    }
}
