/// Thrift's compact protocol, as Parquet stores its footer and page headers: structs of numbered
/// fields, zigzag varints, length-prefixed binaries, lists. Unknown fields are skipped; every length
/// is checked against the bytes left, so a corrupt count cannot allocate more than the file holds.
struct ThriftReader {
    enum FieldType: UInt8 {
        case stop = 0, boolTrue, boolFalse, byte, i16, i32, i64, double, binary, list, set, map, structure
    }

    var cursor: ByteCursor
    private var depth = 0
    static let maxDepth = 32

    init(_ cursor: ByteCursor) { self.cursor = cursor }

    private func corrupt() -> ColumnarError { ColumnarError(cursor.truncated) }

    /// Reads one struct; `field(reader, id, type)` reads the fields it knows and returns false to skip the rest.
    mutating func readStruct(_ field: (inout ThriftReader, Int16, FieldType) throws -> Bool) throws {
        depth += 1
        guard depth <= Self.maxDepth else { throw corrupt() }
        defer { depth -= 1 }
        var last: Int16 = 0
        while true {
            let header = try cursor.byte()
            guard let type = FieldType(rawValue: header & 0x0F) else { throw corrupt() }
            if type == .stop { return }
            let delta = header >> 4
            let id: Int16
            if delta == 0 { id = Int16(truncatingIfNeeded: try zigzag()) } else { id = last &+ Int16(delta) }
            last = id
            if try !field(&self, id, type) { try skip(type) }
        }
    }

    mutating func zigzag() throws -> Int64 {
        let v = try cursor.varint()
        return Int64(bitPattern: (v >> 1) ^ (0 &- (v & 1)))
    }

    mutating func int(_ type: FieldType) throws -> Int64 {
        guard type == .i32 || type == .i64 || type == .i16 || type == .byte else { throw corrupt() }
        if type == .byte { return Int64(Int8(bitPattern: try cursor.byte())) }
        return try zigzag()
    }

    mutating func int32(_ type: FieldType) throws -> Int32 {
        let v = try int(type)
        guard let r = Int32(exactly: v) else { throw corrupt() }
        return r
    }

    func bool(_ type: FieldType) throws -> Bool {
        guard type == .boolTrue || type == .boolFalse else { throw corrupt() }
        return type == .boolTrue
    }

    mutating func binary(_ type: FieldType) throws -> UnsafeRawBufferPointer {
        guard type == .binary else { throw corrupt() }
        let length = try cursor.varint()
        guard length <= UInt64(cursor.remaining) else { throw corrupt() }
        return try cursor.slice(Int(length))
    }

    mutating func string(_ type: FieldType) throws -> String {
        String(decoding: try binary(type), as: UTF8.self)
    }

    /// Reads a list; `element(reader, elementType)` is called once per element.
    mutating func readList(_ type: FieldType, _ element: (inout ThriftReader, FieldType) throws -> Void) throws {
        guard type == .list || type == .set else { throw corrupt() }
        let header = try cursor.byte()
        var count = Int(header >> 4)
        if count == 15 {
            let n = try cursor.varint()
            guard n <= UInt64(cursor.remaining) else { throw corrupt() }
            count = Int(n)
        }
        guard count <= cursor.remaining, let elementType = FieldType(rawValue: header & 0x0F) else { throw corrupt() }
        depth += 1
        guard depth <= Self.maxDepth else { throw corrupt() }
        defer { depth -= 1 }
        for _ in 0..<count { try element(&self, elementType) }
    }

    mutating func skip(_ type: FieldType) throws {
        switch type {
        case .stop: throw corrupt()
        case .boolTrue, .boolFalse: return
        case .byte: _ = try cursor.byte()
        case .i16, .i32, .i64: _ = try cursor.varint()
        case .double: _ = try cursor.slice(8)
        case .binary: _ = try binary(type)
        case .list, .set:
            try readList(type) { r, t in
                // Booleans in a list take one byte each.
                if t == .boolTrue || t == .boolFalse { _ = try r.cursor.byte() } else { try r.skip(t) }
            }
        case .map:
            let count = try cursor.varint()
            guard count <= UInt64(cursor.remaining) else { throw corrupt() }
            if count == 0 { return }
            let types = try cursor.byte()
            guard let k = FieldType(rawValue: types >> 4), let v = FieldType(rawValue: types & 0x0F) else { throw corrupt() }
            depth += 1
            guard depth <= Self.maxDepth else { throw corrupt() }
            defer { depth -= 1 }
            for _ in 0..<count {
                if k == .boolTrue || k == .boolFalse { _ = try cursor.byte() } else { try skip(k) }
                if v == .boolTrue || v == .boolFalse { _ = try cursor.byte() } else { try skip(v) }
            }
        case .structure: try readStruct { _, _, _ in false }
        }
    }
}
