import Hashing

/// Takes the stages of the files a pipeline includes into one stage list:
///
///     include: [sentiment.yaml]        # or `include: sentiment.yaml`; relative to this file's directory
///
/// Included stages come first, in include order (an included file's own includes before its
/// stages). Each file is read once, however often it is reached; a cycle of includes and a stage
/// name defined in two places are errors. Only an included file's `stages:` and `include:` are
/// taken: the pipeline's name, seed and sweep are the including file's.
struct PipelineIncludes {
    let workspace: Workspace
    private var sources: [PipelineSource] = []
    private var stages: [StageSpec] = []
    private var runNodes: [String: RunNode] = [:]
    private var definedAt: [String: SourceLocation] = [:]
    private var read: Set<String> = []
    private var sink = DiagnosticSink()

    private init(workspace: Workspace) { self.workspace = workspace }

    /// `root` with the stages of every file it includes, directly or not, and their sources.
    static func merge(_ root: PipelineFile, source: PipelineSource, workspace: Workspace) throws(PipelineError) -> PipelineFile {
        var merged = root
        guard !root.includes.isEmpty else {
            merged.spec.sources = [source]
            return merged
        }
        var includes = PipelineIncludes(workspace: workspace)
        includes.read.insert(Self.identity(source.path))
        includes.sources.append(source)
        includes.take(root, chain: [source])
        try includes.sink.check()
        merged.spec.stages = includes.stages
        merged.spec.sources = includes.sources
        merged.runNodes = includes.runNodes
        return merged
    }

    /// Takes the files `file` includes (depth first), then its own stages. `chain` is the path of
    /// includes from the pipeline file down to `file`, `file` last.
    private mutating func take(_ file: PipelineFile, chain: [PipelineSource]) {
        let directory = PathName.directory(of: chain[chain.count - 1].path)
        for include in file.includes {
            let target = PathName.normalise(PathName.join(directory, include.path))
            let targetIdentity = Self.identity(target)
            if let start = chain.firstIndex(where: { Self.identity($0.path) == targetIdentity }) {
                let cycle = (chain[start...].map(\.file) + [Workspace.displayPath(ofFile: target)]).joined(separator: " → ")
                sink.error(include.location, "include", "include cycle: \(cycle) (remove one of these includes)")
                continue
            }
            // Reached before by another path (a diamond): its stages are already taken.
            guard read.insert(targetIdentity).inserted else { continue }
            guard let (included, source) = load(include, target: target) else { continue }
            sources.append(source)
            take(included, chain: chain + [source])
        }
        for stage in file.spec.stages {
            if let first = definedAt[stage.name] {
                sink.error(stage.location, "stages.\(stage.name)",
                           "stage '\(stage.name)' is also defined at \(first) (a pipeline and the files it includes share one set of stage names: rename one of them)")
                continue
            }
            definedAt[stage.name] = stage.location
            stages.append(stage)
            if let node = file.runNodes[stage.name] { runNodes[stage.name] = node }
        }
    }

    /// Reads and parses one included file; nil after recording why it cannot be taken.
    private mutating func load(_ include: IncludeEntry, target: String) -> (PipelineFile, PipelineSource)? {
        let display = Workspace.displayPath(ofFile: target)
        let what = "include '\(include.path)'"
        guard FileSystem.exists(target) else {
            let written = PathName.directory(of: include.path)
            let nearest = Suggestion.nearest(to: PathName.baseName(include.path),
                                             in: FileSystem.list(PathName.directory(of: target)).filter(Self.isYAMLFile))
            sink.error(include.location, "include", "\(what): no file \(display) (an include path is relative to the including file's directory)",
                       suggestion: nearest.map { include.path.contains("/") ? PathName.join(written, $0) : $0 })
            return nil
        }
        let bytes: [UInt8]
        do { bytes = try FileSystem.readBytes(target) } catch {
            sink.error(include.location, "include", "\(what): cannot read \(display): \(error.reason)")
            return nil
        }
        do {
            let text = try SourceText.decode(bytes, file: display)
            let reader = YAMLReader(file: display, text: text)
            guard let root = try reader.compose() else {
                sink.error(include.location, "include", "\(what): \(display) is empty (an included file holds 'stages:')")
                return nil
            }
            let parsed = try PipelineParser(workspace: workspace).parse(root, reader: reader)
            return (parsed, PipelineSource(path: target, file: display, digest: SHA256.hash(bytes)))
        } catch {
            // Its own diagnostics name the included file, line and column.
            sink.append(error)
            return nil
        }
    }

    /// The file a path names, whatever symlinks lead to it (so a loop through a symlinked
    /// directory, `loop/loop/p.yaml`, is a cycle, not an endless chain of new paths).
    static func identity(_ path: String) -> String { FileSystem.realPath(path) ?? path }

    static func isYAMLFile(_ name: String) -> Bool { name.hasSuffix(".yaml") || name.hasSuffix(".yml") }
}
