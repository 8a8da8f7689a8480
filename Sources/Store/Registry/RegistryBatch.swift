import Foundation
import GRDB
import Hashing

/// Writing many registry rows in one transaction. A sweep's `pipe run` records one run per variant,
/// a sweep member each, and every stage result once per variant using it: one transaction per row
/// made a no-op rerun of a 512-variant sweep spend most of its time in SQLite (parsing statements,
/// committing). A run now opens with one transaction (`startRuns`), records stage results in batches
/// (`record(_:)`, a handful per run) and closes with one.
extension RunRegistry {
    /// Stage results, metric series, heartbeats and final statuses to record together.
    public struct Batch: Sendable {
        public var executions: [StageExecution] = []
        public var metrics: [(runID: String, stage: String, points: [MetricPoint])] = []
        /// Runs whose heartbeat moves to `now` (see `RegistryHealth`: a run whose heartbeat is older
        /// than the lease is taken for abandoned).
        public var heartbeats: [String] = []
        public var finished: [(runID: String, status: RunStatus, finishedAt: Date)] = []

        public init() {}

        public var isEmpty: Bool { executions.isEmpty && metrics.isEmpty && heartbeats.isEmpty && finished.isEmpty }
    }

    /// Run ids for `count` runs started at `date`, distinct from each other (not yet checked
    /// against the registry): what `startRuns(proposedIDs:)` tries first, so a caller can name a
    /// run before its rows are written.
    public static func proposeRunIDs(count: Int, startedAt date: Date) -> [String] {
        let stamp = String(makeRunID(date).dropLast(4))  // `20261122-020458-`, then 4 random hex digits
        var taken = Set<String>()
        var ids: [String] = []
        ids.reserveCapacity(count)
        var attempts = 0
        while ids.count < count {
            let id = stamp + POSIX.randomHex(4)
            // Beyond what 4 hex digits can tell apart, repeats are left for `startRuns` to replace.
            if taken.insert(id).inserted || attempts >= 16 * count { ids.append(id) }
            attempts += 1
        }
        return ids
    }

    /// A sweep id for a sweep started at `date` (not yet checked against the registry).
    public static func proposeSweepID(startedAt date: Date) -> String { "s" + makeRunID(date) }

    /// Inserts `runs` (status `running`, this process as their runner) and, with `sweep`, the sweep
    /// row with one member per run (`members[i]` describes `runs[i]`), in one transaction.
    /// Returns the sweep id (nil without `sweep`) and the run ids in order: `proposedIDs[i]` (and
    /// `proposedSweepID`) unless the registry already has that id, then a new one.
    public func startRuns(_ runs: [NewRun], sweep: NewSweep? = nil,
                          members: [(variant: String, overrides: [(target: String, value: String)])] = [],
                          proposedIDs: [String] = [], proposedSweepID: String? = nil) throws
        -> (sweepID: String?, runIDs: [String]) {
        precondition(sweep == nil || members.count == runs.count, "one sweep member per run")
        precondition(proposedIDs.isEmpty || proposedIDs.count == runs.count, "one proposed id per run")
        let runner = RunnerProcess.current
        // Every variant of a sweep shares one command line: encode each distinct one once.
        var commandLines: [[String]: String] = [:]
        let encoded = try runs.map { run in
            let commandLine: String
            if let known = commandLines[run.commandLine] { commandLine = known } else {
                commandLine = try JSONValue.array(run.commandLine.map { .string($0) }).compactText()
                commandLines[run.commandLine] = commandLine
            }
            return (params: try run.params.compactText(), commandLine: commandLine)
        }
        let memberOverrides = try members.map { member in
            try JSONValue.array(member.overrides.map { .array([.string($0.target), .string($0.value)]) }).compactText()
        }
        let sweepCommandLine = try sweep.map { try Self.compactJSON(JSONValue.array($0.commandLine.map { .string($0) })) }
        let started = try write { db -> (sweepID: String?, runIDs: [String]) in
            var sweepID: String?
            if let sweep, let sweepCommandLine {
                sweepID = try Self.insertSweep(db, sweep, commandLine: sweepCommandLine, proposedID: proposedSweepID)
            }
            let exists = try db.cachedStatement(sql: "SELECT 1 FROM runs WHERE id = ?")
            let insertSQL = """
                INSERT INTO runs (id, pipeline_path, pipeline_digest, name, status, started_at, params, command_line, host,
                                  runner, heartbeat_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
            let memberSQL = "INSERT OR REPLACE INTO sweep_runs (sweep_id, run_id, variant, position, overrides) VALUES (?, ?, ?, ?, ?)"
            var ids: [String] = []
            try RawStatement.with(db, insertSQL) { insert in
                try RawStatement.with(db, memberSQL) { member in
                    var taken = Set<String>()
                    for (position, run) in runs.enumerated() {
                        var id: String?
                        for attempt in 0..<17 {
                            let candidate = attempt == 0 ? (proposedIDs.isEmpty ? Self.makeRunID(run.startedAt) : proposedIDs[position])
                                                         : Self.makeRunID(run.startedAt)
                            if taken.contains(candidate) { continue }
                            if try Bool.fetchOne(exists, arguments: [candidate]) == true { continue }
                            id = candidate
                            break
                        }
                        guard let id else { throw StoreError.registry("could not allocate a unique run id") }
                        taken.insert(id)
                        let started = StoreJSON.formatDate(run.startedAt)
                        try insert.run([.text(id), .text(run.pipelinePath), .text(run.pipelineDigest), .text(run.name),
                                        .text(RunStatus.running.rawValue), .text(started), .text(encoded[position].params),
                                        .text(encoded[position].commandLine), .text(run.host), .text(runner), .text(started)])
                        if let sweepID {
                            try member.run([.text(sweepID), .text(id), .text(members[position].variant), .integer(Int64(position)),
                                            .text(memberOverrides[position])])
                        }
                        ids.append(id)
                    }
                }
            }
            if let last = ids.last { try moveWatermark(db, lastRun: last) }
            return (sweepID, ids)
        }
        startedRunSequences.set(Dictionary(uniqueKeysWithValues: started.runIDs.map { ($0, 1) }))  // new runs: no executions yet
        return started
    }

    /// Records a batch in one transaction. Each run's stage executions get consecutive sequence
    /// numbers after the run's last one, in batch order.
    public func record(_ batch: Batch, now: Date = Date()) throws {
        guard !batch.isEmpty else { return }
        // A stage shared by many variants yields one execution per variant with the same outputs:
        // encode each distinct outputs object once.
        var outputs: [String] = []
        var previous: (outputs: [String: Digest], text: String)?
        for execution in batch.executions {
            if let previous, previous.outputs == execution.outputs { outputs.append(previous.text); continue }
            let text = try JSONValue.object(execution.outputs.mapValues { .string($0.hex) }).compactText()
            previous = (execution.outputs, text)
            outputs.append(text)
        }
        let known = startedRunSequences.values(for: Set(batch.executions.map(\.runID)))
        let recorded = try write { db -> [String: Int] in
            var nextSeq = known
            let lastSeq = try db.cachedStatement(sql: "SELECT COALESCE(MAX(seq), 0) FROM stage_executions WHERE run_id = ?")
            try RawStatement.with(db, """
                INSERT OR REPLACE INTO stage_executions
                    (run_id, stage, stage_key, outcome, started_at, finished_at, exit_status, outputs, message, seq)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """) { insert in
                for (execution, outputs) in zip(batch.executions, outputs) {
                    var seq: Int
                    if let next = nextSeq[execution.runID] { seq = next } else {
                        seq = (try Int.fetchOne(lastSeq, arguments: [execution.runID]) ?? 0) + 1
                    }
                    nextSeq[execution.runID] = seq + 1
                    try insert.run([.text(execution.runID), .text(execution.stage), .text(execution.key), .text(execution.outcome.rawValue),
                                    .init(execution.startedAt.map(StoreJSON.formatDate)),
                                    .init(execution.finishedAt.map(StoreJSON.formatDate)),
                                    .init(execution.exitStatus.map { Int($0) }), .text(outputs), .init(execution.message), .integer(Int64(seq))])
                }
            }
            let metric = try db.cachedStatement(sql: "INSERT INTO metrics (run_id, stage, step, name, value) VALUES (?, ?, ?, ?, ?)")
            for series in batch.metrics {
                for point in series.points {
                    try metric.execute(arguments: [series.runID, series.stage, point.step, point.name, point.value])
                }
            }
            let stamp = StoreJSON.formatDate(now)
            // Only the live runner beats, before it finishes its runs: a run taken for abandoned while
            // its runner was merely cut off from the store shows `running` again.
            let heartbeat = try db.cachedStatement(sql: """
                UPDATE runs SET heartbeat_at = ?, status = 'running', finished_at = NULL
                WHERE id = ? AND status IN ('running', 'interrupted')
                """)
            for id in batch.heartbeats { try heartbeat.execute(arguments: [stamp, id]) }
            if !batch.finished.isEmpty {
                try RawStatement.with(db, "UPDATE runs SET status = ?, finished_at = ?, heartbeat_at = ? WHERE id = ?") { finish in
                    for (id, status, finishedAt) in batch.finished {
                        let changed = try finish.run([.text(status.rawValue), .text(StoreJSON.formatDate(finishedAt)), .text(stamp), .text(id)])
                        if changed == 0 { throw StoreError.unknownRun(id) }
                    }
                }
            }
            return nextSeq
        }
        startedRunSequences.update(recorded)
    }
}

/// Run id → next stage-execution sequence number, for runs whose executions only this process
/// writes (thread-safe).
final class SequenceMemo: @unchecked Sendable {
    private let lock = NSLock()
    private var next: [String: Int] = [:]

    func set(_ values: [String: Int]) {
        lock.lock(); defer { lock.unlock() }
        next.merge(values) { $1 }
    }

    /// The known numbers of `runs` (runs not started here are absent).
    func values(for runs: Set<String>) -> [String: Int] {
        lock.lock(); defer { lock.unlock() }
        return next.filter { runs.contains($0.key) }
    }

    /// Takes the numbers after a committed batch, for the runs already known.
    func update(_ values: [String: Int]) {
        lock.lock(); defer { lock.unlock() }
        for (run, value) in values where next[run] != nil { next[run] = value }
    }

    func forget(_ run: String) {
        lock.lock(); defer { lock.unlock() }
        next[run] = nil
    }
}
