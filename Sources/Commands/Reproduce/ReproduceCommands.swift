import Engine
import Foundation
import Hashing
import Pipeline
import Store

/// `pipe reproduce RUN | --lock FILE` and `pipe export RUN STAGE --to DIR`.
public enum ReproduceCommands {
    static let stdout = TerminalOutput(fd: 1)
    static let stderr = TerminalOutput(fd: 2)

    /// Re-executes every stage of a recorded run (or lock file) without the cache, into a scratch
    /// store, and compares each key and output digest with the record. Exit 0 when everything is
    /// bit-for-bit identical, 1 when a stage diverged, 2 on usage errors.
    public static func reproduce(store storeFlag: String?, run reference: String?, lock lockPath: String?, variant: String?,
                                 jobs: Int?, scratch: String?, runtime: StageRuntime, liveView: Bool? = nil) -> Int32 {
        let store: ArtifactStore
        let target: ReproductionTarget
        do {
            store = try ArtifactStore(root: ArtifactStore.resolveRoot(explicit: storeFlag), cleanTemporary: false, warning: { _ in })
            if let lockPath {
                target = try ReproductionTarget.fromLock(LockFile.read(path: lockPath), path: lockPath, variant: variant)
            } else {
                guard FileManager.default.fileExists(atPath: store.registryPath) else {
                    stderr.write("error: no runs recorded in \(store.root) (pass --lock FILE to reproduce a lock file)\n")
                    return 2
                }
                let registry = try store.openRegistry()
                let details = try registry.runDetails(id: registry.resolveRunReference(reference ?? "latest"))
                target = ReproductionTarget.fromRun(details, store: store)
            }
        } catch {
            stderr.write("error: \(error)\n")
            return 2
        }
        if target.stages.isEmpty {
            stderr.write("error: \(target.label) recorded no stage outputs: nothing to reproduce\n")
            return 2
        }
        let pipeline: ResolvedPipeline
        do {
            var overrides: [ParamOverride] = []
            for text in target.overrides { overrides.append(try ParamOverride.parse(text, flag: "recorded param")) }
            pipeline = try PipelineLoader.load(file: target.pipelineFile, overrides: overrides)
        } catch {
            stderr.write("error: cannot load \(Workspace.displayPath(ofFile: target.pipelineFile)) as \(target.label) used it "
                         + "(the pipeline or its stage declarations changed since?):\n\(error)\n")
            return 2
        }

        // The scratch store: a staging directory of the real store (same filesystem, removed at the
        // end, cleaned by the next pipe process if this one dies), or a directory the user keeps.
        let staging: StagingDirectory?
        let scratchRoot: String
        do {
            if let scratch {
                staging = nil
                scratchRoot = scratch
                if let existing = try? FileManager.default.contentsOfDirectory(atPath: scratch), !existing.isEmpty {
                    stderr.write("error: --scratch \(scratch) is not empty; reproduction needs an empty store\n")
                    return 2
                }
            } else {
                let directory = try store.makeStagingDirectory(label: "reproduce")
                staging = directory
                scratchRoot = directory.path + "/store"
            }
        } catch {
            stderr.write("error: cannot create a scratch store: \(error)\n")
            return 2
        }
        defer { staging?.remove() }
        let scratchStore: ArtifactStore
        do { scratchStore = try ArtifactStore(root: scratchRoot) } catch {
            stderr.write("error: cannot create a scratch store in \(scratchRoot): \(error)\n")
            return 2
        }

        stdout.write("reproducing \(target.label): \(pipeline.stages.count) stages of \(pipeline.name) without the cache "
                     + "into \(staging == nil ? scratchRoot : "a scratch store")\n")
        let options = RunOptions(jobs: jobs, runtime: runtime, rerunCommand: "pipe reproduce")
        let report = RunCommands.execute(pipeline, store: scratchStore, executor: LocalExecutor(), options: options,
                                         recorder: nil, runLabel: "reproduce", liveView: liveView, summaryID: nil)
        if report.status == .interrupted {
            stderr.write("reproduction interrupted\n")
            return 130
        }

        let verdicts = ReproductionComparison.verdicts(pipeline: pipeline, target: target, report: report,
                                                       original: store, scratch: scratchStore)
        stdout.write(text(verdicts))
        return verdicts.contains(where: \.isDivergence) ? 1 : 0
    }

    static func text(_ verdicts: [StageVerdict]) -> String {
        let width = verdicts.map(\.stage.count).max() ?? 0
        var out = "\n"
        for verdict in verdicts {
            let label: String = switch verdict.kind {
            case .identical: "identical (same key, same output digests)"
            case .nondeterministic: "DIVERGED: non-deterministic"
            case .definitionChanged: "DIVERGED: params or definition changed"
            case .environmentChanged: "DIVERGED: environment changed"
            case .inputsDiffer: "differs: its inputs differ"
            case .keyChanged: "DIVERGED: key changed"
            case .failed: "DIVERGED: did not complete"
            case .notRecorded: "not recorded"
            }
            out += verdict.stage.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + label + "\n"
            for line in verdict.details where verdict.kind != .identical { out += String(repeating: " ", count: width + 4) + line + "\n" }
        }
        let compared = verdicts.filter { $0.kind != .notRecorded }
        if let first = verdicts.first(where: \.isDivergence) {
            let why: String = switch first.kind {
            case .nondeterministic: "same key, different bytes: the stage is not deterministic (time, unseeded randomness, thread races, "
                + "undeclared inputs); stages below it differ because their inputs do"
            case .definitionChanged: "its params or definition changed since the run"
            case .environmentChanged: "the numeric environment differs (BLAS build, thread count or CPU architecture)"
            case .keyChanged: "its key changed and the run's key material was removed by gc, so the cause is unknown"
            case .failed: "it did not complete in the reproduction"
            default: "its inputs differ"
            }
            out += "first divergence: stage '\(first.stage)': \(why)\n"
        } else {
            out += "all \(compared.count) stage\(compared.count == 1 ? "" : "s") reproduced bit for bit: every key and output digest equal\n"
        }
        return out
    }

    // MARK: export

    /// Copies one output of a run's stage out of the store into `destination` (writable copies): a
    /// directory artifact (e.g. a model: config.json + model.safetensors + tokenizer.json) becomes
    /// the folder itself, a file artifact becomes `destination/<output>`.
    public static func export(store storeFlag: String?, run reference: String, stage: String, output: String?,
                              to destination: String, force: Bool) -> Int32 {
        guard let (store, registry) = HistoryCommands.open(storeFlag) else { return 2 }
        do {
            let details = try registry.runDetails(id: registry.resolveRunReference(reference))
            guard let execution = HistoryCommands.execution(of: stage, in: details) else { return 2 }
            let names = execution.outputs.keys.sorted { $0.utf8Precedes($1) }
            guard !names.isEmpty else {
                stderr.write("error: stage '\(stage)' of run \(details.run.id) has no recorded outputs (\(execution.outcome.rawValue))\n")
                return 1
            }
            let chosen: String
            if let output {
                guard names.contains(output) else {
                    stderr.write("error: stage '\(stage)' has no output '\(output)'; outputs: \(names.joined(separator: ", "))\n")
                    return 2
                }
                chosen = output
            } else {
                guard names.count == 1 else {
                    stderr.write("error: stage '\(stage)' has several outputs; pick one with --output (\(names.joined(separator: ", ")))\n")
                    return 2
                }
                chosen = names[0]
            }
            let digest = execution.outputs[chosen]!
            let source = store.objectPath(digest)
            guard store.hasObject(digest) else {
                stderr.write("error: output \(stage).\(chosen) (\(digest.short)) is no longer in the store (removed by gc, or "
                             + "quarantined by verify); rerun the pipeline to rebuild it\n")
                return 1
            }
            if let corruption = store.objectCorruption(digest) {
                stderr.write("error: output \(stage).\(chosen) (\(digest.short)) is damaged in the store (\(corruption)); "
                             + "run `pipe verify` to quarantine it, then rerun the pipeline to rebuild it\n")
                return 1
            }
            try ArtifactExport.copy(source: source, to: destination, name: chosen, force: force)
            stdout.write("exported \(stage).\(chosen) (\(digest.short)) of run \(details.run.id) to \(destination)\n")
            if let tokenizer = ArtifactExport.completeModelFolder(destination, execution: execution, store: store) {
                stdout.write("added \(tokenizer) from the stage's inputs, so the folder loads with from_pretrained\n")
            }
            return 0
        } catch {
            stderr.write("error: \(error)\n")
            return 2
        }
    }
}

/// Writable copies out of the read-only object store.
enum ArtifactExport {
    static func copy(source: String, to destination: String, name: String, force: Bool) throws {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        _ = manager.fileExists(atPath: source, isDirectory: &isDirectory)
        if let existing = try? manager.contentsOfDirectory(atPath: destination), !existing.isEmpty {
            guard force else { throw RunnerError.usage("\(destination) is not empty (pass --force to write into it anyway)") }
        }
        try manager.createDirectory(atPath: destination, withIntermediateDirectories: true)
        if isDirectory.boolValue {
            for entry in try manager.contentsOfDirectory(atPath: source).sorted() {
                let target = destination + "/" + entry
                if force { try? makeWritable(target); try? manager.removeItem(atPath: target) }
                try manager.copyItem(atPath: source + "/" + entry, toPath: target)
                try makeWritable(target)
            }
        } else {
            let target = destination + "/" + name
            if force { try? makeWritable(target); try? manager.removeItem(atPath: target) }
            try manager.copyItem(atPath: source, toPath: target)
            try makeWritable(target)
        }
    }

    static let tokenizerFiles = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json", "merges.txt", "vocab.txt"]

    /// A model folder (config.json) without tokenizer files gets them from the stage's inputs (a
    /// PPO policy is trained from the SFT model, which carries the tokenizer), so `from_pretrained`
    /// can load model and tokenizer from the one folder. Returns the files added, if any.
    static func completeModelFolder(_ folder: String, execution: StageExecution, store: ArtifactStore) -> String? {
        let manager = FileManager.default
        guard manager.fileExists(atPath: folder + "/config.json"),
              !tokenizerFiles.contains(where: { manager.fileExists(atPath: folder + "/" + $0) }),
              let material = store.material(ofKey: execution.key) else { return nil }
        for input in material.inputs where store.hasObject(input.digest) {
            let source = store.objectPath(input.digest)
            let present = tokenizerFiles.filter { manager.fileExists(atPath: source + "/" + $0) }
            guard !present.isEmpty else { continue }
            for file in present {
                guard (try? manager.copyItem(atPath: source + "/" + file, toPath: folder + "/" + file)) != nil else { continue }
                try? makeWritable(folder + "/" + file)
            }
            return present.joined(separator: ", ") + " (input \(input.name))"
        }
        return nil
    }

    /// Objects are read-only; exported copies belong to the user: u+w on files and directories.
    static func makeWritable(_ path: String) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        if (info.st_mode & S_IFMT) == S_IFLNK { return }
        chmod(path, (info.st_mode & 0o7777) | 0o200)
        if (info.st_mode & S_IFMT) == S_IFDIR {
            for entry in try FileManager.default.contentsOfDirectory(atPath: path) { try makeWritable(path + "/" + entry) }
        }
    }
}
