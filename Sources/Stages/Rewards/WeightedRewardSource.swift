/// A weighted sum of reward sources: reward = Σ_i w_i · r_i, in source order. Each component's own
/// rewards are kept (`scoreComponents`) so that they can be logged separately.
public final class WeightedRewardSource: RewardSource {
    public struct Component {
        public let weight: Float
        public let source: RewardSource
        public var name: String { source.name }
        public init(weight: Float, source: RewardSource) { self.weight = weight; self.source = source }
    }

    public let components: [Component]
    public let name = "weighted"

    public var deterministicByConstruction: Bool { components.allSatisfy { $0.source.deterministicByConstruction } }
    public var needsText: Bool { components.contains { $0.source.needsText } }

    public init(_ components: [Component]) throws {
        guard !components.isEmpty else { throw StageError.badParam("reward_sources", "empty: name at least one source (e.g. [model])") }
        var seen: Set<String> = []
        for c in components {
            guard seen.insert(c.name).inserted else { throw StageError.badParam("reward_sources", "'\(c.name)' is listed twice") }
            guard c.weight.isFinite else { throw StageError.badParam("reward_weights", "the weight of '\(c.name)' is not finite") }
        }
        self.components = components
    }

    /// Each component's checked rewards, in component order.
    public func scoreComponents(_ request: RewardRequest) throws -> [[Float]] {
        try components.map { c in
            let rewards = try c.source.score(request)
            try RewardCheck.validate(rewards, rows: request.count, source: c.name)
            return rewards
        }
    }

    /// Σ_i w_i · r_i. A single component of weight 1 passes through unchanged (bit for bit).
    public func combine(_ parts: [[Float]], rows: Int) -> [Float] {
        if parts.count == 1 && components[0].weight == 1 { return parts[0] }
        var total = [Float](repeating: 0, count: rows)
        for (c, rewards) in zip(components, parts) {
            for i in 0..<rows { total[i] += c.weight * rewards[i] }
        }
        return total
    }

    public func score(_ request: RewardRequest) throws -> [Float] {
        combine(try scoreComponents(request), rows: request.count)
    }

    public func close() { for c in components { c.source.close() } }
}
