import Foundation
import Hashing
import Pipeline
import Store

/// Workspace files and directories given as stage inputs (`source: ./data/reviews`).
///
/// The stage reads a copy ingested into the store as an ordinary object, never the workspace path:
/// the copy is read-only and cannot change under a running stage, and since the key records only
/// its digest, `pipe reproduce`, verification and a remote cache treat it like any upstream output.
enum PathInputs {
    /// Ingests each path input of `stage` whose object is not in the store yet. Throws if the
    /// workspace content no longer has the digest the stage was keyed with (it changed meanwhile).
    static func materialise(_ stage: ResolvedStage, material: KeyMaterial, from workspaceRoot: String,
                            into store: ArtifactStore) throws {
        for input in stage.pathInputs {
            guard let keyed = material.inputs.first(where: { $0.name == input.name })?.digest else {
                throw RunnerError.io("stage '\(stage.name)': input '\(input.name)' was not keyed")
            }
            if store.hasObject(keyed) { continue }
            let staging = try store.makeStagingDirectory(label: "input-\(stage.name)")
            defer { staging.remove() }
            let copy = staging.path + "/" + input.name
            let source = workspaceRoot + "/" + input.path
            // The copy follows a symlink given as the path itself (as the digest does) and keeps links inside it.
            let resolved = URL(fileURLWithPath: source).resolvingSymlinksInPath().path
            do {
                try FileManager.default.copyItem(atPath: resolved, toPath: copy)
            } catch {
                throw RunnerError.io("stage '\(stage.name)': cannot copy input '\(input.name)' (\(input.reference)) into the store: \(error)")
            }
            let digest = try store.ingest(copy)
            guard digest == keyed else {
                throw RunnerError.io("stage '\(stage.name)': input '\(input.name)' (\(input.reference)) changed while the run "
                    + "was starting (digest \(digest.short), keyed as \(keyed.short)); run again")
            }
        }
    }
}
