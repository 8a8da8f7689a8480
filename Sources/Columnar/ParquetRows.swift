import JSONQuoting

/// The rows of a Parquet file as JSON objects (one member per top-level column, in schema order),
/// in file order. One row group is decoded at a time.
public final class ParquetRows: ColumnarRows {
    private let file: MappedFile
    private let metadata: ParquetFileMetadata
    private let schema: ParquetSchema
    private let dataEnd: Int
    private var group = -1
    private var assembler: ParquetAssembler?

    public init(path: String) throws {
        file = try MappedFile(path: path)
        let bytes = file.bytes
        let magic: [UInt8] = Array("PAR1".utf8)
        guard bytes.count >= 4, Array(bytes[0..<4]) == magic else {
            throw ColumnarError("not a Parquet file (it does not start with PAR1)")
        }
        guard bytes.count >= 12 else { throw ColumnarError("corrupt Parquet file: cut short (\(bytes.count) bytes, no footer)") }
        let tail = Array(bytes[(bytes.count - 4)...])
        if tail == Array("PARE".utf8) { throw ColumnarError("the Parquet file is encrypted, which is not read; save it without encryption") }
        guard tail == magic else { throw ColumnarError("corrupt Parquet file: cut short or damaged (it does not end with PAR1)") }
        var c = ByteCursor(bytes, from: bytes.count - 8, truncated: "")
        let length = Int(try c.uint32())
        guard length <= bytes.count - 12 else {
            throw ColumnarError("corrupt Parquet file: its footer length (\(length) bytes) exceeds the file (\(bytes.count) bytes)")
        }
        dataEnd = bytes.count - 8 - length
        var reader = ThriftReader(ByteCursor(bytes, from: dataEnd, to: bytes.count - 8, truncated: "corrupt Parquet file: its footer (the file metadata) is damaged"))
        metadata = try ParquetFileMetadata(&reader)
        schema = try ParquetSchema(metadata.schema)
        guard !schema.leaves.isEmpty else { throw ColumnarError("the Parquet file has no columns") }
        for (g, rowGroup) in metadata.rowGroups.enumerated() {
            guard rowGroup.columns.count == schema.leaves.count else {
                throw ColumnarError("corrupt Parquet file: row group \(g) has \(rowGroup.columns.count) columns, the schema \(schema.leaves.count)")
            }
            guard rowGroup.numRows >= 0, rowGroup.numRows <= Int64(ParquetColumnStream.maxChunkEntries) else {
                throw ColumnarError("corrupt Parquet file: row group \(g) claims \(rowGroup.numRows) rows")
            }
        }
    }

    public func next() throws -> JSONValue? {
        while true {
            if let row = try assembler?.next() { return row }
            group += 1
            assembler = nil
            guard group < metadata.rowGroups.count else { return nil }
            let rowGroup = metadata.rowGroups[group]
            let columns = try rowGroup.columns.enumerated().map { i, chunk in
                try ParquetColumnStream(file: file, dataEnd: dataEnd, leaf: schema.leaves[i], chunk: chunk, rowGroup: group)
            }
            assembler = ParquetAssembler(schema: schema, columns: columns, rows: Int(rowGroup.numRows), rowGroup: group)
        }
    }
}

/// Rows read one at a time from a columnar file.
public protocol ColumnarRows: AnyObject {
    /// The next row as a JSON object, or nil after the last one.
    func next() throws -> JSONValue?
}
