import Engine
import Foundation
import Hashing
import Store

/// `pipe push` and `pipe pull`: stage results between the local store and a remote cache. What
/// moves: the records of the chosen stage keys and every object they name; the remote skips what
/// it has (one existence check per object and file), the local store what it has.
/// Exit status: 0 ok, 1 a transfer failed or something asked for is missing, 2 usage.
public enum RemoteCommands {
    /// Which stage results to move.
    public enum Selection: Sendable {
        /// A run of the local registry (push: id, prefix or `latest`; pull: the full id `pipe push` printed).
        case run(String)
        /// Every intact result in the local store (push only).
        case all
        /// The stage keys of a lock file (`pipelines/x.lock`).
        case lock(String)
    }

    static let stdout = TerminalOutput(fd: 1)
    static let stderr = TerminalOutput(fd: 2)

    public static func push(store storeFlag: String?, remote flag: String?, settings: ExecutorSettings, selection: Selection) -> Int32 {
        guard let remote = resolve(flag, settings: settings), let store = openStore(storeFlag) else { return 2 }
        var keys: [(stage: String, key: Digest)] = []
        var run: RemoteRun?
        do {
            switch selection {
            case .all:
                keys = try store.allRecordKeys().compactMap { key in store.record(forKey: key).map { ($0.stage, key) } }
            case .lock(let path):
                keys = try lockKeys(path)
            case .run(let reference):
                guard FileManager.default.fileExists(atPath: store.registryPath) else {
                    stderr.write("error: no runs recorded in \(store.root); push --all or --lock FILE instead\n")
                    return 2
                }
                let registry = try store.openRegistry()
                let details = try registry.runDetails(id: try registry.resolveRunID(reference))
                for execution in details.stages where [.ran, .cached].contains(execution.outcome) {
                    if let key = Digest(hex: execution.key) { keys.append((execution.stage, key)) }
                }
                run = RemoteRun(run: details.run.id, pipeline: details.run.name, stages: keys.map { RemoteRun.Stage(stage: $0.stage, key: $0.key) })
            }
        } catch {
            stderr.write("error: \(error)\n")
            return 2
        }
        var planned: Set<Digest> = []
        var plannedBytes: Int64 = 0
        for (_, key) in keys {
            for object in store.record(forKey: key)?.referencedObjects ?? [] where planned.insert(object).inserted {
                plannedBytes += (try? store.manifest(ofPath: store.objectPath(object)).totalSize) ?? 0
            }
        }
        let progress = makeProgress(verb: "pushing", to: remote.name, stages: keys.count)
        progress.plan(bytes: plannedBytes)
        let started = ContinuousClock.now
        var failures: [String] = []
        for (stage, key) in keys {
            do { try remote.putRecord(key, from: store, progress: progress) } catch {
                failures.append("\(stage) (\(key.short)): \(error)")
            }
        }
        if let run, failures.isEmpty {
            do { try remote.putRun(run) } catch { failures.append("run \(run.run): \(error)") }
        }
        finishProgress()
        let seconds = (ContinuousClock.now - started).seconds
        stdout.write(summary(verb: "pushed", to: "to", remote: remote.name, stages: keys.count - failures.count, tally: progress.tally, seconds: seconds))
        if let run, failures.isEmpty { stdout.write("pull it elsewhere with: pipe pull \(run.run) --remote <remote>\n") }
        for failure in failures { stderr.write("error: push \(failure)\n") }
        return failures.isEmpty ? 0 : 1
    }

    public static func pull(store storeFlag: String?, remote flag: String?, settings: ExecutorSettings, selection: Selection) -> Int32 {
        guard let remote = resolve(flag, settings: settings), let store = openStore(storeFlag) else { return 2 }
        var keys: [(stage: String, key: Digest)] = []
        do {
            switch selection {
            case .all:
                stderr.write("error: pull needs a run id or --lock FILE (a remote cannot be listed)\n")
                return 2
            case .lock(let path):
                keys = try lockKeys(path)
            case .run(let id):
                guard let run = try remote.getRun(id) else {
                    stderr.write("error: remote \(remote.name) has no run '\(id)'; give the full run id that `pipe push` printed, or pull --lock FILE\n")
                    return 1
                }
                keys = run.stages.map { ($0.stage, $0.key) }
            }
        } catch {
            stderr.write("error: \(error)\n")
            return error is RemoteError ? 1 : 2
        }
        let progress = makeProgress(verb: "pulling", to: remote.name, stages: keys.count)
        let started = ContinuousClock.now
        let failures = FailureList()
        // Several results at once: transfers overlap each other's fsyncs and round trips.
        try? RemoteParallel.forEach(keys.map { KeyedStage(stage: $0.stage, key: $0.key) }, width: 4) { item in
            do {
                if try remote.pull(key: item.key, into: store, progress: progress) == nil {
                    failures.add(item.stage, key: item.key, "remote \(remote.name) does not have this result (push it from the store that built it)")
                }
            } catch {
                failures.add(item.stage, key: item.key, "\(error)")
            }
        }
        finishProgress()
        let seconds = (ContinuousClock.now - started).seconds
        let failed = failures.sorted(inOrderOf: keys.map(\.key))
        stdout.write(summary(verb: "pulled", to: "from", remote: remote.name, stages: keys.count - failed.count, tally: progress.tally, seconds: seconds))
        for failure in failed { stderr.write("error: pull \(failure)\n") }
        return failed.isEmpty ? 0 : 1
    }

    /// `pipe gc --remote`: removes uploads that killed pushes left in the remote's tmp/ (and, with
    /// `orphans`, manifests and content nothing names), all older than `graceSeconds`.
    /// Exit status: 0 ok, 1 the remote failed or cannot list, 2 usage.
    public static func gc(remote flag: String, settings: ExecutorSettings, graceSeconds: Int, orphans: Bool, dryRun: Bool) -> Int32 {
        guard let resolved = resolve(flag, settings: settings) else { return 2 }
        guard let remote = resolved as? ContentAddressedRemote else {
            stderr.write("error: remote \(resolved.name) does not support garbage collection\n")
            return 2
        }
        do {
            let report = try remote.collectGarbage(olderThan: Double(graceSeconds), orphans: orphans, dryRun: dryRun)
            let verb = dryRun ? "would remove" : "removed"
            func count(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }
            var out = "remote \(remote.name): \(verb) " + count(report.temporary.count, "abandoned upload") + " from tmp/"
            if orphans {
                out += ", " + count(report.orphanObjects.count, "unreferenced object manifest") + " and " + count(report.orphanContents.count, "unreferenced content file")
            }
            out += " (\(Format.bytes(report.bytes))), all older than \(graceSeconds)s"
            if report.youngTemporary > 0 { out += "; kept " + count(report.youngTemporary, "younger upload") + " in tmp/ (may be in flight)" }
            out += "\n"
            if dryRun {
                for file in (report.temporary.map { "tmp/" + $0.name } + report.orphanObjects.map { "objects/" + $0.name }
                             + report.orphanContents.map { "cas/" + $0.name }).prefix(20) { out += "  \(file)\n" }
            }
            stdout.write(out)
            return 0
        } catch {
            stderr.write("error: \(error)\n")
            return 1
        }
    }

    // MARK: Helpers

    static func resolve(_ flag: String?, settings: ExecutorSettings) -> (any Remote)? {
        do { return try RemoteResolver.resolve(flag, settings: settings.remotes) } catch {
            stderr.write("error: \(error)\n")
            return nil
        }
    }

    static func openStore(_ flag: String?) -> ArtifactStore? {
        do { return try ArtifactStore(root: ArtifactStore.resolveRoot(explicit: flag)) } catch {
            stderr.write("error: cannot open the artifact store: \(error)\n")
            return nil
        }
    }

    /// Stage keys of a lock file, each once, in file order.
    static func lockKeys(_ path: String) throws -> [(stage: String, key: Digest)] {
        let lock = try LockFile.read(path: path)
        var seen: Set<Digest> = []
        var keys: [(stage: String, key: Digest)] = []
        for variant in lock.variants {
            for stage in variant.stages {
                guard let key = Digest(hex: stage.key) else { throw RunnerError.usage("\(path): stage \(stage.name) has an invalid key '\(stage.key)'") }
                if seen.insert(key).inserted { keys.append((stage.name, key)) }
            }
        }
        return keys
    }

    /// A progress line redrawn in place on a terminal (nothing when stdout is a pipe).
    static func makeProgress(verb: String, to remote: String, stages: Int) -> TransferProgress {
        guard stdout.isTerminal else { return TransferProgress() }
        let lastDraw = LastDraw()
        return TransferProgress { tally in
            guard lastDraw.due() else { return }
            let done = tally.bytesMoved + tally.bytesSkipped
            var line = "\(verb) "
            if tally.bytesPlanned > 0 {
                line += TerminalLiveView.bar(Double(done) / Double(tally.bytesPlanned), width: 24) + " \(Format.bytes(done))/\(Format.bytes(tally.bytesPlanned))"
            } else {
                line += Format.bytes(done)
            }
            line += "  \(tally.recordsMoved + tally.recordsSkipped)/\(stages) stages"
            stdout.write("\r" + ANSI.clearLine + line)
        }
    }

    static func finishProgress() {
        if stdout.isTerminal { stdout.write("\r" + ANSI.clearLine) }
    }

    static func summary(verb: String, to preposition: String, remote: String, stages: Int, tally: TransferTally, seconds: Double) -> String {
        let rate = seconds > 0 && tally.bytesMoved > 0 ? String(format: ", %.0f MB/s", Double(tally.bytesMoved) / 1e6 / seconds) : ""
        return "\(verb) \(stages) stage result\(stages == 1 ? "" : "s") \(preposition) \(remote) in \(Format.seconds(seconds)): "
            + "\(Format.bytes(tally.bytesMoved)) moved (\(tally.filesMoved) file\(tally.filesMoved == 1 ? "" : "s")\(rate)), "
            + "\(Format.bytes(tally.bytesSkipped)) skipped (already there)\n"
    }

    struct KeyedStage: Sendable { var stage: String; var key: Digest }

    /// Failures collected from parallel pulls, reported in the order the keys were asked for.
    final class FailureList: @unchecked Sendable {
        private let lock = NSLock()
        private var items: [(key: Digest, text: String)] = []
        func add(_ stage: String, key: Digest, _ reason: String) {
            lock.lock(); items.append((key, "\(stage) (\(key.short)): \(reason)")); lock.unlock()
        }
        func sorted(inOrderOf keys: [Digest]) -> [String] {
            lock.lock(); defer { lock.unlock() }
            let position = Dictionary(keys.enumerated().map { ($0.element, $0.offset) }, uniquingKeysWith: { first, _ in first })
            return items.sorted { (position[$0.key] ?? 0) < (position[$1.key] ?? 0) }.map(\.text)
        }
    }

    /// Limits progress redraws to ~10 a second.
    final class LastDraw: @unchecked Sendable {
        private let lock = NSLock()
        private var last = ContinuousClock.now - .seconds(1)
        func due() -> Bool {
            lock.lock(); defer { lock.unlock() }
            let now = ContinuousClock.now
            guard now - last >= .milliseconds(100) else { return false }
            last = now
            return true
        }
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
