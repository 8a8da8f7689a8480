#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A safetensors file whose header has been read and validated, with the file kept open: tensors are
/// read on demand straight into the caller's memory and converted to Float32 on the way.
///
/// Opening reads only the 8-byte length and the header (bounded by `Safetensors.maxHeaderSize`), so a
/// loader can compare every shape and dtype with what it expects before it allocates anything large,
/// and loading a model never holds a second copy of its weights (`SafetensorsFile` reads everything).
/// The header gets the same checks as `SafetensorsFile`'s (dtypes, spans, no overlaps, no holes).
public final class SafetensorsReader: @unchecked Sendable {
    /// The file name used in error messages.
    public let file: String
    /// `__metadata__` (empty when absent).
    public let metadata: [String: String]
    /// Tensor entries in data order.
    public let tensors: [SafetensorsTensorInfo]
    private let index: [String: Int]
    private let descriptor: Int32
    /// Byte offset of the data section in the file.
    private let dataStart: Int

    deinit { close(descriptor) }

    public init(path: String) throws(SafetensorsError) {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw SafetensorsError(kind: .io, file: path, message: "cannot open: \(errnoText())") }
        var closeOnError = true
        defer { if closeOnError { close(fd) } }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw SafetensorsError(kind: .io, file: path, message: "cannot stat: \(errnoText())") }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw SafetensorsError(kind: .io, file: path, message: "not a regular file")
        }
        let size = Int(info.st_size)
        var prefix = [UInt8](repeating: 0, count: min(8, size))
        try Self.readFully(fd, into: &prefix, at: 0, file: path)
        let headerLength = try SafetensorsFile.headerLength(prefix, fileSize: size, file: path)
        var header = [UInt8](repeating: 0, count: headerLength)
        try Self.readFully(fd, into: &header, at: 8, file: path)
        let (metadata, tensors) = try header.withUnsafeBytes { raw in
            Result { () throws(SafetensorsError) in
                try SafetensorsFile.parseHeader(raw, dataSize: size - 8 - headerLength, file: path)
            }
        }.get()
        file = path
        self.metadata = metadata
        self.tensors = tensors
        var index: [String: Int] = [:]
        for (i, t) in tensors.enumerated() { index[t.name] = i }
        self.index = index
        descriptor = fd
        dataStart = 8 + headerLength
        closeOnError = false
    }

    /// Tensor names, sorted.
    public var names: [String] { tensors.map(\.name).sorted() }

    public func contains(_ name: String) -> Bool { index[name] != nil }

    public func info(_ name: String) throws(SafetensorsError) -> SafetensorsTensorInfo {
        guard let i = index[name] else {
            throw SafetensorsError(kind: .missingTensor, file: file, message: "no tensor named '\(name)'")
        }
        return tensors[i]
    }

    /// Whether `readFloats` accepts this dtype.
    public static func isFloatingPoint(_ dtype: SafetensorsDType) -> Bool { [.f32, .f16, .bf16, .f64].contains(dtype) }

    /// Reads a floating-point tensor (F32, F16, BF16 or F64) into `destination` as Float32;
    /// `destination` must hold exactly its element count. Half-width types go through a bounded
    /// scratch buffer, F32 is read in place.
    public func readFloats(_ name: String, into destination: UnsafeMutableBufferPointer<Float>) throws(SafetensorsError) {
        let t = try info(name)
        guard destination.count == t.elementCount else {
            throw SafetensorsError(kind: .spanMismatch, file: file,
                                   message: "tensor '\(name)' has \(t.elementCount) elements (shape \(t.shape)), expected \(destination.count)")
        }
        try readFloats(name, elements: 0..<t.elementCount, into: destination)
    }

    /// Reads elements `elements` (flat, row-major) of a floating-point tensor into the start of
    /// `destination` as Float32.
    public func readFloats(_ name: String, elements: Range<Int>,
                           into destination: UnsafeMutableBufferPointer<Float>) throws(SafetensorsError) {
        let t = try info(name)
        guard Self.isFloatingPoint(t.dtype) else {
            throw SafetensorsError(kind: .wrongDType, file: file,
                                   message: "tensor '\(name)' is \(t.dtype.rawValue), expected a floating-point dtype (F32, F16, BF16, F64)")
        }
        guard elements.lowerBound >= 0, elements.upperBound <= t.elementCount, destination.count >= elements.count else {
            throw SafetensorsError(kind: .spanMismatch, file: file,
                                   message: "elements \(elements) of tensor '\(name)' (\(t.elementCount) elements) do not fit a buffer of \(destination.count)")
        }
        guard let base = destination.baseAddress, !elements.isEmpty else { return }
        let offset = dataStart + t.dataRange.lowerBound + elements.lowerBound * t.dtype.byteSize
        if let failure = StoredBytes.readFloats(descriptor, at: offset, dtype: t.dtype, count: elements.count, into: base) {
            throw SafetensorsError(kind: .io, file: file, message: failure)
        }
    }

    /// A floating-point tensor's values as Float32 (copied).
    public func floats(_ name: String) throws(SafetensorsError) -> [Float] {
        let count = try info(name).elementCount
        var values = [Float](repeating: 0, count: count)
        try values.withUnsafeMutableBufferPointer { buffer in
            Result { () throws(SafetensorsError) in try readFloats(name, into: buffer) }
        }.get()
        return values
    }

    private static func readFully(_ fd: Int32, into bytes: inout [UInt8], at offset: Int, file: String) throws(SafetensorsError) {
        try bytes.withUnsafeMutableBytes { raw in
            Result { () throws(SafetensorsError) in try readFully(fd, into: raw, at: offset, file: file) }
        }.get()
    }

    private static func readFully(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int,
                                  file: String) throws(SafetensorsError) {
        if let failure = StoredBytes.readFully(fd, into: buffer, at: offset) { throw SafetensorsError(kind: .io, file: file, message: failure) }
    }
}
