import Hashing

/// A file a pipeline was read from: the pipeline file itself, or a file it includes.
public struct PipelineSource: Sendable, Hashable {
    /// Absolute, normalised path.
    public var path: String
    /// The file as displayed in diagnostics.
    public var file: String
    /// SHA-256 of the bytes that were parsed.
    public var digest: Digest

    public init(path: String, file: String, digest: Digest) {
        self.path = path
        self.file = file
        self.digest = digest
    }

    /// One digest for everything a pipeline was read from, so an edit to an included file is never
    /// missed: a lone file's own SHA-256 (as `sha256sum` prints it); with includes, SHA-256 over
    /// each file's workspace-relative path, a NUL and its SHA-256, in the order they were read.
    public static func digest(of sources: [PipelineSource], workspace: Workspace) -> Digest? {
        guard let first = sources.first else { return nil }
        if sources.count == 1 { return first.digest }
        var bytes: [UInt8] = []
        for source in sources {
            bytes += (PathName.relative(source.path, to: workspace.root) ?? source.path).utf8
            bytes.append(0)
            bytes += source.digest.bytes
        }
        return SHA256.hash(bytes)
    }
}
