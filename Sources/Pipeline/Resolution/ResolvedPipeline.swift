/// A loaded, validated pipeline: stages in topological order (ties broken by file order).
public struct ResolvedPipeline: Sendable {
    public var name: String
    /// The pipeline file as displayed.
    public var file: String
    public var workspace: Workspace
    public var seed: UInt64
    /// Topological order: every stage comes after the stages it reads from.
    public var stages: [ResolvedStage]
    /// The dependency graph over `stages` (queries and `pipe dag` renderings).
    public var graph: StageGraph
    /// The overrides applied (`--set`, or a sweep variant's), in the order given.
    public var overrides: [ParamOverride]
    /// The `sweep:` block as written (expand it with `SweepExpander`).
    public var sweep: SweepSpec?
    /// The pipeline file first, then the files it includes (see `PipelineSource.digest(of:workspace:)`).
    public var sources: [PipelineSource] = []

    public func stage(named name: String) -> ResolvedStage? {
        stages.first { $0.name == name }
    }
}
