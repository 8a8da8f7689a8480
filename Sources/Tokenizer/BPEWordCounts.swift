/// The distinct pre-tokenizer pieces ("words") of a corpus with how often each occurs: what BPE trains on.
///
/// Words are kept in first-seen order (`ByteStringTable`). Counting shards of a corpus separately and
/// adding the shards in corpus order (`add(_:)`) gives the same words in the same order as one pass.
public struct BPEWordCounts: Sendable {
    private var table = ByteStringTable()
    public private(set) var counts: [Int] = []

    public init() {}

    public var count: Int { counts.count }
    /// Word i is `bytes[starts[i]..<starts[i + 1]]`.
    public var bytes: [UInt8] { table.bytes }
    public var starts: [Int] { table.starts }

    /// Counts every piece of each text.
    public mutating func add(texts: some Sequence<String>) {
        for text in texts { add(text: text) }
    }

    /// Counts every piece of `text`.
    public mutating func add(text: String) {
        var text = text
        text.withUTF8 { utf8 in
            PreTokenizer.forEachPiece(utf8) { start, end in
                add(word: UnsafeBufferPointer(rebasing: utf8[start..<end]), count: 1)
            }
        }
    }

    /// Adds another count's words, in its order.
    public mutating func add(_ other: BPEWordCounts) {
        other.table.bytes.withUnsafeBufferPointer { all in
            for w in 0..<other.count {
                add(word: UnsafeBufferPointer(rebasing: all[other.table.starts[w]..<other.table.starts[w + 1]]), count: other.counts[w],
                    hash: other.table.hashes[w])
            }
        }
    }

    public mutating func add(word: UnsafeBufferPointer<UInt8>, count: Int) {
        add(word: word, count: count, hash: ByteStringTable.hash(word))
    }

    private mutating func add(word: UnsafeBufferPointer<UInt8>, count: Int, hash: UInt64) {
        let (w, added) = table.index(of: word, hash: hash)
        if added { counts.append(count) } else { counts[w] += count }
    }
}
