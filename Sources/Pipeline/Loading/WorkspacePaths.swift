/// Checks that `deps:`, `outs:` and path `inputs:` stay inside the workspace.
enum WorkspacePaths {
    enum Kind { case dep, out, input }

    /// Why `path` is not acceptable, or nil. Deps must exist; outs need not (they are produced),
    /// but an existing prefix must not be a symlink leading out of the workspace.
    static func problem(_ path: String, in workspace: Workspace, kind: Kind) -> String? {
        if path.isEmpty { return "is empty" }
        if path.hasPrefix("/") { return "is an absolute path (use a path relative to the workspace root \(workspace.root))" }
        if path.hasPrefix("~") { return "starts with '~' (use a path relative to the workspace root)" }
        let normalised = PathName.normalise(path)
        if normalised == "." { return "is the workspace itself (name a file or directory inside it)" }
        if normalised == ".." || normalised.hasPrefix("../") { return "escapes the workspace (remove '../')" }
        let root = FileSystem.realPath(workspace.root) ?? workspace.root
        let full = PathName.join(workspace.root, normalised)
        switch kind {
        case .input:
            if FileSystem.isSymlinkLoop(full) { return "is a symlink loop (fix or remove the link)" }
            guard let real = FileSystem.realPath(full) else {
                return "does not exist (a path input names a file or directory in the workspace, relative to its root)"
            }
            if PathName.relative(real, to: root) == nil { return "leads outside the workspace through a symlink (to \(real))" }
        case .dep:
            guard let real = FileSystem.realPath(full) else { return "does not exist (deps are files the command reads)" }
            if PathName.relative(real, to: root) == nil { return "leads outside the workspace through a symlink (to \(real))" }
        case .out:
            // Walk down the path: the first existing component that resolves outside is the problem.
            var prefix = workspace.root
            for component in normalised.split(separator: "/") {
                prefix = PathName.join(prefix, String(component))
                guard let real = FileSystem.realPath(prefix) else { break }
                if PathName.relative(real, to: root) == nil { return "leads outside the workspace through a symlink (to \(real))" }
            }
        }
        return nil
    }
}
