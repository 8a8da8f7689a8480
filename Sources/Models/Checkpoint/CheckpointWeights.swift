import Foundation
import JSONQuoting
import Tensor

/// The weights of a checkpoint directory, headers only: `model.safetensors`, or the shards that
/// `model.safetensors.index.json` lists, or the same in PyTorch's format (`pytorch_model.bin`,
/// `pytorch_model.bin.index.json`; safetensors is preferred when a folder has both, as in transformers),
/// every tensor under its canonical GPT2LMHeadModel name.
///
/// Nothing but headers is read here, so every name, shape and dtype can be checked against
/// `config.json` before the model is allocated; `read` then streams one tensor into place.
struct CheckpointWeights {
    /// Where one tensor is stored.
    struct Entry {
        let reader: any StoredTensorReader
        /// Its name in the file (canonical names add the `transformer.` prefix where it is missing).
        let storedName: String
        let info: SafetensorsTensorInfo
    }

    static let indexFile = "model.safetensors.index.json"
    static let torchFile = "pytorch_model.bin"
    static let torchIndexFile = "pytorch_model.bin.index.json"
    /// Largest index or config file read (HF's are kilobytes; this bounds a hostile one).
    static let maxJSONFileSize = 64 << 20

    /// Canonical name → where it is stored.
    let entries: [String: Entry]
    /// For messages: `…/model.safetensors` or `…/model.safetensors.index.json`.
    let source: String

    subscript(_ canonicalName: String) -> Entry? { entries[canonicalName] }

    /// The canonical name of a stored tensor: GPT2Model-style names (no `transformer.`) gain the prefix.
    static func canonicalName(_ name: String) -> String {
        for prefix in ["transformer.", "lm_head.", "v_head.", "score."] where name.hasPrefix(prefix) { return name }
        return "transformer." + name
    }

    /// Causal-mask buffers older transformers versions saved with GPT-2 weights.
    static func isBuffer(_ name: String) -> Bool { name.hasSuffix(".attn.bias") || name.hasSuffix(".attn.masked_bias") }

    static func open(directory: String) throws -> CheckpointWeights {
        let fm = FileManager.default
        let single = directory + "/" + Checkpoint.weightsFile, index = directory + "/" + indexFile
        if fm.fileExists(atPath: single) {
            let reader = try SafetensorsReader(path: single)
            return try CheckpointWeights(readers: [(reader, reader.tensors.map(\.name))], source: single)
        }
        if fm.fileExists(atPath: index) { return try sharded(directory: directory, index: index) { try SafetensorsReader(path: $0) } }
        let torch = directory + "/" + torchFile, torchIndex = directory + "/" + torchIndexFile
        if fm.fileExists(atPath: torch) {
            let reader = try TorchCheckpointReader(path: torch)
            return try CheckpointWeights(readers: [(reader, reader.tensors.map(\.name))], source: torch)
        }
        if fm.fileExists(atPath: torchIndex) {
            return try sharded(directory: directory, index: torchIndex) { try TorchCheckpointReader(path: $0) }
        }
        throw CheckpointError(file: single, message: "not found (a GPT-2 checkpoint directory holds config.json and "
            + "model.safetensors or \(indexFile) with its shards, or \(torchFile) or \(torchIndexFile) with its shards)")
    }

    /// `{"metadata": {...}, "weight_map": {"tensor name": "model-00001-of-00002.safetensors", ...}}` (or `.bin` shards).
    private static func sharded(directory: String, index: String,
                                open: (String) throws -> any StoredTensorReader) throws -> CheckpointWeights {
        let data = try readJSONFile(index)
        let object: JSONValue
        do { object = try JSONParser.parseFile([UInt8](data)) } catch {
            throw CheckpointError(file: index, message: "not valid JSON: \(error)")
        }
        guard object.members != nil else { throw CheckpointError(file: index, message: "not a JSON object") }
        guard let map = object["weight_map"]?.members, !map.isEmpty else {
            throw CheckpointError(file: index, message: "missing or empty \"weight_map\" (tensor name → shard file)")
        }
        var tensorsByShard: [String: [String]] = [:]
        for member in map {
            let name = member.key
            guard let shard = member.value.string, !shard.isEmpty, !shard.contains("/"), !shard.contains("\\"),
                  shard != ".", shard != ".." else {
                throw CheckpointError(file: index, message: "weight_map[\"\(name)\"] must be a file name in the same directory, "
                    + "got \(member.value.string ?? member.value.quotedForMessage)")
            }
            tensorsByShard[shard, default: []].append(name)
        }
        var readers: [(any StoredTensorReader, [String])] = []
        for shard in tensorsByShard.keys.sorted() {
            let path = directory + "/" + shard
            guard FileManager.default.fileExists(atPath: path) else {
                throw CheckpointError(file: index, message: "shard '\(shard)' (holding \(tensorsByShard[shard]!.sorted()[0]) …) not found in \(directory)")
            }
            let reader = try open(path)
            for name in tensorsByShard[shard]!.sorted() where !reader.contains(name) {
                throw CheckpointError(file: index, message: "weight_map puts '\(name)' in \(shard), which has no such tensor")
            }
            readers.append((reader, tensorsByShard[shard]!))
        }
        return try CheckpointWeights(readers: readers, source: index)
    }

    init(entries: [String: Entry], source: String) {
        self.entries = entries
        self.source = source
    }

    private init(readers: [(any StoredTensorReader, [String])], source: String) throws {
        var entries: [String: Entry] = [:]
        for (reader, names) in readers {
            for name in names.sorted() where !Self.isBuffer(name) {
                let canonical = Self.canonicalName(name)
                if let other = entries[canonical] {
                    throw CheckpointError(file: source, message: "tensor '\(canonical)' is stored twice ('\(other.storedName)' in "
                        + "\(other.reader.file) and '\(name)' in \(reader.file))")
                }
                entries[canonical] = Entry(reader: reader, storedName: name, info: try reader.info(name))
            }
        }
        self.entries = entries
        self.source = source
    }

    static func readJSONFile(_ path: String) throws -> Data {
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
        guard let size else { throw CheckpointError(file: path, message: "cannot read (is this a checkpoint directory?)") }
        guard size <= maxJSONFileSize else {
            throw CheckpointError(file: path, message: "\(size) bytes is too large for a JSON configuration file (limit \(maxJSONFileSize))")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CheckpointError(file: path, message: "cannot read (is this a checkpoint directory?)")
        }
        return data
    }

    /// Streams a stored tensor into `destination` as Float32 (converting F16/BF16/F64).
    func read(_ entry: Entry, into destination: UnsafeMutableBufferPointer<Float>) throws {
        try entry.reader.readFloats(entry.storedName, into: destination)
    }

    /// Whether two stored tensors hold the same values (compared in bounded chunks, nothing large allocated).
    func sameValues(_ a: Entry, _ b: Entry) throws -> Bool {
        guard a.info.shape == b.info.shape else { return false }
        // Views of the same bytes (a tied lm_head.weight sharing wte's storage in a pytorch_model.bin).
        if a.reader === b.reader, a.info.dtype == b.info.dtype, a.info.dataRange == b.info.dataRange { return true }
        let count = a.info.elementCount, chunk = 1 << 18
        var x = [Float](repeating: 0, count: min(chunk, count)), y = x
        var start = 0
        while start < count {
            let range = start..<min(start + chunk, count)
            try x.withUnsafeMutableBufferPointer { try a.reader.readFloats(a.storedName, elements: range, into: $0) }
            try y.withUnsafeMutableBufferPointer { try b.reader.readFloats(b.storedName, elements: range, into: $0) }
            for i in 0..<range.count where x[i] != y[i] { return false }
            start = range.upperBound
        }
        return true
    }
}
