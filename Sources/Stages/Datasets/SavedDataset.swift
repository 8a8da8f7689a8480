import Foundation
import JSONQuoting

/// A folder written by `datasets`' `save_to_disk`: Arrow stream shards listed in `state.json`
/// (`_data_files`, in row order) beside `dataset_info.json`, or a `DatasetDict` (`dataset_dict.json`
/// over one such folder per split). The dataset stage has no setting naming a source split, so a
/// `DatasetDict` imports its `train` split, and says so.
enum SavedDataset {
    static let dictSplit = "train"

    /// The shards to read, relative to `folder`, or nil when the folder is not a saved dataset.
    static func files(folder: String, display: String, names: [String], note: (String) -> Void) throws -> [String]? {
        if names.contains("dataset_dict.json") {
            let splits = try self.splits(folder: folder, display: display)
            guard splits.contains(dictSplit) else {
                throw StageError.badInput("source", "\(display): a DatasetDict saved with save_to_disk has no \(dictSplit) split (its splits: "
                    + splits.joined(separator: ", ") + "); point the source at one split's folder, e.g. \(display)/\(splits.first ?? "SPLIT")")
            }
            let inner = folder + "/" + dictSplit
            let innerNames = (try? FileManager.default.contentsOfDirectory(atPath: inner)) ?? []
            guard let files = try shards(folder: inner, display: display + "/" + dictSplit, names: innerNames) else {
                throw StageError.badInput("source", "\(display)/\(dictSplit): no state.json (not a split saved with save_to_disk)")
            }
            note("\(display): a DatasetDict (splits " + splits.joined(separator: ", ") + "); importing its \(dictSplit) split "
                + "(to import another, point the source at its folder)")
            return files.map { dictSplit + "/" + $0 }
        }
        return try shards(folder: folder, display: display, names: names)
    }

    /// `dataset_dict.json`'s `splits`.
    static func splits(folder: String, display: String) throws -> [String] {
        let value = try json(folder + "/dataset_dict.json", display: display + "/dataset_dict.json")
        guard case .array(let items)? = value["splits"],
              case let names = items.compactMap({ $0.string }), names.count == items.count, !names.isEmpty else {
            throw StageError.badInput("source", "\(display)/dataset_dict.json: no \"splits\" list of names")
        }
        return names
    }

    /// A `save_to_disk` folder's shards from its `state.json`; nil when there is no `state.json` beside
    /// `.arrow` files (a folder of JSON files with some other `state.json` is read as before).
    static func shards(folder: String, display: String, names: [String]) throws -> [String]? {
        guard names.contains("state.json"), names.contains(where: { $0.hasSuffix(".arrow") }) else { return nil }
        let state = try json(folder + "/state.json", display: display + "/state.json")
        guard case .array(let entries)? = state["_data_files"], !entries.isEmpty else {
            throw StageError.badInput("source", "\(display)/state.json: no \"_data_files\" list (not written by save_to_disk?)")
        }
        return try entries.map { entry in
            guard case .string(let name)? = entry["filename"], !name.isEmpty, !name.contains("/"), name != "..", names.contains(name) else {
                throw StageError.badInput("source", "\(display)/state.json: a \"_data_files\" entry names no file of the folder "
                    + "(\(entry["filename"]?.string ?? "no filename"))")
            }
            return name
        }
    }

    static func json(_ path: String, display: String) throws -> JSONValue {
        guard let data = FileManager.default.contents(atPath: path) else { throw StageError.badInput("source", "\(display): cannot read") }
        do throws(JSONSyntaxError) {
            return try JSONParser.parse(data)
        } catch {
            throw StageError.badInput("source", "\(display): not JSON (\(error.message))")
        }
    }
}
