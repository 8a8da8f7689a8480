// libFuzzer target for dataset import (scripts/fuzz.sh dataset): one source file of rows (JSONL, a JSON
// array, or text lines) imported by `DatasetImport.run`, then every split read back by `DatasetReader`.
//
// Each line is also decoded as a stored dataset record (`DatasetReader.decode`) of every kind.
//
// Input: the source file. An optional first line `#dataset kind=… format=… file=<name> skip_invalid=true
// margin=<column>` sets the params (defaults: prompt-completion, auto, rows.jsonl). Bad rows and bad
// files must throw, never trap.
#if FUZZING
import Foundation
import FuzzSupport
import Stages

nonisolated(unsafe) private let folder = FuzzDirectory("dataset", subdirectories: ["source", "data", "scratch"])

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDataset(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var bytes = Array(UnsafeBufferPointer(start: data, count: size))
    var params: [String: StageParamValue] = [
        "kind": .string("prompt-completion"), "format": .string("auto"), "positive_file": .string("pos.txt"),
        "negative_file": .string("neg.txt"), "extra_splits": .list([]), "valid_fraction": .float(0.2),
        "test_fraction": .float(0.2), "min_chars": .int(1), "max_chars": .int(0), "whitespace": .string("auto"),
        "skip_invalid": .bool(false), "margin_column": .string(""),
    ]
    for column in ["text", "label", "prompt", "completion", "chosen", "rejected", "messages", "responses",
                   "instruction", "input", "output"] {
        params[column + "_column"] = .string(column)
    }
    var fileName = "rows.jsonl"
    if bytes.starts(with: Array("#dataset ".utf8)) {
        let end = bytes.firstIndex(of: 10) ?? bytes.count
        for setting in String(decoding: bytes[9..<end], as: UTF8.self).split(separator: " ") {
            let parts = setting.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { continue }
            switch parts[0] {
            case "kind", "format": params[parts[0]] = .string(parts[1])
            case "margin": params["margin_column"] = .string(parts[1])
            case "skip_invalid": params["skip_invalid"] = .bool(parts[1] == "true")
            case "file" where ["rows.jsonl", "rows.json", "rows.txt", "pos.txt"].contains(parts[1]): fileName = parts[1]
            default: break
            }
        }
        bytes = Array(bytes[min(end + 1, bytes.count)...])
    }
    // A dataset of the store damaged or written by another tool: each line decoded as a record of each kind.
    for line in bytes.split(separator: 10, omittingEmptySubsequences: true).prefix(16) {
        for kind in DatasetKind.allCases {
            _ = Array(line).withUnsafeBufferPointer { try? DatasetReader.decode($0, kind: kind, at: "train.jsonl:1") }
        }
    }
    folder.reset()
    guard folder.write("source/" + fileName, bytes) else { return 0 }
    if fileName == "pos.txt" { folder.write("source/neg.txt", Array("a bad film\n".utf8)) }
    do {
        let settings = try DatasetSettings(StageParams(params))
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder.path + "/data")) ?? [] {
            try? FileManager.default.removeItem(atPath: folder.path + "/data/" + name)
        }
        _ = try DatasetImport.run(source: folder.path + (fileName == "pos.txt" ? "/source" : "/source/" + fileName),
                                  sourceName: "data/" + fileName, settings: settings,
                                  output: folder.path + "/data", scratch: folder.path + "/scratch")
        let reader = try DatasetReader(directory: folder.path + "/data")
        for split in settings.splitNames { _ = try reader.records(in: split) }
    } catch {
        _ = "\(error)"
    }
    return 0
}
#else
@main struct FuzzDatasetStub {
    static func main() { print("built without FUZZING: run scripts/fuzz.sh dataset") }
}
#endif
