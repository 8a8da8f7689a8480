import JSONQuoting

/// The rows of an Arrow IPC file as JSON objects, in file order: the stream format (what `datasets`'
/// `save_to_disk` writes, `data-00000-of-00001.arrow`) and the file format (`ARROW1` at both ends).
/// One record batch is read at a time; its buffers are views into the mapped file.
public final class ArrowRows: ColumnarRows {
    private let file: MappedFile
    private var position: Int
    private let end: Int
    private let isFileFormat: Bool
    private var fields: [ArrowField] = []
    private var batch: ArrowBatch?
    private var row = 0
    private var finished = false

    static let magic = Array("ARROW1".utf8)

    public init(path: String) throws {
        file = try MappedFile(path: path)
        let bytes = file.bytes
        if bytes.count >= 8, Array(bytes[0..<6]) == Self.magic {
            isFileFormat = true
            guard bytes.count >= 18, Array(bytes[(bytes.count - 6)...]) == Self.magic else {
                throw ColumnarError("corrupt Arrow file: cut short or damaged (it starts with ARROW1 but does not end with it)")
            }
            let footer = Int(Int32(littleEndian: bytes.loadUnaligned(fromByteOffset: bytes.count - 10, as: Int32.self)))
            guard footer >= 0, footer <= bytes.count - 18 else { throw ColumnarError("corrupt Arrow file: its footer length is out of range") }
            position = 8
            end = bytes.count - 10 - footer
        } else {
            isFileFormat = false
            position = 0
            end = bytes.count
        }
        guard bytes.count > 0 else { throw ColumnarError("not an Arrow file (it is empty)") }
        // Every writer since Arrow 0.15 starts a message with the continuation marker 0xFFFFFFFF.
        guard isFileFormat || (bytes.count >= 4 && bytes.loadUnaligned(fromByteOffset: 0, as: UInt32.self) == 0xFFFF_FFFF) else {
            throw ColumnarError("not an Arrow file (it does not start with an Arrow schema message)")
        }
        guard let (header, message, _) = try nextMessage() else { throw ColumnarError("corrupt Arrow file: no schema") }
        guard header == 1 else {
            throw ColumnarError(isFileFormat ? "corrupt Arrow file: it does not start with a schema" : "not an Arrow file (it does not start with an Arrow schema message)")
        }
        let schema = message
        if try schema.int16(0) != 0 { throw ColumnarError("the Arrow file is big-endian, which is not read") }
        fields = try schema.tables(1).map { try ArrowField.read($0, path: "", depth: 0) }
        guard !fields.isEmpty else { throw ColumnarError("the Arrow file has no columns") }
    }

    /// The next message: its header type, header table and body; nil at the end-of-stream marker.
    private func nextMessage() throws -> (UInt8, FlatTable, UnsafeRawBufferPointer)? {
        let bytes = file.bytes
        var c = ByteCursor(bytes, from: position, to: end, truncated: "corrupt Arrow file: cut short (no end-of-stream marker)")
        if isFileFormat && c.remaining == 0 { return nil }  // older writers end the file-format stream without a marker
        guard try c.uint32() == 0xFFFF_FFFF else {
            throw ColumnarError("corrupt Arrow file: no message at byte \(position) (the continuation marker is missing)")
        }
        let length = try c.uint32()
        if length == 0 { position = c.position; return nil }
        guard Int(length) <= c.remaining else { throw ColumnarError("corrupt Arrow file: cut short (a message of \(length) bytes at byte \(position) runs past the end)") }
        let metadata = try c.slice(Int(length))
        let damaged = "corrupt Arrow file: the message at byte \(position) is damaged"
        let message = try FlatTable(root: metadata, damaged: damaged)
        let version = try message.int16(0)
        guard version >= 3 else { throw ColumnarError("the Arrow file uses IPC version V\(version + 1), which is not read; re-save it with a current pyarrow") }
        let headerType = try message.uint8(1)
        guard let header = try message.table(2) else { throw ColumnarError(damaged) }
        let bodyLength = try message.int64(3)
        guard bodyLength >= 0, bodyLength <= Int64(c.remaining) else {
            throw ColumnarError("corrupt Arrow file: cut short (a message body of \(bodyLength) bytes at byte \(c.position) runs past the end)")
        }
        let body = try c.slice(Int(bodyLength))
        position = c.position
        return (headerType, header, body)
    }

    public func next() throws -> JSONValue? {
        while batch == nil || row >= batch!.length {
            batch = nil
            file.release(0..<position)  // the batches read are not read again
            if finished { return nil }
            guard let (header, message, body) = try nextMessage() else { finished = true; return nil }
            switch header {
            case 3:
                batch = try ArrowBatch(message, body: body, fields: fields)
                row = 0
            case 2:
                throw ColumnarError("the Arrow file has dictionary-encoded columns, which are not read; decode them before saving")
            case 1:
                throw ColumnarError("corrupt Arrow file: a second schema at byte \(position)")
            default:
                throw ColumnarError("corrupt Arrow file: a message of type \(header) at byte \(position)")
            }
        }
        defer { row += 1 }
        return try batch!.row(row)
    }
}
