import Hashing

/// Loads a pipeline file, applies stage declarations and overrides, and checks everything.
///
///     let workspace = try Workspace.locate(pipelineFile: "pipelines/sentiment.yaml")
///     let pipeline = try PipelineLoader(workspace: workspace).load(file: "pipelines/sentiment.yaml",
///                                                                 overrides: [ParamOverride.parse("ppo.lr=3e-5")])
public struct PipelineLoader: Sendable {
    public let workspace: Workspace

    public init(workspace: Workspace) {
        self.workspace = workspace
    }

    /// Locates the workspace from the file and loads it.
    public static func load(file: String, overrides: [ParamOverride] = []) throws(PipelineError) -> ResolvedPipeline {
        try PipelineLoader(workspace: Workspace.locate(pipelineFile: file)).load(file: file, overrides: overrides)
    }

    public func load(file: String, overrides: [ParamOverride] = []) throws(PipelineError) -> ResolvedPipeline {
        let parsed = try parse(file: file)
        var declarations = DeclarationCache(workspace: workspace)
        return try parsed.resolve(overrides: overrides, declarations: &declarations)
    }

    /// Parses the file (and the files it includes) once; resolve it many times (sweep variants)
    /// with `ParsedPipeline.resolve`.
    public func parse(file: String) throws(PipelineError) -> ParsedPipeline {
        let display = Workspace.displayPath(ofFile: file)
        let bytes: [UInt8]
        do { bytes = try FileSystem.readBytes(file) } catch {
            throw PipelineError(location: nil, fieldPath: "", message: "cannot read pipeline file '\(display)': \(error.reason)")
        }
        let text = try SourceText.decode(bytes, file: display)
        return try parse(text: text, source: PipelineSource(path: PathName.absolute(file), file: display, digest: SHA256.hash(bytes)))
    }

    /// Parses pipeline text (tests; `file` is used in diagnostics and as the base of its includes).
    public func parse(text: String, file: String) throws(PipelineError) -> ParsedPipeline {
        try parse(text: text, source: PipelineSource(path: PathName.absolute(file), file: file, digest: SHA256.hash(Array(text.utf8))))
    }

    private func parse(text: String, source: PipelineSource) throws(PipelineError) -> ParsedPipeline {
        let file = try PipelineParser(workspace: workspace).parse(text: text, file: source.file)
        let merged = try PipelineIncludes.merge(file, source: source, workspace: workspace)
        return ParsedPipeline(spec: merged.spec, workspace: workspace, runNodes: merged.runNodes)
    }
}

/// Declarations loaded so far (each kind read once per load, also across sweep variants).
public struct DeclarationCache: Sendable {
    let workspace: Workspace
    private var loaded: [String: Result<StageDeclaration, PipelineError>] = [:]

    public init(workspace: Workspace) { self.workspace = workspace }

    /// nil when the kind has no declaration (no workspace file, not built in).
    mutating func declaration(_ kind: String) -> Result<StageDeclaration, PipelineError>? {
        if let hit = loaded[kind] { return hit }
        guard StageNames.isValid(kind), workspace.hasDeclaration(kind: kind) else { return nil }
        let result: Result<StageDeclaration, PipelineError>
        do { result = .success(try workspace.loadDeclaration(kind: kind)) } catch { result = .failure(error) }
        loaded[kind] = result
        return result
    }
}
