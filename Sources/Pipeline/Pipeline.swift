/// # Pipeline: YAML pipelines → validated, typed, keyed DAGs of stages
///
/// Knows nothing about ML; depends on Hashing and Yams (only its vendored libyaml, `CYaml`: `YAMLComposer` builds a
/// light node tree from libyaml events, ~2× faster than `Yams.compose` and with the position of a repeated key).
///
/// ## Loading
/// - `Workspace.locate(pipelineFile:) throws(PipelineError) -> Workspace` — the nearest directory holding `stages/` or `pipe.config.yaml`, else the file's own.
///   `workspace.declaredKinds()`, `loadDeclaration(kind:)`, `loadAllDeclarations()` (for `pipe stages`) → `StageDeclaration`.
/// - `PipelineLoader(workspace:).load(file:overrides:) throws(PipelineError) -> ResolvedPipeline`
///   (or `PipelineLoader.load(file:overrides:)`, which locates the workspace).
/// - `ParamOverride.parse("ppo.lr=3e-5") throws(PipelineError)` — one `--set`; the value is typed by the declared type.
/// - `loader.loadSweep(file:overrides:sweeps:includeFileSweep:) -> [SweepVariant]` — the file's `sweep:` grid with
///   `--sweep stage.param=v1,v2` axes replacing/adding axes, then the explicit `variants:`; every variant resolved and
///   frozen up front, duplicates collapsed (`loadSweep(parsed, …)` for a file parsed already); `SweepVariant.name` like `ppo.lr=3e-05,ppo.init_kl_coef=0.1` (`base` when
///   nothing is swept). `pipeline.sweep?.metric` / `.maximize` name the metric that ranks the sweep table.
///   (The engine merges variants into one DAG with its own `Engine.SweepPlan`.)
/// - `loader.parse(file:) -> ParsedPipeline`, then `parsed.resolve(overrides:declarations:)` to resolve one file many
///   times (a `DeclarationCache` reads each `stages/<kind>.yaml` once). Only the kinds a pipeline uses are read.
/// - `YAMLValue.parse(text:file:)` — the same YAML reader for pipe's other YAML files (executor config, lock files).
///   `Suggestion.nearest(to:in:)` — the one "did you mean" (OSA distance, case-insensitive).
/// - YAML: plain scalars are typed by YAML 1.2 core rules (`2e-6`, `.2` floats; `yes` a string); anchors, aliases and
///   `<<` merge keys work; duplicate keys are errors.
///
/// ## Result
/// - `ResolvedPipeline`: `name`, `file`, `workspace`, `seed`, `stages: [ResolvedStage]` (topological, ties by file order),
///   `graph: StageGraph`, `stage(named:)`.
/// - `ResolvedStage`: `name`, `kind` (`"run"` for inline commands), `implementation` (`.builtin(kind)` / `.command(template)`),
///   `implementationVersion`, `params: [ResolvedParam]` (sorted, defaults applied), `param(_:)`,
///   `inputs: [InputBinding]` (input name → `stage`.`output`, sorted), `outputs`, `deps` (workspace-relative:
///   hash `workspace.root + "/" + dep`; checked to exist inside the workspace at load time),
///   `resources`, `location`, `declarationFile`, `upstreamStages`.
///   - `expandedCommand(inputPaths:outputPaths:) -> String?` — shell-quoted, for command stages (an unbound optional
///     input expands to `''`; every `${outs.X}` needs a path). `keyCommand` is the key's workspace-independent form.
///   - `keyMaterial(inputDigests:depDigests:environment:seed:) -> KeyMaterial` (a digest for every bound input and dep).
/// - `ParamValue` (`int`/`float`/`string`/`bool`/`list`), `description` is the canonical display (`1e-05`, `0.2`).
///
/// ## Stage key
/// - `KeyMaterial` (Codable plain data, scheme `pipe.key.v1`), `.key: Digest`, `.canonicalBytes`,
///   `.changes(from: previous) -> [String]` ("param lr changed 1e-05 → 3e-05", "input model changed (sft.model)", …).
///
/// ## Graph
/// - `StageGraph`: `topologicalOrder`, `dependents(of:)`, `ancestors(of:)`, `directDependents(of:)`, `directDependencies(of:)`.
/// - `DAGRendering.text(_:)`, `.mermaid(_:)`, `.dot(_:)` — strings for `pipe dag`.
///
/// ## Errors
/// - `PipelineError` (`diagnostics: [Diagnostic]`); each `Diagnostic` has `location` (file:line:col), `fieldPath`,
///   `message`, `suggestion`; `description` prints `pipelines/x.yaml:12:7: error: stage 'ppo': unknown param 'lrr' (did you mean 'lr'?)`.
///
/// ## Benchmark
/// - `PipelineBenchmark.measure(file:iterations:) -> Report` (best/median load+resolve time).
public enum PipelineModule {}
