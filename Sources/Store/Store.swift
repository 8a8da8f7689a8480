import Foundation
import Hashing

/// # Store — content-addressed artifacts, stage cache, locks, run registry
///
/// Knows nothing about ML or pipelines. Layout under the store root (default `artifacts/`, or
/// `--store` / `PIPE_STORE`; see `ArtifactStore.resolveRoot`):
///
///     objects/<digest>        immutable artifacts (a file or a tree), read-only, renamed in from tmp/
///     stages/<key>.json       stage records (`StageRecord`): key → outputs, log, metrics, timings
///     runs.sqlite             run registry (`RunRegistry`, GRDB): runs, stage executions, metric series
///     runs.watermark          run count and latest run id, to notice a registry that lost history
///     statcache/<host>.bin    content digests memoised by (dev, inode, size, mtime ns, ctime ns)
///     statcache/<host>.records  stage records as read, memoised by their file's status (`RecordIndex`)
///     statcache/<host>.written  lock files known to hold what their inputs render to (`WrittenFileMemo`)
///     tmp/                    staging; anything here is garbage after a crash, never a result
///     locks/<key>.lock        per-key `flock` locks
///     quarantine/             corrupt objects moved aside by `verify` (emptied by `gc`)
///     resume/<key>/           checkpoints of an unfinished training stage, so a rerun of the key continues
///                             (removed when the key's result is committed; `gc` removes stale ones)
///     shapes/<digest>         entry list and sizes of each object, checked (stat only) on a cache hit
///     logs/failed/<run>/      logs of stages that failed in run (or sweep) <run>: a failed stage leaves
///                             no object (`failedLogPath(run:stage:)`; removed by `gc` with the run)
///
/// ## API for the runner (all methods are thread-safe; errors are `StoreError`)
///
///     let store = try ArtifactStore(root: ArtifactStore.resolveRoot(explicit: storeFlag))
///     // Digests (the stat cache makes an unchanged 1 GiB input cost one stat):
///     let d = try store.digest(ofPath: "data/reviews")                 // file or directory
///     // Building a key (never hold a lock you don't need; there is no global lock):
///     if let record = store.record(forKey: key) { /* cached: use record.outputs */ }
///     store.saveRecordIndex()   // after many lookups: later processes answer them with a stat each
///     try store.withLock(key: key) {                                    // or lock(key:) / tryLock(key:)
///         if let record = store.record(forKey: key) { return record }   // someone else built it
///         let staging = try store.makeStagingDirectory(label: stageName) // tmp/<host>~<pid>~<rand>~<label>
///         defer { staging.remove() }
///         // ... run the stage, writing outputs under staging.path ...
///         let out = try store.ingest(staging.path + "/outs/model")     // moves into objects/<digest>
///         let record = StageRecord(key: key, stage: name, keyMaterial: material,
///                                  outputs: ["model": out], log: logDigest, metrics: [...],
///                                  startedAt: t0, finishedAt: t1, exitStatus: 0)
///         try store.commit(record)                                      // the result now exists
///     }
///     store.objectPath(out)        // objects/<digest>: pass to downstream stages read-only
///     store.hasObject(out)
///     // Run registry (SQLite, WAL, busy timeout; one connection per process, kept open):
///     let registry = try store.openRegistry()
///     let runID = try registry.startRun(NewRun(pipelinePath: ..., pipelineDigest: ..., name: ...,
///                                              params: ..., commandLine: CommandLine.arguments))
///     try registry.recordStageExecution(StageExecution(runID: runID, stage: "sft", key: key.hex,
///                                       outcome: .ran, ...))
///     try registry.recordMetrics(runID: runID, stage: "sft", points: [MetricPoint(step: 1, name: "loss", value: 2.3)])
///     try registry.finishRun(id: runID, status: .succeeded)
///     try registry.latestExecutions(pipeline: path)   // stage name → last execution, for `pipe status`
///     try registry.listRuns(limit: 20); try registry.runDetails(id: registry.resolveRunID("2026"))
///     // Upkeep: store.verify(quarantine:registry:) re-hashes objects, quarantines corrupt
///     // ones (their records then read as absent, so the next run rebuilds them);
///     // store.garbageCollect(keepKeys:keepObjects:keepFailedLogs:dryRun:grace:); store.objectsSize()
///     // Benchmark lines for `pipe bench`: StoreBenchmark.run(at: directory, fileSize:)
///
/// Remote caches (`Remote/`): `Remote` moves records by key and objects by digest between this store
/// and another machine, over a `RemoteBlobs` transport (`FilesystemBlobs` here; HTTP in RemoteHTTP);
/// `ContentAddressedRemote` holds the layout, the upload order and the download verification.
///
/// Exact artifact digest scheme and symlink policy: `Artifacts/ArtifactManifest.swift`. Stat cache:
/// `Artifacts/StatCache.swift`. Shared filesystems (Slurm): `Locks/KeyLock.swift` says what
/// the filesystem must support; the registry uses a rollback journal there instead of WAL.
public final class ArtifactStore: Sendable {
    public static let environmentVariable = "PIPE_STORE"
    public static let defaultDirectoryName = "artifacts"

    /// Absolute path of the store root.
    public let root: String
    public var objectsDirectory: String { root + "/objects" }
    public var stagesDirectory: String { root + "/stages" }
    public var temporaryDirectory: String { root + "/tmp" }
    public var locksDirectory: String { root + "/locks" }
    public var registryPath: String { root + "/runs.sqlite" }
    /// True when the store sits on NFS, Lustre, GPFS, CephFS, SMB or FUSE (affects SQLite journaling
    /// and directory revalidation after taking a lock).
    public let isNetworkFilesystem: Bool

    let statCache: StatCache
    let recordIndex: RecordIndex
    /// Lock files known to be up to date (`WrittenFileMemo`).
    public let writtenFileMemo: WrittenFileMemo
    let warningHandler: @Sendable (String) -> Void
    let keyLocks = ProcessKeyLocks()
    private let warnedMessages = MessageSet()

    /// Chooses the store root: an explicit `--store` value, else `$PIPE_STORE`, else `artifacts/`
    /// under the working directory. Relative paths are made absolute against `workingDirectory`.
    public static func resolveRoot(explicit: String? = nil,
                                   environment: [String: String] = ProcessInfo.processInfo.environment,
                                   workingDirectory: String = FileManager.default.currentDirectoryPath) -> String {
        let chosen = explicit ?? environment[environmentVariable].flatMap { $0.isEmpty ? nil : $0 } ?? defaultDirectoryName
        return absolute(chosen, base: workingDirectory)
    }

    /// Opens (creating if needed) the store at `root`. Cheap: a few mkdir calls and a scan of tmp/,
    /// which removes staging left behind by dead processes (see `cleanTemporary`).
    /// - Parameter warning: receives non-fatal problems (corrupt record ignored, ...); default: stderr.
    public init(root: String, cleanTemporary: Bool = true,
                warning: @escaping @Sendable (String) -> Void = ArtifactStore.printWarning) throws {
        let rootPath = Self.absolute(root, base: FileManager.default.currentDirectoryPath)
        self.root = rootPath
        self.warningHandler = warning
        try Self.makeLayout(rootPath, warning: warning)
        self.statCache = StatCache(path: rootPath + "/statcache/" + POSIX.hostName + ".bin")
        self.recordIndex = RecordIndex(path: rootPath + "/statcache/" + POSIX.hostName + ".records")
        self.writtenFileMemo = WrittenFileMemo(path: rootPath + "/statcache/" + POSIX.hostName + ".written")
        self.isNetworkFilesystem = FilesystemKind.isNetwork(path: rootPath)
        if cleanTemporary { cleanStaleStaging() }
    }

    public static let printWarning: @Sendable (String) -> Void = { message in
        FileHandle.standardError.write(Data(("warning: " + message + "\n").utf8))
    }

    func warn(_ message: String) { warningHandler(message) }

    /// `warn`, but each distinct message only once per store instance (a run looks a record up
    /// several times).
    func warnOnce(_ message: String) {
        if warnedMessages.insert(message) { warningHandler(message) }
    }

    // MARK: Digests

    /// The artifact digest of a file or directory (see `ArtifactManifest` for the exact scheme).
    /// File contents go through the stat cache; new cache entries are saved before returning.
    public func digest(ofPath path: String) throws -> Digest {
        try manifest(ofPath: path).digest
    }

    /// The full manifest (per-file digests and sizes), e.g. for `pipe show` or diffing outputs.
    public func manifest(ofPath path: String) throws -> ArtifactManifest {
        let manifest = try ArtifactScanner(statCache: statCache).manifest(ofPath: path)
        if statCache.hasUnsavedEntries {
            do { try statCache.save(temporaryDirectory: temporaryDirectory) }
            catch { warn("could not save the stat cache (\(error)); inputs will be re-hashed next time") }
        }
        return manifest
    }

    static func absolute(_ path: String, base: String) -> String {
        var result = path.hasPrefix("/") ? path : (base.hasSuffix("/") ? base + path : base + "/" + path)
        while result.count > 1 && result.hasSuffix("/") { result.removeLast() }
        return result
    }
}

/// Messages already shown (`warnOnce`).
final class MessageSet: @unchecked Sendable {
    private let lock = NSLock()
    private var messages: Set<String> = []
    /// True when `message` was not in the set.
    func insert(_ message: String) -> Bool { lock.lock(); defer { lock.unlock() }; return messages.insert(message).inserted }
}
