#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A `pytorch_model.bin` as `torch.save` writes it, read without Python and without running its pickle: in
/// the zip format (PyTorch 1.6 on), the ZIP central directory, `<archive>/data.pkl` through a restricted
/// unpickler (a state dict: names → tensors), and each tensor's bytes in place in `<archive>/data/<key>`;
/// in the legacy format, the same pickle between its header pickles, and the storages after it.
///
/// Opening reads only the directory and the pickle (bounded), and checks every tensor against its
/// storage — dtype, element count, strides, offset plus size within the storage — so a loader can compare
/// shapes with what it expects before it allocates anything large. Tensors that share a storage (a tied
/// `lm_head.weight` and `wte`) are views of the same bytes. Besides row-major tensors, permuted ones are
/// read (e.g. the `.t()` views of Conv1D weights that UER-py's GPT-2 conversion saved, as in
/// uer/gpt2-chinese-cluecorpussmall): their elements fill their storage span exactly, and are put in
/// row-major order on the way. The legacy format (`torch.save` before PyTorch 1.6) is read the same way.
/// Views with gaps or overlaps, tar-format files (before 0.4) and TorchScript archives are refused, the
/// last two pointing at the convert script.
public final class TorchCheckpointReader: StoredTensorReader, @unchecked Sendable {
    public let file: String
    /// Tensors in name order; `dataRange` is the byte range in the file itself.
    public let tensors: [SafetensorsTensorInfo]
    private let index: [String: Int]
    /// Strides of the tensors that are permuted rather than row-major (by name).
    private let permutedStrides: [String: [Int]]
    private let descriptor: Int32

    /// Largest `data.pkl` read (a GPT-2 state dict's is a few kilobytes per layer).
    public static let maxPickleSize = 64 << 20

    deinit { close(descriptor) }

    public init(path: String) throws(TorchCheckpointError) {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw TorchCheckpointError(file: path, message: "cannot open: \(errnoText())") }
        var closeOnError = true
        defer { if closeOnError { close(fd) } }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw TorchCheckpointError(file: path, message: "cannot stat: \(errnoText())") }
        guard (status.st_mode & S_IFMT) == S_IFREG else { throw TorchCheckpointError(file: path, message: "not a regular file") }
        let size = Int(status.st_size)
        let (stateDict, storages) = try Self.isZipArchive(fd, size: size, path: path)
            ? Self.zipContents(fd, size: size, path: path) : Self.legacyContents(fd, size: size, path: path)

        var infos: [SafetensorsTensorInfo] = []
        var permutedStrides: [String: [Int]] = [:]
        var index: [String: Int] = [:]
        for (name, tensor) in stateDict {
            guard index[name] == nil else { throw TorchCheckpointError(file: path, message: "data.pkl: tensor '\(name)' is stored twice") }
            guard let bytes = storages[tensor.storage.key] else { preconditionFailure("every storage a tensor names has its bytes") }
            index[name] = infos.count
            let (info, rowMajor) = try Self.view(name, tensor, storageBytes: bytes, path: path)
            infos.append(info)
            if !rowMajor { permutedStrides[name] = tensor.stride }
        }
        file = path
        tensors = infos
        self.index = index
        self.permutedStrides = permutedStrides
        descriptor = fd
        closeOnError = false
    }

    public func contains(_ name: String) -> Bool { index[name] != nil }

    public func info(_ name: String) throws(TorchCheckpointError) -> SafetensorsTensorInfo {
        guard let i = index[name] else { throw TorchCheckpointError(file: file, message: "no tensor named '\(name)'") }
        return tensors[i]
    }

    public func readFloats(_ name: String, elements: Range<Int>,
                           into destination: UnsafeMutableBufferPointer<Float>) throws(TorchCheckpointError) {
        let t = try info(name)
        guard SafetensorsReader.isFloatingPoint(t.dtype) else {
            throw TorchCheckpointError(file: file, message: "tensor '\(name)' is \(t.dtype.rawValue), expected a floating-point dtype (F32, F16, BF16, F64)")
        }
        guard elements.lowerBound >= 0, elements.upperBound <= t.elementCount, destination.count >= elements.count else {
            throw TorchCheckpointError(file: file, message: "elements \(elements) of tensor '\(name)' (\(t.elementCount) elements) "
                + "do not fit a buffer of \(destination.count)")
        }
        guard let base = destination.baseAddress, !elements.isEmpty else { return }
        guard let stride = permutedStrides[name] else {
            let offset = t.dataRange.lowerBound + elements.lowerBound * t.dtype.byteSize
            if let failure = StoredBytes.readFloats(descriptor, at: offset, dtype: t.dtype, count: elements.count, into: base) {
                throw TorchCheckpointError(file: file, message: failure)
            }
            return
        }
        // Permuted: the whole span in storage order (as large as the tensor), then gathered row-major.
        let count = t.elementCount
        let stored = UnsafeMutablePointer<Float>.allocate(capacity: count)
        defer { stored.deallocate() }
        if let failure = StoredBytes.readFloats(descriptor, at: t.dataRange.lowerBound, dtype: t.dtype, count: count, into: stored) {
            throw TorchCheckpointError(file: file, message: failure)
        }
        Self.gather(stored, shape: t.shape, stride: stride, elements: elements, into: base)
    }

    /// Row-major elements `elements` of a view (`shape`, `stride`) of `stored`, by an odometer over the index.
    static func gather(_ stored: UnsafePointer<Float>, shape: [Int], stride: [Int], elements: Range<Int>,
                       into destination: UnsafeMutablePointer<Float>) {
        var index = [Int](repeating: 0, count: shape.count)
        var rest = elements.lowerBound, position = 0
        for d in shape.indices.reversed() {
            index[d] = rest % shape[d]
            rest /= shape[d]
            position += index[d] * stride[d]
        }
        for i in 0..<elements.count {
            destination[i] = stored[position]
            var d = shape.count - 1
            while d >= 0 {
                index[d] += 1
                position += stride[d]
                if index[d] < shape[d] { break }
                position -= index[d] * stride[d]
                index[d] = 0
                d -= 1
            }
        }
    }

    // MARK: - Opening

    static func convertHint(_ path: String) -> String {
        let directory = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        return "python scripts/convert-to-safetensors.py \(directory.isEmpty ? "." : directory)  (in a Python with torch and safetensors)"
    }

    /// The zip format starts with a local file header; the legacy format with a pickle (older ones with a
    /// tar archive, refused).
    private static func isZipArchive(_ fd: Int32, size: Int, path: String) throws(TorchCheckpointError) -> Bool {
        let head = try read(0..<min(size, 262), fd: fd, path: path)
        if head.starts(with: [0x50, 0x4B, 0x03, 0x04]) { return true }
        if head.starts(with: legacyMagic) { return false }
        if head.count == 262 && Array(head[257..<262]) == Array("ustar".utf8) {
            throw TorchCheckpointError(file: path, message: "a tar-format torch.save file (PyTorch before 0.4), which pipe does not read; "
                + "convert it: " + convertHint(path))
        }
        throw TorchCheckpointError(file: path, message: "not a PyTorch checkpoint (torch.save writes a zip archive, starting with 'PK', "
            + "or before PyTorch 1.6 a pickle of its magic number; this file is \(size) bytes and starts otherwise)")
    }

    /// The state dict and the byte range of each storage it names, from a zip archive (`data/<key>` records).
    private static func zipContents(_ fd: Int32, size: Int, path: String) throws(TorchCheckpointError)
        -> ([(name: String, tensor: RestrictedUnpickler.Tensor)], [String: Range<Int>]) {
        let archive = try StoredZipArchive(descriptor: fd, fileSize: size, file: path)
        let prefix = try archivePrefix(archive, path: path)
        try checkByteOrder(archive, prefix: prefix, fd: fd, path: path)

        guard let pickleEntry = archive.entries[prefix + "data.pkl"] else { preconditionFailure("archivePrefix found data.pkl") }
        let pickleRange = try archive.dataRange(of: pickleEntry, descriptor: fd)
        guard pickleRange.count <= maxPickleSize else {
            throw TorchCheckpointError(file: path, message: "data.pkl of \(pickleRange.count) bytes is larger than any state dict's "
                + "(limit \(maxPickleSize))")
        }
        let pickle = try read(pickleRange, fd: fd, path: path)
        guard CRC32.checksum(pickle) == pickleEntry.crc32 else {
            throw TorchCheckpointError(file: path, message: "data.pkl does not match its checksum (the file is damaged)")
        }
        var unpickler = RestrictedUnpickler(pickle, file: path)
        let stateDict = try unpickler.stateDict()
        var storages: [String: Range<Int>] = [:]
        for (name, tensor) in stateDict where storages[tensor.storage.key] == nil {
            let key = tensor.storage.key
            guard let entry = archive.entries[prefix + "data/" + key] else {
                throw TorchCheckpointError(file: path, message: "tensor '\(name)' refers to storage '\(key)', which the "
                    + "archive does not hold (no entry '\(prefix)data/\(key)')")
            }
            storages[key] = try archive.dataRange(of: entry, descriptor: fd)
        }
        return (stateDict, storages)
    }

    /// `torch.save`'s magic number 0x1950a86a20f9469cfc6c, pickled with protocol 2: a legacy file's first bytes.
    static let legacyMagic: [UInt8] = [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19, 0x2E]

    /// The legacy format (`torch.save` before PyTorch 1.6, or `_use_new_zipfile_serialization=False`): pickles of
    /// the magic number, the protocol version (1001) and `sys_info`, the state dict's pickle, a pickle of the
    /// storage keys, then each storage in that order as its element count (8 bytes, little-endian) and its bytes.
    private static func legacyContents(_ fd: Int32, size: Int, path: String) throws(TorchCheckpointError)
        -> ([(name: String, tensor: RestrictedUnpickler.Tensor)], [String: Range<Int>]) {
        // The pickles come first and are small (kilobytes); the storages follow them. A first megabyte holds
        // them; if not, the read is repeated up to the limit, where a failure is the file's.
        do {
            return try legacyContents(fd, size: size, path: path, pickleBytes: min(size, 1 << 20))
        } catch where size > 1 << 20 {
            return try legacyContents(fd, size: size, path: path, pickleBytes: min(size, maxPickleSize))
        }
    }

    private static func legacyContents(_ fd: Int32, size: Int, path: String, pickleBytes: Int) throws(TorchCheckpointError)
        -> ([(name: String, tensor: RestrictedUnpickler.Tensor)], [String: Range<Int>]) {
        let head = try read(0..<pickleBytes, fd: fd, path: path)
        var unpickler = RestrictedUnpickler(head, from: legacyMagic.count, file: path, record: "pickle")
        let version = try unpickler.integer()
        guard version == 1001 else {
            throw TorchCheckpointError(file: path, message: "a legacy torch.save file of protocol version \(version), not 1001; "
                + "convert it: " + convertHint(path))
        }
        guard try unpickler.bool(under: "little_endian") ?? true else {
            throw TorchCheckpointError(file: path, message: "stores big-endian tensors (sys_info little_endian False); pipe reads "
                + "little-endian checkpoints only (re-save it on a little-endian machine)")
        }
        let stateDict = try unpickler.stateDict()
        let keys = try unpickler.strings()
        var declared: [String: RestrictedUnpickler.Storage] = [:]
        for (_, tensor) in stateDict { declared[tensor.storage.key] = tensor.storage }
        var storages: [String: Range<Int>] = [:]
        var at = unpickler.at
        for key in keys {
            guard let storage = declared[key] else {
                throw TorchCheckpointError(file: path, message: "storage '\(key)' is listed but no tensor uses it (a state dict's "
                    + "storages all belong to its tensors)")
            }
            guard storages[key] == nil else { throw TorchCheckpointError(file: path, message: "storage '\(key)' is listed twice") }
            guard at <= size - 8 else {
                throw TorchCheckpointError(file: path, message: "ends at byte \(size) before storage '\(key)' (cut short?)")
            }
            var count = 0
            for (i, b) in try read(at..<(at + 8), fd: fd, path: path).enumerated() { count |= Int(b) << (8 * i) }
            guard count == storage.elementCount else {
                throw TorchCheckpointError(file: path, message: "storage '\(key)' holds \(count) elements, but the pickle declares "
                    + "\(storage.elementCount)")
            }
            let (bytes, overflow) = count.multipliedReportingOverflow(by: storage.dtype.byteSize)
            guard !overflow, count >= 0, bytes <= size - at - 8 else {
                throw TorchCheckpointError(file: path, message: "storage '\(key)' of \(count) elements runs past the end of the "
                    + "file (\(size) bytes; cut short?)")
            }
            storages[key] = (at + 8)..<(at + 8 + bytes)
            at += 8 + bytes
        }
        for key in declared.keys.sorted() where storages[key] == nil {
            throw TorchCheckpointError(file: path, message: "storage '\(key)' is used by a tensor but not listed among the file's storages")
        }
        return (stateDict, storages)
    }

    /// `<archive>/data.pkl` names the archive folder every record lives in.
    private static func archivePrefix(_ archive: StoredZipArchive, path: String) throws(TorchCheckpointError) -> String {
        // TorchScript archives also hold a data.pkl (of the module's objects), beside its code.
        if archive.entries.keys.contains(where: { $0.hasSuffix("/constants.pkl") || $0.contains("/code/") }) {
            throw TorchCheckpointError(file: path, message: "a TorchScript archive (torch.jit.save), not a state dict saved by torch.save; "
                + "save model.state_dict() with torch.save, or convert: " + convertHint(path))
        }
        let pickles = archive.entries.keys.filter { $0.hasSuffix("/data.pkl") && $0.split(separator: "/", omittingEmptySubsequences: false).count == 2 }
        if pickles.count == 1 { return String(pickles[0].dropLast("data.pkl".count)) }
        throw TorchCheckpointError(file: path, message: pickles.isEmpty
            ? "a zip archive without <archive>/data.pkl: not a checkpoint written by torch.save"
            : "a zip archive with \(pickles.count) data.pkl records: not a checkpoint written by torch.save")
    }

    private static func checkByteOrder(_ archive: StoredZipArchive, prefix: String, fd: Int32, path: String) throws(TorchCheckpointError) {
        guard let entry = archive.entries[prefix + "byteorder"] else { return }  // torch before 1.10: always little-endian
        guard entry.size <= 16 else { throw TorchCheckpointError(file: path, message: "byteorder record of \(entry.size) bytes is not 'little' or 'big'") }
        let order = String(decoding: try read(archive.dataRange(of: entry, descriptor: fd), fd: fd, path: path), as: UTF8.self)
        guard order == "little" else {
            throw TorchCheckpointError(file: path, message: order == "big"
                ? "stores big-endian tensors (byteorder 'big'); pipe reads little-endian checkpoints only (re-save it on a little-endian machine)"
                : "byteorder record says '\(order.prefix(16))', not 'little' or 'big'")
        }
    }

    /// The bytes of a view of a storage whose elements fill their span exactly: row-major, or permuted (a
    /// transposed matrix); a view with gaps or overlaps is refused by name. Also whether it is row-major.
    private static func view(_ name: String, _ tensor: RestrictedUnpickler.Tensor, storageBytes: Range<Int>,
                             path: String) throws(TorchCheckpointError) -> (SafetensorsTensorInfo, rowMajor: Bool) {
        let storage = tensor.storage, itemSize = storage.dtype.byteSize
        func fail(_ message: String) -> TorchCheckpointError { TorchCheckpointError(file: path, message: "tensor '\(name)' " + message) }
        let (storageSize, overflow) = storage.elementCount.multipliedReportingOverflow(by: itemSize)
        guard !overflow, storageSize == storageBytes.count else {
            throw fail("declares a storage of \(storage.elementCount) elements of \(storage.className) (\(storage.elementCount) × \(itemSize) bytes), "
                + "but '\(storage.key)' holds \(storageBytes.count) bytes")
        }
        guard tensor.shape.allSatisfy({ $0 >= 0 }), tensor.offset >= 0 else {
            throw fail("has shape \(tensor.shape) at offset \(tensor.offset); sizes and offsets must not be negative")
        }
        var count = 1
        for size in tensor.shape {
            let (next, over) = count.multipliedReportingOverflow(by: size)
            guard !over else { throw fail("has shape \(tensor.shape), too large to address") }
            count = next
        }
        // Row-major, or a permutation of it: the dimensions (size > 1), by decreasing stride, are row-major.
        let dims = tensor.shape.indices.filter { tensor.shape[$0] > 1 }
        let rowMajor = zip(dims, dims.dropFirst()).allSatisfy { tensor.stride[$0.0] > tensor.stride[$0.1] }
        var expected = 1
        for d in dims.sorted(by: { tensor.stride[$0] > tensor.stride[$1] }).reversed() {
            guard tensor.stride[d] == expected else {
                throw fail("is a strided view with gaps or overlaps (shape \(tensor.shape), stride \(tensor.stride)); pipe reads "
                    + "row-major and permuted (e.g. transposed) tensors: save tensor.contiguous()")
            }
            expected *= tensor.shape[d]  // ≤ count: no overflow
        }
        guard tensor.offset <= storage.elementCount, count <= storage.elementCount - tensor.offset else {
            throw fail("(shape \(tensor.shape), \(count) elements at offset \(tensor.offset)) runs past the end of its storage "
                + "'\(storage.key)' of \(storage.elementCount) elements")
        }
        let start = storageBytes.lowerBound + tensor.offset * itemSize
        return (SafetensorsTensorInfo(name: name, dtype: storage.dtype, shape: tensor.shape, dataRange: start..<(start + count * itemSize)),
                rowMajor || count == 0)
    }

    private static func read(_ range: Range<Int>, fd: Int32, path: String) throws(TorchCheckpointError) -> [UInt8] {
        switch StoredBytes.read(fd, at: range.lowerBound, count: range.count) {
        case .success(let bytes): return bytes
        case .failure(let failure): throw TorchCheckpointError(file: path, message: failure.reason)
        }
    }
}
