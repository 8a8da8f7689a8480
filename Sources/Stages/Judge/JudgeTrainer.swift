#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Tensor

/// Trains the judge: naive-Bayes log-count ratios from the training reviews (the feature scaling of
/// NBSVM), then L2-regularised logistic regression on the scaled features with per-example AdaGrad (an
/// SGD variant suited to sparse features: rare n-grams keep larger steps), seeded shuffling and lazy L2
/// on the weights an example touches. `models` runs with different shuffle seeds are averaged: for a
/// linear model on shared features, averaging the weights is exactly averaging the ensemble's logits.
/// With `neighbours` k > 0 the training reviews are also kept for the k-nearest-neighbour vote
/// (`JudgeNeighbours`). Deterministic for a given seed.
public struct JudgeTrainer: Sendable {
    public var features: JudgeFeatures
    public var epochs: Int
    public var learningRate: Float
    public var l2: Float
    /// Laplace smoothing of the naive-Bayes counts (Wang & Manning use 1); 0 turns the scaling off
    /// (every ratio 1: plain logistic regression on n-gram presence).
    public var nbAlpha: Float
    /// Size of the seeded ensemble.
    public var models: Int
    /// k of the nearest-neighbour vote added to the logit (0 = none) and the vote's weight.
    public var neighbours: Int
    public var neighbourWeight: Float
    public var seed: UInt64

    public init(features: JudgeFeatures, epochs: Int, learningRate: Float, l2: Float, nbAlpha: Float = 1, models: Int = 1,
                neighbours: Int = 0, neighbourWeight: Float = 0, seed: UInt64) {
        self.features = features
        self.epochs = epochs
        self.learningRate = learningRate
        self.l2 = l2
        self.nbAlpha = nbAlpha
        self.models = models
        self.neighbours = neighbours
        self.neighbourWeight = neighbourWeight
        self.seed = seed
    }

    /// Trains on (text, label) pairs; `onEpoch(step, mean log-loss)` reports progress (step counts
    /// epochs across the ensemble's models).
    public func train(_ examples: [LabelledRecord], onEpoch: (Int, Double) -> Void = { _, _ in }) -> Judge {
        let present = examples.map { features.indices($0.text) }
        let ratio = nbRatio(present, labels: examples.map(\.label))
        let xs = present.map { Judge.vector($0, ratio: ratio) }
        let ys = examples.map { Float($0.label) }
        var weights = [Float](repeating: 0, count: features.buckets)
        var bias: Float = 0
        let count = max(models, 1)
        for model in 0..<count {
            let (w, b) = fit(xs, ys, random: RandomStream(seed: seed, stream: streamID(0x4A55_4447, UInt64(model)))) { epoch, loss in onEpoch(model * max(epochs, 1) + epoch, loss) }
            for k in weights.indices { weights[k] += w[k] }
            bias += b
        }
        let scale = 1 / Float(count)
        let memory = neighbours > 0
            ? JudgeNeighbours(k: neighbours, present: present, labels: examples.map(\.label), buckets: features.buckets) : nil
        return Judge(features: features, ratio: ratio, weights: weights.map { $0 * scale }, bias: bias * scale,
                     neighbours: memory, neighbourWeight: neighbourWeight)
    }

    /// ratio[k] = log((p_k/‖p‖₁) / (q_k/‖q‖₁)), p/q = alpha + number of positive/negative reviews with bucket k.
    func nbRatio(_ present: [[Int32]], labels: [Int]) -> [Float] {
        guard nbAlpha > 0 else { return [Float](repeating: 1, count: features.buckets) }
        var positive = [Double](repeating: Double(nbAlpha), count: features.buckets)
        var negative = positive
        for (indices, label) in zip(present, labels) {
            for i in indices { if label == 1 { positive[Int(i)] += 1 } else { negative[Int(i)] += 1 } }
        }
        let positiveTotal = positive.reduce(0, +), negativeTotal = negative.reduce(0, +)
        return zip(positive, negative).map { Float(log(($0 / positiveTotal) / ($1 / negativeTotal))) }
    }

    /// One AdaGrad logistic regression; returns the average of its end-of-epoch weights (a cheap Polyak
    /// average: steadier and less over-fitted than the last iterate on noisy labels).
    private func fit(_ xs: [(indices: [Int32], values: [Float])], _ ys: [Float], random: RandomStream,
                     onEpoch: (Int, Double) -> Void) -> (weights: [Float], bias: Float) {
        var weights = [Float](repeating: 0, count: features.buckets)
        var squares = [Float](repeating: 0, count: features.buckets)
        var bias: Float = 0, biasSquares: Float = 0
        var rng = random
        var order = Array(xs.indices)
        let eps: Float = 1e-8
        var averageWeights = [Float](repeating: 0, count: features.buckets)
        var averageBias: Float = 0
        let epochs = max(self.epochs, 1)
        for epoch in 1...epochs {
            rng.shuffle(&order)
            var loss = 0.0
            for e in order {
                let x = xs[e]
                let p = 1 / (1 + exp(-Judge.logit(x, weights: weights, bias: bias)))
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
            onEpoch(epoch, loss / Double(max(xs.count, 1)))
        }
        let scale = 1 / Float(epochs)
        return (averageWeights.map { $0 * scale }, averageBias * scale)
    }
}
