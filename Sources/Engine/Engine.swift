/// # Engine — runs a planned pipeline: keys, builds, executors, recording
///
/// Depends on Pipeline, Store and StageWire only: no ML. What the binary that runs built-in stages
/// brings (its kinds, its numeric environment) is passed in as a `StageRuntime`.
///
/// ## Entry points
/// - `SweepPlan(variants:)`: every variant of a run (a plain run is one) merged into one DAG, shared
///   stages once.
/// - `RunSession(pipeline:store:executor:display:options:recorder:runLabel:)`, `.run() -> RunReport`,
///   `.interrupt()`: the scheduler. Ready queue over the DAG in pipeline order; a stage is keyed once
///   its inputs' output digests are known (`StageKeyer`, early cutoff); cache hit → no execution; else a
///   worker thread takes the key's lock, re-checks the record, runs, ingests, commits (`StageBuild`).
///   Failed → dependents skipped, independent branches continue. `RunOptions`: jobs, force, threads,
///   runtime, rerun command.
/// - `StatusPlanner(pipeline:pipelineFile:store:runtime:).plan() -> [StageStatus]`: cached /
///   must run + reasons (`KeyMaterial.changes(from:)` against the stage's last recorded material).
/// - `RunRecording.start(store:plan:pipelineFile:sweep:)`: one registry run per variant (rows built by
///   `RegistryRecorder`), a sweep row when swept, all in one transaction written on the recording's
///   own thread while the scheduler runs (run ids proposed up front); stage results batched, the
///   runs closed in one transaction; a heartbeat while the run lasts. `StageRecord.material` reads a
///   record's key material back.
///
/// - Read-through: with `RunOptions.remote`, a worker that finds a key missing locally (under its lock)
///   pulls it from the remote cache instead of running the stage (`StageResult.pulled`,
///   `RunEvent.pulled`); a remote that fails is a warning and the stage runs. `RemoteSettings` parses
///   `remotes:` of pipe.config.yaml.
///
/// ## Executors (`Execution/`)
/// - `protocol Executor { name; pipeExecutable; execute(StageJob) -> ExecutionOutcome; interrupt() }`.
///   `execute` blocks a worker thread until the stage ends. `StageJob` = program (`.builtin(invocationPath)`
///   → `pipe _stage <path>`, or `.command(sh)`), working dir, full environment, log path, events path,
///   resources. Everything lives in the stage's staging dir under the store's tmp/, so a batch
///   executor on a shared filesystem sees the same files.
/// - `LocalExecutor`: posix_spawn (`ChildProcess`) into the process group of a watchdog started first
///   (it kills the group when the runner dies), stdout+stderr → log, SIGTERM then SIGKILL on interrupt. `SlurmExecutor`: one sbatch job per stage; `ExecutorSettings` reads `pipe.config.yaml`.
///
/// ## Display
/// - `RunDisplay` receives `RunEvent`s; the terminal implementations live in Commands.
public enum EngineModule {}
