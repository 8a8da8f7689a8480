import JSONQuoting

/// One column of a record batch with its buffers, checked once when the batch is read (lengths,
/// offsets within their data, children long enough) so that reading a row needs no further checks.
final class ArrowArray {
    let field: ArrowField
    let path: String
    let length: Int
    /// nil: no nulls.
    let validity: UnsafeRawBufferPointer?
    let offsets: UnsafeRawBufferPointer
    let data: UnsafeRawBufferPointer
    let children: [ArrowArray]

    init(field: ArrowField, path: String, length: Int, validity: UnsafeRawBufferPointer?, offsets: UnsafeRawBufferPointer,
         data: UnsafeRawBufferPointer, children: [ArrowArray]) {
        self.field = field
        self.path = path
        self.length = length
        self.validity = validity
        self.offsets = offsets
        self.data = data
        self.children = children
    }

    private func offset(_ i: Int) -> Int {
        switch field.kind {
        case .largeUtf8, .largeList: return Int(Int64(littleEndian: offsets.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)))
        default: return Int(Int32(littleEndian: offsets.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)))
        }
    }

    /// Checks the offsets: from 0 or more, never decreasing, ending within `limit`.
    func checkOffsets(limit: Int) throws {
        let width = (field.kind == .largeUtf8 || field.kind == .largeList) ? 8 : 4
        if length == 0 { return }
        guard offsets.count >= (length + 1) * width else { throw corrupt("its offsets buffer is too short") }
        var previous = offset(0)
        guard previous >= 0 else { throw corrupt("its offsets are out of range") }
        for i in 1...length {
            let o = offset(i)
            guard o >= previous else { throw corrupt("its offsets decrease") }
            previous = o
        }
        guard previous <= limit else { throw corrupt("its offsets run past its data") }
    }

    func corrupt(_ what: String) -> ColumnarError { ColumnarError("corrupt Arrow file: column \"\(path)\": \(what)") }

    func value(_ i: Int) throws -> JSONValue {
        if let validity, validity[i >> 3] >> (i & 7) & 1 == 0 { return .null }
        switch field.kind {
        case .null: return .null
        case .bool: return .bool(data[i >> 3] >> (i & 7) & 1 == 1)
        case .int(let bytes, let signed):
            switch (bytes, signed) {
            case (1, true): return .number(Double(Int8(bitPattern: data[i])))
            case (1, false): return .number(Double(data[i]))
            case (2, true): return .number(Double(Int16(littleEndian: data.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self))))
            case (2, false): return .number(Double(UInt16(littleEndian: data.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))))
            case (4, true): return .number(Double(Int32(littleEndian: data.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))))
            case (4, false): return .number(Double(UInt32(littleEndian: data.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))))
            case (_, true): return .number(Double(Int64(littleEndian: data.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))))
            default: return .number(Double(UInt64(littleEndian: data.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
            }
        case .float32:
            return try ColumnarNumbers.float32(Float(bitPattern: UInt32(littleEndian: data.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))), column: path)
        case .float64:
            return try ColumnarNumbers.double(Double(bitPattern: UInt64(littleEndian: data.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))), column: path)
        case .utf8, .largeUtf8:
            let bytes = UnsafeRawBufferPointer(rebasing: data[offset(i)..<offset(i + 1)])
            guard let s = String(validating: bytes, as: UTF8.self) else {
                throw ColumnarError("column \"\(path)\" holds a string that is not valid UTF-8")
            }
            return .string(s)
        case .list, .largeList:
            return .array(try (offset(i)..<offset(i + 1)).map { try children[0].value($0) })
        case .fixedSizeList(let size):
            return .array(try (size * i..<size * (i + 1)).map { try children[0].value($0) })
        case .structure:
            return .object(try children.map { JSONMember($0.field.name, try $0.value(i)) })
        }
    }
}

/// Reads a `RecordBatch` message's columns from its body, decompressing ZSTD buffers into memory
/// this object owns.
final class ArrowBatch {
    let length: Int
    let columns: [ArrowArray]
    private let storage: OwnedBuffers

    init(_ batch: FlatTable, body: UnsafeRawBufferPointer, fields: [ArrowField]) throws {
        let storage = OwnedBuffers()
        self.storage = storage
        let damaged = batch.damaged
        let rows = try batch.int64(0)
        guard rows >= 0, rows <= Int64(Int32.max) else { throw ColumnarError("corrupt Arrow file: a record batch claims \(rows) rows") }
        length = Int(rows)
        var compressed = false
        if let compression = try batch.table(3) {
            let codec = try compression.uint8(0)
            guard codec == 1 else {
                throw ColumnarError("the Arrow file's buffers are compressed with LZ4, which is not read; save it uncompressed or with ZSTD")
            }
            compressed = true
        }
        guard let (nodeStart, nodeCount) = try batch.vector(1, elementSize: 16),
              let (bufferStart, bufferCount) = try batch.vector(2, elementSize: 16) else {
            throw ColumnarError(damaged)
        }
        var nextNode = 0, nextBuffer = 0
        let meta = batch.buffer

        func node() throws -> (length: Int, nulls: Int) {
            guard nextNode < nodeCount else { throw ColumnarError("corrupt Arrow file: a record batch has fewer field nodes than its schema has fields") }
            let at = nodeStart + 16 * nextNode
            nextNode += 1
            let l = Int64(littleEndian: meta.loadUnaligned(fromByteOffset: at, as: Int64.self))
            let n = Int64(littleEndian: meta.loadUnaligned(fromByteOffset: at + 8, as: Int64.self))
            guard l >= 0, l <= Int64(Int32.max), n >= 0, n <= l else { throw ColumnarError("corrupt Arrow file: a field node claims \(l) values, \(n) null") }
            return (Int(l), Int(n))
        }
        func buffer() throws -> UnsafeRawBufferPointer {
            guard nextBuffer < bufferCount else { throw ColumnarError("corrupt Arrow file: a record batch has fewer buffers than its schema needs") }
            let at = bufferStart + 16 * nextBuffer
            nextBuffer += 1
            let o = Int64(littleEndian: meta.loadUnaligned(fromByteOffset: at, as: Int64.self))
            let l = Int64(littleEndian: meta.loadUnaligned(fromByteOffset: at + 8, as: Int64.self))
            guard o >= 0, l >= 0, o <= Int64(body.count), l <= Int64(body.count) - o else {
                throw ColumnarError("corrupt Arrow file: a buffer lies outside its record batch's body")
            }
            let raw = UnsafeRawBufferPointer(rebasing: body[Int(o)..<Int(o + l)])
            guard compressed, raw.count > 0 else { return raw }
            var c = ByteCursor(raw, truncated: "corrupt Arrow file: a compressed buffer is cut short")
            let size = Int64(bitPattern: try c.uint64())
            let rest = UnsafeRawBufferPointer(rebasing: raw[8...])
            if size == -1 { return rest }
            guard size >= 0, size <= Int64(Decompression.maxBytes) else { throw ColumnarError("corrupt Arrow file: a compressed buffer claims \(size) bytes") }
            let bytes: [UInt8]
            do { bytes = try Decompression.zstd(rest, expected: Int(size)) } catch let e as ColumnarError {
                throw ColumnarError("corrupt Arrow file: a buffer's " + e.message.dropFirst("corrupt ".count))
            }
            let owned = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 8)
            storage.buffers.append(owned)
            bytes.withUnsafeBytes { owned.copyMemory(from: $0) }
            return UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(owned)[0..<bytes.count])
        }
        func array(_ field: ArrowField, path: String) throws -> ArrowArray {
            let column = path.isEmpty ? field.name : path + "." + field.name
            let (length, nulls) = try node()
            let empty = UnsafeRawBufferPointer(start: nil, count: 0)
            var validity: UnsafeRawBufferPointer? = nil
            var offsets = empty, data = empty
            var children: [ArrowArray] = []
            func bitmap(_ b: UnsafeRawBufferPointer) throws -> UnsafeRawBufferPointer? {
                guard nulls > 0 else { return nil }
                guard b.count >= (length + 7) / 8 else { throw ColumnarError("corrupt Arrow file: column \"\(column)\": its validity bitmap is too short") }
                return b
            }
            switch field.kind {
            case .null: break
            case .bool, .int, .float32, .float64:
                validity = try bitmap(try buffer())
                data = try buffer()
                let need: Int
                switch field.kind {
                case .bool: need = (length + 7) / 8
                case .int(let bytes, _): need = length * bytes
                case .float32: need = length * 4
                default: need = length * 8
                }
                guard data.count >= need else { throw ColumnarError("corrupt Arrow file: column \"\(column)\": its data buffer is too short") }
            case .utf8, .largeUtf8:
                validity = try bitmap(try buffer())
                offsets = try buffer()
                data = try buffer()
            case .list, .largeList:
                validity = try bitmap(try buffer())
                offsets = try buffer()
                children = [try array(field.children[0], path: column)]
            case .fixedSizeList(let size):
                validity = try bitmap(try buffer())
                children = [try array(field.children[0], path: column)]
                guard children[0].length >= size * length else { throw ColumnarError("corrupt Arrow file: column \"\(column)\": its values are too few") }
            case .structure:
                validity = try bitmap(try buffer())
                children = try field.children.map { try array($0, path: column) }
                guard children.allSatisfy({ $0.length >= length }) else { throw ColumnarError("corrupt Arrow file: column \"\(column)\": a field is shorter than the struct") }
            }
            let result = ArrowArray(field: field, path: column, length: length, validity: validity, offsets: offsets, data: data, children: children)
            switch field.kind {
            case .utf8, .largeUtf8: try result.checkOffsets(limit: data.count)
            case .list, .largeList: try result.checkOffsets(limit: children[0].length)
            default: break
            }
            return result
        }
        columns = try fields.map { try array($0, path: "") }
        guard columns.allSatisfy({ $0.length >= length }) else { throw ColumnarError("corrupt Arrow file: a column is shorter than its record batch") }
    }

    func row(_ i: Int) throws -> JSONValue {
        .object(try columns.map { JSONMember($0.field.name, try $0.value(i)) })
    }
}

/// Decompressed buffers, freed with their batch.
final class OwnedBuffers {
    var buffers: [UnsafeMutableRawBufferPointer] = []
    deinit { for buffer in buffers { buffer.deallocate() } }
}
