import JSONQuoting

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reading and writing `.safetensors` files (the Hugging Face tensor container).
///
/// Layout: `u64 LE header length N | N bytes of JSON (space-padded) | data section`. The header maps
/// tensor names to `{dtype, shape, data_offsets: [begin, end]}` relative to the data section, plus an
/// optional `__metadata__` string→string map. The writer is deterministic (same tensors → same bytes);
/// the reader validates every field before exposing a byte of tensor data.
public enum Safetensors {
    /// Largest header accepted, as in the reference implementation.
    public static let maxHeaderSize = 100_000_000
}

/// Why a safetensors file was rejected. The description names the file and what to fix.
public struct SafetensorsError: Error, CustomStringConvertible, Equatable {
    public enum Kind: Sendable, Equatable {
        case io, tooShort, headerTooLarge, headerNotJSON, badEntry, unknownDType, spanMismatch
        case offsetsOutOfBounds, overlap, hole, missingTensor, wrongDType, duplicateName
    }

    public let kind: Kind
    public let file: String
    public let message: String

    public var description: String { "\(file): invalid safetensors file: \(message)" }
}

/// One tensor's header entry.
public struct SafetensorsTensorInfo: Sendable, Equatable {
    public let name: String
    public let dtype: SafetensorsDType
    public let shape: [Int]
    /// Byte range within the data section.
    public let dataRange: Range<Int>

    public var elementCount: Int { shape.reduce(1, *) }
}

/// A tensor to write: a name, an element type, a shape and the little-endian element bytes.
public struct SafetensorsTensor: Sendable {
    public let name: String
    public let dtype: SafetensorsDType
    public let shape: [Int]
    public let bytes: [UInt8]

    public init(name: String, dtype: SafetensorsDType, shape: [Int], bytes: [UInt8]) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
    }

    public init(name: String, shape: [Int], floats: some Collection<Float>) {
        self.init(name: name, dtype: .f32, shape: shape, bytes: littleEndianBytes(floats))
    }

    public init(name: String, shape: [Int], int64s: some Collection<Int64>) {
        self.init(name: name, dtype: .i64, shape: shape, bytes: littleEndianBytes(int64s))
    }

    public init(name: String, shape: [Int], int32s: some Collection<Int32>) {
        self.init(name: name, dtype: .i32, shape: shape, bytes: littleEndianBytes(int32s))
    }
}

private func littleEndianBytes<T: BitwiseCopyable>(_ values: some Collection<T>) -> [UInt8] {
    // Every supported platform is little-endian (x86-64, arm64), as is the format.
    let array = Array(values)
    return array.withUnsafeBytes { Array($0) }
}

// MARK: - Writing

extension Safetensors {
    /// The file's bytes. Tensors are laid out by descending element size, then name (the reference
    /// writer's order, which keeps every tensor aligned to its element size); the header lists
    /// `__metadata__` first, then the tensors in data order, and is space-padded to a multiple of 8.
    public static func serialize(_ tensors: [SafetensorsTensor], metadata: [String: String] = ["format": "pt"],
                                 file: String = "<memory>") throws(SafetensorsError) -> [UInt8] {
        let (header, ordered) = try makeHeader(tensors, metadata: metadata, file: file)
        var out = header
        out.reserveCapacity(header.count + ordered.reduce(0) { $0 + $1.bytes.count })
        for t in ordered { out.append(contentsOf: t.bytes) }
        return out
    }

    /// Writes the file atomically (to `path.tmp`, then renamed).
    public static func write(_ tensors: [SafetensorsTensor], metadata: [String: String] = ["format": "pt"],
                             to path: String) throws(SafetensorsError) {
        let (header, ordered) = try makeHeader(tensors, metadata: metadata, file: path)
        let temporary = path + ".tmp"
        guard let handle = fopen(temporary, "wb") else {
            throw SafetensorsError(kind: .io, file: path, message: "cannot create \(temporary): \(errnoText())")
        }
        var ok = header.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, handle) == $0.count }
        for t in ordered where ok && !t.bytes.isEmpty {
            ok = t.bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, handle) == $0.count }
        }
        ok = (fclose(handle) == 0) && ok
        guard ok, rename(temporary, path) == 0 else {
            let reason = errnoText()
            unlink(temporary)
            throw SafetensorsError(kind: .io, file: path, message: "write failed: \(reason)")
        }
    }

    private static func makeHeader(_ tensors: [SafetensorsTensor], metadata: [String: String],
                                   file: String) throws(SafetensorsError) -> ([UInt8], [SafetensorsTensor]) {
        var names = Set<String>()
        for t in tensors {
            guard t.name != "__metadata__", names.insert(t.name).inserted else {
                throw SafetensorsError(kind: .duplicateName, file: file,
                                       message: "tensor name '\(t.name)' is used twice or reserved")
            }
            guard t.shape.allSatisfy({ $0 >= 0 }),
                  t.shape.reduce(1, *) * t.dtype.byteSize == t.bytes.count else {
                throw SafetensorsError(kind: .spanMismatch, file: file,
                                       message: "tensor '\(t.name)': shape \(t.shape) × \(t.dtype.rawValue) "
                                           + "does not match its \(t.bytes.count) bytes")
            }
        }
        let ordered = tensors.sorted {
            $0.dtype.byteSize != $1.dtype.byteSize ? $0.dtype.byteSize > $1.dtype.byteSize : $0.name < $1.name
        }
        var entries: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.keys.sorted().map { jsonQuoted($0) + ":" + jsonQuoted(metadata[$0]!) }
            entries.append("\"__metadata__\":{" + pairs.joined(separator: ",") + "}")
        }
        var offset = 0
        for t in ordered {
            let shape = t.shape.map(String.init).joined(separator: ",")
            entries.append(jsonQuoted(t.name) + ":{\"dtype\":\"\(t.dtype.rawValue)\",\"shape\":[\(shape)],"
                + "\"data_offsets\":[\(offset),\(offset + t.bytes.count)]}")
            offset += t.bytes.count
        }
        var json = Array(("{" + entries.joined(separator: ",") + "}").utf8)
        while json.count % 8 != 0 { json.append(0x20) }
        var header: [UInt8] = []
        header.reserveCapacity(8 + json.count)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { header.append(contentsOf: $0) }
        header.append(contentsOf: json)
        return (header, ordered)
    }
}

func errnoText() -> String { String(cString: strerror(errno)) }
