import ArgumentParser
import Foundation
import Models
import Stages
import Tensor
import Tokenizer

/// `pipe sample MODEL --prompt 这部电影很`: generations from any model artifact directory (sft, rm's
/// backbone, ppo: config.json + model.safetensors + tokenizer.json), like a predict.py script.
struct Sample: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Print generations from a model directory (config.json + model.safetensors + tokenizer.json).")

    @Argument(help: "Model directory, e.g. an sft or ppo `model` artifact, or an exported HF GPT-2 folder.")
    var model: String

    @Option(name: .shortAndLong, help: "Prompt text (repeat for several prompts). Default: the classic four.")
    var prompt: [String] = []

    @Option(name: .short, help: "Samples per prompt.")
    var n = 3

    @Option(help: "New tokens per sample.")
    var maxNewTokens = 32

    @Option(help: "Sampling temperature.")
    var temperature: Float = 1

    @Option(help: "Keep the k most likely tokens (0 = off).")
    var topK = 0

    @Option(help: "Nucleus sampling threshold (1 = off).")
    var topP: Float = 1

    @Flag(help: "Greedy decoding (argmax) instead of sampling.")
    var greedy = false

    @Flag(help: "Keep generating after <|endoftext|> (default: stop there).")
    var noStop = false

    @Option(help: "Seed of the sampler.")
    var seed: UInt64 = 0

    func validate() throws {
        guard n >= 1 else { throw ValidationError("-n must be at least 1") }
        guard maxNewTokens >= 1 else { throw ValidationError("--max-new-tokens must be at least 1") }
        guard temperature > 0 else { throw ValidationError("--temperature must be > 0") }
        guard topP > 0 && topP <= 1 else { throw ValidationError("--top-p must be in (0, 1]") }
    }

    func run() throws {
        BLAS.setThreads(1)
        let tokenizer: BPETokenizer
        let gpt: GPTModel
        do {
            tokenizer = try BPETokenizer(contentsOf: model)
            gpt = try GPTModel.load(from: model)
        } catch {
            throw ValidationError("\(model): \(error)")
        }
        let eos = tokenizer.endOfTextId
        let prompts = prompt.isEmpty ? [""] : prompt
        var queries: [[Int32]] = []
        for p in prompts {
            let ids = [eos] + tokenizer.encode(p, allowSpecial: false)
            guard ids.count + maxNewTokens <= gpt.config.maxPositions else {
                throw ValidationError("prompt '\(p)' (\(ids.count) tokens) + --max-new-tokens \(maxNewTokens) exceeds the model's n_positions \(gpt.config.maxPositions)")
            }
            queries += Array(repeating: ids, count: n)
        }
        var options = SamplingOptions(maxNewTokens: maxNewTokens)
        options.temperature = temperature
        options.topK = topK
        options.topP = topP
        options.greedy = greedy
        options.eosTokenID = noStop ? nil : eos
        options.padTokenID = tokenizer.padId
        options.seed = seed
        let generation = gpt.generate(prompts: TokenBatch.leftPadded(queries, padToken: tokenizer.padId), options: options)
        for (i, text) in prompts.enumerated() {
            print("\(text)")
            for k in 0..<n {
                let row = generation.row(i * n + k)
                let logp = generation.logProbs[((i * n + k) * generation.steps)..<((i * n + k) * generation.steps + row.count)].reduce(0, +)
                print("  \(k + 1). \(text)\(tokenizer.decode(row, skipSpecial: true))   [\(row.count) tokens, log p \(String(format: "%.1f", logp))]")
            }
        }
    }
}
