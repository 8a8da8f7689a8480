import Foundation
import Hashing
import Testing
@testable import Store

/// Store entries that are not what their names say (a directory where a record goes) and removals
/// that must never leave half an object behind.
@Suite("Store: damaged entries and whole removals")
struct DamagedEntryTests {
    func record(_ store: ArtifactStore, _ dir: TemporaryDirectory, key: String) throws -> StageRecord {
        try dir.write("out-\(key)", "bytes of \(key)")
        let object = try store.ingest(dir.path + "/out-\(key)")
        let now = Date()
        return StageRecord(key: SHA256.hash(key), stage: key, keyMaterial: .object([:]), outputs: ["out": object],
                           startedAt: now, finishedAt: now)
    }

    /// Before, every build of the key failed at the rename ("Is a directory") and neither verify nor
    /// gc removed the directory: the stage could never be cached again.
    @Test func aDirectoryWhereTheRecordGoesIsMovedAsideAndTheResultCommitted() throws {
        let dir = try TemporaryDirectory()
        let warnings = WarningLog()
        let store = try ArtifactStore(root: dir.path + "/store", warning: warnings.handler)
        let result = try record(store, dir, key: "a")
        let path = store.recordPath(forKey: result.key)
        try FileManager.default.createDirectory(atPath: path + "/junk", withIntermediateDirectories: true)
        #expect(store.record(forKey: result.key) == nil)

        try store.commit(result)
        #expect(store.record(forKey: result.key)?.outputs == result.outputs)
        let moved = try POSIX.listDirectory(store.quarantineDirectory)
        #expect(moved.count == 1 && moved[0].hasPrefix(result.key.hex + ".json~"), "\(moved)")
        #expect(warnings.all.last == "\(path) was a directory, not a stage record; moved it to \(store.quarantineDirectory)/\(moved[0])")
        #expect(try store.verify().isClean, "the moved directory is not taken for a quarantined object")

        let report = try store.garbageCollect(keepKeys: [result.key], dryRun: false, grace: .zero)
        #expect(report.removedObjects.isEmpty)
        #expect(try POSIX.listDirectory(store.quarantineDirectory).isEmpty, "gc empties quarantine/")
    }

    /// A file where a store directory goes: staging, lock, cache, shape, quarantine, checkpoint and
    /// log directories are made again or when needed (the file moved to quarantine/), and the stored results stay; in place of objects/ or
    /// stages/ (which hold results) or of the store itself, opening fails with the path and the fix.
    @Test func aFileWhereAStoreDirectoryGoesIsHealedOrNamedWithTheFix() throws {
        let dir = try TemporaryDirectory()
        let root = dir.path + "/store"
        let result = try record(try ArtifactStore(root: root), dir, key: "a")
        try ArtifactStore(root: root).commit(result)
        for sub in ["tmp", "locks", "statcache", "shapes", "quarantine", "resume", "logs"] {
            try POSIX.removeTree(root + "/" + sub)
            try dir.write("store/" + sub, "not a directory")
            let warnings = WarningLog()
            let store = try ArtifactStore(root: root, warning: warnings.handler)
            try POSIX.makeDirectories(root + "/" + sub)  // lazily made ones: as their first user would
            #expect(try POSIX.status(root + "/" + sub)?.isDirectory == true, "\(sub)")
            let moved = try #require(try POSIX.listDirectory(store.quarantineDirectory).first { $0.hasPrefix(sub + "~") })
            #expect(warnings.all == ["\(root)/\(sub) was a file, not a directory; moved it to \(store.quarantineDirectory)/\(moved) (`pipe gc` removes it) and made the directory again"])
            #expect(store.record(forKey: result.key)?.outputs == result.outputs, "\(sub): the result is still there")
            try POSIX.removeTree(store.quarantineDirectory + "/" + moved)
        }
        for (sub, holds) in [("objects", "artifacts"), ("stages", "stage records")] {
            try POSIX.removeTree(dir.path + "/copy")
            try FileManager.default.copyItem(atPath: root, toPath: dir.path + "/copy")
            let path = dir.path + "/copy/" + sub
            try POSIX.removeTree(path)
            try dir.write("copy/" + sub, "not a directory")
            #expect(throws: StoreError.io(operation: "open the store", path: path, reason: "it is a file, not the directory where the store keeps its \(holds); the store is damaged: restore it from a backup, or move the file away (`mv \(path) \(path).damaged`) and run again to rebuild every stage")) {
                _ = try ArtifactStore(root: dir.path + "/copy")
            }
        }
        try dir.write("plain", "a file")
        #expect(throws: StoreError.io(operation: "open the store", path: dir.path + "/plain", reason: "it is a file, not a store directory; pass --store DIR (or PIPE_STORE) to use another, or move the file away")) {
            _ = try ArtifactStore(root: dir.path + "/plain")
        }
    }

    /// gc moves an object out of objects/ before deleting its files, so no partial tree is ever
    /// left under the object's name (what a kill in the middle would leave in tmp/ is cleaned
    /// like dead staging). `ChaosAcceptanceTests` kills a real `pipe gc` in the middle.
    @Test func gcLeavesNothingOfACollectedObjectInObjectsOrTmp() throws {
        let dir = try TemporaryDirectory()
        let store = try ArtifactStore(root: dir.path + "/store", warning: { _ in })
        for index in 0..<20 { try dir.write("tree/sub/f\(index)", "file \(index)") }
        let object = try store.ingest(dir.path + "/tree")
        let report = try store.garbageCollect(keepKeys: [], dryRun: false, grace: .zero)
        #expect(report.removedObjects == [object])
        #expect(!store.hasObject(object))
        #expect(!POSIX.exists(store.shapePath(object)))
        #expect(try POSIX.listDirectory(store.temporaryDirectory).isEmpty)
    }
}
