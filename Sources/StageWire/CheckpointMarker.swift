/// How a stage process learns where to say "checkpoint written" after SIGUSR1: the Slurm batch
/// script sets this variable to a file it waits for before requeueing its job.
public enum CheckpointMarker {
    public static let environmentVariable = "PIPE_CHECKPOINT_MARKER"
}
