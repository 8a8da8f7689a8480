import Foundation
import Tensor

/// The judge: an independent sentiment classifier trained by the `judge` stage on the judge split
/// only. Evaluation uses it as the gold scorer, and rm-pairs strategy `samples` as the annotator.
///
/// The model is logistic regression on the L2-normalised presence of a review's hashed character
/// n-grams, each optionally scaled by its naive-Bayes log-count ratio (Wang & Manning 2012, "NBSVM")
/// `ratio[k] = log((p_k/‖p‖₁) / (q_k/‖q‖₁))` (p, q: smoothed counts of positive / negative training
/// reviews containing bucket k); with the scaling off every ratio is 1.
///
/// Files in the judge's `model` directory: `judge.safetensors` (`weight`, `ratio` [buckets] F32,
/// `bias` [1] F32; metadata `format: pipe-judge`, `features: nb-presence`, `hash: fnv1a64`, `max_n`,
/// `buckets`, `negation` 0/1) and `metrics.json`.
public struct Judge: Sendable {
    public static let fileName = "judge.safetensors"
    static let featureKind = "nb-presence"

    public let features: JudgeFeatures
    public let ratio: [Float]
    public let weights: [Float]
    public let bias: Float

    public init(features: JudgeFeatures, ratio: [Float], weights: [Float], bias: Float) {
        precondition(weights.count == features.buckets && ratio.count == features.buckets)
        self.features = features
        self.ratio = ratio
        self.weights = weights
        self.bias = bias
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
        self.init(features: JudgeFeatures(maxN: maxN, buckets: buckets, negation: negation == "1"),
                  ratio: ratio, weights: weights, bias: bias[0])
    }

    public func save(directory: String) throws {
        let metadata = ["format": "pipe-judge", "features": Self.featureKind, "hash": "fnv1a64", "max_n": String(features.maxN),
                        "buckets": String(features.buckets), "negation": features.negation ? "1" : "0"]
        try Safetensors.write([SafetensorsTensor(name: "weight", shape: [weights.count], floats: weights),
                               SafetensorsTensor(name: "ratio", shape: [ratio.count], floats: ratio),
                               SafetensorsTensor(name: "bias", shape: [1], floats: [bias])],
                              metadata: metadata, to: directory + "/" + Self.fileName)
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
        let x = Self.vector(features.indices(text), ratio: ratio)
        let z = Double(Self.logit(x, weights: weights, bias: bias))
        return 1 / (1 + exp(-z))
    }

    public func positiveProbabilities(_ texts: [String]) -> [Double] { texts.map { positiveProbability(text: $0) } }
}
