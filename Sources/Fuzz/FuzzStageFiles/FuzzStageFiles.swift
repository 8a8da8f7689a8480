// libFuzzer target for the files a command stage writes and the runner reads back (scripts/fuzz.sh
// stage-files): a declared metrics file (`metrics: [metrics.json]` or `.yaml`) and the `$PIPE_EVENTS`
// JSON lines. Both come from the user's command, so any bytes: a bad file is an error or a note, never
// a trap.
//
// Input: the file's bytes, read as a JSON metrics file, a YAML metrics file and an events file.
#if FUZZING
import Foundation
import FuzzSupport
@testable import Engine
import Pipeline
import StageWire

nonisolated(unsafe) private let folder = FuzzDirectory("stage-files")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzStageFiles(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(UnsafeBufferPointer(start: data, count: size))
    for format in [MetricsFile.Format.json, .yaml] {
        if case .success(let root?) = DeclaredMetrics.parse(bytes, format: format, name: "metrics." + format.rawValue),
           case .mapping(let members) = root {
            var values: [(name: String, value: Double)] = []
            var notes: [String] = []
            DeclaredMetrics.flatten(members, prefix: "", file: "metrics.json", into: &values, notes: &notes)
        }
    }
    folder.reset()
    guard folder.write("events.jsonl", Array(bytes)) else { return 0 }
    for event in EventsFileReader(path: folder.path + "/events.jsonl").readNew() { _ = event.metricPairs.count }
    return 0
}
#else
@main struct FuzzStageFilesStub {
    static func main() { print("built without FUZZING: run scripts/fuzz.sh stage-files") }
}
#endif
