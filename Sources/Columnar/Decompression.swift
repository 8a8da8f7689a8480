import CZlib
import CZstd

/// GZIP (zlib) and ZSTD (libzstd) page and buffer decompression into exactly `expected` bytes.
/// A declared size is checked against what the input could at most expand to before it is allocated.
enum Decompression {
    /// An upper bound on any one page or buffer, so a corrupt size cannot ask for more than this.
    static let maxBytes = 1 << 31 - 1
    /// Deflate's largest expansion is 1032:1; ZSTD's an RLE block: 128 KiB from 4 bytes.
    static let gzipExpansion = 1032, zstdExpansion = 32768

    static func gzip(_ input: UnsafeRawBufferPointer, expected: Int) throws -> [UInt8] {
        guard expected <= maxBytes, expected <= input.count * gzipExpansion + 1024 else {
            throw ColumnarError("corrupt GZIP data (\(input.count) bytes cannot hold \(expected))")
        }
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
        guard expected <= maxBytes, expected <= input.count * zstdExpansion + 1024 else {
            throw ColumnarError("corrupt ZSTD data (\(input.count) bytes cannot hold \(expected))")
        }
        // ZSTD_CONTENTSIZE_UNKNOWN and ZSTD_CONTENTSIZE_ERROR (macros Swift does not import).
        let unknown = UInt64.max, error = UInt64.max - 1
        let declared = ZSTD_getFrameContentSize(input.baseAddress, input.count)
        if declared != unknown, declared != UInt64(expected) {
            throw ColumnarError(declared == error ? "corrupt ZSTD data"
                : "corrupt ZSTD data (it holds \(declared) bytes, the header says \(expected))")
        }
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
