import Foundation
import Hashing

/// The one rule `pipe run` and `pipe verify` share about results built from an object later found
/// damaged: a result is valid only if the bytes it read had the digests its key names. When the
/// damage happened is unknown, so a result built (directly or downstream) from the object before the
/// damage was found cannot be proven valid, even when a rebuild restores the object under the same
/// digest: both drop it and the next build redoes it. (`verify` finds such results from the
/// quarantine/ stamps; a run that heals an object drops them as it heals, so the two never disagree.)
extension ArtifactStore {
    /// Moves the damaged stored copy of `digest` to quarantine/ (a good copy, the `replacement`,
    /// is about to take its place) and drops the results built from it, saying so.
    func setAsideDamagedObject(_ digest: Digest, damage: String, replacement: String) throws {
        warn("object \(digest.short) in the store is damaged (\(damage)); replacing it with the \(replacement)")
        let foundAt = POSIX.nowNanoseconds()
        _ = try quarantine(objectNamed: digest.hex, at: foundAt)
        let dropped = try removeResults(builtFromDamaged: digest, foundAt: foundAt)
        if !dropped.isEmpty {
            warn("results built from the damaged object \(digest.short) before it was found damaged will be rebuilt: "
                 + dropped.map { "\($0.stage) (\($0.key.short))" }.joined(separator: ", "))
        }
    }

    /// Removes the records of results built from `digest` before `foundAt` (nanoseconds since 1970),
    /// and of results built from those, to a fixed point; returns them (key, stage), sorted by key.
    /// Unreadable records are left alone (reads already ignore them).
    @discardableResult
    func removeResults(builtFromDamaged digest: Digest, foundAt: Int64) throws -> [(key: Digest, stage: String)] {
        let records = try allRecordKeys().compactMap { recordIgnoringObjects(forKey: $0) }
        let poisoned = Self.poisonedResults(records, corruptSince: [digest: foundAt])
        for result in poisoned { try removeRecord(forKey: result.key) }
        return poisoned.map { ($0.key, $0.stage) }
    }
}
