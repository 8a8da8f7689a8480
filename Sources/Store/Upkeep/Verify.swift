import Foundation
import Hashing

/// What `verify` found.
public struct VerifyReport: Sendable, Equatable {
    public struct CorruptObject: Sendable, Equatable {
        /// The digest the object is stored under.
        public var digest: Digest
        /// What its content hashes to now (nil when it could not be read as an artifact at all).
        public var actual: Digest?
        public var reason: String
        /// Stage records that list it (as an output or log); they stop counting as results.
        public var referencedByKeys: [Digest]
        /// Runs in the registry whose stages produced or used those keys.
        public var affectedRuns: [String]
        /// Where the object was moved (nil when quarantine was off).
        public var quarantinedTo: String?
    }

    public var checkedObjects: Int
    public var checkedBytes: Int64
    public var corrupted: [CorruptObject]
    /// Record files that cannot be parsed (reported, left in place; reads already ignore them).
    public var unreadableRecords: [String]

    public var isClean: Bool { corrupted.isEmpty && unreadableRecords.isEmpty }
}

extension ArtifactStore {
    public var quarantineDirectory: String { root + "/quarantine" }

    /// Re-hashes every object (no stat cache) and checks it against its name. A corrupted object is
    /// moved to `quarantine/<digest>~<time>` (when `quarantine` is true), so records that name it
    /// become absent and the next run rebuilds those stages.
    /// - Parameter registry: when given, the report names the runs affected by each corrupt object.
    public func verify(quarantine: Bool = true, registry: RunRegistry? = nil) throws -> VerifyReport {
        let scanner = ArtifactScanner(statCache: nil)
        var report = VerifyReport(checkedObjects: 0, checkedBytes: 0, corrupted: [], unreadableRecords: [])
        var bad: [(name: String, digest: Digest, actual: Digest?, reason: String)] = []
        for name in try POSIX.listDirectory(objectsDirectory).sorted() {
            let path = objectsDirectory + "/" + name
            guard let expected = Digest(hex: name) else {
                warn("verify: \(path) is not named by a digest; leaving it alone")
                continue
            }
            report.checkedObjects += 1
            do {
                let manifest = try scanner.manifest(ofPath: path)
                report.checkedBytes += manifest.totalSize
                let actual = manifest.digest
                if actual != expected { bad.append((name, expected, actual, "content hashes to \(actual.short)")) }
            } catch {
                bad.append((name, expected, nil, "\(error)"))
            }
        }
        // Which records reference which objects.
        var referencing: [Digest: [Digest]] = [:]
        let decoder = StoreJSON.decoder()
        for key in try allRecordKeys() {
            let path = recordPath(forKey: key)
            guard let bytes = try? POSIX.readFile(path),
                  let record = try? decoder.decode(StageRecord.self, from: Data(bytes)) else {
                report.unreadableRecords.append(path)
                continue
            }
            for object in record.referencedObjects { referencing[object, default: []].append(key) }
        }
        for item in bad {
            let keys = (referencing[item.digest] ?? []).sorted()
            let runs = (try? registry?.runIDs(withStageKeys: keys.map(\.hex))) ?? []
            var destination: String?
            if quarantine {
                try POSIX.makeDirectories(quarantineDirectory)
                let target = quarantineDirectory + "/" + item.name + "~" + String(POSIX.nowNanoseconds() / 1_000_000_000)
                let code = POSIX.rename(objectsDirectory + "/" + item.name, target)
                guard code == 0 else { throw POSIX.fail("quarantine", objectsDirectory + "/" + item.name, code) }
                destination = target
            }
            report.corrupted.append(.init(digest: item.digest, actual: item.actual, reason: item.reason,
                                          referencedByKeys: keys, affectedRuns: runs, quarantinedTo: destination))
        }
        return report
    }
}

extension RunRegistry {
    /// Ids of runs with an execution of any of these stage keys, sorted.
    public func runIDs(withStageKeys keys: [String]) throws -> [String] {
        var ids: Set<String> = []
        for key in keys { ids.formUnion(try runIDs(withStageKey: key)) }
        return ids.sorted()
    }
}
