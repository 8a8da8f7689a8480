import Models

/// Moving weights between models whose configs differ only in their heads (SFT → reward model with
/// `score.weight`, SFT → PPO policy with `v_head.summary.*`).
public enum ModelTransfer {
    /// Copies every tensor `to` has under the same name and shape in `from`; returns the names it did not
    /// find (new heads keep their initialisation).
    @discardableResult
    public static func copyMatchingTensors(from: GPTModel, to: GPTModel) -> [String] {
        var missing: [String] = []
        for t in to.layout.tensors {
            guard let s = from.layout.tensor(named: t.name), s.shape == t.shape else { missing.append(t.name); continue }
            (to.parameters.pointer + t.offset).update(from: from.parameters.pointer + s.offset, count: t.count)
        }
        return missing
    }

    /// Zeroes a head so it starts neutral (value head: V ≡ 0 at the start, as lm-human-preferences).
    public static func zero(_ model: GPTModel, tensorsWithPrefix prefix: String) {
        for t in model.layout.tensors where t.name.hasPrefix(prefix) {
            (model.parameters.pointer + t.offset).update(repeating: 0, count: t.count)
        }
    }
}
