import JSONQuoting
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A validated safetensors file held in memory (one read), with named views of its tensors.
///
/// Every header field is checked before the data is exposed: header length (≤ 100 MB and within the
/// file), JSON well-formed with no duplicate names, known dtypes, shape × element size equal to each
/// byte span, offsets inside the data section, no overlaps and no holes. A malformed file throws a
/// `SafetensorsError`; it never traps and never reads out of bounds.
public final class SafetensorsFile: @unchecked Sendable {
    /// The file name used in error messages.
    public let file: String
    /// `__metadata__` (empty when absent).
    public let metadata: [String: String]
    /// Tensor entries in data order.
    public let tensors: [SafetensorsTensorInfo]
    private let index: [String: Int]
    /// The data section, 16-byte aligned (immutable after init).
    private let data: UnsafeMutableRawBufferPointer

    deinit { data.deallocate() }

    private init(file: String, metadata: [String: String], tensors: [SafetensorsTensorInfo],
                 data: UnsafeMutableRawBufferPointer) {
        self.file = file
        self.metadata = metadata
        self.tensors = tensors
        var index: [String: Int] = [:]
        for (i, t) in tensors.enumerated() { index[t.name] = i }
        self.index = index
        self.data = data
    }

    /// Reads and validates the file at `path`: the header first (its length checked against the
    /// file size before anything is allocated), then the data section straight into aligned memory.
    public convenience init(path: String) throws(SafetensorsError) {
        guard let handle = fopen(path, "rb") else {
            throw SafetensorsError(kind: .io, file: path, message: "cannot open: \(errnoText())")
        }
        defer { fclose(handle) }
        var info = stat()
        guard fstat(fileno(handle), &info) == 0 else {
            throw SafetensorsError(kind: .io, file: path, message: "cannot stat: \(errnoText())")
        }
        let size = Int(info.st_size)
        var prefix = [UInt8](repeating: 0, count: min(8, size))
        guard prefix.withUnsafeMutableBytes({ fread($0.baseAddress, 1, $0.count, handle) }) == prefix.count else {
            throw SafetensorsError(kind: .io, file: path, message: "read failed: \(errnoText())")
        }
        let headerLength = try Self.headerLength(prefix, fileSize: size, file: path)
        var header = [UInt8](repeating: 0, count: headerLength)
        guard header.withUnsafeMutableBytes({ fread($0.baseAddress, 1, $0.count, handle) }) == headerLength else {
            throw SafetensorsError(kind: .io, file: path, message: "short read of the header")
        }
        let dataSize = size - 8 - headerLength
        let (metadata, tensors) = try header.withUnsafeBytes { raw in
            Result { () throws(SafetensorsError) in try Self.parseHeader(raw, dataSize: dataSize, file: path) }
        }.get()
        let data = UnsafeMutableRawBufferPointer.allocate(byteCount: max(dataSize, 1), alignment: 16)
        guard fread(data.baseAddress, 1, dataSize, handle) == dataSize else {
            data.deallocate()
            throw SafetensorsError(kind: .io, file: path, message: "short read of the data section (file changed while reading?)")
        }
        self.init(file: path, metadata: metadata, tensors: tensors, data: data)
    }

    /// Validates an in-memory file.
    public convenience init(bytes: [UInt8], file: String = "<memory>") throws(SafetensorsError) {
        let headerLength = try Self.headerLength(bytes, fileSize: bytes.count, file: file)
        let dataStart = 8 + headerLength
        let (metadata, tensors) = try bytes.withUnsafeBytes { raw in
            Result { () throws(SafetensorsError) in
                try Self.parseHeader(UnsafeRawBufferPointer(rebasing: raw[8..<dataStart]), dataSize: bytes.count - dataStart, file: file)
            }
        }.get()
        let data = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count - dataStart, 1), alignment: 16)
        bytes.withUnsafeBytes { raw in data.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[dataStart...])) }
        self.init(file: file, metadata: metadata, tensors: tensors, data: data)
    }

    static func parseHeader(_ header: UnsafeRawBufferPointer, dataSize: Int,
                                    file: String) throws(SafetensorsError) -> ([String: String], [SafetensorsTensorInfo]) {
        guard header.first == UInt8(ascii: "{") else {
            throw SafetensorsError(kind: .headerNotJSON, file: file, message: "header JSON at byte 8: header does not start with '{'")
        }
        let json: JSONValue
        do {
            json = try JSONParser.parse(header)
        } catch {
            throw SafetensorsError(kind: error.message.hasPrefix("duplicate key") ? .duplicateName : .headerNotJSON,
                                   file: file, message: "header JSON at byte \(8 + error.offset): \(error.message)")
        }
        return try entries(json, dataSize: dataSize, file: file)
    }

    /// Tensor names, sorted.
    public var names: [String] { tensors.map(\.name).sorted() }

    public func info(_ name: String) throws(SafetensorsError) -> SafetensorsTensorInfo {
        guard let i = index[name] else {
            throw SafetensorsError(kind: .missingTensor, file: file, message: "no tensor named '\(name)'")
        }
        return tensors[i]
    }

    /// Calls `body` with the raw bytes of a tensor (valid only inside `body`; aligned to the element
    /// size when the file was written by a conforming writer).
    public func withBytes<R>(_ name: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let t = try info(name)
        return try body(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(data)[t.dataRange]))
    }

    /// An F32 tensor's values (copied), or an error if it is missing or not F32.
    public func floats(_ name: String) throws(SafetensorsError) -> [Float] { try values(name, .f32, Float.self) }
    public func int64s(_ name: String) throws(SafetensorsError) -> [Int64] { try values(name, .i64, Int64.self) }
    public func int32s(_ name: String) throws(SafetensorsError) -> [Int32] { try values(name, .i32, Int32.self) }
    public func uint8s(_ name: String) throws(SafetensorsError) -> [UInt8] { try values(name, .u8, UInt8.self) }

    /// Copies an F32 tensor into `destination`, which must hold exactly its element count.
    public func copyFloats(_ name: String, into destination: UnsafeMutableBufferPointer<Float>) throws(SafetensorsError) {
        let t = try checked(name, .f32)
        guard destination.count == t.elementCount else {
            throw SafetensorsError(kind: .spanMismatch, file: file,
                                   message: "tensor '\(name)' has \(t.elementCount) elements (shape \(t.shape)), "
                                       + "expected \(destination.count)")
        }
        UnsafeMutableRawBufferPointer(destination).copyMemory(
            from: UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(data)[t.dataRange]))
    }

    private func checked(_ name: String, _ dtype: SafetensorsDType) throws(SafetensorsError) -> SafetensorsTensorInfo {
        let t = try info(name)
        guard t.dtype == dtype else {
            throw SafetensorsError(kind: .wrongDType, file: file,
                                   message: "tensor '\(name)' is \(t.dtype.rawValue), expected \(dtype.rawValue)")
        }
        return t
    }

    private func values<T: BitwiseCopyable>(_ name: String, _ dtype: SafetensorsDType,
                                            _ type: T.Type) throws(SafetensorsError) -> [T] {
        let t = try checked(name, dtype)
        return [T](unsafeUninitializedCapacity: t.elementCount) { buffer, count in
            UnsafeMutableRawBufferPointer(buffer).copyMemory(
                from: UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(data)[t.dataRange]))
            count = t.elementCount
        }
    }

    // MARK: Validation

    static func headerLength(_ bytes: [UInt8], fileSize: Int, file: String) throws(SafetensorsError) -> Int {
        guard bytes.count >= 8, fileSize >= 8 else {
            throw SafetensorsError(kind: .tooShort, file: file,
                                   message: "\(fileSize) bytes is too short for the 8-byte header length")
        }
        var n: UInt64 = 0
        for i in (0..<8).reversed() { n = n << 8 | UInt64(bytes[i]) }
        guard n <= UInt64(Safetensors.maxHeaderSize) else {
            throw SafetensorsError(kind: .headerTooLarge, file: file,
                                   message: "header length \(n) exceeds the \(Safetensors.maxHeaderSize)-byte limit")
        }
        guard n >= 2, 8 + Int(n) <= fileSize else {
            throw SafetensorsError(kind: .tooShort, file: file,
                                   message: "header length \(n) does not fit in the \(fileSize)-byte file (truncated?)")
        }
        return Int(n)
    }

    private static func entries(_ header: JSONValue, dataSize: Int,
                                file: String) throws(SafetensorsError) -> ([String: String], [SafetensorsTensorInfo]) {
        func bad(_ kind: SafetensorsError.Kind, _ message: String) -> SafetensorsError {
            SafetensorsError(kind: kind, file: file, message: message)
        }
        guard case .object(let members) = header else { throw bad(.headerNotJSON, "header is not a JSON object") }
        var metadata: [String: String] = [:]
        var tensors: [SafetensorsTensorInfo] = []
        for member in members {
            let name = member.key, value = member.value
            if name == "__metadata__" {
                guard case .object(let pairs) = value else { throw bad(.badEntry, "__metadata__ must be an object") }
                for pair in pairs {
                    guard case .string(let s) = pair.value else {
                        throw bad(.badEntry, "__metadata__[\"\(pair.key)\"] is \(pair.value.typeName); only strings are allowed")
                    }
                    metadata[pair.key] = s
                }
                continue
            }
            guard case .object(let fields) = value else { throw bad(.badEntry, "tensor '\(name)': entry is \(value.typeName), expected an object") }
            func field(_ key: String) throws(SafetensorsError) -> JSONValue {
                guard let v = fields.first(where: { $0.key == key })?.value else {
                    throw bad(.badEntry, "tensor '\(name)': missing \"\(key)\"")
                }
                return v
            }
            guard case .string(let dtypeName) = try field("dtype") else { throw bad(.badEntry, "tensor '\(name)': \"dtype\" must be a string") }
            guard let dtype = SafetensorsDType(rawValue: dtypeName) else {
                throw bad(.unknownDType, "tensor '\(name)': unknown dtype \"\(dtypeName)\"")
            }
            guard case .array(let dims) = try field("shape") else { throw bad(.badEntry, "tensor '\(name)': \"shape\" must be an array") }
            var shape: [Int] = []
            var elements = 1
            for d in dims {
                guard let n = d.nonNegativeInteger else { throw bad(.badEntry, "tensor '\(name)': shape entries must be non-negative integers") }
                let (product, overflow) = elements.multipliedReportingOverflow(by: n)
                guard !overflow else { throw bad(.spanMismatch, "tensor '\(name)': shape \(dims.count)-d product overflows") }
                shape.append(n)
                elements = product
            }
            // From 2^53 on, a JSON integer may have been rounded on reading; only an empty tensor gets this far.
            guard shape.allSatisfy({ $0 < 1 << 53 }) else {
                throw bad(.spanMismatch, "tensor '\(name)': shape \(shape) has a dimension of 2^53 or more, larger than any file")
            }
            // Offsets beyond 2^53, where a Double could have rounded, always exceed the data section.
            guard case .array(let offsets) = try field("data_offsets"), offsets.count == 2,
                  let begin = offsets[0].nonNegativeInteger, let end = offsets[1].nonNegativeInteger, begin <= end else {
                throw bad(.badEntry, "tensor '\(name)': \"data_offsets\" must be [begin, end] with 0 ≤ begin ≤ end")
            }
            guard end <= dataSize else {
                throw bad(.offsetsOutOfBounds, "tensor '\(name)': data_offsets [\(begin), \(end)] exceed the "
                    + "\(dataSize)-byte data section (truncated file?)")
            }
            let (bytes, overflow) = elements.multipliedReportingOverflow(by: dtype.byteSize)
            guard !overflow, bytes == end - begin else {
                throw bad(.spanMismatch, "tensor '\(name)': shape \(shape) × \(dtype.rawValue) needs "
                    + "\(overflow ? "too many" : String(bytes)) bytes but data_offsets span \(end - begin)")
            }
            tensors.append(SafetensorsTensorInfo(name: name, dtype: dtype, shape: shape, dataRange: begin..<end))
        }
        tensors.sort { ($0.dataRange.lowerBound, $0.dataRange.upperBound, $0.name) < ($1.dataRange.lowerBound, $1.dataRange.upperBound, $1.name) }
        var covered = 0
        for t in tensors {
            if t.dataRange.lowerBound < covered {
                throw bad(.overlap, "tensor '\(t.name)': bytes [\(t.dataRange.lowerBound), \(t.dataRange.upperBound)) overlap "
                    + "the previous tensor (which ends at \(covered))")
            }
            if t.dataRange.lowerBound > covered {
                throw bad(.hole, "bytes [\(covered), \(t.dataRange.lowerBound)) of the data section belong to no tensor")
            }
            covered = t.dataRange.upperBound
        }
        guard covered == dataSize else {
            throw bad(.hole, "the data section has \(dataSize) bytes but the tensors cover only \(covered)")
        }
        return (metadata, tensors)
    }
}
