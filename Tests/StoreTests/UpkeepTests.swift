import Foundation
import Hashing
import Testing
@testable import Store

@Suite("Verify and garbage collection")
struct UpkeepTests {
    func commitStage(_ store: ArtifactStore, _ dir: TemporaryDirectory, key: String, content: String) throws -> (Digest, Digest) {
        try dir.write("out-\(key)/data.txt", content)
        let out = try store.ingest(dir.path + "/out-\(key)")
        let keyDigest = SHA256.hash(key)
        try store.commit(StageRecord(key: keyDigest, stage: key, keyMaterial: .null, outputs: ["out": out],
                                     startedAt: Date(), finishedAt: Date()))
        return (keyDigest, out)
    }

    @Test func flippedByteIsFoundQuarantinedAndTheStageBecomesMissing() throws {
        let dir = try TemporaryDirectory()
        let warnings = WarningLog()
        let store = try ArtifactStore(root: dir.path + "/store", warning: warnings.handler)
        let (goodKey, _) = try commitStage(store, dir, key: "good", content: "fine")
        let (badKey, badObject) = try commitStage(store, dir, key: "bad", content: "will rot")
        let registry = try store.openRegistry()
        let run = try registry.startRun(NewRun(pipelinePath: "p", pipelineDigest: "d", name: "n", params: .null, commandLine: []))
        try registry.recordStageExecution(StageExecution(runID: run, stage: "bad", key: badKey.hex, outcome: .ran))
        #expect(try store.verify(registry: registry).isClean)

        // Flip one byte of the stored (read-only) file, as disk rot or a careless `chmod +w; edit` would.
        let file = store.objectPath(badObject) + "/data.txt"
        chmod(store.objectPath(badObject), 0o755)
        chmod(file, 0o644)
        try dir.write(String(file.dropFirst(dir.path.count + 1)), "will rOt")
        chmod(store.objectPath(badObject), 0o555)

        let report = try store.verify(registry: registry)
        #expect(report.checkedObjects == 2)
        #expect(report.corrupted.count == 1)
        let corrupt = try #require(report.corrupted.first)
        #expect(corrupt.digest == badObject)
        #expect(corrupt.referencedByKeys == [badKey])
        #expect(corrupt.affectedRuns == [run])
        #expect(corrupt.quarantinedTo != nil && POSIX.exists(corrupt.quarantinedTo!))
        #expect(!store.hasObject(badObject))
        #expect(store.record(forKey: badKey) == nil, "a later run rebuilds the stage")
        #expect(store.record(forKey: goodKey) != nil)
        #expect(try store.verify().isClean)
    }

    @Test func gcKeepsWhatKeptKeysNeedAndDryRunDeletesNothing() throws {
        let dir = try TemporaryDirectory()
        let store = try ArtifactStore(root: dir.path + "/store")
        let (keepKey, keepObject) = try commitStage(store, dir, key: "keep", content: "needed")
        let (dropKey, dropObject) = try commitStage(store, dir, key: "drop", content: "old")
        try dir.write("loose.txt", "never recorded")
        let loose = try store.ingest(dir.path + "/loose.txt")

        // Everything is young: with the default grace period nothing goes.
        let cautious = try store.garbageCollect(keepKeys: [keepKey], dryRun: false)
        #expect(cautious.removedObjects.isEmpty && cautious.removedRecords.isEmpty)

        let dry = try store.garbageCollect(keepKeys: [keepKey], dryRun: true, grace: .zero)
        #expect(dry.removedRecords == [dropKey])
        #expect(Set(dry.removedObjects) == [dropObject, loose])
        #expect(store.hasObject(dropObject) && store.record(forKey: dropKey) != nil)

        let real = try store.garbageCollect(keepKeys: [keepKey], dryRun: false, grace: .zero)
        #expect(real.removedRecords == dry.removedRecords && real.removedObjects == dry.removedObjects)
        #expect(real.freedBytes > 0)
        #expect(!store.hasObject(dropObject) && !store.hasObject(loose))
        #expect(store.record(forKey: dropKey) == nil)
        #expect(store.hasObject(keepObject) && store.record(forKey: keepKey) != nil, "gc never deletes what a kept key needs")
    }

    /// A kept record keeps the objects it read (an upstream output whose own record went, the store's
    /// copy of a workspace-path input), so `pipe reproduce` of a kept run still finds its inputs.
    @Test func gcKeepsTheInputsAKeptRecordRead() throws {
        let dir = try TemporaryDirectory()
        let store = try ArtifactStore(root: dir.path + "/store")
        try dir.write("input.txt", "a workspace file")
        let input = try store.ingest(dir.path + "/input.txt")
        try dir.write("out/data.txt", "result")
        let out = try store.ingest(dir.path + "/out")
        let key = SHA256.hash("downstream")
        let material: JSONValue = .object(["inputs": .array([.object(["digest": .string(input.hex), "name": .string("source"),
                                                                        "source": .string("./input.txt")])])])
        try store.commit(StageRecord(key: key, stage: "downstream", keyMaterial: material, outputs: ["out": out],
                                     startedAt: Date(), finishedAt: Date()))
        #expect(try store.record(forKey: key)?.inputObjects == [input])
        let report = try store.garbageCollect(keepKeys: [key], dryRun: false, grace: .zero)
        #expect(report.removedObjects.isEmpty)
        #expect(store.hasObject(input) && store.hasObject(out))
        let dropped = try store.garbageCollect(keepKeys: [], dryRun: false, grace: .zero)
        #expect(Set(dropped.removedObjects) == [input, out])
    }
}
