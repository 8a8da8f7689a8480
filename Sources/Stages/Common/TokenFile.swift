import Foundation

/// Tokenised records (one split) in a compact binary file, written by the tokenise stage as
/// `<split>.tok` and read by sft, rm-pairs, rm, ppo and evaluate.
///
/// Layout (all integers little-endian):
/// ```
/// 0   8 bytes  magic "PIPETOK1"
/// 8   u32      format version (1)
/// 12  u32      bytes per token: 2 (vocabulary ≤ 65536) or 4
/// 16  u64      N, number of records
/// 24  u64      T, total number of tokens
/// 32  u64      vocabulary size (every token id is below it)
/// 40  u64 × (N+1)  offsets: record i is tokens[offsets[i] ..< offsets[i+1]]; offsets[0] = 0, offsets[N] = T
///     u8 × N       labels: 1 positive, 0 negative, 255 none
///     T tokens     u16 or u32 each
/// ```
/// Records hold the review's tokens only: no BOS/EOS is added (consumers add `<|endoftext|>` where
/// their objective needs it).
public struct TokenFile: Sendable, Equatable {
    public static let magic = Array("PIPETOK1".utf8)
    public static let noLabel: UInt8 = 255

    public var vocabSize: Int
    /// All tokens, records back to back.
    public var tokens: [Int32]
    /// N + 1 offsets into `tokens`.
    public var offsets: [Int]
    public var labels: [UInt8]

    public init(vocabSize: Int, records: [[Int32]], labels: [UInt8]) {
        precondition(records.count == labels.count)
        self.vocabSize = vocabSize
        self.labels = labels
        tokens = records.flatMap { $0 }
        var offsets = [0]
        for r in records { offsets.append(offsets.last! + r.count) }
        self.offsets = offsets
    }

    public var count: Int { labels.count }

    public func record(_ i: Int) -> ArraySlice<Int32> { tokens[offsets[i]..<offsets[i + 1]] }

    public var records: [ArraySlice<Int32>] { (0..<count).map(record) }

    // MARK: Encoding

    public func serialized() -> [UInt8] {
        let width = vocabSize <= 65536 ? 2 : 4
        var out = Self.magic
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        put(UInt32(1)); put(UInt32(width))
        put(UInt64(count)); put(UInt64(tokens.count)); put(UInt64(vocabSize))
        out.reserveCapacity(out.count + 8 * offsets.count + labels.count + width * tokens.count)
        for o in offsets { put(UInt64(o)) }
        out += labels
        if width == 2 { for t in tokens { put(UInt16(t)) } } else { for t in tokens { put(UInt32(t)) } }
        return out
    }

    public func write(to path: String) throws {
        try Data(serialized()).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    public init(contentsOf path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw StageError.failed("\(path): cannot read token file (is the input the tokenise stage's `tokens` output?)")
        }
        try self.init(bytes: [UInt8](data), file: path)
    }

    /// Parses and validates a token file: sizes, monotone offsets, labels and ids in range.
    public init(bytes b: [UInt8], file: String = "<memory>") throws {
        func fail(_ why: String) -> StageError { .failed("\(file): invalid token file: \(why)") }
        func u64(_ at: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(b[at + $1]) << (8 * $1) } }
        func u32(_ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(b[at + $1]) << (8 * $1) } }
        guard b.count >= 40, Array(b[0..<8]) == Self.magic else { throw fail("missing PIPETOK1 header") }
        guard u32(8) == 1 else { throw fail("format version \(u32(8)) (this build reads version 1)") }
        let width = Int(u32(12))
        guard width == 2 || width == 4 else { throw fail("bytes per token is \(width), expected 2 or 4") }
        let (n, t, vocab) = (u64(16), u64(24), u64(32))
        guard n < 1 << 32, t < 1 << 40, vocab <= 1 << 31 else { throw fail("implausible sizes (records \(n), tokens \(t))") }
        let count = Int(n), total = Int(t)
        let offsetsStart = 40, labelsStart = offsetsStart + 8 * (count + 1), tokensStart = labelsStart + count
        guard b.count == tokensStart + width * total else {
            throw fail("\(b.count) bytes, expected \(tokensStart + width * total) for \(count) records and \(total) tokens (truncated?)")
        }
        vocabSize = Int(vocab)
        offsets = (0...count).map { Int(u64(offsetsStart + 8 * $0)) }
        guard offsets.first == 0, offsets.last == total, zip(offsets, offsets.dropFirst()).allSatisfy({ $0 <= $1 }) else {
            throw fail("record offsets are not increasing from 0 to \(total)")
        }
        labels = Array(b[labelsStart..<tokensStart])
        guard labels.allSatisfy({ $0 <= 1 || $0 == Self.noLabel }) else { throw fail("labels must be 0, 1 or 255") }
        if width == 2 {
            tokens = (0..<total).map { i in Int32(UInt16(b[tokensStart + 2 * i]) | UInt16(b[tokensStart + 2 * i + 1]) << 8) }
        } else {
            tokens = (0..<total).map { Int32(bitPattern: u32(tokensStart + 4 * $0)) }
        }
        guard tokens.allSatisfy({ $0 >= 0 && Int($0) < vocabSize }) else { throw fail("a token id is outside the vocabulary (\(vocabSize))") }
    }

    /// The token file of one split in a tokenise `tokens` directory (`<dir>/<split>.tok`).
    public static func read(split: String, in directory: String) throws -> TokenFile {
        try TokenFile(contentsOf: directory + "/" + split + ".tok")
    }
}
