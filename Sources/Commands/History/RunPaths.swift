import Pipeline

/// How a recorded pipeline path is shown in listings: relative to the workspace that holds the
/// pipeline (`pipelines/sentiment.yaml`) for every run, whichever directory a run was started from
/// and whichever directory the listing is printed in.
enum RunPaths {
    static func display(_ recorded: String) -> String {
        Workspace.pathInWorkspace(ofFile: recorded) ?? Workspace.displayPath(ofFile: recorded)
    }
}
