import Foundation
import GRDB
import GRDBSQLite
import Hashing

/// The run registry: `runs.sqlite`, through GRDB.
///
/// Several `pipe` processes may use it at once: WAL journaling on local disks (readers never block the
/// writer) and a 30 s busy timeout, so a concurrent writer waits instead of failing. On a network
/// filesystem WAL does not work across machines (its index lives in shared memory), so there the
/// classic rollback journal is used; only the driving `pipe` process writes the registry, jobs on
/// other nodes write stage records only.
///
/// Speed: one connection per file per process, kept open until the process exits, and a persistent
/// WAL file. Closing the last connection would checkpoint and delete the WAL, so the next `pipe`
/// would pay ~4 fsyncs (checkpoint, then re-creating the WAL and syncing its directory): measured
/// 10–15 ms of a 50 ms no-op budget. Committed transactions are in the WAL either way (durable
/// against process crashes; with `synchronous = NORMAL` the last ones may be lost on power loss,
/// never corrupted); SQLite checkpoints automatically every 1000 pages.
public final class RunRegistry: Sendable {
    public let path: String
    private let database: DatabaseQueue
    /// Next stage-execution sequence number of the runs this instance started (`startRuns`), so
    /// recording a sweep's batches does not ask SQLite for each run's last one every time.
    let startedRunSequences = SequenceMemo()

    /// - Parameter sharedConnection: reuse this process's open connection to `path` (default); pass
    ///   false for a private connection (tests simulating several processes).
    public init(path: String, networkFilesystem: Bool = false, sharedConnection: Bool = true) throws {
        self.path = path
        if sharedConnection, let open = Self.connections.get(path) {
            database = open
            return
        }
        var configuration = Configuration()
        configuration.busyMode = .timeout(30)
        configuration.label = "pipe.registry"
        let wal = !networkFilesystem
        configuration.prepareDatabase { db in
            let mode = try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? ""
            if wal && mode.lowercased() != "wal" {
                _ = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL")
            } else if !wal && mode.lowercased() == "wal" {
                _ = try String.fetchOne(db, sql: "PRAGMA journal_mode = DELETE")
            }
            if wal {
                var persist: Int32 = 1
                _ = sqlite3_file_control(db.sqliteConnection, nil, SQLITE_FCNTL_PERSIST_WAL, &persist)
            }
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        do {
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            try Self.migrator.migrate(queue)
            database = sharedConnection ? Self.connections.insert(path, queue) : queue
        } catch {
            throw StoreError.registry("cannot open \(path): \(error); if the file is damaged, `pipe verify --rebuild-registry` rebuilds it from the stage records")
        }
    }

    /// Drops this process's kept connection to `path` (before the file is moved aside).
    static func forgetConnection(_ path: String) { connections.remove(path) }

    /// This process's registry connections, by path; never closed (see the type's documentation).
    private static let connections = ConnectionTable()

    private final class ConnectionTable: @unchecked Sendable {
        private struct Entry { var queue: DatabaseQueue; var device: UInt64; var inode: UInt64 }
        private let lock = NSLock()
        private var entries: [String: Entry] = [:]

        /// The open connection to `path`, unless the file was deleted or replaced since (a store
        /// removed and re-created at the same path): then a new connection must be opened.
        func get(_ path: String) -> DatabaseQueue? {
            lock.lock(); defer { lock.unlock() }
            guard let entry = entries[path] else { return nil }
            guard let status = try? POSIX.status(path, followSymlinks: true),
                  status.device == entry.device, status.inode == entry.inode else {
                entries[path] = nil
                return nil
            }
            return entry.queue
        }

        func remove(_ path: String) {
            lock.lock(); defer { lock.unlock() }
            entries[path] = nil
        }

        /// Keeps the first connection registered for a path (another thread may have raced us).
        func insert(_ path: String, _ queue: DatabaseQueue) -> DatabaseQueue {
            lock.lock(); defer { lock.unlock() }
            if let existing = entries[path] { return existing.queue }
            guard let status = try? POSIX.status(path, followSymlinks: true) else { return queue }
            entries[path] = Entry(queue: queue, device: status.device, inode: status.inode)
            return queue
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE runs (
                    id TEXT PRIMARY KEY NOT NULL,
                    pipeline_path TEXT NOT NULL,
                    pipeline_digest TEXT NOT NULL,
                    name TEXT NOT NULL,
                    status TEXT NOT NULL,
                    started_at TEXT NOT NULL,
                    finished_at TEXT,
                    params TEXT NOT NULL,
                    command_line TEXT NOT NULL,
                    host TEXT NOT NULL
                );
                CREATE INDEX runs_by_pipeline ON runs(pipeline_path, started_at);
                CREATE TABLE stage_executions (
                    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
                    stage TEXT NOT NULL,
                    stage_key TEXT NOT NULL,
                    outcome TEXT NOT NULL,
                    started_at TEXT,
                    finished_at TEXT,
                    exit_status INTEGER,
                    outputs TEXT NOT NULL,
                    message TEXT,
                    seq INTEGER NOT NULL,
                    PRIMARY KEY (run_id, stage)
                );
                CREATE INDEX executions_by_stage ON stage_executions(stage, outcome);
                CREATE INDEX executions_by_key ON stage_executions(stage_key);
                CREATE TABLE metrics (
                    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
                    stage TEXT NOT NULL,
                    step INTEGER NOT NULL,
                    name TEXT NOT NULL,
                    value REAL NOT NULL
                );
                CREATE INDEX metrics_by_run ON metrics(run_id, stage, name, step);
                """)
        }
        RunGroups.register(in: &migrator)  // sweeps and run names (RunGroups.swift)
        registerHealthMigration(in: &migrator)  // runner process (RegistryHealth.swift)
        return migrator
    }

    // MARK: Writing

    /// Inserts a run with status `running` and returns its new id.
    public func startRun(_ run: NewRun) throws -> String {
        let params = try Self.compactJSON(run.params)
        let commandLine = try Self.compactJSON(JSONValue.array(run.commandLine.map { .string($0) }))
        return try write { db in
            for _ in 0..<16 {
                let id = Self.makeRunID(run.startedAt)
                if try Bool.fetchOne(db, sql: "SELECT 1 FROM runs WHERE id = ?", arguments: [id]) == true { continue }
                try db.execute(sql: """
                    INSERT INTO runs (id, pipeline_path, pipeline_digest, name, status, started_at, params, command_line, host)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [id, run.pipelinePath, run.pipelineDigest, run.name, RunStatus.running.rawValue,
                                     StoreJSON.formatDate(run.startedAt), params, commandLine, run.host])
                try didStartRun(db, id: id)
                return id
            }
            throw StoreError.registry("could not allocate a unique run id")
        }
    }

    public func finishRun(id: String, status: RunStatus, finishedAt: Date = Date()) throws {
        try write { db in
            try db.execute(sql: "UPDATE runs SET status = ?, finished_at = ? WHERE id = ?",
                           arguments: [status.rawValue, StoreJSON.formatDate(finishedAt), id])
            if db.changesCount == 0 { throw StoreError.unknownRun(id) }
        }
    }

    /// Records (or replaces) what happened to one stage in a run.
    public func recordStageExecution(_ execution: StageExecution) throws {
        startedRunSequences.forget(execution.runID)
        let outputs = try Self.compactJSON(JSONValue.object(execution.outputs.mapValues { .string($0.hex) }))
        try write { db in
            let seq = try Int.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), 0) + 1 FROM stage_executions WHERE run_id = ?",
                                       arguments: [execution.runID]) ?? 1
            try db.execute(sql: """
                INSERT OR REPLACE INTO stage_executions
                    (run_id, stage, stage_key, outcome, started_at, finished_at, exit_status, outputs, message, seq)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [execution.runID, execution.stage, execution.key, execution.outcome.rawValue,
                                 execution.startedAt.map(StoreJSON.formatDate), execution.finishedAt.map(StoreJSON.formatDate),
                                 execution.exitStatus.map { Int($0) }, outputs, execution.message, seq])
        }
    }

    /// Appends metric points for one stage of a run (one transaction).
    public func recordMetrics(runID: String, stage: String, points: [MetricPoint]) throws {
        guard !points.isEmpty else { return }
        try write { db in
            let statement = try db.cachedStatement(sql: "INSERT INTO metrics (run_id, stage, step, name, value) VALUES (?, ?, ?, ?, ?)")
            for point in points {
                try statement.execute(arguments: [runID, stage, point.step, point.name, point.value])
            }
        }
    }

    // MARK: Reading

    /// The most recent execution of `stage` in runs of `pipeline` that produced a result (ran or cached).
    public func latestExecution(pipeline: String, stage: String) throws -> StageExecution? {
        try read { db in
            try Row.fetchOne(db, sql: """
                SELECT e.* FROM stage_executions e JOIN runs r ON r.id = e.run_id
                WHERE r.pipeline_path = ? AND e.stage = ? AND e.outcome IN ('ran', 'cached')
                ORDER BY r.started_at DESC, r.id DESC LIMIT 1
                """, arguments: [pipeline, stage]).map(Self.execution)
        }
    }

    /// Stage name → most recent execution that produced a result, for every stage ever run in
    /// `pipeline` (one query: what `pipe status` needs to explain why a stage must run).
    public func latestExecutions(pipeline: String) throws -> [String: StageExecution] {
        try read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT * FROM (
                    SELECT e.*, ROW_NUMBER() OVER (PARTITION BY e.stage ORDER BY r.started_at DESC, r.id DESC) AS rank
                    FROM stage_executions e JOIN runs r ON r.id = e.run_id
                    WHERE r.pipeline_path = ? AND e.outcome IN ('ran', 'cached')
                ) WHERE rank = 1
                """, arguments: [pipeline])
            var result: [String: StageExecution] = [:]
            for row in rows {
                let execution = try Self.execution(row)
                result[execution.stage] = execution
            }
            return result
        }
    }

    /// Most recent runs first.
    public func listRuns(limit: Int = 20, pipeline: String? = nil) throws -> [RunInfo] {
        try read { db in
            if let pipeline {
                return try Row.fetchAll(db, sql: "SELECT * FROM runs WHERE pipeline_path = ? ORDER BY started_at DESC, id DESC LIMIT ?",
                                        arguments: [pipeline, limit]).map(Self.run)
            }
            return try Row.fetchAll(db, sql: "SELECT * FROM runs ORDER BY started_at DESC, id DESC LIMIT ?",
                                    arguments: [limit]).map(Self.run)
        }
    }

    public func run(id: String) throws -> RunInfo? {
        try read { db in try Row.fetchOne(db, sql: "SELECT * FROM runs WHERE id = ?", arguments: [id]).map(Self.run) }
    }

    /// A run with its stage executions and metric series.
    public func runDetails(id: String) throws -> RunDetails {
        try read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM runs WHERE id = ?", arguments: [id]) else {
                throw StoreError.unknownRun(id)
            }
            let stages = try Row.fetchAll(db, sql: "SELECT * FROM stage_executions WHERE run_id = ? ORDER BY seq",
                                          arguments: [id]).map(Self.execution)
            var metrics: [String: [MetricPoint]] = [:]
            for point in try Row.fetchAll(db, sql: "SELECT stage, step, name, value FROM metrics WHERE run_id = ? ORDER BY stage, name, step, rowid",
                                          arguments: [id]) {
                metrics[point["stage"], default: []].append(MetricPoint(step: point["step"], name: point["name"], value: point["value"]))
            }
            return RunDetails(run: try Self.run(row), stages: stages, metrics: metrics)
        }
    }

    /// A `LIKE … ESCAPE '\\'` pattern matching ids that start with `prefix` (its `%`, `_` and `\\`
    /// taken literally).
    static func likePrefix(_ prefix: String) -> String {
        prefix.replacingOccurrences(of: "\\", with: "\\\\")
            .replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_") + "%"
    }

    /// Accepts a full id, a unique prefix, or `latest`; throws `unknownRun` / `ambiguousRun` otherwise.
    public func resolveRunID(_ reference: String) throws -> String {
        try read { db in
            if reference == "latest" || reference == "last" {
                guard let id = try String.fetchOne(db, sql: "SELECT id FROM runs ORDER BY started_at DESC, id DESC LIMIT 1") else {
                    throw StoreError.unknownRun(reference)
                }
                return id
            }
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM runs WHERE id = ?", arguments: [reference]) == true { return reference }
            let matches = try String.fetchAll(db, sql: "SELECT id FROM runs WHERE id LIKE ? ESCAPE '\\' ORDER BY id LIMIT 6",
                                              arguments: [Self.likePrefix(reference)])
            if matches.count == 1 { return matches[0] }
            if matches.isEmpty { throw StoreError.unknownRun(reference) }
            throw StoreError.ambiguousRun(prefix: reference, matches: matches)
        }
    }

    /// Every run id and stage key the registry mentions (gc keeps what recent runs need).
    public func stageKeys(ofRuns ids: [String]) throws -> [String] {
        try read { db in
            var keys: Set<String> = []
            for id in ids {
                keys.formUnion(try String.fetchAll(db, sql: "SELECT stage_key FROM stage_executions WHERE run_id = ?", arguments: [id]))
            }
            return keys.sorted()
        }
    }

    /// Ids of runs that have an execution of `key` (hex), sorted.
    public func runIDs(withStageKey key: String) throws -> [String] {
        try read { db in
            try String.fetchAll(db, sql: "SELECT DISTINCT run_id FROM stage_executions WHERE stage_key = ? ORDER BY run_id",
                                arguments: [key])
        }
    }

    // MARK: Helpers

    func write<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try database.write(body) }
        catch let error as StoreError { throw error }
        catch { throw StoreError.registry("\(path): \(error)" + Self.damageHint(error)) }
    }

    func read<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try database.read(body) }
        catch let error as StoreError { throw error }
        catch { throw StoreError.registry("\(path): \(error)" + Self.damageHint(error)) }
    }

    /// How to recover, for errors that mean the file itself is damaged.
    static func damageHint(_ error: any Error) -> String {
        guard let database = error as? DatabaseError,
              database.resultCode == .SQLITE_CORRUPT || database.resultCode == .SQLITE_NOTADB else { return "" }
        return "; the registry file is damaged: `pipe verify --rebuild-registry` rebuilds it from the stage records"
    }

    static func makeRunID(_ date: Date) -> String {
        let stamp = StoreJSON.formatDate(date)  // 2026-11-22T02:04:58.123Z
        let digits = stamp.filter { $0.isNumber }
        let day = digits.prefix(8), time = digits.dropFirst(8).prefix(6)
        return "\(day)-\(time)-\(POSIX.randomHex(4))"
    }

    static func compactJSON(_ value: JSONValue) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func parseJSON(_ text: String) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }

    static func date(_ text: String?) -> Date? { text.flatMap(StoreJSON.parseDate) }

    static func run(_ row: Row) throws -> RunInfo {
        let commandLine: [String]
        if case let .array(items) = try parseJSON(row["command_line"]) {
            commandLine = items.map { if case let .string(text) = $0 { return text } else { return $0.description } }
        } else {
            commandLine = []
        }
        return RunInfo(id: row["id"], pipelinePath: row["pipeline_path"], pipelineDigest: row["pipeline_digest"],
                       name: row["name"], status: RunStatus(rawValue: row["status"]) ?? .failed,
                       startedAt: date(row["started_at"]) ?? Date(timeIntervalSince1970: 0), finishedAt: date(row["finished_at"]),
                       params: try parseJSON(row["params"]), commandLine: commandLine, host: row["host"])
    }

    static func execution(_ row: Row) throws -> StageExecution {
        var outputs: [String: Digest] = [:]
        if case let .object(members) = try parseJSON(row["outputs"]) {
            for (name, value) in members {
                if case let .string(hex) = value, let digest = Digest(hex: hex) { outputs[name] = digest }
            }
        }
        let exit: Int? = row["exit_status"]
        return StageExecution(runID: row["run_id"], stage: row["stage"], key: row["stage_key"],
                              outcome: StageOutcome(rawValue: row["outcome"]) ?? .failed,
                              startedAt: date(row["started_at"]), finishedAt: date(row["finished_at"]),
                              exitStatus: exit.map { Int32(truncatingIfNeeded: $0) }, outputs: outputs, message: row["message"])
    }
}

extension ArtifactStore {
    /// Opens `runs.sqlite` in this store (creating and migrating it if needed). Open once per process.
    /// Marks runs whose `pipe` died as interrupted and warns about lost history (once per process).
    public func openRegistry() throws -> RunRegistry {
        let registry = try RunRegistry(path: registryPath, networkFilesystem: isNetworkFilesystem)
        checkRegistryHealth(registry)
        return registry
    }
}
