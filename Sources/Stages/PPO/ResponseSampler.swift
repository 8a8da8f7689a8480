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
        sample(queries: queries, length: length, temperature: temperature, pad: pad, eos: eos, random: &random) {
            model.generate(prompts: TokenBatch.leftPadded($0, padToken: pad), options: $1)
        }
    }

    /// As `sample(_:…)`, in fixed blocks of `RowShards.samplingRows` rows on the replicas' threads
    /// (each block left-padded on its own): the same tokens for any number of threads.
    public static func sample(_ replicas: ModelReplicas, queries: [[Int32]], length: Int, temperature: Float, pad: Int32,
                              eos: Int32? = nil, random: inout RandomStream) -> [Int32]
    {
        sample(queries: queries, length: length, temperature: temperature, pad: pad, eos: eos, random: &random) {
            replicas.generate(prompts: $0, options: $1)
        }
    }

    private static func sample(queries: [[Int32]], length: Int, temperature: Float, pad: Int32, eos: Int32?,
                               random: inout RandomStream, generate: ([[Int32]], SamplingOptions) -> Generation) -> [Int32]
    {
        // A fresh sampling seed per call, drawn from the caller's stream so its counter covers it.
        let seed = UInt64(random.nextUniform() * 9_007_199_254_740_992)
        var options = SamplingOptions(maxNewTokens: length)
        options.temperature = temperature
        options.eosTokenID = eos
        options.padTokenID = pad
        options.seed = seed
        let generation = generate(queries, options)
        var out = [Int32](repeating: pad, count: queries.count * length)
        for b in 0..<queries.count {
            for s in 0..<generation.steps { out[b * length + s] = generation.tokens[b * generation.steps + s] }
        }
        return out
    }
}
