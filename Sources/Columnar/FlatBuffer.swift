/// Read-only FlatBuffers tables (Arrow's IPC metadata): every offset is checked against the buffer,
/// so a damaged message throws `damaged` instead of reading outside it.
struct FlatTable {
    let buffer: UnsafeRawBufferPointer
    let position: Int
    private let vtable: Int
    private let vtableSize: Int
    let damaged: String

    init(root buffer: UnsafeRawBufferPointer, damaged: String) throws {
        guard buffer.count >= 4 else { throw ColumnarError(damaged) }
        try self.init(buffer, at: Int(buffer.loadUnaligned(fromByteOffset: 0, as: UInt32.self).littleEndian), damaged: damaged)
    }

    init(_ buffer: UnsafeRawBufferPointer, at position: Int, damaged: String) throws {
        self.buffer = buffer
        self.position = position
        self.damaged = damaged
        guard position >= 0, position <= buffer.count - 4 else { throw ColumnarError(damaged) }
        let soffset = Int(Int32(littleEndian: buffer.loadUnaligned(fromByteOffset: position, as: Int32.self)))
        let vt = position - soffset
        guard vt >= 0, vt <= buffer.count - 4 else { throw ColumnarError(damaged) }
        vtable = vt
        vtableSize = Int(UInt16(littleEndian: buffer.loadUnaligned(fromByteOffset: vt, as: UInt16.self)))
        guard vtableSize >= 4, vtableSize & 1 == 0, vtableSize <= buffer.count - vt else { throw ColumnarError(damaged) }
    }

    /// Where field `index` sits, or nil when it is absent (its default).
    func offset(_ index: Int, size: Int) throws -> Int? {
        let entry = 4 + 2 * index
        guard entry + 2 <= vtableSize else { return nil }
        let o = Int(UInt16(littleEndian: buffer.loadUnaligned(fromByteOffset: vtable + entry, as: UInt16.self)))
        if o == 0 { return nil }
        guard position + o + size <= buffer.count else { throw ColumnarError(damaged) }
        return position + o
    }

    func uint8(_ index: Int, default value: UInt8 = 0) throws -> UInt8 {
        guard let at = try offset(index, size: 1) else { return value }
        return buffer[at]
    }

    func int16(_ index: Int, default value: Int16 = 0) throws -> Int16 {
        guard let at = try offset(index, size: 2) else { return value }
        return Int16(littleEndian: buffer.loadUnaligned(fromByteOffset: at, as: Int16.self))
    }

    func int32(_ index: Int, default value: Int32 = 0) throws -> Int32 {
        guard let at = try offset(index, size: 4) else { return value }
        return Int32(littleEndian: buffer.loadUnaligned(fromByteOffset: at, as: Int32.self))
    }

    func int64(_ index: Int, default value: Int64 = 0) throws -> Int64 {
        guard let at = try offset(index, size: 8) else { return value }
        return Int64(littleEndian: buffer.loadUnaligned(fromByteOffset: at, as: Int64.self))
    }

    /// The target of the offset stored at `at`.
    private func follow(_ at: Int) throws -> Int {
        let target = at + Int(UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
        guard target <= buffer.count - 4 else { throw ColumnarError(damaged) }
        return target
    }

    func table(_ index: Int) throws -> FlatTable? {
        guard let at = try offset(index, size: 4) else { return nil }
        return try FlatTable(buffer, at: try follow(at), damaged: damaged)
    }

    /// A vector's element count and where its elements start, each `elementSize` bytes.
    func vector(_ index: Int, elementSize: Int) throws -> (start: Int, count: Int)? {
        guard let at = try offset(index, size: 4) else { return nil }
        let v = try follow(at)
        let count = Int(UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: v, as: UInt32.self)))
        guard count <= (buffer.count - v - 4) / elementSize else { throw ColumnarError(damaged) }
        return (v + 4, count)
    }

    func tables(_ index: Int) throws -> [FlatTable] {
        guard let (start, count) = try vector(index, elementSize: 4) else { return [] }
        return try (0..<count).map { try FlatTable(buffer, at: try follow(start + 4 * $0), damaged: damaged) }
    }

    func string(_ index: Int) throws -> String? {
        guard let (start, count) = try vector(index, elementSize: 1) else { return nil }
        return String(decoding: UnsafeRawBufferPointer(rebasing: buffer[start..<start + count]), as: UTF8.self)
    }
}
