import JSONQuoting

/// The decoded part of a column chunk not yet consumed: repetition and definition levels (empty when
/// the column's maximum is 0) and present values. `base` is the chunk-wide index of the first entry
/// held; `entries` counts the entries decoded so far.
struct ParquetLeafData {
    var repetition: [UInt8] = []
    var definition: [UInt8] = []
    var values: [JSONValue] = []
    var base = 0
    var entries = 0
}

/// Reads a column chunk's pages one data page at a time (so a row group is never held whole):
/// dictionary pages, data pages v1 and v2, PLAIN, RLE (booleans) and dictionary values,
/// UNCOMPRESSED, SNAPPY, GZIP and ZSTD.
final class ParquetColumnStream {
    let mapped: MappedFile
    let file: UnsafeRawBufferPointer
    let leaf: ParquetNode
    let chunk: ParquetColumnChunk
    let rowGroup: Int
    var data = ParquetLeafData()
    private var dictionary: [JSONValue]?
    private var position: Int
    private let start: Int
    private let end: Int
    private var scratch: [UInt32] = []

    /// At most this many level entries in one page or one chunk: RLE runs make huge counts from few
    /// bytes, so a corrupt count is capped before anything is allocated for it.
    static let maxPageEntries = 1 << 24
    static let maxChunkEntries = 1 << 28
    static let resave = "re-save the file with pyarrow's defaults, e.g. pyarrow.parquet.write_table(pyarrow.parquet.read_table(src), dst)"

    var column: String { "column \"\(leaf.dottedPath)\"" }
    var place: String { "\(column), row group \(rowGroup)" }
    func corrupt(_ what: String) -> ColumnarError { ColumnarError("corrupt Parquet file: \(place): \(what)") }

    var total: Int { Int(chunk.numValues) }
    var finished: Bool { data.entries >= total }

    /// - Parameter dataEnd: where the footer starts: no page may reach into it.
    init(file mapped: MappedFile, dataEnd: Int, leaf: ParquetNode, chunk: ParquetColumnChunk, rowGroup: Int) throws {
        self.mapped = mapped
        let file = mapped.bytes
        self.file = file
        self.leaf = leaf
        self.chunk = chunk
        self.rowGroup = rowGroup
        let column = "column \"\(leaf.dottedPath)\""
        guard chunk.filePath == nil else {
            throw ColumnarError("\(column) is stored in another file (\(chunk.filePath!)), which is not read; write the table into one file")
        }
        guard chunk.hasMetadata else { throw ColumnarError("\(column) has no metadata (an encrypted file?), which is not read") }
        switch chunk.codec {
        case 0, 1, 2, 6: break
        default:
            throw ColumnarError("\(column) is compressed with \(ParquetNames.codec(chunk.codec)), which is not read; re-save the file "
                + "with compression 'snappy', 'gzip', 'zstd' or 'none', e.g. pyarrow.parquet.write_table(pyarrow.parquet.read_table(src), dst)")
        }
        var start = chunk.dataPageOffset
        if let dictionary = chunk.dictionaryPageOffset, dictionary > 0, dictionary < start { start = dictionary }
        let (end, overflow) = start.addingReportingOverflow(chunk.totalCompressedSize)
        position = Int(clamping: start)
        self.start = position
        self.end = overflow ? 0 : Int(clamping: end)
        guard chunk.type == leaf.element.type else { throw corrupt("its chunk's type differs from the schema's") }
        guard start >= 4, chunk.totalCompressedSize >= 0, !overflow, end <= Int64(dataEnd) else {
            throw corrupt("its pages lie outside the file (bytes \(start) to \(overflow ? Int64.max : end) of \(file.count))")
        }
        guard chunk.numValues >= 0, chunk.numValues <= Int64(Self.maxChunkEntries) else {
            throw corrupt("it claims \(chunk.numValues) values")
        }
    }

    /// Drops the entries before chunk-wide entry `entry` and the values before `value` (both consumed).
    func discard(before entry: Int, values value: Int) {
        let n = entry - data.base
        guard n > 0 else { return }
        if !data.repetition.isEmpty { data.repetition.removeFirst(n) }
        if !data.definition.isEmpty { data.definition.removeFirst(n) }
        data.values.removeFirst(value)
        data.base = entry
    }

    /// Decodes the next data page (and any dictionary or index pages before it) onto `data`.
    func loadPage() throws {
        defer { mapped.release(start..<position) }  // the pages decoded are not read again
        while true {
            guard !finished else { throw corrupt("more rows than values") }
            guard position < end else { throw corrupt("it holds \(data.entries) of its \(chunk.numValues) values (the pages end early)") }
            var reader = ThriftReader(ByteCursor(file, from: position, to: end, truncated: "corrupt Parquet file: \(place): a page header at byte \(position) is damaged"))
            let header = try ParquetPageHeader(&reader)
            position = reader.cursor.position
            guard Int(header.compressedSize) <= end - position else {
                throw corrupt("a page at byte \(position) runs past its column chunk")
            }
            let page = UnsafeRawBufferPointer(rebasing: file[position..<position + Int(header.compressedSize)])
            position += Int(header.compressedSize)
            switch ParquetPageHeader.Kind(rawValue: header.type) {
            case .dictionary?:
                guard header.encoding == 0 || header.encoding == 2 else {
                    throw ColumnarError("\(column) has a dictionary in encoding \(ParquetNames.encoding(header.encoding)), which is not read; \(Self.resave)")
                }
                try decompressed(page, size: Int(header.uncompressedSize)) { bytes in
                    var cursor = ByteCursor(bytes, truncated: "corrupt Parquet file: \(place): the dictionary page ends early")
                    var values: [JSONValue] = []
                    try plainValues(&cursor, count: Int(header.numValues), into: &values)
                    dictionary = values
                }
            case .data?:
                try checkEntries(header)
                try decompressed(page, size: Int(header.uncompressedSize)) { bytes in
                    var cursor = ByteCursor(bytes, truncated: "corrupt Parquet file: \(place): a data page ends early")
                    let n = Int(header.numValues)
                    if leaf.repetitionLevel > 0 {
                        guard header.repetitionLevelEncoding == 3 else { throw levelEncoding(header.repetitionLevelEncoding) }
                        let length = Int(try cursor.uint32())
                        var levels = ByteCursor(try cursor.slice(length), truncated: cursor.truncated)
                        try self.levels(&levels, count: n, max: leaf.repetitionLevel, into: &data.repetition)
                    }
                    if leaf.definitionLevel > 0 {
                        guard header.definitionLevelEncoding == 3 else { throw levelEncoding(header.definitionLevelEncoding) }
                        let length = Int(try cursor.uint32())
                        var levels = ByteCursor(try cursor.slice(length), truncated: cursor.truncated)
                        try self.levels(&levels, count: n, max: leaf.definitionLevel, into: &data.definition)
                    }
                    try values(&cursor, header: header)
                }
                return
            case .dataV2?:
                try checkEntries(header)
                let levelBytes = Int(header.repetitionLevelsLength) + Int(header.definitionLevelsLength)
                guard levelBytes <= page.count, levelBytes <= Int(header.uncompressedSize) else { throw corrupt("a v2 page's levels run past the page") }
                let n = Int(header.numValues)
                var levels = ByteCursor(page, to: Int(header.repetitionLevelsLength), truncated: "corrupt Parquet file: \(place): a v2 page's levels end early")
                if leaf.repetitionLevel > 0 {
                    try self.levels(&levels, count: n, max: leaf.repetitionLevel, into: &data.repetition)
                }
                levels = ByteCursor(page, from: Int(header.repetitionLevelsLength), to: levelBytes, truncated: levels.truncated)
                if leaf.definitionLevel > 0 {
                    try self.levels(&levels, count: n, max: leaf.definitionLevel, into: &data.definition)
                }
                let body = UnsafeRawBufferPointer(rebasing: page[levelBytes...])
                let size = Int(header.uncompressedSize) - levelBytes
                let work: (UnsafeRawBufferPointer) throws -> Void = { bytes in
                    var cursor = ByteCursor(bytes, truncated: "corrupt Parquet file: \(self.place): a data page ends early")
                    try self.values(&cursor, header: header)
                }
                if header.isCompressed { try decompressed(body, size: size, work) } else { try work(body) }
                return
            case .index?:
                continue
            case nil:
                throw corrupt("a page at byte \(position - Int(header.compressedSize)) has page type \(header.type)")
            }
        }
    }

    private func levelEncoding(_ encoding: Int32) -> ColumnarError {
        ColumnarError("\(column) stores its levels in encoding \(ParquetNames.encoding(encoding)), which is not read; \(Self.resave)")
    }

    private func checkEntries(_ header: ParquetPageHeader) throws {
        guard Int(header.numValues) <= Self.maxPageEntries, Int(header.numValues) <= Int(chunk.numValues) - data.entries else {
            throw corrupt("a page claims \(header.numValues) values, more than its column chunk has left")
        }
    }

    /// Runs `body` on the page's bytes, decompressed with the chunk's codec.
    private func decompressed(_ page: UnsafeRawBufferPointer, size: Int, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard size >= 0 else { throw corrupt("a page has a negative size") }
        do {
            switch chunk.codec {
            case 0:
                guard size == page.count else { throw corrupt("an uncompressed page's sizes differ (\(page.count) and \(size) bytes)") }
                try body(page)
            case 1: try Snappy.decompress(page, expected: size).withUnsafeBytes(body)
            case 2: try Decompression.gzip(page, expected: size).withUnsafeBytes(body)
            default: try Decompression.zstd(page, expected: size).withUnsafeBytes(body)
            }
        } catch let error as ColumnarError where error.message.hasPrefix("corrupt ") && !error.message.hasPrefix("corrupt Parquet") {
            throw corrupt(String(error.message.dropFirst("corrupt ".count)))
        }
    }

    private func levels(_ cursor: inout ByteCursor, count: Int, max: Int, into out: inout [UInt8]) throws {
        scratch.removeAll(keepingCapacity: true)
        try RLEHybrid.decode(&cursor, count: count, bitWidth: RLEHybrid.bitWidth(max), maxValue: UInt32(max), into: &scratch,
                             what: "\(place): its levels")
        out.append(contentsOf: scratch.lazy.map { UInt8(truncatingIfNeeded: $0) })
    }

    /// The values of one data page: as many as its entries at the maximum definition level.
    private func values(_ cursor: inout ByteCursor, header: ParquetPageHeader) throws {
        let n = Int(header.numValues)
        let present: Int
        if leaf.definitionLevel == 0 {
            present = n
        } else {
            let maxDef = UInt8(leaf.definitionLevel)
            present = data.definition[(data.entries - data.base)...].reduce(0) { $0 + ($1 == maxDef ? 1 : 0) }
        }
        if leaf.repetitionLevel > 0 {
            guard data.repetition.count == data.entries - data.base + n else { throw corrupt("a page's repetition levels are missing") }
            if data.entries == 0, n > 0, data.repetition[0] != 0 { throw corrupt("its first value does not start a row") }
        }
        data.entries += n
        if leaf.leafKind == .null {
            guard present == 0 else { throw corrupt("a NULL-typed column holds values") }
            return
        }
        switch header.encoding {
        case 0:
            try plainValues(&cursor, count: present, into: &data.values)
        case 3 where leaf.leafKind == .boolean:
            // Booleans as an RLE run (v2 pages): a 4-byte length, then the hybrid runs at bit width 1.
            let length = Int(try cursor.uint32())
            var runs = ByteCursor(try cursor.slice(length), truncated: cursor.truncated)
            scratch.removeAll(keepingCapacity: true)
            try RLEHybrid.decode(&runs, count: present, bitWidth: 1, maxValue: 1, into: &scratch, what: "\(place): its booleans")
            data.values.append(contentsOf: scratch.lazy.map { .bool($0 == 1) })
        case 2, 8:
            guard let dictionary else { throw corrupt("a dictionary-encoded page comes before any dictionary page") }
            if present == 0 { return }
            let width = Int(try cursor.byte())
            guard !dictionary.isEmpty else { throw corrupt("its dictionary is empty") }
            scratch.removeAll(keepingCapacity: true)
            try RLEHybrid.decode(&cursor, count: present, bitWidth: width, maxValue: UInt32(clamping: dictionary.count - 1), into: &scratch,
                                 what: "\(place): its dictionary indices")
            data.values.reserveCapacity(data.values.count + present)
            for index in scratch { data.values.append(dictionary[Int(index)]) }
        default:
            throw ColumnarError("\(column) uses encoding \(ParquetNames.encoding(header.encoding)), which is not read; \(Self.resave)")
        }
    }

    /// PLAIN values of the leaf's type.
    private func plainValues(_ cursor: inout ByteCursor, count: Int, into out: inout [JSONValue]) throws {
        guard count >= 0 else { throw corrupt("a page has a negative value count") }
        out.reserveCapacity(out.count + min(count, cursor.remaining))
        switch leaf.leafKind {
        case .null:
            out.append(contentsOf: repeatElement(.null, count: min(count, 0)))
        case .boolean:
            let bytes = try cursor.slice((count + 7) / 8)
            for i in 0..<count { out.append(.bool(bytes[i >> 3] >> (i & 7) & 1 == 1)) }
        case .int32, .uint32:
            let bytes = try cursor.slice(count * 4)
            let unsigned = leaf.leafKind == .uint32
            for i in 0..<count {
                let raw = bytes.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self).littleEndian
                out.append(.number(unsigned ? Double(raw) : Double(Int32(bitPattern: raw))))
            }
        case .int64, .uint64:
            let bytes = try cursor.slice(count * 8)
            let unsigned = leaf.leafKind == .uint64
            for i in 0..<count {
                let raw = bytes.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self).littleEndian
                out.append(.number(unsigned ? Double(raw) : Double(Int64(bitPattern: raw))))
            }
        case .float:
            let bytes = try cursor.slice(count * 4)
            for i in 0..<count {
                let f = Float(bitPattern: bytes.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self).littleEndian)
                out.append(try ColumnarNumbers.float32(f, column: leaf.dottedPath))
            }
        case .double:
            let bytes = try cursor.slice(count * 8)
            for i in 0..<count {
                let d = Double(bitPattern: bytes.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self).littleEndian)
                out.append(try ColumnarNumbers.double(d, column: leaf.dottedPath))
            }
        case .string:
            for _ in 0..<count {
                let length = Int(try cursor.uint32())
                let bytes = try cursor.slice(length)
                guard let s = String(validating: bytes, as: UTF8.self) else {
                    throw ColumnarError("\(place) holds a string that is not valid UTF-8")
                }
                out.append(.string(s))
            }
        }
    }
}

/// Numbers as the JSON Lines export of the same rows would give them.
enum ColumnarNumbers {
    /// A 32-bit float as its shortest decimal (what `to_json` prints), so 0.1f reads as 0.1.
    static func float32(_ f: Float, column: String) throws -> JSONValue {
        guard f.isFinite else { throw nonFinite(column) }
        return .number(Double("\(f)") ?? Double(f))
    }

    static func double(_ d: Double, column: String) throws -> JSONValue {
        guard d.isFinite else { throw nonFinite(column) }
        return .number(d)
    }

    static func nonFinite(_ column: String) -> ColumnarError {
        ColumnarError("column \"\(column)\" holds NaN or an infinity, which JSON has no form for; replace them before saving")
    }
}
