/// The directory that holds `stages/`: pipelines and their `deps`/`outs` live inside it.
public struct Workspace: Sendable, Hashable {
    /// Absolute, normalised path.
    public let root: String
    /// Directory shown in diagnostics: relative to the current directory when inside it.
    private let displayBase: String?

    /// A workspace at `root` (which should contain `stages/`).
    public init(root: String) {
        self.root = PathName.absolute(root)
        let cwd = PathName.normalise(FileSystem.currentDirectory())
        self.displayBase = PathName.relative(self.root, to: cwd)
    }

    public var stagesDirectory: String { PathName.join(root, "stages") }

    /// Walks up from the pipeline file's directory to the first directory containing `stages/`.
    public static func locate(pipelineFile: String) throws(PipelineError) -> Workspace {
        let file = PathName.absolute(pipelineFile)
        guard FileSystem.exists(file) else {
            throw PipelineError(location: nil, fieldPath: "", message: "pipeline file '\(pipelineFile)' not found")
        }
        var directory = PathName.directory(of: file)
        while true {
            if FileSystem.isDirectory(PathName.join(directory, "stages")) { return Workspace(root: directory) }
            if directory == "/" { break }
            directory = PathName.directory(of: directory)
        }
        throw PipelineError(location: nil, fieldPath: "",
                            message: "no workspace for '\(pipelineFile)': no 'stages/' directory in its directory or any parent (create stages/ next to pipelines/)")
    }

    /// A workspace path as shown to the user (`stages/ppo.yaml`, or `../ws/stages/ppo.yaml`).
    public func displayPath(_ relativePath: String) -> String {
        guard let displayBase else { return PathName.join(root, relativePath) }
        return PathName.join(displayBase, relativePath)
    }

    /// A file path (absolute or relative to the current directory) as shown to the user.
    public static func displayPath(ofFile path: String) -> String {
        let absolute = PathName.absolute(path)
        return PathName.relative(absolute, to: PathName.normalise(FileSystem.currentDirectory())) ?? absolute
    }

    /// A recorded pipeline file's path relative to its workspace (`pipelines/sentiment.yaml`), the
    /// same whichever directory it is shown from; nil for a relative path or when no directory
    /// above the file holds `stages/`.
    public static func pathInWorkspace(ofFile path: String) -> String? {
        guard path.hasPrefix("/") else { return nil }
        let file = PathName.normalise(path)
        var directory = PathName.directory(of: file)
        while true {
            if FileSystem.isDirectory(PathName.join(directory, "stages")) { return PathName.relative(file, to: directory) }
            if directory == "/" { return nil }
            directory = PathName.directory(of: directory)
        }
    }

    public func declarationPath(kind: String) -> String { PathName.join(stagesDirectory, kind + ".yaml") }

    /// Kinds with a declaration file (`stages/*.yaml`), sorted.
    public func declaredKinds() -> [String] {
        FileSystem.list(stagesDirectory).compactMap { name in
            name.hasSuffix(".yaml") && name.count > 5 ? String(name.dropLast(5)) : nil
        }.sorted { $0.utf8Precedes($1) }
    }

    /// Loads and validates `stages/<kind>.yaml`.
    public func loadDeclaration(kind: String) throws(PipelineError) -> StageDeclaration {
        try DeclarationParser(workspace: self).load(kind: kind)
    }

    /// Every declaration in `stages/` (for `pipe stages`), sorted by kind; reports all problems.
    public func loadAllDeclarations() throws(PipelineError) -> [StageDeclaration] {
        var sink = DiagnosticSink()
        var declarations: [StageDeclaration] = []
        for kind in declaredKinds() {
            do { declarations.append(try loadDeclaration(kind: kind)) } catch { sink.append(error) }
        }
        try sink.check()
        return declarations
    }
}
