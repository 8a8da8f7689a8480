/// The token ids of pieces a BPE already encoded, so each distinct short piece is merged once (most
/// pieces of a corpus repeat). Only memoises a pure function: the ids are the same with or without it.
public struct BPEPieceCache: Sendable {
    private var table = ByteStringTable()
    /// Piece i's ids are `ids[idStarts[i]..<idStarts[i + 1]]`.
    private var idStarts: [Int] = [0]
    private var ids: [Int32] = []
    /// Pieces kept before the cache starts over (bounds its memory).
    let capacity: Int
    /// Longer pieces are encoded every time (long Chinese runs rarely repeat).
    static let maxPieceBytes = 48

    public init(capacity: Int = 1 << 16) { self.capacity = capacity }

    /// Appends the ids of `piece` to `out`, computing them with `encode` when the piece is new.
    mutating func append(_ piece: UnsafeBufferPointer<UInt8>, to out: inout [Int32],
                         encode: (UnsafeBufferPointer<UInt8>, inout [Int32]) -> Void) {
        guard piece.count > 1 && piece.count <= Self.maxPieceBytes else { encode(piece, &out); return }
        let hash = ByteStringTable.hash(piece)
        if let i = table.find(piece, hash: hash) {
            out.append(contentsOf: ids[idStarts[i]..<idStarts[i + 1]])
            return
        }
        let first = out.count
        encode(piece, &out)
        if table.count >= capacity { self = BPEPieceCache(capacity: capacity) }
        _ = table.index(of: piece, hash: hash)
        ids.append(contentsOf: out[first...])
        idStarts.append(ids.count)
    }
}
