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

    /// A stage result built (directly or through other results) from a corrupt object: its bytes
    /// cannot be trusted even though they hash correctly.
    public struct PoisonedResult: Sendable, Equatable {
        public var key: Digest
        public var stage: String
        /// The corrupt (or poisoned) object it was built from.
        public var builtFrom: Digest
        /// True when its record was removed (the next run rebuilds it); false with quarantine off.
        public var invalidated: Bool
    }

    public var checkedObjects: Int
    public var checkedBytes: Int64
    public var corrupted: [CorruptObject]
    /// Record files that cannot be parsed (reported, left in place; reads already ignore them).
    public var unreadableRecords: [String]
    public var poisoned: [PoisonedResult] = []

    public var isClean: Bool { corrupted.isEmpty && unreadableRecords.isEmpty && poisoned.isEmpty }
}

extension ArtifactStore {
    public var quarantineDirectory: String { root + "/quarantine" }

    /// Re-hashes every object (no stat cache) and checks it against its name. A corrupted object is
    /// moved to `quarantine/<digest>~<time>~<random>` (when `quarantine` is true), so records that
    /// name it become absent and the next run rebuilds those stages; records of results built from
    /// it (directly or downstream) are removed too, since their bytes came from damaged input.
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
                let path = objects + "/" + candidates[index].name
                // The scanner follows a symlink at the top (an input may be one); an object never is:
                // a link there reads bytes outside the store that can change under it.
                if let status = try POSIX.status(path), status.isSymlink {
                    let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? "?"
                    throw VerifyProblem(description: "it is a symlink to \(target), not a stored object")
                }
                outcomes.set(index, .success(try ArtifactScanner(statCache: nil).manifest(ofPath: path)))
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
        var records: [StageRecord] = []
        for key in try allRecordKeys() {
            let path = recordPath(forKey: key)
            guard let bytes = try? POSIX.readFile(path),
                  let record = try? StageRecord.decode(bytes) else {
                report.unreadableRecords.append(path)
                continue
            }
            records.append(record)
            for object in record.referencedObjects { referencing[object, default: []].append(key) }
        }
        for item in bad {
            let keys = (referencing[item.digest] ?? []).sorted()
            let runs = (try? registry?.runIDs(withStageKeys: keys.map(\.hex))) ?? []
            var destination: String?
            if quarantine { destination = try self.quarantine(objectNamed: item.name) }
            report.corrupted.append(.init(digest: item.digest, actual: item.actual, reason: item.reason,
                                          referencedByKeys: keys, affectedRuns: runs, quarantinedTo: destination))
        }
        // Results built from a corrupt object, found now or quarantined by an earlier verify.
        var corruptSince: [Digest: Int64] = quarantinedObjects()
        let now = POSIX.nowNanoseconds()
        for item in bad { corruptSince[item.digest] = now }
        for poisoned in Self.poisonedResults(records, corruptSince: corruptSince) {
            if quarantine { try removeRecord(forKey: poisoned.key) }
            report.poisoned.append(.init(key: poisoned.key, stage: poisoned.stage, builtFrom: poisoned.builtFrom,
                                         invalidated: quarantine))
        }
        return report
    }

    /// Records whose key material names a corrupt object as an input and that were built before
    /// it was found corrupt; their outputs are poisoned in turn (to a fixed point), so everything
    /// downstream of the damage is found. Sorted by key.
    static func poisonedResults(_ records: [StageRecord], corruptSince: [Digest: Int64])
        -> [(key: Digest, stage: String, builtFrom: Digest)] {
        var since = corruptSince
        var found: [Digest: (stage: String, builtFrom: Digest)] = [:]
        let inputs = records.map { inputDigests(in: $0.keyMaterial) }
        var changed = !since.isEmpty
        while changed {
            changed = false
            for (record, digests) in zip(records, inputs) where found[record.key] == nil {
                let built = Int64(record.startedAt.timeIntervalSince1970 * 1e9)
                guard let cause = digests.first(where: { since[$0].map { built < $0 } ?? false }), let time = since[cause] else { continue }
                found[record.key] = (record.stage, cause)
                for output in record.outputs.values where (since[output] ?? Int64.min) < time { since[output] = time }
                changed = true
            }
        }
        return found.keys.sorted().map { ($0, found[$0]!.stage, found[$0]!.builtFrom) }
    }

    /// Every digest named in key material (inputs, deps), sorted. The store does not interpret key
    /// material otherwise: any string that is a digest counts.
    static func inputDigests(in material: JSONValue) -> [Digest] {
        var digests: Set<Digest> = []
        func visit(_ value: JSONValue) {
            switch value {
            case let .string(text): if text.utf8.count == 64, let digest = Digest(hex: text) { digests.insert(digest) }
            case let .array(items): items.forEach(visit)
            case let .object(members): members.values.forEach(visit)
            default: break
            }
        }
        visit(material)
        return digests.sorted()
    }

    /// Moves `objects/<name>` to `quarantine/<name>~<nanoseconds>~<random>` (a unique name: the
    /// same digest may be quarantined twice in one second) and returns the new path. `time` is the
    /// moment the damage was found (the stamp in the name, which `verify` reads back).
    func quarantine(objectNamed name: String, at time: Int64 = POSIX.nowNanoseconds()) throws -> String {
        try POSIX.makeDirectories(quarantineDirectory)
        let target = quarantineDirectory + "/" + name + "~" + String(time) + "~" + POSIX.randomHex()
        let code = POSIX.rename(objectsDirectory + "/" + name, target)
        guard code == 0 else { throw POSIX.fail("quarantine", objectsDirectory + "/" + name, code) }
        if let digest = Digest(hex: name) { unlink(shapePath(digest)) }
        return target
    }

    /// Moves any entry of the store (not an object) to `quarantine/<its name>~<nanoseconds>~<random>`
    /// and returns the new path; `gc` empties quarantine/.
    func quarantine(entry path: String) throws -> String {
        try POSIX.makeDirectories(quarantineDirectory)
        let target = quarantineDirectory + "/" + POSIX.lastComponent(path) + "~" + String(POSIX.nowNanoseconds()) + "~" + POSIX.randomHex()
        let code = POSIX.rename(path, target)
        guard code == 0 else { throw POSIX.fail("quarantine", path, code) }
        return target
    }

    /// Digest → when it was quarantined (nanoseconds since 1970; older names carry seconds).
    func quarantinedObjects() -> [Digest: Int64] {
        guard let names = try? POSIX.listDirectory(quarantineDirectory) else { return [:] }
        var result: [Digest: Int64] = [:]
        for name in names {
            let parts = name.split(separator: "~")
            guard parts.count >= 2, let digest = Digest(hex: String(parts[0])), let stamp = Int64(parts[1]) else { continue }
            let nanoseconds = parts.count == 2 ? stamp * 1_000_000_000 : stamp
            result[digest] = max(result[digest] ?? Int64.min, nanoseconds)
        }
        return result
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

/// An object that is not an artifact at all (a reason shown as is).
private struct VerifyProblem: Error, CustomStringConvertible { let description: String }

private final class VerifySlots: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [Result<ArtifactManifest, any Error>?]
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ index: Int, _ value: Result<ArtifactManifest, any Error>) { lock.lock(); slots[index] = value; lock.unlock() }
    var values: [Result<ArtifactManifest, any Error>] { lock.lock(); defer { lock.unlock() }; return slots.map { $0! } }
}
