/// # Runner — executes resolved pipelines: scheduler, executors, stage processes, live view
///
/// ## Entry points (the `pipe` executable only parses flags and calls these)
/// - `PipelineCommands.run(_:jobs:force:dryRun:)`, `.status(_:)`, `.dag(_:format:)` → exit status
///   (0 ok, 1 stage failed, 2 usage/validation, 130 interrupted). `InfoCommands.stages/runs/show`.
/// - `RunSession(pipeline:store:executor:display:options:recorder:)`, `.run() -> RunReport`, `.interrupt()`:
///   the scheduler. Ready queue over the DAG in pipeline order; a stage is keyed once its inputs'
///   output digests are known (early cutoff); cache hit → no execution; else a worker thread takes
///   the key's lock, re-checks the record, runs, ingests, commits (`StageBuild`). Failed → dependents
///   skipped, independent branches continue. `RunOptions`: jobs (default cores / threads), force,
///   threads (`OPENBLAS_NUM_THREADS`), rerun command.
/// - `StatusPlanner(pipeline:pipelineFile:store:).plan() -> [StageStatus]`: cached / must run + reasons
///   (`KeyMaterial.changes(from:)` against the stage's last recorded material), for status and dry run.
///
/// ## Executors (`Execution/`)
/// - `protocol Executor { name; pipeExecutable; execute(StageJob) -> ExecutionOutcome; interrupt() }`.
///   `execute` blocks a worker thread until the stage ends. `StageJob` = program (`.builtin(invocationPath)`
///   → `pipe _stage <path>`, or `.command(sh)`), working dir, full environment, log path, events path,
///   resources. Everything lives in the stage's staging dir under the store's tmp/, so a batch
///   executor on a shared filesystem sees the same files.
/// - `LocalExecutor`: posix_spawn, own process group, stdout+stderr → log, SIGTERM then SIGKILL on interrupt.
///
/// ## Stage processes (`Stage/`)
/// - `StageProcess.main(invocationPath:)` (what `pipe _stage` runs), `StageInvocation` (plain JSON),
///   `StageEvent` JSON lines (progress / metrics / log) appended to `$PIPE_EVENTS`, `EventsFileReader`.
/// - `SelfTestStage` (`pipe-selftest`): a tiny built-in that exercises the built-in path in tests.
///
/// ## Display (`LiveView/`)
/// - `RunDisplay` receives `RunEvent`s: `TerminalLiveView` (TTY, redrawn in place) or `PlainEventLog`
///   (`[12:00:01] ppo: ran in 3.2s`). Failures print the log tail and the rerun command.
///
/// ## Registry
/// - `RegistryRecorder`: run row, one stage execution per settled stage (+ metric series), final status.
///
/// ## Bench
/// - `RunnerBenchmark.run(pipeExecutable:…)` (`pipe bench runner`), `CommandPipelineFixture` (the
///   6-stage command pipeline used by the end-to-end tests and the benchmark).
public enum RunnerModule {}
