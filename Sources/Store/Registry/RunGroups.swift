import Foundation
import GRDB

/// Groups of runs in the registry: sweeps (one run per variant, under a sweep id) and run names
/// (`pipe run --name baseline`; `pipe gc` keeps what named runs need, and a name works wherever a
/// run id does).

/// What the runner knows when a sweep starts.
public struct NewSweep: Sendable, Equatable {
    public var pipelinePath: String
    /// The pipeline's `name:`.
    public var name: String
    /// The metric that ranks the variants (`stage.metric`), if any.
    public var rankBy: String?
    public var maximize: Bool
    public var commandLine: [String]
    public var startedAt: Date

    public init(pipelinePath: String, name: String, rankBy: String?, maximize: Bool, commandLine: [String],
                startedAt: Date = Date()) {
        self.pipelinePath = pipelinePath; self.name = name; self.rankBy = rankBy; self.maximize = maximize
        self.commandLine = commandLine; self.startedAt = startedAt
    }
}

public struct SweepInfo: Sendable, Equatable {
    /// `s20261122-020455-3fa1`: like a run id, with an `s` in front so the two never collide.
    public var id: String
    public var pipelinePath: String
    public var name: String
    public var rankBy: String?
    public var maximize: Bool
    public var commandLine: [String]
    public var startedAt: Date
    /// In variant order.
    public var members: [SweepMember]
}

/// One variant of a sweep and the run that executed it.
public struct SweepMember: Sendable, Equatable {
    public var runID: String
    /// `ppo.lr=3e-05,ppo.init_kl_coef=0.1`
    public var variant: String
    /// Position in the sweep (0-based, the order the variants were expanded in).
    public var position: Int
    /// The variant's overrides as `stage.param` → canonical value text, in axis order.
    public var overrides: [(target: String, value: String)]

    public init(runID: String, variant: String, position: Int, overrides: [(target: String, value: String)]) {
        self.runID = runID; self.variant = variant; self.position = position; self.overrides = overrides
    }

    public static func == (a: SweepMember, b: SweepMember) -> Bool {
        a.runID == b.runID && a.variant == b.variant && a.position == b.position
            && a.overrides.map(\.target) == b.overrides.map(\.target) && a.overrides.map(\.value) == b.overrides.map(\.value)
    }
}

enum RunGroups {
    static func register(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v2-run-groups") { db in
            try db.execute(sql: """
                CREATE TABLE sweeps (
                    id TEXT PRIMARY KEY NOT NULL,
                    pipeline_path TEXT NOT NULL,
                    name TEXT NOT NULL,
                    rank_by TEXT,
                    maximize INTEGER NOT NULL,
                    command_line TEXT NOT NULL,
                    started_at TEXT NOT NULL
                );
                CREATE TABLE sweep_runs (
                    sweep_id TEXT NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,
                    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
                    variant TEXT NOT NULL,
                    position INTEGER NOT NULL,
                    overrides TEXT NOT NULL,
                    PRIMARY KEY (sweep_id, run_id)
                );
                CREATE INDEX sweep_runs_by_run ON sweep_runs(run_id);
                CREATE TABLE run_names (
                    name TEXT PRIMARY KEY NOT NULL,
                    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE
                );
                """)
        }
    }
}

extension RunRegistry {
    // MARK: Sweeps

    /// Inserts a sweep (no members yet) and returns its id.
    public func startSweep(_ sweep: NewSweep) throws -> String {
        let commandLine = try Self.compactJSON(JSONValue.array(sweep.commandLine.map { .string($0) }))
        return try write { db in try Self.insertSweep(db, sweep, commandLine: commandLine) }
    }

    /// Inserts the sweep row with a fresh id (inside the caller's transaction).
    static func insertSweep(_ db: Database, _ sweep: NewSweep, commandLine: String, proposedID: String? = nil) throws -> String {
        for attempt in 0..<17 {
            let id = attempt == 0 ? (proposedID ?? "s" + Self.makeRunID(sweep.startedAt)) : "s" + Self.makeRunID(sweep.startedAt)
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM sweeps WHERE id = ?", arguments: [id]) == true { continue }
            try db.execute(sql: """
                INSERT INTO sweeps (id, pipeline_path, name, rank_by, maximize, command_line, started_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """, arguments: [id, sweep.pipelinePath, sweep.name, sweep.rankBy, sweep.maximize ? 1 : 0,
                                 commandLine, StoreJSON.formatDate(sweep.startedAt)])
            return id
        }
        throw StoreError.registry("could not allocate a unique sweep id")
    }

    public func addSweepMember(sweepID: String, _ member: SweepMember) throws {
        let overrides = try Self.compactJSON(.array(member.overrides.map { .array([.string($0.target), .string($0.value)]) }))
        try write { db in
            try db.execute(sql: """
                INSERT OR REPLACE INTO sweep_runs (sweep_id, run_id, variant, position, overrides) VALUES (?, ?, ?, ?, ?)
                """, arguments: [sweepID, member.runID, member.variant, member.position, overrides])
        }
    }

    public func sweep(id: String) throws -> SweepInfo {
        try read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM sweeps WHERE id = ?", arguments: [id]) else {
                throw StoreError.registry("no sweep '\(id)' (see `pipe runs`: sweep ids start with 's')")
            }
            return try Self.sweep(row, db: db)
        }
    }

    /// Most recent sweeps first.
    public func listSweeps(limit: Int = 20) throws -> [SweepInfo] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM sweeps ORDER BY started_at DESC, id DESC LIMIT ?", arguments: [limit])
                .map { try Self.sweep($0, db: db) }
        }
    }

    /// The sweep a run belongs to (nil for a plain run) and its variant name.
    public func sweepMembership(runID: String) throws -> (sweepID: String, variant: String)? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT sweep_id, variant FROM sweep_runs WHERE run_id = ? LIMIT 1", arguments: [runID])
                .map { ($0["sweep_id"], $0["variant"]) }
        }
    }

    /// Accepts a full sweep id, a unique prefix, or `latest`.
    public func resolveSweepID(_ reference: String) throws -> String {
        try read { db in
            if reference == "latest" || reference == "last" {
                guard let id = try String.fetchOne(db, sql: "SELECT id FROM sweeps ORDER BY started_at DESC, id DESC LIMIT 1") else {
                    throw StoreError.registry("no sweeps recorded yet (run one with `pipe run PIPELINE --sweep stage.param=a,b`)")
                }
                return id
            }
            let matches = try String.fetchAll(db, sql: "SELECT id FROM sweeps WHERE id = ? OR id LIKE ? ESCAPE '\\' ORDER BY id LIMIT 6",
                                              arguments: [reference, Self.likePrefix(reference)])
            if matches.contains(reference) { return reference }
            if matches.count == 1 { return matches[0] }
            if matches.isEmpty { throw StoreError.registry("no sweep matches '\(reference)' (see `pipe runs`: sweep ids start with 's')") }
            throw StoreError.ambiguousRun(prefix: reference, matches: matches)
        }
    }

    static func sweep(_ row: Row, db: Database) throws -> SweepInfo {
        let id: String = row["id"]
        var commandLine: [String] = []
        if case let .array(items) = try parseJSON(row["command_line"]) {
            commandLine = items.map { if case let .string(text) = $0 { return text } else { return $0.description } }
        }
        let members = try Row.fetchAll(db, sql: "SELECT * FROM sweep_runs WHERE sweep_id = ? ORDER BY position, run_id",
                                       arguments: [id]).map { member -> SweepMember in
            var overrides: [(target: String, value: String)] = []
            if case let .array(pairs) = try parseJSON(member["overrides"]) {
                for pair in pairs {
                    if case let .array(parts) = pair, parts.count == 2, case let .string(target) = parts[0],
                       case let .string(value) = parts[1] { overrides.append((target, value)) }
                }
            }
            return SweepMember(runID: member["run_id"], variant: member["variant"], position: member["position"], overrides: overrides)
        }
        let maximize: Int = row["maximize"]
        return SweepInfo(id: id, pipelinePath: row["pipeline_path"], name: row["name"], rankBy: row["rank_by"],
                         maximize: maximize != 0, commandLine: commandLine,
                         startedAt: date(row["started_at"]) ?? Date(timeIntervalSince1970: 0), members: members)
    }

    // MARK: Run names

    /// Names a run (replacing the name's earlier run, if any).
    public func nameRun(id: String, name: String) throws {
        try write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO run_names (name, run_id) VALUES (?, ?)", arguments: [name, id])
        }
    }

    /// Name → run id, sorted by name.
    public func namedRuns() throws -> [(name: String, runID: String)] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT name, run_id FROM run_names ORDER BY name").map { ($0["name"], $0["run_id"]) }
        }
    }

    /// Names given to a run, sorted.
    public func names(ofRun id: String) throws -> [String] {
        try read { db in try String.fetchAll(db, sql: "SELECT name FROM run_names WHERE run_id = ? ORDER BY name", arguments: [id]) }
    }

    /// Like `resolveRunID`, but a run name (`pipe run --name`) is accepted too and wins over an id prefix.
    public func resolveRunReference(_ reference: String) throws -> String {
        if let named = try read({ db in
            try String.fetchOne(db, sql: "SELECT run_id FROM run_names WHERE name = ?", arguments: [reference])
        }) { return named }
        return try resolveRunID(reference)
    }
}
