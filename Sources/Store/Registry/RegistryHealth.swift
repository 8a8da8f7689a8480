import Foundation
import GRDB

/// Noticing a registry that lost history, and runs whose `pipe` process died.
///
/// `runs.watermark` (next to `runs.sqlite`) holds how many runs the registry had after the last
/// `startRun`, and that run's id. SQLite itself cannot tell a truncated file or a WAL it had to
/// discard from an empty history; the watermark can: fewer runs than it says means runs were lost,
/// and then their results look collectable to gc. `pipe verify --rebuild-registry` rebuilds the
/// registry from the stage records in stages/.
///
/// Each run also records its runner as `pid:start-time` (start time from /proc, so a reused pid is
/// not mistaken for the runner). A `running` run whose runner on this host is gone was killed
/// (SIGKILL, OOM, power loss) and is marked `interrupted` when the registry is opened.
///
/// A runner on another host (a shared store on NFS) cannot be asked: instead the live runner moves
/// the run's `heartbeat_at` every `RunRecording.heartbeatInterval` (30 s), and a `running` run from
/// another host whose last heartbeat (or start, before its first) is older than `abandonedLease`
/// (5 min) is marked `interrupted` too. The lease is long against the beat so that clock skew
/// between hosts of up to a few minutes does no harm; a run marked by mistake (a runner that was
/// only cut off) shows `running` again at its next heartbeat, and its final status overwrites either.
extension RunRegistry {
    static func registerHealthMigration(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v3-runner-process") { db in
            try db.execute(sql: "ALTER TABLE runs ADD COLUMN runner TEXT")
        }
        migrator.registerMigration("v4-runner-heartbeat") { db in
            try db.execute(sql: "ALTER TABLE runs ADD COLUMN heartbeat_at TEXT")
        }
        // Every open looks for live runs (`reapAbandonedRuns`): without this index that read the
        // whole runs table, which a sweep grows by hundreds of rows per `pipe run`. Only live runs
        // are in it, so it stays a few entries long.
        migrator.registerMigration("v5-live-runs-index") { db in
            try db.execute(sql: "CREATE INDEX IF NOT EXISTS runs_live ON runs(status) WHERE status = 'running'")
        }
    }

    /// A `running` run from another host whose heartbeat is older than this is taken for abandoned.
    public static let abandonedLease: TimeInterval = 300

    public var watermarkPath: String { POSIX.parentDirectory(path) + "/runs.watermark" }

    /// Called inside `startRun`'s transaction: records this process as the runner and moves the
    /// watermark (inside the write lock, so concurrent runners never lower it).
    func didStartRun(_ db: Database, id: String) throws {
        try db.execute(sql: "UPDATE runs SET runner = ?, heartbeat_at = started_at WHERE id = ?", arguments: [RunnerProcess.current, id])
        try moveWatermark(db, lastRun: id)
    }

    /// Records the run count and `id` as the latest run in the watermark (inside the write
    /// transaction, so concurrent runners never lower it).
    /// A registry that lost history keeps the watermark that says so (until `pipe verify
    /// --rebuild-registry`): a new run must not hide the loss from `pipe gc`, which would then
    /// collect what only the lost runs used.
    func moveWatermark(_ db: Database, lastRun id: String) throws {
        let count = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM runs") ?? 0
        if let mark = watermark() {
            let hasLast = try Bool.fetchOne(db, sql: "SELECT 1 FROM runs WHERE id = ?", arguments: [mark.lastRun]) ?? false
            if !hasLast || count < mark.runs { return }
        }
        let temporary = watermarkPath + "~\(getpid())~\(POSIX.randomHex())"
        // Best effort: a missing watermark only disables the loss check.
        if (try? POSIX.writeNewFile(temporary, Array("\(count) \(id)\n".utf8), sync: false)) != nil,
           POSIX.rename(temporary, watermarkPath) != 0 {
            unlink(temporary)
        }
    }

    /// What the watermark says: (runs, last run id), nil when there is none.
    func watermark() -> (runs: Int, lastRun: String)? {
        guard let bytes = try? POSIX.readFile(watermarkPath) else { return nil }
        let parts = String(decoding: bytes, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard parts.count == 2, let runs = Int(parts[0]) else { return nil }
        return (runs, String(parts[1]))
    }

    /// nil when the registry has every run the watermark promises; else what was lost. With
    /// `thorough`, SQLite's own page check runs too (slow on big registries: `verify` only).
    public func lostHistory(thorough: Bool = false) throws -> String? {
        if thorough {
            let problems = try read { db in try String.fetchAll(db, sql: "PRAGMA quick_check") }
            if problems != ["ok"] { return "\(path) is damaged: " + problems.prefix(3).joined(separator: "; ") }
        }
        guard let mark = watermark() else { return nil }
        let (count, hasLast) = try read { db in
            (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM runs") ?? 0,
             try Bool.fetchOne(db, sql: "SELECT 1 FROM runs WHERE id = ?", arguments: [mark.lastRun]) ?? false)
        }
        if count >= mark.runs && hasLast { return nil }
        return "\(path) has \(count) run\(count == 1 ? "" : "s") but \(mark.runs) were recorded"
            + (hasLast ? "" : " (the latest, \(mark.lastRun), is missing)")
            + ": history was lost (a truncated or damaged file, or a damaged write-ahead log)"
    }

    /// Marks as `interrupted` the `running` runs whose runner process on this host has died, and those
    /// from another host whose heartbeat is older than `lease`; returns their ids.
    @discardableResult
    public func reapAbandonedRuns(now: Date = Date(), lease: TimeInterval = RunRegistry.abandonedLease) throws -> [String] {
        let host = POSIX.hostName
        let candidates = try read { db in
            try Row.fetchAll(db, sql: "SELECT id, host, runner, started_at, heartbeat_at FROM runs WHERE status = 'running'")
        }
        var dead: [String] = []
        for row in candidates {
            let runHost: String = row["host"], runner: String? = row["runner"], id: String = row["id"]
            if runHost == host {
                if let runner, !RunnerProcess.isAlive(runner) { dead.append(id) }
            } else if let lastSign = Self.date(row["heartbeat_at"]) ?? Self.date(row["started_at"]),
                      now.timeIntervalSince(lastSign) > lease {
                dead.append(id)
            }
        }
        guard !dead.isEmpty else { return [] }
        try write { db in
            for id in dead {
                try db.execute(sql: "UPDATE runs SET status = ?, finished_at = ? WHERE id = ? AND status = 'running'",
                               arguments: [RunStatus.interrupted.rawValue, StoreJSON.formatDate(now), id])
            }
        }
        return dead.sorted()
    }
}

/// Identifies a process across pid reuse: `pid:start-time` (clock ticks since boot, from /proc).
enum RunnerProcess {
    static var current: String { "\(getpid()):\(startTime(getpid()) ?? "?")" }

    static func startTime(_ pid: pid_t) -> String? {
        // /proc files report size 0: read until end of file.
        let fd = open("/proc/\(pid)/stat", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            bytes += chunk[0..<n]
        }
        let text = String(decoding: bytes, as: UTF8.self)
        // Field 2 (the command) is in parentheses and may contain spaces: count from the last ')'.
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // After ')': state is field 3, so start time (field 22) is the 20th.
        return fields.count > 19 ? String(fields[19]) : nil
    }

    static func isAlive(_ runner: String) -> Bool {
        let parts = runner.split(separator: ":", maxSplits: 1)
        guard let first = parts.first, let pid = pid_t(first), pid > 0 else { return true }
        if kill(pid, 0) != 0 && errno == ESRCH { return false }
        guard parts.count == 2, parts[1] != "?", let now = startTime(pid) else { return true }
        return now == parts[1]
    }
}

extension ArtifactStore {
    /// Once per process and registry file: marks runs whose runner died as interrupted, and warns
    /// when history was lost (see `RunRegistry.lostHistory`).
    func checkRegistryHealth(_ registry: RunRegistry) {
        guard Self.checkedRegistries.firstTime(registry.path) else { return }
        let reaped = (try? registry.reapAbandonedRuns()) ?? []
        for id in reaped {
            warn("run \(id) was left running by a `pipe` process that is gone (ended on this host, or silent for over "
                 + "\(Int(RunRegistry.abandonedLease / 60)) minutes on another); marked interrupted")
        }
        if let loss = try? registry.lostHistory() {
            warn("the run registry lost history: \(loss); `pipe verify --rebuild-registry` rebuilds it from the stage records, and `pipe gc` refuses to collect until then")
        }
    }

    private static let checkedRegistries = OncePerPath()

    /// What is wrong with `runs.sqlite` (cannot be opened, fails SQLite's page check, or lost runs
    /// the watermark knows of); nil when it is sound or does not exist yet.
    public func registryProblem() -> String? {
        guard POSIX.exists(registryPath) else { return nil }
        do {
            let registry = try RunRegistry(path: registryPath, networkFilesystem: isNetworkFilesystem, sharedConnection: false)
            return try registry.lostHistory(thorough: true)
        } catch {
            return "\(error)"
        }
    }

    /// Replaces a lost or damaged `runs.sqlite` by one rebuilt from the stage records: one run named
    /// `recovered` holding every readable record as an executed stage, so every result is kept by gc
    /// and found by `pipe show`. The old file (with its WAL) is moved aside, never deleted.
    public func rebuildRegistry() throws -> (records: Int, movedAside: String?) {
        var movedAside: String?
        RunRegistry.forgetConnection(registryPath)
        if POSIX.exists(registryPath) {
            let aside = registryPath + ".damaged~" + String(POSIX.nowNanoseconds())
            for suffix in ["", "-wal", "-shm", "-journal"] where POSIX.exists(registryPath + suffix) {
                let code = POSIX.rename(registryPath + suffix, aside + suffix)
                guard code == 0 else { throw POSIX.fail("move aside", registryPath + suffix, code) }
            }
            movedAside = aside
        }
        unlink(root + "/runs.watermark")
        var records: [StageRecord] = []
        for key in try allRecordKeys() {
            guard let bytes = try? POSIX.readFile(recordPath(forKey: key)), let record = try? StageRecord.decode(bytes) else { continue }
            records.append(record)
        }
        records.sort { ($0.startedAt, $0.key) < ($1.startedAt, $1.key) }
        let registry = try openRegistry()
        let started = records.first?.startedAt ?? Date()
        let id = try registry.startRun(NewRun(pipelinePath: "(recovered)", pipelineDigest: "", name: "recovered", params: .object([:]),
                                              commandLine: ["pipe", "verify", "--rebuild-registry"], startedAt: started))
        var used = Set<String>()
        for record in records {
            let name = used.insert(record.stage).inserted ? record.stage : record.stage + "@" + record.key.short
            used.insert(name)
            try registry.recordStageExecution(StageExecution(runID: id, stage: name, key: record.key.hex, outcome: .ran,
                                                             startedAt: record.startedAt, finishedAt: record.finishedAt,
                                                             exitStatus: record.exitStatus, outputs: record.outputs,
                                                             message: "recovered from \(recordPath(forKey: record.key))"))
        }
        try registry.finishRun(id: id, status: .succeeded, finishedAt: records.last?.finishedAt ?? Date())
        return (records.count, movedAside)
    }
}

/// Paths already handled in this process.
private final class OncePerPath: @unchecked Sendable {
    private let lock = NSLock()
    private var seen: Set<String> = []
    func firstTime(_ path: String) -> Bool { lock.lock(); defer { lock.unlock() }; return seen.insert(path).inserted }
}
