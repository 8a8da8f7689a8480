import ArgumentParser
import Foundation
import Models
import Stages
import Tensor
import Tokenizer

/// `pipe sample MODEL --prompt 这部电影很`: generations from any model artifact directory (sft, rm's
/// backbone, ppo) or HF GPT-2 folder (config.json + model.safetensors or sharded weights + tokenizer.json),
/// like a predict.py script: sampling (temperature, top-k, top-p), greedy, or beam search (--num-beams). A model that cannot be used is one `error:` line and exit status 2 (no
/// usage text: the command line was fine, the folder is not).
struct Sample: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Print generations from a model directory (config.json + model.safetensors + tokenizer.json).")

    @Argument(help: "Model directory, e.g. an sft or ppo `model` artifact, or an exported HF GPT-2 folder.")
    var model: String

    @Option(name: .shortAndLong, help: "Prompt text (repeat for several prompts). Default: one empty prompt (unconditional samples).")
    var prompt: [String] = []

    @Option(name: .customLong("field"), help: ArgumentHelp("A template field as name=value (repeat), e.g. --field instruction=… --field input=…; with the model's prompt_template.json.", valueName: "name=value"))
    var fields: [String] = []

    @Flag(help: "Ignore the model's prompt_template.json: encode each --prompt as it is (special-token text such as <|endoftext|> as its token).")
    var raw = false

    @Option(name: .short, help: "Samples per prompt (default 3); with --num-beams, the best hypotheses printed per prompt (default 1).")
    var n: Int?

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

    @Flag(help: "Keep generating after an end-of-sequence token (default: stop there).")
    var noStop = false

    @Option(name: .customLong("eos-token-id"), help: ArgumentHelp("A token id that ends a row (repeat for several). Default: the model's generation_config.json eos_token_id (an id or a list, as transformers' generate), else <|endoftext|>.", valueName: "id"))
    var eosTokenIDs: [Int] = []

    @Option(help: "Seed of the sampler.")
    var seed: UInt64 = 0

    @Option(help: "Beam search with this many beams instead of sampling (deterministic, as transformers' num_beams).")
    var numBeams: Int?

    @Option(help: "Beam search: hypotheses score Σ log p / length^X (> 0 favours longer ones).")
    var lengthPenalty: Float = 1

    @Option(help: ArgumentHelp("Beam search: when to stop, as transformers' early_stopping: false (stop once no running beam can beat the finished ones), true (once --num-beams hypotheses have finished), never.", valueName: "false|true|never"))
    var earlyStopping = "false"

    func validate() throws {
        if let n { guard n >= 1 else { throw ValidationError("-n must be at least 1") } }
        guard maxNewTokens >= 1 else { throw ValidationError("--max-new-tokens must be at least 1") }
        guard temperature > 0 else { throw ValidationError("--temperature must be > 0") }
        guard topP > 0 && topP <= 1 else { throw ValidationError("--top-p must be in (0, 1]") }
        guard BeamStopping(rawValue: earlyStopping) != nil else {
            throw ValidationError("--early-stopping must be false, true or never (got '\(earlyStopping)')")
        }
        guard lengthPenalty.isFinite else { throw ValidationError("--length-penalty must be a finite number") }
        if let numBeams {
            guard numBeams >= 1 else { throw ValidationError("--num-beams must be at least 1") }
            if let n, n > numBeams {
                throw ValidationError("-n \(n) asks for more hypotheses than --num-beams \(numBeams) keeps; use -n ≤ \(numBeams)")
            }
            // Beam search is deterministic: sampling controls would be silently ignored.
            let sampling = [("--greedy", greedy), ("--temperature", temperature != 1), ("--top-k", topK != 0), ("--top-p", topP != 1)]
            if let (flag, _) = sampling.first(where: { $0.1 }) {
                throw ValidationError("\(flag) is a sampling option; beam search (--num-beams) does not sample — drop one of them")
            }
        } else if lengthPenalty != 1 || earlyStopping != "false" {
            throw ValidationError("--length-penalty and --early-stopping apply to beam search only; add --num-beams N")
        }
    }

    /// A model folder that cannot be sampled from; the message names the file and the problem.
    struct ModelError: Error, CustomStringConvertible {
        let description: String
    }

    func run() throws {
        do {
            try sample()
        } catch let error as ModelError {
            FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
            throw ExitCode(2)
        }
    }

    /// The ids that end a row (never empty): --eos-token-id, else generation_config.json's
    /// eos_token_id as transformers' generate uses it (any of a list), else the tokenizer's
    /// end-of-text. A file id outside the vocabulary can never be generated: dropped with a warning
    /// (none left: end-of-text, so rows still stop).
    func stopTokens(endOfText: Int32, vocabulary: Int) throws -> [Int32] {
        if !eosTokenIDs.isEmpty {
            if let outside = eosTokenIDs.first(where: { $0 < 0 || $0 >= vocabulary }) {
                throw ModelError(description: "--eos-token-id \(outside) is outside the model's vocabulary (vocab_size \(vocabulary) in config.json)")
            }
            return eosTokenIDs.map { Int32($0) }
        }
        let listed: [Int]?
        do { listed = try GenerationConfigFile.eosTokenIDs(inDirectory: model) } catch { throw ModelError(description: "\(error)") }
        guard let listed else { return [endOfText] }
        let file = model + "/" + GenerationConfigFile.name
        let usable = listed.filter { $0 >= 0 && $0 < vocabulary }
        for id in listed where !usable.contains(id) {
            FileHandle.standardError.write(Data(("warning: \(file): eos_token_id \(id) is outside the model's vocabulary "
                + "(vocab_size \(vocabulary)); ignoring it\n").utf8))
        }
        guard !usable.isEmpty else {
            FileHandle.standardError.write(Data("warning: \(file): no usable eos_token_id; rows stop at <|endoftext|> (id \(endOfText)); --eos-token-id to choose\n".utf8))
            return [endOfText]
        }
        return usable.map { Int32($0) }
    }

    func sample() throws {
        BLAS.setThreads(1)
        let gpt: GPTModel
        do { gpt = try GPTModel.load(from: model) } catch { throw ModelError(description: "\(error)") }
        let tokenizer: PretrainedTokenizer
        do { tokenizer = try PretrainedTokenizer.load(directory: model) } catch { throw ModelError(description: "\(model): \(error)") }
        let eos = tokenizer.endOfTextId, vocabulary = gpt.config.vocabSize
        for (what, id) in [("end-of-text", eos), ("padding", tokenizer.padId)] where Int(id) >= vocabulary {
            throw ModelError(description: "\(model): the tokenizer's \(what) token id \(id) is outside the model's vocabulary "
                + "(vocab_size \(vocabulary) in config.json) — the tokenizer does not belong to this model")
        }
        let stops = try stopTokens(endOfText: eos, vocabulary: vocabulary)
        // The template the model was trained with renders each prompt (as the field `prompt`, beside the
        // --field values) exactly as the training stages did.
        let template: PromptTemplate?
        do { template = raw ? nil : try TemplateFile.load(from: model) } catch { throw ModelError(description: "\(error)") }
        var extra: [String: FieldValue] = [:]
        for field in fields {
            guard let eq = field.firstIndex(of: "="), eq != field.startIndex else {
                throw ValidationError("--field '\(field)' is not name=value")
            }
            extra[String(field[..<eq])] = .string(String(field[field.index(after: eq)...]))
        }
        if template == nil, !extra.isEmpty {
            throw ModelError(description: "\(model): --field needs a prompt template, and the folder has no prompt_template.json")
        }
        var prompts = prompt.isEmpty ? [""] : prompt
        var queries: [[Int32]] = []
        for (index, p) in prompts.enumerated() {
            var ids = [eos]
            if let template {
                var record = extra
                if !p.isEmpty || record["prompt"] == nil { record["prompt"] = .string(p) }
                let rendered = TemplatedRecords(template: template, tokenizer: tokenizer)
                do {
                    prompts[index] = try rendered.promptText(.prompt(fields: record))
                    ids += try rendered.promptTokens(.prompt(fields: record))
                } catch { throw ModelError(description: "\(model)/\(TemplateFile.name): \(error)") }
            } else {
                // Special-token text is the token, as the training stages encode prompts (and transformers).
                ids += tokenizer.encode(p)
            }
            if let outside = ids.first(where: { Int($0) >= vocabulary }) {
                throw ModelError(description: "\(model): prompt '\(prompts[index])' encodes to token id \(outside), outside the model's vocabulary "
                    + "(vocab_size \(vocabulary) in config.json) — the tokenizer does not belong to this model")
            }
            guard ids.count + maxNewTokens <= gpt.config.maxPositions else {
                throw ModelError(description: "prompt '\(prompts[index])' (\(ids.count) tokens) + --max-new-tokens \(maxNewTokens) exceeds the model's n_positions \(gpt.config.maxPositions)")
            }
            queries.append(ids)
        }
        if let numBeams {
            guard numBeams <= vocabulary else {
                throw ModelError(description: "--num-beams \(numBeams) exceeds the model's vocabulary (vocab_size \(vocabulary) in config.json)")
            }
            let count = n ?? 1
            var beamOptions = BeamSearchOptions(
                maxNewTokens: maxNewTokens, numBeams: numBeams, lengthPenalty: lengthPenalty,
                earlyStopping: BeamStopping(rawValue: earlyStopping) ?? .heuristic, numReturnSequences: count,
                eosTokenID: noStop ? nil : stops[0])
            beamOptions.otherEOSTokenIDs = noStop ? [] : Array(stops.dropFirst())
            let result = gpt.beamSearch(prompts: queries, options: beamOptions)
            for (i, text) in prompts.enumerated() {
                print("\(text)")
                for (k, h) in result.hypotheses[i].enumerated() {
                    print("  \(k + 1). \(text)\(tokenizer.decode(h.tokens, skipSpecial: true))   "
                        + "[\(h.tokens.count) tokens, log p \(String(format: "%.1f", h.logProb)), score \(String(format: "%.3f", h.score))]")
                }
            }
            return
        }
        let n = self.n ?? 3
        queries = queries.flatMap { Array(repeating: $0, count: n) }
        var options = SamplingOptions(maxNewTokens: maxNewTokens)
        options.temperature = temperature
        options.topK = topK
        options.topP = topP
        options.greedy = greedy
        options.eosTokenID = noStop ? nil : stops[0]
        options.otherEOSTokenIDs = noStop ? [] : Array(stops.dropFirst())
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
