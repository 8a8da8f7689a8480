import Foundation
import Tensor

/// The judge: an independent sentiment classifier trained by the `judge` stage on the judge split
/// only. Evaluation uses it as the gold scorer, and rm-pairs strategy `samples` as the annotator.
///
/// The model is logistic regression on the L2-normalised presence of a review's hashed character
/// n-grams, each optionally scaled by its naive-Bayes log-count ratio (Wang & Manning 2012, "NBSVM")
/// `ratio[k] = log((p_k/‖p‖₁) / (q_k/‖q‖₁))` (p, q: smoothed counts of positive / negative training
/// reviews containing bucket k); with the scaling off every ratio is 1. Optionally (`neighbours`) the
/// similarity-weighted vote of the k nearest training reviews, times `neighbourWeight`, is added to the
/// logit (`JudgeNeighbours`).
///
/// Files in the judge's `model` directory: `judge.safetensors` (`weight`, `ratio` [buckets] F32,
/// `bias` [1] F32; with neighbours also `knn_offsets` [n+1] I32, `knn_indices` [nnz] I32 (the n
/// training reviews' sorted buckets, CSR) and `knn_labels` [n] U8; metadata `format: pipe-judge`,
/// `features: nb-presence`, `hash: fnv1a64`, `max_n`, `buckets`, `negation` 0/1, `knn_k` (0 = no
/// neighbours), `knn_weight`) and `metrics.json`.
public struct Judge: Sendable {
    public static let fileName = "judge.safetensors"
    static let featureKind = "nb-presence"

    public let features: JudgeFeatures
    public let ratio: [Float]
    public let weights: [Float]
    public let bias: Float
    public let neighbours: JudgeNeighbours?
    public let neighbourWeight: Float

    public init(features: JudgeFeatures, ratio: [Float], weights: [Float], bias: Float,
                neighbours: JudgeNeighbours? = nil, neighbourWeight: Float = 0) {
        precondition(weights.count == features.buckets && ratio.count == features.buckets)
        self.features = features
        self.ratio = ratio
        self.weights = weights
        self.bias = bias
        self.neighbours = neighbours
        self.neighbourWeight = neighbours == nil ? 0 : neighbourWeight
    }

    /// Loads `directory/judge.safetensors` (or the file itself).
    public init(directory: String) throws {
        var isDirectory: ObjCBool = false
        let path = FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) && isDirectory.boolValue
            ? directory + "/" + Self.fileName : directory
        let file = try SafetensorsFile(path: path)
        let m = file.metadata
        guard m["format"] == "pipe-judge", m["hash"] == "fnv1a64", m["features"] == Self.featureKind,
              let maxN = Int(m["max_n"] ?? ""), let buckets = Int(m["buckets"] ?? ""), maxN >= 1, buckets >= 1,
              let negation = m["negation"], negation == "0" || negation == "1" else {
            throw StageError.failed("\(path): not a judge model of this version (expected __metadata__ format pipe-judge, "
                + "features \(Self.featureKind), hash fnv1a64, max_n, buckets, negation); re-run the judge stage")
        }
        let weights = try file.floats("weight"), ratio = try file.floats("ratio"), bias = try file.floats("bias")
        guard weights.count == buckets, ratio.count == buckets, bias.count == 1 else {
            throw StageError.failed("\(path): weight has \(weights.count) and ratio \(ratio.count) entries for \(buckets) buckets, bias \(bias.count)")
        }
        let k = Int(m["knn_k"] ?? "0") ?? -1, neighbourWeight = Float(m["knn_weight"] ?? "0") ?? .nan
        guard k >= 0, neighbourWeight.isFinite else {
            throw StageError.failed("\(path): metadata knn_k '\(m["knn_k"] ?? "")' / knn_weight '\(m["knn_weight"] ?? "")' "
                + "are not a count ≥ 0 and a number; re-run the judge stage")
        }
        var neighbours: JudgeNeighbours?
        if k > 0 {
            let offsets = try file.int32s("knn_offsets"), indices = try file.int32s("knn_indices"), labels = try file.uint8s("knn_labels")
            let monotone = zip(offsets, offsets.dropFirst()).allSatisfy { $0 <= $1 }
            guard offsets.count == labels.count + 1, offsets.first == 0, monotone, Int(offsets.last ?? -1) == indices.count,
                  indices.allSatisfy({ $0 >= 0 && Int($0) < buckets }), labels.allSatisfy({ $0 <= 1 }) else {
                throw StageError.failed("\(path): knn_offsets (\(offsets.count)), knn_indices (\(indices.count)) and knn_labels "
                    + "(\(labels.count)) do not form \(labels.count) stored reviews with buckets below \(buckets) and 0/1 labels; "
                    + "re-run the judge stage")
            }
            neighbours = JudgeNeighbours(k: k, offsets: offsets, indices: indices, labels: labels, buckets: buckets)
        }
        self.init(features: JudgeFeatures(maxN: maxN, buckets: buckets, negation: negation == "1"),
                  ratio: ratio, weights: weights, bias: bias[0], neighbours: neighbours, neighbourWeight: neighbourWeight)
    }

    public func save(directory: String) throws {
        let metadata = ["format": "pipe-judge", "features": Self.featureKind, "hash": "fnv1a64", "max_n": String(features.maxN),
                        "buckets": String(features.buckets), "negation": features.negation ? "1" : "0",
                        "knn_k": String(neighbours?.k ?? 0), "knn_weight": String(neighbourWeight)]
        var tensors = [SafetensorsTensor(name: "weight", shape: [weights.count], floats: weights),
                       SafetensorsTensor(name: "ratio", shape: [ratio.count], floats: ratio),
                       SafetensorsTensor(name: "bias", shape: [1], floats: [bias])]
        if let neighbours {
            tensors += [SafetensorsTensor(name: "knn_offsets", shape: [neighbours.offsets.count], int32s: neighbours.offsets),
                        SafetensorsTensor(name: "knn_indices", shape: [neighbours.indices.count], int32s: neighbours.indices),
                        SafetensorsTensor(name: "knn_labels", dtype: .u8, shape: [neighbours.labels.count], bytes: neighbours.labels)]
        }
        try Safetensors.write(tensors, metadata: metadata, to: directory + "/" + Self.fileName)
    }

    /// The NB-scaled, L2-normalised feature vector of a review.
    static func vector(_ indices: [Int32], ratio: [Float]) -> (indices: [Int32], values: [Float]) {
        var values = indices.map { ratio[Int($0)] }
        let norm = values.reduce(0) { $0 + $1 * $1 }.squareRoot()
        if norm > 0 { values = values.map { $0 / norm } }
        return (indices, values)
    }

    /// The classifier's logit for a feature vector from `vector`.
    static func logit(_ x: (indices: [Int32], values: [Float]), weights: [Float], bias: Float) -> Float {
        var z = bias
        for (i, v) in zip(x.indices, x.values) { z += weights[Int(i)] * v }
        return z
    }

    /// P(positive) for a review (or a prompt + generated continuation), in [0, 1].
    public func positiveProbability(text: String) -> Double {
        let present = features.indices(text)
        var z = Self.logit(Self.vector(present, ratio: ratio), weights: weights, bias: bias)
        if let neighbours { z += neighbourWeight * neighbours.vote(present) }
        return 1 / (1 + exp(-Double(z)))
    }

    public func positiveProbabilities(_ texts: [String]) -> [Double] { texts.map { positiveProbability(text: $0) } }
}
