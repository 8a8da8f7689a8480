import Foundation
import JSONQuoting

/// `generation_config.json` in an HF model folder: the tokens that end a generated row
/// (`eos_token_id`, an integer or a list of integers, as transformers' GenerationConfig takes it;
/// `generate` stops a row at any of them). Other keys are ignored.
public enum GenerationConfigFile {
    public static let name = "generation_config.json"

    /// The EOS ids in file order; nil when the file, the key, or its value is absent (or null).
    /// A file that is not JSON, or an id that is not an integer, is an error naming the file.
    public static func eosTokenIDs(inDirectory directory: String) throws(CheckpointError) -> [Int]? {
        let path = directory + "/" + name
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let object: JSONValue
        do { object = try JSONParser.parseFile([UInt8](data)) } catch {
            throw CheckpointError(file: path, message: "not valid JSON: \(error)")
        }
        guard object.members != nil else { throw CheckpointError(file: path, message: "top level is not a JSON object") }
        guard let raw = object["eos_token_id"], !raw.isNull else { return nil }
        let items = raw.array ?? [raw]
        return try items.map { item throws(CheckpointError) -> Int in
            guard let id = item.integer, abs(id) < 1 << 31 else {
                throw CheckpointError(file: path, message: "eos_token_id must be an integer or a list of integers, got \(raw.quotedForMessage)")
            }
            return id
        }
    }
}
