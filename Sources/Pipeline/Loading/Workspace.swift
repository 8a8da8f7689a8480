/// The directory a pipeline's paths are relative to (its `deps`, `./` inputs, own `stages/`).
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

    /// The pipeline file's workspace: the nearest directory at or above the file's own that holds
    /// `stages/` or `pipe.config.yaml`, else the file's directory (the built-in kinds need no `stages/`:
    /// pipe carries their declarations).
    public static func locate(pipelineFile: String) throws(PipelineError) -> Workspace {
        let file = PathName.absolute(pipelineFile)
        guard FileSystem.exists(file) else {
            throw PipelineError(location: nil, fieldPath: "", message: "pipeline file '\(pipelineFile)' not found")
        }
        return Workspace(root: root(forFile: file))
    }

    /// The workspace root of an absolute file path (see `locate`).
    static func root(forFile file: String) -> String {
        var directory = PathName.directory(of: file)
        while true {
            if FileSystem.isDirectory(PathName.join(directory, "stages")) || FileSystem.exists(PathName.join(directory, "pipe.config.yaml")) {
                return directory
            }
            if directory == "/" { return PathName.directory(of: file) }
            directory = PathName.directory(of: directory)
        }
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
    /// same whichever directory it is shown from; nil for a relative path.
    public static func pathInWorkspace(ofFile path: String) -> String? {
        guard path.hasPrefix("/") else { return nil }
        let file = PathName.normalise(path)
        return PathName.relative(file, to: root(forFile: file))
    }

    public func declarationPath(kind: String) -> String { PathName.join(stagesDirectory, kind + ".yaml") }

    /// A file under `stages/` (`ppo.yaml`, `shared/reward.yaml`): the workspace's own when it exists,
    /// else the copy of a built-in declaration that pipe carries; `file` names it in diagnostics.
    func declarationFile(_ relativePath: String) -> (bytes: [UInt8]?, file: String)? {
        let path = PathName.join(stagesDirectory, relativePath)
        if FileSystem.exists(path) { return (try? FileSystem.readBytes(path), displayPath("stages/" + relativePath)) }
        guard let text = BuiltinDeclarations.files[relativePath] else { return nil }
        return (Array(text.utf8), "stages/\(relativePath) (built into pipe)")
    }

    /// Whether `kind` has a declaration: a workspace file or a built-in one.
    public func hasDeclaration(kind: String) -> Bool {
        FileSystem.exists(declarationPath(kind: kind)) || BuiltinDeclarations.files[kind + ".yaml"] != nil
    }

    /// Kinds with a declaration (`stages/*.yaml` of the workspace and the built-in kinds), sorted.
    public func declaredKinds() -> [String] {
        let own = FileSystem.list(stagesDirectory).compactMap { name in
            name.hasSuffix(".yaml") && name.count > 5 ? String(name.dropLast(5)) : nil
        }
        let builtin = BuiltinDeclarations.files.keys.filter { !$0.contains("/") }.map { String($0.dropLast(5)) }
        return Set(own + builtin).sorted { $0.utf8Precedes($1) }
    }

    /// Names of the shared param groups (`stages/shared/*.yaml` and the built-in ones), sorted.
    func sharedGroups() -> [String] {
        let own = FileSystem.list(PathName.join(stagesDirectory, "shared")).filter { $0.hasSuffix(".yaml") }.map { String($0.dropLast(5)) }
        let builtin = BuiltinDeclarations.files.keys.filter { $0.hasPrefix("shared/") }.map { String($0.dropFirst(7).dropLast(5)) }
        return Set(own + builtin).sorted { $0.utf8Precedes($1) }
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
