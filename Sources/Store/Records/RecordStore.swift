import Foundation
import Hashing

extension ArtifactStore {
    public func recordPath(forKey key: Digest) -> String { stagesDirectory + "/" + key.hex + ".json" }

    /// The record for `key`, or nil when the key has not been built. A record that cannot be used —
    /// truncated or corrupt JSON, a different key inside, or objects missing (e.g. quarantined by
    /// `verify`) — is reported through the warning handler and treated as absent, so the stage is
    /// simply rebuilt; it never crashes the caller.
    ///
    /// A record read before, whose file is unchanged since, comes from the record index (a `stat`
    /// instead of a read and a JSON decode); its objects are checked on every call either way.
    public func record(forKey key: Digest) -> StageRecord? {
        let path = recordPath(forKey: key)
        let status: FileStatus
        do {
            guard let found = try POSIX.status(path, followSymlinks: true) else { return nil }
            status = found
        } catch {
            warnOnce("cannot read stage record \(path): \(error); rebuilding that stage")
            return nil
        }
        if let entry = recordIndex.lookup(key, identity: RecordIndex.Identity(status), recordPath: path) {
            return checkedObjects(of: entry.record, path: path, shapes: entry.shapes)
        }
        let bytes: [UInt8]
        let readStatus: FileStatus
        do {
            guard let read = try POSIX.readFileAndStatus(path) else { return nil }
            (bytes, readStatus) = read
        } catch {
            warnOnce("cannot read stage record \(path): \(error); rebuilding that stage")
            return nil
        }
        let record: StageRecord
        do {
            record = try StageRecord.decode(bytes)
        } catch {
            warnOnce("ignoring corrupt stage record \(path) (\(Self.describe(error))); the stage will be rebuilt")
            return nil
        }
        guard record.format == StageRecord.currentFormat else {
            warnOnce("ignoring stage record \(path) in unknown format '\(record.format)'; the stage will be rebuilt")
            return nil
        }
        guard record.key == key else {
            warnOnce("ignoring stage record \(path): it describes key \(record.key.hex); the stage will be rebuilt")
            return nil
        }
        let shapes = record.referencedObjects.map { object -> (object: Digest, shape: RecordIndex.ShapeMemo) in
            guard let bytes = shapeFileBytes(object) else { return (object, .unrecorded) }
            return (object, .recorded(bytes))
        }
        guard let checked = checkedObjects(of: record, path: path, shapes: shapes) else { return nil }
        let indexed = shapes.map { memo -> (object: Digest, shape: RecordIndex.ShapeMemo) in
            // A large shape (a directory of many files) stays in shapes/ only; `.unrecorded` reads it there.
            if case .recorded(let bytes) = memo.shape, bytes.count > RecordIndex.maxShapeBytes { return (memo.object, .unrecorded) }
            return memo
        }
        recordIndex.insert(record, status: readStatus, shapes: indexed)
        return checked
    }

    /// The record when every object it names is present and matches its shape (one `lstat` per
    /// entry); nil after a warning otherwise. `shapes` are the objects' recorded shapes, in
    /// `referencedObjects` order (`.unrecorded`: read shapes/ now).
    private func checkedObjects(of record: StageRecord, path: String,
                                shapes: [(object: Digest, shape: RecordIndex.ShapeMemo)]) -> StageRecord? {
        let objects = record.referencedObjects
        let statuses = objects.map { (try? POSIX.status(objectPath($0))) ?? nil }
        let missing = zip(objects, statuses).filter { $0.1 == nil }.map(\.0)
        guard missing.isEmpty else {
            warnOnce("stage record \(path) refers to missing objects \(missing.map(\.short).joined(separator: ", ")); the stage will be rebuilt")
            return nil
        }
        for (object, status) in zip(objects, statuses) {
            let memo = shapes.first { $0.object == object }?.shape ?? .unrecorded
            let damage: String?
            switch memo {
            case .recorded(let bytes): damage = objectDamage(object, shapeBytes: bytes, status: .some(status))
            case .unrecorded: damage = objectDamage(object, shapeBytes: shapeFileBytes(object), status: .some(status))
            }
            if let damage {
                warnOnce("object \(object.short) of stage record \(path) is damaged (\(damage)); the stage will be rebuilt (`pipe verify` checks every object)")
                return nil
            }
        }
        return record
    }

    /// Saves what `record(forKey:)` learnt to the record index (merging with other processes'
    /// entries), so the next process answers those lookups with a `stat`. Failure is a warning:
    /// the index is only a shortcut.
    public func saveRecordIndex() {
        guard recordIndex.hasUnsavedEntries else { return }
        do { try recordIndex.save(temporaryDirectory: temporaryDirectory) }
        catch { warn("could not save the record index (\(error)); stage records will be read again next time") }
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
        var code = POSIX.rename(temporary, destination)
        if code == EISDIR || code == ENOTEMPTY || code == EEXIST {
            // A directory sits where the record goes (damage, or a stray copy): reads already ignore
            // it, and left there it would fail every build of this key. Move it aside and publish.
            if let moved = try? quarantine(entry: destination) {
                warn("\(destination) was a directory, not a stage record; moved it to \(moved)")
                code = POSIX.rename(temporary, destination)
            }
        }
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
