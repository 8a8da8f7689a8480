/// # Commands — what the `pipe` subcommands do
///
/// The executable parses flags and calls one function here, which prints and returns the exit
/// status (0 ok, 1 a stage failed or a check found a difference, 2 usage or validation error,
/// 130 interrupted). No ML: what the binary's built-in stages bring is passed in as a `StageRuntime`.
///
/// - `RunCommands.run` (`pipe run`, sweeps included): parse once → plan → key, build, ingest
///   (Engine's `RunSession`) → record (`RunRecording`, the lock file). `RunCommands.execute` is the one
///   place that wires a display, signals and the summary around a `RunSession` (`pipe reproduce` too).
/// - `PipelineCommands.status` / `.dag`, `InfoCommands.stages` / `.runs` / `.show`.
/// - History: `HistoryCommands` (diff, log, name), `SweepHistory`, `RunMetrics`, `LockFile`.
/// - `ReproduceCommands` (reproduce, export), `ReportCommands` (HTML reports), `UpkeepCommands` (gc, verify).
/// - Displays: `TerminalLiveView` (TTY, redrawn in place) and `PlainEventLog` (`[12:00:01] ppo: ran in 3.2s`).
/// - Benchmarks that spawn the binary: `RunnerBenchmark`, `SweepBenchmark`, with `CommandPipelineFixture`
///   (the 6-stage command pipeline the end-to-end tests use too).
public enum CommandsModule {}
