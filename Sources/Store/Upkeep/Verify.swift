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
        var report = VerifyReport(checkedObjects: 0, checkedBytes: 0, corrupted: [], unreadableRecords: [])
        var names: [(name: String, digest: Digest)] = []
        for name in try POSIX.listDirectory(objectsDirectory).sorted() {
            guard let expected = Digest(hex: name) else {
                warn("verify: \(objectsDirectory)/\(name) is not named by a digest; leaving it alone")
                continue
            }
            names.append((name, expected))
        }
        // Objects are independent: hash them on all cores.
        let outcomes = VerifySlots(count: names.count)
        let objects = objectsDirectory
        let candidates = names
        DispatchQueue.concurrentPerform(iterations: candidates.count) { index in
            do {
                outcomes.set(index, .success(try ArtifactScanner(statCache: nil).manifest(ofPath: objects + "/" + candidates[index].name)))
            } catch {
                outcomes.set(index, .failure(error))
            }
        }
        var bad: [(name: String, digest: Digest, actual: Digest?, reason: String)] = []
        for (entry, outcome) in zip(names, outcomes.values) {
            report.checkedObjects += 1
            switch outcome {
            case let .success(manifest):
                report.checkedBytes += manifest.totalSize
                let actual = manifest.digest
                if actual != entry.digest { bad.append((entry.name, entry.digest, actual, "content hashes to \(actual.short)")) }
            case let .failure(error):
                bad.append((entry.name, entry.digest, nil, "\(error)"))
            }
        }
        // Which records reference which objects.
        var referencing: [Digest: [Digest]] = [:]
        for key in try allRecordKeys() {
            let path = recordPath(forKey: key)
            guard let bytes = try? POSIX.readFile(path),
                  let record = try? StageRecord.decode(bytes) else {
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

private final class VerifySlots: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [Result<ArtifactManifest, any Error>?]
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ index: Int, _ value: Result<ArtifactManifest, any Error>) { lock.lock(); slots[index] = value; lock.unlock() }
    var values: [Result<ArtifactManifest, any Error>] { lock.lock(); defer { lock.unlock() }; return slots.map { $0! } }
}
