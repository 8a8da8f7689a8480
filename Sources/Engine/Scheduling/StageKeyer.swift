import Hashing
import Pipeline
import Store

/// Computes a stage's key material once its inputs' digests are known: upstream output digests from
/// their stage records, dep digests from the workspace (through the store's stat cache).
struct StageKeyer: Sendable {
    let pipeline: ResolvedPipeline
    let store: ArtifactStore
    let runtime: StageRuntime
    private let builtinEnvironment: [String: String]
    private let commandEnvironment: [String: String]

    init(pipeline: ResolvedPipeline, store: ArtifactStore, runtime: StageRuntime) {
        self.pipeline = pipeline
        self.store = store
        self.runtime = runtime
        builtinEnvironment = runtime.numeric.entries()
        // A command brings its own numeric libraries; what pipe controls is the machine.
        commandEnvironment = runtime.numeric.entries(forCommand: true)
    }

    struct Keyed: Sendable {
        var material: KeyMaterial
        var key: Digest
        /// Input name → read-only object path.
        var inputPaths: [String: String]
    }

    /// - Parameter upstream: stage name → record of every available upstream stage.
    func key(_ stage: ResolvedStage, upstream: [String: StageRecord]) throws -> Keyed {
        if case .builtin(let kind) = stage.implementation, !runtime.builtinKinds.contains(kind) {
            throw RunnerError.unknownBuiltin(kind, known: runtime.builtinKinds)
        }
        var inputDigests: [String: Digest] = [:]
        var inputPaths: [String: String] = [:]
        for binding in stage.inputs {
            guard let record = upstream[binding.stage], let digest = record.outputs[binding.output] else {
                throw RunnerError.io("stage '\(stage.name)': input '\(binding.name)' (\(binding.reference)) is not available")
            }
            inputDigests[binding.name] = digest
            inputPaths[binding.name] = store.objectPath(digest)
        }
        for input in stage.pathInputs {
            // Hashed like an artifact (through the stat cache); the stage reads the store's copy,
            // which StageBuild ingests before running (`PathInputs.materialise`).
            do {
                let digest = try store.digest(ofPath: pipeline.workspace.root + "/" + input.path)
                inputDigests[input.name] = digest
                inputPaths[input.name] = store.objectPath(digest)
            } catch {
                throw RunnerError.io("stage '\(stage.name)': cannot read input '\(input.name)' (\(input.reference)): \(error)")
            }
        }
        var depDigests: [String: Digest] = [:]
        for dep in stage.deps {
            do {
                depDigests[dep] = try store.digest(ofPath: pipeline.workspace.root + "/" + dep)
            } catch {
                throw RunnerError.io("stage '\(stage.name)': cannot read dep '\(dep)': \(error)")
            }
        }
        let environment = stage.commandTemplate == nil ? builtinEnvironment : commandEnvironment
        let material = stage.keyMaterial(inputDigests: inputDigests, depDigests: depDigests,
                                         environment: environment, seed: stage.seed)
        return Keyed(material: material, key: material.key, inputPaths: inputPaths)
    }
}
