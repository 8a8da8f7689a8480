/// Which positions of a forward pass get LM-head logits. The tied LM head is the largest GEMM of a
/// small model; losses that read only some positions (PPO's response tokens) select just those.
public enum LogitRows: Sendable, Equatable {
    /// No LM head (reward/value-only passes).
    case none
    /// Every position: logits [B, T, V].
    case all
    /// Only these flat indices b·T + t, in this order (repeats allowed): a compact pass. Nothing else is
    /// read from it, so the last block's projection and MLP, ln_f and the heads run only at these rows:
    /// logits [rows.count, V], values [rows.count], hidden states [rows.count, C]; no reward head.
    case only([Int])

    func count(of n: Int) -> Int {
        switch self {
        case .none: 0
        case .all: n
        case .only(let rows): rows.count
        }
    }
}
