import Foundation
import Tensor

/// The judge: an independent sentiment classifier (logistic regression on hashed character n-grams)
/// trained by the `judge` stage on the judge split only. Evaluation uses it as the gold scorer, and
/// rm-pairs strategy `samples` as the annotator.
///
/// Files in the judge's `model` directory: `judge.safetensors` (`weight` [buckets] F32, `bias` [1] F32,
/// metadata `format: pipe-judge`, `max_n`, `buckets`, `hash: fnv1a64`) and `metrics.json`.
public struct Judge: Sendable {
    public static let fileName = "judge.safetensors"

    public let features: JudgeFeatures
    public let weights: [Float]
    public let bias: Float

    public init(features: JudgeFeatures, weights: [Float], bias: Float) {
        precondition(weights.count == features.buckets)
        self.features = features
        self.weights = weights
        self.bias = bias
    }

    /// Loads `directory/judge.safetensors` (or the file itself).
    public init(directory: String) throws {
        var isDirectory: ObjCBool = false
        let path = FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) && isDirectory.boolValue
            ? directory + "/" + Self.fileName : directory
        let file = try SafetensorsFile(path: path)
        guard file.metadata["format"] == "pipe-judge", file.metadata["hash"] == "fnv1a64",
              let maxN = Int(file.metadata["max_n"] ?? ""), let buckets = Int(file.metadata["buckets"] ?? ""),
              maxN >= 1, buckets >= 1 else {
            throw StageError.failed("\(path): not a judge model (expected __metadata__ format pipe-judge, hash fnv1a64, max_n, buckets)")
        }
        let weights = try file.floats("weight")
        let bias = try file.floats("bias")
        guard weights.count == buckets, bias.count == 1 else {
            throw StageError.failed("\(path): weight has \(weights.count) entries for \(buckets) buckets, bias \(bias.count)")
        }
        self.init(features: JudgeFeatures(maxN: maxN, buckets: buckets), weights: weights, bias: bias[0])
    }

    public func save(directory: String) throws {
        let metadata = ["format": "pipe-judge", "hash": "fnv1a64", "max_n": String(features.maxN), "buckets": String(features.buckets)]
        try Safetensors.write([SafetensorsTensor(name: "weight", shape: [weights.count], floats: weights),
                               SafetensorsTensor(name: "bias", shape: [1], floats: [bias])],
                              metadata: metadata, to: directory + "/" + Self.fileName)
    }

    /// The classifier's logit for already-extracted features.
    func logit(_ x: (indices: [Int32], values: [Float])) -> Float {
        var z = bias
        for (i, v) in zip(x.indices, x.values) { z += weights[Int(i)] * v }
        return z
    }

    /// P(positive) for a review (or a prompt + generated continuation), in [0, 1].
    public func positiveProbability(text: String) -> Double {
        let z = Double(logit(features.extract(text)))
        return 1 / (1 + exp(-z))
    }

    public func positiveProbabilities(_ texts: [String]) -> [Double] { texts.map { positiveProbability(text: $0) } }
}
