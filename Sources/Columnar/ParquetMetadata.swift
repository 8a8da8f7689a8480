/// The parts of Parquet's Thrift footer (`FileMetaData`) and page headers that reading rows needs.
/// Field numbers are those of parquet-format's parquet.thrift.
struct ParquetSchemaElement {
    var type: Int32?
    var repetition: Int32?
    var name = ""
    var numChildren: Int32?
    var convertedType: Int32?
    /// The `LogicalType` union's member, by its field number (1 STRING, 2 MAP, 3 LIST, ...).
    var logicalType: Int16?
}

struct ParquetColumnChunk {
    var filePath: String?
    var type: Int32 = -1
    var path: [String] = []
    var codec: Int32 = 0
    var numValues: Int64 = 0
    var totalCompressedSize: Int64 = 0
    var dataPageOffset: Int64 = 0
    var dictionaryPageOffset: Int64?
    var hasMetadata = false
}

struct ParquetRowGroup {
    var columns: [ParquetColumnChunk] = []
    var numRows: Int64 = 0
}

struct ParquetFileMetadata {
    var schema: [ParquetSchemaElement] = []
    var numRows: Int64 = 0
    var rowGroups: [ParquetRowGroup] = []

    init(_ reader: inout ThriftReader) throws {
        try reader.readStruct { r, id, t in
            switch id {
            case 2: try r.readList(t) { r, _ in schema.append(try Self.schemaElement(&r)) }
            case 3: numRows = try r.int(t)
            case 4: try r.readList(t) { r, _ in rowGroups.append(try Self.rowGroup(&r)) }
            default: return false
            }
            return true
        }
    }

    static func schemaElement(_ r: inout ThriftReader) throws -> ParquetSchemaElement {
        var e = ParquetSchemaElement()
        try r.readStruct { r, id, t in
            switch id {
            case 1: e.type = try r.int32(t)
            case 3: e.repetition = try r.int32(t)
            case 4: e.name = try r.string(t)
            case 5: e.numChildren = try r.int32(t)
            case 6: e.convertedType = try r.int32(t)
            case 10: try r.readStruct { r, member, mt in e.logicalType = member; try r.skip(mt); return true }
            default: return false
            }
            return true
        }
        return e
    }

    static func rowGroup(_ r: inout ThriftReader) throws -> ParquetRowGroup {
        var g = ParquetRowGroup()
        try r.readStruct { r, id, t in
            switch id {
            case 1: try r.readList(t) { r, _ in g.columns.append(try columnChunk(&r)) }
            case 3: g.numRows = try r.int(t)
            default: return false
            }
            return true
        }
        return g
    }

    static func columnChunk(_ r: inout ThriftReader) throws -> ParquetColumnChunk {
        var c = ParquetColumnChunk()
        try r.readStruct { r, id, t in
            switch id {
            case 1: c.filePath = try r.string(t)
            case 3:
                c.hasMetadata = true
                try r.readStruct { r, id, t in
                    switch id {
                    case 1: c.type = try r.int32(t)
                    case 3: try r.readList(t) { r, et in c.path.append(try r.string(et)) }
                    case 4: c.codec = try r.int32(t)
                    case 5: c.numValues = try r.int(t)
                    case 7: c.totalCompressedSize = try r.int(t)
                    case 9: c.dataPageOffset = try r.int(t)
                    case 11: c.dictionaryPageOffset = try r.int(t)
                    default: return false
                    }
                    return true
                }
            default: return false
            }
            return true
        }
        return c
    }
}

struct ParquetPageHeader {
    enum Kind: Int32 { case data = 0, index = 1, dictionary = 2, dataV2 = 3 }
    var type: Int32 = -1
    var uncompressedSize: Int32 = -1
    var compressedSize: Int32 = -1
    var numValues: Int32 = 0
    var encoding: Int32 = 0
    var definitionLevelEncoding: Int32 = 3
    var repetitionLevelEncoding: Int32 = 3
    // Data page v2.
    var definitionLevelsLength: Int32 = 0
    var repetitionLevelsLength: Int32 = 0
    var isCompressed = true

    init(_ r: inout ThriftReader) throws {
        var sawType = false, sawSizes = 0
        try r.readStruct { r, id, t in
            switch id {
            case 1: type = try r.int32(t); sawType = true
            case 2: uncompressedSize = try r.int32(t); sawSizes += 1
            case 3: compressedSize = try r.int32(t); sawSizes += 1
            case 5:  // DataPageHeader
                try r.readStruct { r, id, t in
                    switch id {
                    case 1: numValues = try r.int32(t)
                    case 2: encoding = try r.int32(t)
                    case 3: definitionLevelEncoding = try r.int32(t)
                    case 4: repetitionLevelEncoding = try r.int32(t)
                    default: return false
                    }
                    return true
                }
            case 7:  // DictionaryPageHeader
                try r.readStruct { r, id, t in
                    switch id {
                    case 1: numValues = try r.int32(t)
                    case 2: encoding = try r.int32(t)
                    default: return false
                    }
                    return true
                }
            case 8:  // DataPageHeaderV2
                try r.readStruct { r, id, t in
                    switch id {
                    case 1: numValues = try r.int32(t)
                    case 4: encoding = try r.int32(t)
                    case 5: definitionLevelsLength = try r.int32(t)
                    case 6: repetitionLevelsLength = try r.int32(t)
                    case 7: isCompressed = try r.bool(t)
                    default: return false
                    }
                    return true
                }
            default: return false
            }
            return true
        }
        guard sawType, sawSizes == 2, uncompressedSize >= 0, compressedSize >= 0, numValues >= 0,
              definitionLevelsLength >= 0, repetitionLevelsLength >= 0 else {
            throw ColumnarError(r.cursor.truncated)
        }
    }
}

/// Parquet's enums, by the names its errors use.
enum ParquetNames {
    static func codec(_ c: Int32) -> String {
        ["UNCOMPRESSED", "SNAPPY", "GZIP", "LZO", "BROTLI", "LZ4", "ZSTD", "LZ4_RAW"].element(c) ?? "codec \(c)"
    }
    static func encoding(_ e: Int32) -> String {
        ["PLAIN", "encoding 1", "PLAIN_DICTIONARY", "RLE", "BIT_PACKED", "DELTA_BINARY_PACKED", "DELTA_LENGTH_BYTE_ARRAY",
         "DELTA_BYTE_ARRAY", "RLE_DICTIONARY", "BYTE_STREAM_SPLIT"].element(e) ?? "encoding \(e)"
    }
    static func physical(_ t: Int32) -> String {
        ["BOOLEAN", "INT32", "INT64", "INT96", "FLOAT", "DOUBLE", "BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY"].element(t) ?? "type \(t)"
    }
    static func converted(_ t: Int32) -> String {
        ["UTF8", "MAP", "MAP_KEY_VALUE", "LIST", "ENUM", "DECIMAL", "DATE", "TIME_MILLIS", "TIME_MICROS", "TIMESTAMP_MILLIS",
         "TIMESTAMP_MICROS", "UINT_8", "UINT_16", "UINT_32", "UINT_64", "INT_8", "INT_16", "INT_32", "INT_64", "JSON", "BSON",
         "INTERVAL"].element(t) ?? "converted type \(t)"
    }
    static func logical(_ t: Int16) -> String {
        [1: "STRING", 2: "MAP", 3: "LIST", 4: "ENUM", 5: "DECIMAL", 6: "DATE", 7: "TIME", 8: "TIMESTAMP", 10: "INTEGER",
         11: "NULL", 12: "JSON", 13: "BSON", 14: "UUID", 15: "FLOAT16", 16: "VARIANT", 17: "GEOMETRY", 18: "GEOGRAPHY"][t] ?? "logical type \(t)"
    }
}

extension Array {
    func element(_ i: Int32) -> Element? { i >= 0 && Int(i) < count ? self[Int(i)] : nil }
}
