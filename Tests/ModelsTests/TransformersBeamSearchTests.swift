import Foundation
import Testing
import Tensor
@testable import Models

/// pipe's beam search against transformers' `generate(num_beams=…, do_sample=False)` on the same
/// checkpoint, when $PIPE_TORCH_PYTHON names a Python with torch and transformers; skipped otherwise.
@Suite("Beam search against transformers")
struct TransformersBeamSearchTests {
    static let python = ProcessInfo.processInfo.environment["PIPE_TORCH_PYTHON"]
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("transformers_beam_search.py").path

    struct Run: Encodable {
        var num_beams: Int
        var length_penalty: Float
        var early_stopping: Stopping
        var max_new_tokens: Int
        var min_new_tokens = 0
        var eos: Int32?

        /// JSON false, true or "never", as transformers takes it.
        struct Stopping: Encodable {
            var mode: BeamStopping
            func encode(to encoder: Encoder) throws {
                var c = encoder.singleValueContainer()
                switch mode {
                case .heuristic: try c.encode(false)
                case .whenFull: try c.encode(true)
                case .never: try c.encode("never")
                }
            }
        }

        func encode(to encoder: Encoder) throws {
            enum Key: String, CodingKey { case num_beams, length_penalty, early_stopping, max_new_tokens, min_new_tokens, eos }
            var c = encoder.container(keyedBy: Key.self)
            try c.encode(num_beams, forKey: .num_beams)
            try c.encode(Double("\(length_penalty)")!, forKey: .length_penalty)
            try c.encode(early_stopping, forKey: .early_stopping)
            try c.encode(max_new_tokens, forKey: .max_new_tokens)
            try c.encode(min_new_tokens, forKey: .min_new_tokens)
            try c.encode(eos, forKey: .eos)   // null when nil
        }

        var options: BeamSearchOptions {
            BeamSearchOptions(maxNewTokens: max_new_tokens, numBeams: num_beams, lengthPenalty: length_penalty,
                              earlyStopping: early_stopping.mode, numReturnSequences: num_beams, eosTokenID: eos,
                              minNewTokens: min_new_tokens)
        }
    }

    struct Request: Encodable { var prompts: [[Int32]]; var runs: [Run] }
    struct Hypothesis: Decodable { var tokens: [Int32]; var score: Float }
    struct Response: Decodable { var runs: [[[Hypothesis]]] }

    /// Every hypothesis (tokens and score, best first) of transformers' beam search, for beam counts 1–5,
    /// length penalties −1…2, the three early_stopping modes, min_new_tokens, with and without EOS; pipe
    /// runs each run's prompts as one left-padded batch, transformers one prompt at a time.
    @Test(.enabled(if: python != nil, "set PIPE_TORCH_PYTHON to a Python with torch + transformers to run"))
    func sameHypothesesAsTransformers() throws {
        let dir = temporaryDirectory("beam-vs-hf")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var config = GPTConfig(vocabSize: 31, maxPositions: 32, channels: 12, layers: 2, heads: 3)
        config.initializerRange = 0.5
        let model = try GPTModel(config: config, seed: 17)
        for t in model.layout.tensors where t.name.hasSuffix(".bias") {
            Philox(seed: 9).fillNormal(model.parameters.pointer + t.offset, count: t.count, mean: 0, std: 0.3, stream: UInt64(t.offset))
        }
        try model.save(to: dir)
        let prompts: [[Int32]] = [[3, 1, 4, 1, 5, 9], [2, 6], [7], [8, 2, 8, 1]]
        // An EOS the model often picks: greedy's third token after the first prompt.
        let eos = model.beamSearch(prompts: [prompts[0]], options: BeamSearchOptions(maxNewTokens: 3, numBeams: 1)).best[0].tokens[2]
        func stop(_ m: BeamStopping) -> Run.Stopping { Run.Stopping(mode: m) }
        let runs = [
            Run(num_beams: 4, length_penalty: 1, early_stopping: stop(.heuristic), max_new_tokens: 10, eos: eos),
            Run(num_beams: 3, length_penalty: 0.5, early_stopping: stop(.whenFull), max_new_tokens: 10, eos: eos),
            Run(num_beams: 5, length_penalty: 2, early_stopping: stop(.never), max_new_tokens: 10, eos: eos),
            Run(num_beams: 4, length_penalty: -1, early_stopping: stop(.heuristic), max_new_tokens: 9, min_new_tokens: 2, eos: eos),
            Run(num_beams: 2, length_penalty: 1, early_stopping: stop(.heuristic), max_new_tokens: 8, eos: nil),
            Run(num_beams: 1, length_penalty: 1, early_stopping: stop(.heuristic), max_new_tokens: 10, eos: eos),
        ]
        try JSONEncoder().encode(Request(prompts: prompts, runs: runs)).write(to: URL(fileURLWithPath: dir + "/request.json"))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.python!)
        p.arguments = [Self.script, dir, dir + "/request.json", dir + "/out.json"]
        try p.run()
        p.waitUntilExit()
        try #require(p.terminationStatus == 0, "transformers_beam_search.py failed")
        let reference = try JSONDecoder().decode(Response.self, from: Data(contentsOf: URL(fileURLWithPath: dir + "/out.json")))
        var compared = 0, endedAtEOS = 0
        for (r, run) in runs.enumerated() {
            let ours = model.beamSearch(prompts: prompts, options: run.options)
            for (q, theirs) in reference.runs[r].enumerated() {
                let mine = ours.hypotheses[q]
                #expect(mine.map(\.tokens) == theirs.map(\.tokens), "run \(r) prompt \(q): pipe \(mine.map(\.tokens)) transformers \(theirs.map(\.tokens))")
                for (a, b) in zip(mine, theirs) { #expect(abs(a.score - b.score) < 1e-4, "run \(r) prompt \(q): score \(a.score) vs \(b.score)") }
                compared += theirs.count
                endedAtEOS += theirs.filter { $0.tokens.last == eos && run.eos != nil }.count
            }
        }
        #expect(compared == prompts.count * runs.map(\.num_beams).reduce(0, +))
        #expect(endedAtEOS > 0, "some hypotheses end at EOS")
        print("beam search vs transformers: \(compared) hypotheses compared over \(runs.count) runs × \(prompts.count) prompts, \(endedAtEOS) ended at EOS")
    }
}
