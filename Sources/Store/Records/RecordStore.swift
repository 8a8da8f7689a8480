import Foundation
import Hashing

extension ArtifactStore {
    public func recordPath(forKey key: Digest) -> String { stagesDirectory + "/" + key.hex + ".json" }

    /// The record for `key`, or nil when the key has not been built. A record that cannot be used —
    /// truncated or corrupt JSON, a different key inside, or objects missing (e.g. quarantined by
    /// `verify`) — is reported through the warning handler and treated as absent, so the stage is
    /// simply rebuilt; it never crashes the caller.
    public func record(forKey key: Digest) -> StageRecord? {
        let path = recordPath(forKey: key)
        let bytes: [UInt8]
        do {
            guard let read = try POSIX.readFile(path) else { return nil }
            bytes = read
        } catch {
            warn("cannot read stage record \(path): \(error); rebuilding that stage")
            return nil
        }
        let record: StageRecord
        do {
            record = try StageRecord.decode(bytes)
        } catch {
            warn("ignoring corrupt stage record \(path) (\(Self.describe(error))); the stage will be rebuilt")
            return nil
        }
        guard record.format == StageRecord.currentFormat else {
            warn("ignoring stage record \(path) in unknown format '\(record.format)'; the stage will be rebuilt")
            return nil
        }
        guard record.key == key else {
            warn("ignoring stage record \(path): it describes key \(record.key.hex); the stage will be rebuilt")
            return nil
        }
        let missing = record.referencedObjects.filter { !hasObject($0) }
        guard missing.isEmpty else {
            warn("stage record \(path) refers to missing objects \(missing.map(\.short).joined(separator: ", ")); the stage will be rebuilt")
            return nil
        }
        for object in record.referencedObjects {
            if let damage = objectDamage(object) {
                warnOnce("object \(object.short) of stage record \(path) is damaged (\(damage)); the stage will be rebuilt (`pipe verify` checks every object)")
                return nil
            }
        }
        return record
    }

    /// The record file for `key` as written, without checking its objects (nil when absent or
    /// unreadable; no warnings): what a stage was built from, even after its output was damaged,
    /// quarantined or collected — for explaining why it must run again.
    public func recordIgnoringObjects(forKey key: Digest) -> StageRecord? {
        guard let bytes = try? POSIX.readFile(recordPath(forKey: key)), let record = try? StageRecord.decode(bytes),
              record.key == key else { return nil }
        return record
    }

    /// Publishes a stage result: checks that every referenced object is in objects/, writes the
    /// record to tmp/, fsyncs it, renames it to `stages/<key>.json` and fsyncs stages/. Replaces an
    /// earlier record for the same key (e.g. after `--force`).
    public func commit(_ record: StageRecord) throws {
        let missing = record.referencedObjects.filter { !hasObject($0) }
        guard missing.isEmpty else { throw StoreError.missingObjects(key: record.key.hex, digests: missing.map(\.hex)) }
        var bytes = [UInt8](try StoreJSON.encoder().encode(record))
        bytes.append(UInt8(ascii: "\n"))
        let temporary = temporaryDirectory + "/record~\(POSIX.hostName)~\(getpid())~\(POSIX.randomHex())~\(record.key.short).json"
        try POSIX.writeNewFile(temporary, bytes, sync: true)
        let destination = recordPath(forKey: record.key)
        let code = POSIX.rename(temporary, destination)
        guard code == 0 else {
            unlink(temporary)
            throw POSIX.fail("rename stage record", destination, code)
        }
        try POSIX.fsyncPath(stagesDirectory, directory: true)
    }

    /// Removes the record for `key` (the objects stay until gc). Used by `--force` and quarantine.
    public func removeRecord(forKey key: Digest) throws {
        if unlink(recordPath(forKey: key)) != 0 && errno != ENOENT { throw POSIX.fail("unlink", recordPath(forKey: key)) }
    }

    /// Keys of every record file in stages/ (unvalidated), sorted.
    public func allRecordKeys() throws -> [Digest] {
        try POSIX.listDirectory(stagesDirectory).compactMap { name -> Digest? in
            guard name.hasSuffix(".json") else { return nil }
            return Digest(hex: String(name.dropLast(5)))
        }.sorted()
    }

    static func describe(_ error: any Error) -> String {
        if let decoding = error as? DecodingError {
            switch decoding {
            case let .dataCorrupted(context): return context.debugDescription
            case let .keyNotFound(key, _): return "missing field '\(key.stringValue)'"
            case let .typeMismatch(_, context), let .valueNotFound(_, context):
                return context.codingPath.map(\.stringValue).joined(separator: ".") + ": " + context.debugDescription
            @unknown default: return "\(decoding)"
            }
        }
        return "\(error)"
    }
}
