import Foundation
import Models
import Tensor

/// Draws fixed-length responses for a batch of variable-length queries (left-padded), plain ancestral
/// sampling from softmax(logits/τ) over the full vocabulary (top-k 0, top-p 1, as the classic demo: any
/// other sampling biases the k1 KL estimate).
public enum ResponseSampler {
    public static func sample(_ model: GPTModel, queries: [[Int32]], length: Int, temperature: Float, pad: Int32,
                              random: inout RandomStream) -> [Int32]
    {
        let b = queries.count
        var rows = queries
        var out = [Int32](repeating: 0, count: b * length)
        let v = model.config.vocabSize
        var probs = [Double](repeating: 0, count: v)
        for t in 0..<length {
            let batch = TokenBatch.leftPadded(rows, padToken: pad)
            model.forward(batch)
            let logits = model.logits
            for row in 0..<b {
                let z = logits.baseAddress! + (row * batch.time + batch.time - 1) * v
                let token = draw(z, vocab: v, temperature: temperature, probs: &probs, random: &random)
                out[row * length + t] = token
                rows[row].append(token)
            }
        }
        return out
    }

    /// One token from softmax(z/τ) by inverse CDF on a uniform draw.
    static func draw(_ z: UnsafePointer<Float>, vocab v: Int, temperature: Float, probs: inout [Double],
                     random: inout RandomStream) -> Int32
    {
        var maxZ = -Double.infinity
        for j in 0..<v { maxZ = max(maxZ, Double(z[j])) }
        let invT = 1 / Double(temperature)
        var sum = 0.0
        for j in 0..<v { let e = exp((Double(z[j]) - maxZ) * invT); probs[j] = e; sum += e }
        let u = random.nextUniform() * sum
        var acc = 0.0
        for j in 0..<v {
            acc += probs[j]
            if u < acc { return Int32(j) }
        }
        return Int32(v - 1)
    }
}
