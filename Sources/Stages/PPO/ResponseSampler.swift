import Foundation
import Models
import Tensor

/// Draws responses of `length` tokens for a batch of variable-length queries: left-padded, batched
/// KV-cache generation, plain ancestral sampling from softmax(logits/τ) over the full vocabulary (top-k
/// 0, top-p 1, as the classic demo: any other sampling biases the k1 KL estimate, trl#615).
public enum ResponseSampler {
    /// - stopAtEOS: rows stop at their first EOS and are filled with `pad` afterwards.
    public static func sample(_ model: GPTModel, queries: [[Int32]], length: Int, temperature: Float, pad: Int32,
                              eos: Int32? = nil, random: inout RandomStream) -> [Int32]
    {
        // A fresh sampling seed per call, drawn from the caller's stream so its counter covers it.
        let seed = UInt64(random.nextUniform() * 9_007_199_254_740_992)
        var options = SamplingOptions(maxNewTokens: length)
        options.temperature = temperature
        options.eosTokenID = eos
        options.padTokenID = pad
        options.seed = seed
        let generation = model.generate(prompts: TokenBatch.leftPadded(queries, padToken: pad), options: options)
        var out = [Int32](repeating: pad, count: queries.count * length)
        for b in 0..<queries.count {
            for s in 0..<generation.steps { out[b * length + s] = generation.tokens[b * generation.steps + s] }
        }
        return out
    }
}
