// libFuzzer target for the pipeline loader (scripts/fuzz.sh pipeline): parse, includes, declarations,
// `${...}` references, overrides, sweeps and variants, in a throw-away workspace.
//
// Input (FuzzInput): the pipeline file, then optional `#== stages/<kind>.yaml` / `#== pipelines/<name>.yaml`
// files (the workspace's own declarations, included files). Lines `#set stage.param=value` and
// `#sweep stage.param=a,b` in the pipeline text become `--set` / `--sweep` arguments. Any thrown error
// is fine; a trap is a bug.
#if FUZZING
import Foundation
import FuzzSupport
import Pipeline

nonisolated(unsafe) private let workspace = FuzzDirectory("pipeline", subdirectories: ["stages", "pipelines"])

private func allowed(_ name: String) -> Bool {
    (name.hasPrefix("stages/") || name.hasPrefix("pipelines/")) && name.hasSuffix(".yaml") && !name.contains("..")
        && name.utf8.allSatisfy { $0 > 32 && $0 < 127 } && name.split(separator: "/").count <= 4 && name.utf8.count < 100
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPipeline(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    workspace.reset()
    let input = FuzzInput(data, size)
    for file in input.files where allowed(file.name) { workspace.write(file.name, input.file(file.name) ?? []) }
    guard workspace.write("pipelines/fuzz.yaml", input.main) else { return 0 }

    var overrides: [ParamOverride] = []
    var sweeps: [String] = []
    for line in String(decoding: input.main, as: UTF8.self).split(separator: "\n").prefix(8) {
        if line.hasPrefix("#set "), let o = try? ParamOverride.parse(String(line.dropFirst(5))) { overrides.append(o) }
        if line.hasPrefix("#sweep ") { sweeps.append(String(line.dropFirst(7))) }
    }
    let loader = PipelineLoader(workspace: Workspace(root: workspace.path))
    do {
        let parsed = try loader.parse(file: workspace.path + "/pipelines/fuzz.yaml")
        let variants = try loader.loadSweep(parsed, overrides: overrides, sweeps: sweeps)
        for variant in variants.prefix(4) {
            _ = DAGRendering.text(variant.pipeline)
            _ = DAGRendering.mermaid(variant.pipeline)
            _ = DAGRendering.dot(variant.pipeline)
            for o in variant.overrides { _ = resolvedText(of: o, in: variant.pipeline) }
        }
    } catch {
        _ = error.description
    }
    return 0
}
#else
@main struct FuzzPipelineStub {
    static func main() { print("built without FUZZING: run scripts/fuzz.sh pipeline") }
}
#endif
