import Hashing

/// What happened to one stage in a run.
public enum StageResult: Sendable, Equatable {
    /// Key found in the store; nothing ran.
    case cached(key: Digest)
    /// Ran here and committed.
    case ran(key: Digest, seconds: Double)
    /// Another process committed the key while this one waited for the key's lock.
    case reused(key: Digest)
    /// Not in the local store; downloaded from the remote cache (`pipe run --remote`) instead of run.
    case pulled(key: Digest, seconds: Double, bytes: Int64)
    case failed(key: Digest?, reason: String)
    /// Not run because an upstream stage failed.
    case skipped(because: String)
    case interrupted(key: Digest?)

    public var key: Digest? {
        switch self {
        case .cached(let key), .ran(let key, _), .reused(let key), .pulled(let key, _, _): return key
        case .failed(let key, _), .interrupted(let key): return key
        case .skipped: return nil
        }
    }

    /// The stage's outputs exist in the store after this outcome.
    public var isAvailable: Bool {
        switch self {
        case .cached, .ran, .reused, .pulled: return true
        default: return false
        }
    }
}
