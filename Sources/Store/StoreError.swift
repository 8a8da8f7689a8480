/// Everything the store can fail with. Messages name the path and say what to do.
public enum StoreError: Error, CustomStringConvertible, Sendable, Equatable {
    /// A system call failed.
    case io(operation: String, path: String, reason: String)
    /// A path cannot be an artifact (escaping symlink, socket, non-UTF-8 name, ...).
    case invalidArtifact(path: String, reason: String)
    /// The artifact to hash or ingest does not exist.
    case missingArtifact(path: String)
    /// A stage record refers to objects that are not in `objects/`.
    case missingObjects(key: String, digests: [String])
    /// The run registry failed (SQLite error text included).
    case registry(String)
    /// A run id (or prefix) that matches no run, or more than one.
    case unknownRun(String)
    case ambiguousRun(prefix: String, matches: [String])
    /// The disk (or quota) is full while writing `path`.
    case noSpace(path: String)

    public var description: String {
        switch self {
        case let .io(operation, path, reason):
            return "store: \(operation) failed for \(path): \(reason)"
        case let .invalidArtifact(path, reason):
            return "store: \(path) cannot be stored as an artifact: \(reason)"
        case let .missingArtifact(path):
            return "store: artifact \(path) does not exist (did the stage write this output?)"
        case let .missingObjects(key, digests):
            return "store: record \(key) refers to objects not in the store: \(digests.joined(separator: ", ")); ingest every output before committing its record"
        case let .registry(message):
            return "store: run registry: \(message)"
        case let .unknownRun(id):
            return "store: no run matches '\(id)' (see `pipe runs`)"
        case let .noSpace(path):
            return "store: no space left on device while writing \(path); free some space (`pipe gc` removes old results) and run again"
        case let .ambiguousRun(prefix, matches):
            return "store: run id prefix '\(prefix)' is ambiguous: \(matches.joined(separator: ", ")); type more characters"
        }
    }
}
