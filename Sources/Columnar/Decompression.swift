import CZlib
import CZstd

/// GZIP (zlib) and ZSTD (libzstd) page and buffer decompression into exactly `expected` bytes.
enum Decompression {
    /// An upper bound on any one page or buffer, so a corrupt size cannot ask for more than this.
    static let maxBytes = 1 << 31 - 1

    static func gzip(_ input: UnsafeRawBufferPointer, expected: Int) throws -> [UInt8] {
        guard expected <= maxBytes else { throw ColumnarError("corrupt GZIP data (a page of \(expected) bytes)") }
        if expected == 0 { return [] }
        var out = [UInt8](repeating: 0, count: expected)
        var stream = z_stream()
        // 15 + 32: a zlib or a gzip header, detected.
        guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw ColumnarError("cannot start GZIP decompression")
        }
        defer { inflateEnd(&stream) }
        let status: Int32 = out.withUnsafeMutableBytes { dst in
            stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
            stream.avail_in = uInt(input.count)
            stream.next_out = dst.baseAddress?.assumingMemoryBound(to: Bytef.self)
            stream.avail_out = uInt(dst.count)
            return inflate(&stream, Z_FINISH)
        }
        guard status == Z_STREAM_END, Int(stream.total_out) == expected else {
            throw ColumnarError("corrupt GZIP data" + (status == Z_STREAM_END ? " (it holds \(stream.total_out) bytes, the header says \(expected))" : ""))
        }
        return out
    }

    static func zstd(_ input: UnsafeRawBufferPointer, expected: Int) throws -> [UInt8] {
        guard expected <= maxBytes else { throw ColumnarError("corrupt ZSTD data (a page of \(expected) bytes)") }
        if expected == 0 { return [] }
        var out = [UInt8](repeating: 0, count: expected)
        let written = out.withUnsafeMutableBytes { dst in
            ZSTD_decompress(dst.baseAddress, dst.count, input.baseAddress, input.count)
        }
        guard ZSTD_isError(written) == 0, written == expected else {
            throw ColumnarError("corrupt ZSTD data" + (ZSTD_isError(written) == 0 ? " (it holds \(written) bytes, the header says \(expected))" : ""))
        }
        return out
    }
}
