#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A weights file whose tensor directory has been read and checked, with the file kept open: what a
/// checkpoint loader needs from `model.safetensors` and `pytorch_model.bin` alike. Names, shapes and
/// dtypes are known before anything large is allocated; `readFloats` streams one tensor into place.
public protocol StoredTensorReader: AnyObject, Sendable {
    /// The file name used in error messages.
    var file: String { get }
    /// Every tensor in the file (`dataRange` is where its bytes are, in the reader's own terms).
    var tensors: [SafetensorsTensorInfo] { get }
    func contains(_ name: String) -> Bool
    func info(_ name: String) throws -> SafetensorsTensorInfo
    /// Reads elements `elements` (flat, row-major) of a floating-point tensor into the start of
    /// `destination` as Float32.
    func readFloats(_ name: String, elements: Range<Int>, into destination: UnsafeMutableBufferPointer<Float>) throws
}

extension StoredTensorReader {
    /// Reads a whole floating-point tensor; `destination` must hold exactly its element count.
    public func readFloats(_ name: String, into destination: UnsafeMutableBufferPointer<Float>) throws {
        try readFloats(name, elements: 0..<(try info(name)).elementCount, into: destination)
    }

    /// A floating-point tensor's values as Float32 (copied).
    public func floats(_ name: String) throws -> [Float] {
        var values = [Float](repeating: 0, count: try info(name).elementCount)
        try values.withUnsafeMutableBufferPointer { try readFloats(name, into: $0) }
        return values
    }
}

extension SafetensorsReader: StoredTensorReader {}

/// Positional reads from an open file, shared by the weights readers: each returns the reason on failure
/// (the caller wraps it in its own error type, naming its file).
enum StoredBytes {
    /// Fills `buffer` from byte `offset` of `fd`.
    static func readFully(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int) -> String? {
        var done = 0
        while done < buffer.count {
            let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return n == 0 ? "file ended early (changed while reading?)" : "read failed: \(errnoText())" }
            done += n
        }
        return nil
    }

    /// `count` bytes from `offset` (the caller has checked the range lies in the file).
    static func read(_ fd: Int32, at offset: Int, count: Int) -> Result<[UInt8], StoredBytesFailure> {
        var bytes = [UInt8](repeating: 0, count: count)
        let failure = bytes.withUnsafeMutableBytes { readFully(fd, into: $0, at: offset) }
        return failure.map { .failure(StoredBytesFailure(reason: $0)) } ?? .success(bytes)
    }

    /// Reads `count` elements of the floating-point `dtype` stored at byte `offset` into `destination`
    /// as Float32: F32 straight into place, half-width and F64 through a bounded scratch buffer.
    static func readFloats(_ fd: Int32, at offset: Int, dtype: SafetensorsDType, count: Int,
                           into destination: UnsafeMutablePointer<Float>) -> String? {
        let size = dtype.byteSize
        if dtype == .f32 { return readFully(fd, into: UnsafeMutableRawBufferPointer(start: destination, count: 4 * count), at: offset) }
        let chunkElements = 1 << 18
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: min(chunkElements, count) * size, alignment: 16)
        defer { scratch.deallocate() }
        var done = 0
        while done < count {
            let n = min(chunkElements, count - done)
            let bytes = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<(n * size)])
            if let failure = readFully(fd, into: bytes, at: offset + done * size) { return failure }
            _ = FloatConversion.convert(UnsafeRawPointer(bytes.baseAddress!), dtype: dtype, into: destination + done, count: n)
            done += n
        }
        return nil
    }
}

struct StoredBytesFailure: Error { let reason: String }
