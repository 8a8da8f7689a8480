/// Every built-in stage kind, by name. The `pipe` binary runs these in a child process
/// (`pipe _stage INVOCATION.json`); declarations live in `stages/<kind>.yaml`.
public enum Builtins {
    /// Computed rather than stored: a global array of `any BuiltinStage.Type` is not `Sendable`
    /// (strict concurrency), and building a few metatypes costs nothing.
    public static var all: [any BuiltinStage.Type] {
        [
            DatasetStage.self,
            TokeniseStage.self,
            JudgeStage.self,
            SFTStage.self,
            RMPairsStage.self,
            RewardModelStage.self,
            DPOStage.self,
            PPOStage.self,
            GRPOStage.self,
            EvaluateStage.self,
        ]
    }
}
