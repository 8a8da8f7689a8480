/// What talking to a remote cache can fail with. Messages name the remote, the file on it and what
/// to do; transports (filesystem, HTTP) map their failures onto these cases.
public enum RemoteError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The remote could not be reached or kept failing (connection refused, timeouts, 5xx) after retries.
    case unavailable(remote: String, path: String, reason: String)
    /// The remote refused the request (4xx other than 404), e.g. a bad token.
    case refused(remote: String, path: String, reason: String)
    /// The remote has no space left for an upload.
    case full(remote: String, path: String, reason: String)
    /// Downloaded bytes do not match their digest (corrupt or truncated on the remote or in transit).
    case corrupt(remote: String, what: String, reason: String)
    /// Something the remote should have (by its own records) is not there.
    case missing(remote: String, what: String, hint: String)
    /// Remote configuration or a local failure while transferring.
    case local(remote: String, reason: String)

    public var description: String {
        switch self {
        case let .unavailable(remote, path, reason):
            return "remote \(remote): \(path): \(reason); check that the server is up and run the command again"
        case let .refused(remote, path, reason):
            return "remote \(remote): \(path): \(reason)"
        case let .full(remote, path, reason):
            return "remote \(remote): no space left for \(path) (\(reason)); free space on the remote and push again (nothing partial is visible)"
        case let .corrupt(remote, what, reason):
            return "remote \(remote): refused \(what): \(reason); it was not added to the local store (the remote copy is damaged: remove it there and push it again from a good store)"
        case let .missing(remote, what, hint):
            return "remote \(remote): \(what) is not there\(hint.isEmpty ? "" : "; " + hint)"
        case let .local(remote, reason):
            return "remote \(remote): \(reason)"
        }
    }
}
