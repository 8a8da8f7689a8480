#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Trains the judge: L2-regularised logistic regression with per-example AdaGrad (an SGD variant
/// suited to sparse features: rare n-grams keep larger steps), seeded shuffling, lazy L2 on the
/// weights an example touches. Deterministic for a given seed.
public struct JudgeTrainer: Sendable {
    public var features: JudgeFeatures
    public var epochs: Int
    public var learningRate: Float
    public var l2: Float
    public var seed: UInt64

    public init(features: JudgeFeatures, epochs: Int, learningRate: Float, l2: Float, seed: UInt64) {
        self.features = features
        self.epochs = epochs
        self.learningRate = learningRate
        self.l2 = l2
        self.seed = seed
    }

    /// Trains on (text, label) pairs; `onEpoch(epoch, mean log-loss)` reports progress.
    public func train(_ examples: [LabelledRecord], onEpoch: (Int, Double) -> Void = { _, _ in }) -> Judge {
        let xs = examples.map { features.extract($0.text) }
        let ys = examples.map { Float($0.label) }
        var weights = [Float](repeating: 0, count: features.buckets)
        var squares = [Float](repeating: 0, count: features.buckets)
        var bias: Float = 0, biasSquares: Float = 0
        var rng = SplitMix64(seed: seed)
        var order = Array(examples.indices)
        let eps: Float = 1e-8
        // The returned model averages the end-of-epoch weights (a cheap Polyak average: steadier and
        // less over-fitted than the last iterate on noisy labels).
        var averageWeights = [Float](repeating: 0, count: features.buckets)
        var averageBias: Float = 0
        for epoch in 1...max(epochs, 1) {
            // Fisher–Yates with the seeded generator.
            for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
            var loss = 0.0
            for e in order {
                let x = xs[e]
                var z = bias
                for (i, v) in zip(x.indices, x.values) { z += weights[Int(i)] * v }
                let p = 1 / (1 + exp(-z))
                loss -= Double(ys[e] == 1 ? log(max(p, 1e-7)) : log(max(1 - p, 1e-7)))
                let g = p - ys[e]
                for (i, v) in zip(x.indices, x.values) {
                    let k = Int(i)
                    let grad = g * v + l2 * weights[k]
                    squares[k] += grad * grad
                    weights[k] -= learningRate * grad / (squares[k].squareRoot() + eps)
                }
                biasSquares += g * g
                bias -= learningRate * g / (biasSquares.squareRoot() + eps)
            }
            for k in weights.indices { averageWeights[k] += weights[k] }
            averageBias += bias
            onEpoch(epoch, loss / Double(max(examples.count, 1)))
        }
        let scale = 1 / Float(max(epochs, 1))
        return Judge(features: features, weights: averageWeights.map { $0 * scale }, bias: averageBias * scale)
    }
}

/// SplitMix64: small, fast, seeded; the judge's only source of randomness.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
