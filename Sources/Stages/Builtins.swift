/// Every built-in stage kind, by name. The `pipe` binary runs these in a child process
/// (`pipe _stage INVOCATION.json`); declarations live in `stages/<kind>.yaml`.
public enum Builtins {
    public static let all: [any BuiltinStage.Type] = [
        // Filled in as the stages land: Prepare, Tokenise, SFT, RMPairs, RewardModel, Judge, PPO, Evaluate.
        PrepareStage.self,
        TokeniseStage.self,
        JudgeStage.self,
        SFTStage.self,
        RMPairsStage.self,
        RewardModelStage.self,
        PPOStage.self,
        EvaluateStage.self,
    ]

    public static func stage(named kind: String) -> (any BuiltinStage.Type)? {
        all.first { $0.kind == kind }
    }
}
