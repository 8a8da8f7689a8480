import Foundation
import GRDB
import Hashing
import Testing
@testable import Store

@Suite("Run registry: batched writes and heartbeats")
struct RegistryBatchTests {
    func newRun(_ name: String, params: JSONValue = .null, startedAt: Date = Date()) -> NewRun {
        NewRun(pipelinePath: "p.yaml", pipelineDigest: "d", name: name, params: params, commandLine: ["pipe", "run"], startedAt: startedAt)
    }

    @Test func aSweepStartsInOneTransactionAndItsStageResultsLandInOrder() throws {
        let dir = try TemporaryDirectory()
        let store = try ArtifactStore(root: dir.path + "/store")
        let registry = try store.openRegistry()
        let params: JSONValue = .object(["ppo": .object(["lr": .double(3e-5), "note": .string("a \"b\"\n/c"), "steps": .int(4)])])
        let (sweepID, ids) = try registry.startRuns(
            [newRun("v0", params: params), newRun("v1"), newRun("v2")],
            sweep: NewSweep(pipelinePath: "p.yaml", name: "n", rankBy: "eval.score", maximize: true, commandLine: ["pipe"]),
            members: [("ppo.lr=1", [("ppo.lr", "1")]), ("ppo.lr=2", [("ppo.lr", "2")]), ("ppo.lr=3", [("ppo.lr", "3")])])
        #expect(Set(ids).count == 3)
        let sweep = try registry.sweep(id: try #require(sweepID))
        #expect(sweep.members.map(\.runID) == ids)
        #expect(sweep.members.map(\.variant) == ["ppo.lr=1", "ppo.lr=2", "ppo.lr=3"])
        #expect(try registry.run(id: ids[0])?.params == params, "the hand-written JSON reads back as the same value")
        #expect(try registry.run(id: ids[1])?.status == .running)
        #expect(registry.watermark()?.runs == 3 && registry.watermark()?.lastRun == ids[2])
        #expect(try registry.lostHistory() == nil)

        let out = SHA256.hash("out")
        var batch = RunRegistry.Batch()
        for id in ids {
            batch.executions.append(StageExecution(runID: id, stage: "tokens", key: "k1", outcome: .cached, outputs: ["tokens": out]))
            batch.executions.append(StageExecution(runID: id, stage: "ppo", key: "k2", outcome: .ran, exitStatus: 0))
        }
        batch.metrics.append((ids[0], "ppo", [MetricPoint(step: 1, name: "loss", value: 2), MetricPoint(step: 2, name: "loss", value: 1)]))
        try registry.record(batch)
        var more = RunRegistry.Batch()
        more.executions.append(StageExecution(runID: ids[0], stage: "eval", key: "k3", outcome: .failed, message: "boom"))
        more.finished = [(ids[0], .failed, Date()), (ids[1], .succeeded, Date()), (ids[2], .interrupted, Date())]
        try registry.record(more)

        let details = try RunRegistry(path: store.registryPath, sharedConnection: false).runDetails(id: ids[0])
        #expect(details.stages.map(\.stage) == ["tokens", "ppo", "eval"], "sequence numbers continue across batches")
        #expect(details.stages[0].outputs == ["tokens": out])
        #expect(details.stages[2].message == "boom")
        #expect(details.metrics["ppo"]?.map(\.value) == [2, 1])
        #expect(details.run.status == .failed && details.run.finishedAt != nil)
        #expect(try registry.run(id: ids[1])?.status == .succeeded)
        #expect(try registry.run(id: ids[2])?.status == .interrupted)

        var unknown = RunRegistry.Batch()
        unknown.finished = [("20990101-000000-beef", .succeeded, Date())]
        #expect(throws: StoreError.self) { try registry.record(unknown) }
    }

    /// A runner names its runs before their rows are written (proposed ids): they are kept unless
    /// the registry already has one, which then gets a fresh id (the others keep theirs).
    @Test func proposedRunIDsAreKeptUnlessTaken() throws {
        let dir = try TemporaryDirectory()
        let store = try ArtifactStore(root: dir.path + "/store")
        let registry = try store.openRegistry()
        let now = Date()
        let proposed = RunRegistry.proposeRunIDs(count: 300, startedAt: now)
        #expect(Set(proposed).count == 300)
        #expect(proposed.allSatisfy { $0.hasPrefix(String(RunRegistry.makeRunID(now).prefix(15))) })
        let sweepID = RunRegistry.proposeSweepID(startedAt: now)
        let sweep = NewSweep(pipelinePath: "p.yaml", name: "n", rankBy: nil, maximize: true, commandLine: ["pipe"])
        let (recordedSweep, ids) = try registry.startRuns([newRun("a"), newRun("b")], sweep: sweep,
                                                          members: [("v=1", []), ("v=2", [])],
                                                          proposedIDs: Array(proposed[0..<2]), proposedSweepID: sweepID)
        #expect(ids == Array(proposed[0..<2]))
        #expect(recordedSweep == sweepID)

        // The second runner proposes an id the registry has (and the same sweep id).
        let (secondSweep, second) = try registry.startRuns([newRun("c"), newRun("d")], sweep: sweep,
                                                           members: [("v=1", []), ("v=2", [])],
                                                           proposedIDs: [proposed[1], proposed[2]], proposedSweepID: sweepID)
        #expect(second[0] != proposed[1] && !ids.contains(second[0]))
        #expect(second[1] == proposed[2])
        #expect(secondSweep != nil && secondSweep != sweepID)
        #expect(try registry.run(id: proposed[1])?.name == "b", "the earlier run is untouched")
        #expect(try registry.run(id: second[0])?.name == "c")
        #expect(try registry.sweep(id: try #require(secondSweep)).members.map(\.runID) == second)
    }

    /// Sequence numbers of runs started here are remembered between batches; a row written through
    /// the single-row API in between is still ordered before the next batch's rows.
    @Test func sequenceNumbersStayInOrderAcrossBatchesAndSingleRows() throws {
        let dir = try TemporaryDirectory()
        let store = try ArtifactStore(root: dir.path + "/store")
        let registry = try store.openRegistry()
        let (_, ids) = try registry.startRuns([newRun("a"), newRun("b")])
        var first = RunRegistry.Batch()
        for id in ids { first.executions.append(StageExecution(runID: id, stage: "tokens", key: "k1", outcome: .cached)) }
        try registry.record(first)
        try registry.recordStageExecution(StageExecution(runID: ids[0], stage: "sft", key: "k2", outcome: .ran, exitStatus: 0))
        var second = RunRegistry.Batch()
        for id in ids { second.executions.append(StageExecution(runID: id, stage: "eval", key: "k3", outcome: .cached)) }
        try registry.record(second)
        let reader = try RunRegistry(path: store.registryPath, sharedConnection: false)
        #expect(try reader.runDetails(id: ids[0]).stages.map(\.stage) == ["tokens", "sft", "eval"])
        #expect(try reader.runDetails(id: ids[1]).stages.map(\.stage) == ["tokens", "eval"])
    }

    func runAsIfFromHost(_ registry: RunRegistry, _ host: String, heartbeat: Date?, startedAt: Date) throws -> String {
        let id = try registry.startRun(NewRun(pipelinePath: "p", pipelineDigest: "d", name: "n", params: .null, commandLine: [],
                                              startedAt: startedAt, host: host))
        try registry.write { db in
            try db.execute(sql: "UPDATE runs SET runner = '1:1', heartbeat_at = ? WHERE id = ?",
                           arguments: [heartbeat.map(StoreJSON.formatDate), id])
        }
        return id
    }

    /// A run recorded by a `pipe` on another host cannot be checked by pid: its heartbeat decides.
    @Test func aRunOnAnotherHostIsInterruptedOnlyOnceItsHeartbeatLeaseExpires() throws {
        let dir = try TemporaryDirectory()
        let store = try ArtifactStore(root: dir.path + "/store")
        let registry = try RunRegistry(path: store.registryPath, sharedConnection: false)
        let now = Date()
        let lease = RunRegistry.abandonedLease
        let fresh = try runAsIfFromHost(registry, "node-a", heartbeat: now.addingTimeInterval(-lease / 2), startedAt: now.addingTimeInterval(-3600))
        let silent = try runAsIfFromHost(registry, "node-b", heartbeat: now.addingTimeInterval(-lease - 1), startedAt: now.addingTimeInterval(-3600))
        let neverBeat = try runAsIfFromHost(registry, "node-c", heartbeat: nil, startedAt: now.addingTimeInterval(-lease - 60))
        let young = try runAsIfFromHost(registry, "node-d", heartbeat: nil, startedAt: now.addingTimeInterval(-10))

        #expect(try registry.reapAbandonedRuns(now: now) == [silent, neverBeat].sorted())
        #expect(try registry.run(id: fresh)?.status == .running)
        #expect(try registry.run(id: young)?.status == .running)
        #expect(try registry.run(id: silent)?.status == .interrupted)

        // A runner that was only cut off beats again: its run shows running until it finishes.
        var beat = RunRegistry.Batch()
        beat.heartbeats = [silent]
        try registry.record(beat, now: now)
        #expect(try registry.run(id: silent)?.status == .running)
        #expect(try registry.reapAbandonedRuns(now: now) == [])
        #expect(try registry.reapAbandonedRuns(now: now.addingTimeInterval(lease + 1)).contains(silent))

        // A finished run is never revived by a late heartbeat.
        var done = RunRegistry.Batch()
        done.finished = [(fresh, .succeeded, now)]
        try registry.record(done, now: now)
        try registry.record(beat.withHeartbeats([fresh]), now: now)
        #expect(try registry.run(id: fresh)?.status == .succeeded)
    }

    @Test func compactJSONTextMatchesTheValue() throws {
        let value: JSONValue = .object(["b": .array([.int(-3), .double(2.5e-7), .double(3), .bool(true), .null]),
                                        "a": .string("tab\there \u{1} é \\ \"q\" /")])
        let text = try value.compactText()
        #expect(text == #"{"a":"tab\there \u0001 é \\ \"q\" /","b":[-3,2.5e-07,3,true,null]}"#)
        #expect(try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) == value)
        #expect(throws: StoreError.self) { try JSONValue.double(.nan).compactText() }
    }
}

extension RunRegistry.Batch {
    func withHeartbeats(_ ids: [String]) -> RunRegistry.Batch {
        var copy = RunRegistry.Batch()
        copy.heartbeats = ids
        return copy
    }
}
