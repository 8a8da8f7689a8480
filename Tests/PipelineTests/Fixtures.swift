import Foundation
@testable import Pipeline

/// A throw-away workspace in a temp directory, filled from strings.
final class TempWorkspace {
    let root: String

    init(_ files: [String: String] = Fixtures.declarations) throws {
        let base = FileManager.default.temporaryDirectory.path
        // Resolve /tmp symlinks so paths in messages match what the loader prints.
        let dir = URL(fileURLWithPath: base).resolvingSymlinksInPath().path + "/pipe-pipeline-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir + "/stages", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir + "/pipelines", withIntermediateDirectories: true)
        root = dir
        for (path, text) in files { try write(path, text) }
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    func path(_ relative: String) -> String { root + "/" + relative }

    func write(_ relative: String, _ text: String) throws {
        let full = path(relative)
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: full, atomically: true, encoding: .utf8)
    }

    var workspace: Workspace { Workspace(root: root) }

    /// Loads `pipelines/<name>` after writing `text` there.
    func load(_ text: String, name: String = "p.yaml", overrides: [String] = []) throws -> ResolvedPipeline {
        try write("pipelines/\(name)", text)
        let parsed = try overrides.map { text throws(PipelineError) in try ParamOverride.parse(text) }
        return try PipelineLoader.load(file: path("pipelines/\(name)"), overrides: parsed)
    }

    /// The error of loading `text`, with the workspace prefix removed from file names.
    func error(_ text: String, name: String = "p.yaml", overrides: [String] = []) -> String? {
        do {
            _ = try load(text, name: name, overrides: overrides)
            return nil
        } catch let error as PipelineError {
            return error.description.replacingOccurrences(of: root + "/", with: "")
        } catch {
            return "unexpected error: \(error)"
        }
    }
}

enum Fixtures {
    /// Declarations shaped like the RLHF stack: tokenise → sft → rm-pairs → rm → ppo → evaluate,
    /// plus a command kind (`judge`).
    static let declarations: [String: String] = [
        "stages/tokenise.yaml": """
            kind: tokenise
            version: 1
            doc: Byte-level BPE tokeniser and tokenised corpus.
            builtin: tokenise
            inputs:
              corpus: { doc: text corpus, optional: true }
            outputs:
              tokens: { doc: token ids }
              tokenizer: { doc: tokenizer.json }
            params:
              vocab_size: { type: int, default: 4000, min: 16, doc: vocabulary size }
            """,
        "stages/sft.yaml": """
            kind: sft
            version: 2
            builtin: sft
            inputs:
              tokens: { doc: token ids }
              tokenizer: { doc: tokenizer }
            outputs:
              model: { doc: the SFT model }
            params:
              lr: { type: float, default: 3e-4, min: 0 }
              steps: { type: int, default: 100, min: 1 }
              n_layer: { type: int, default: 2, min: 1, max: 12 }
            resources: { cpus: 1, mem: 2G }
            """,
        "stages/rm-pairs.yaml": """
            kind: rm-pairs
            version: 1
            builtin: rm-pairs
            inputs:
              corpus: {}
              model: {}
            outputs:
              pairs: {}
            params:
              strategy: { type: string, default: labels, choices: [labels, samples] }
            """,
        "stages/rm.yaml": """
            kind: rm
            version: 1
            builtin: rm
            inputs:
              pairs: {}
              init: {}
            outputs:
              model: {}
            params:
              epochs: { type: int, default: 1, min: 1 }
            """,
        "stages/ppo.yaml": """
            kind: ppo
            version: 1
            doc: PPO fine-tuning of a policy against a reward model.
            builtin: ppo
            inputs:
              policy: { doc: SFT model }
              reward: { doc: reward model }
              prompts: { doc: optional prompt file, optional: true }
            outputs:
              model: { doc: the PPO policy }
              metrics: { doc: per-step metrics }
            params:
              lr:            { type: float,  default: 1.41e-5, doc: Adam learning rate }
              init_kl_coef:  { type: float,  default: 0.2,  min: 0, doc: initial KL penalty coefficient }
              steps:         { type: int,    default: 100,  min: 1, doc: PPO steps }
              adaptive_kl:   { type: bool,   default: true, doc: adapt towards target_kl }
              prompts_list:  { type: list,   default: [], doc: extra prompts }
            resources: { cpus: 2, time: 30m }
            """,
        "stages/evaluate.yaml": """
            kind: evaluate
            version: 3
            builtin: evaluate
            inputs:
              policy: {}
              baseline: {}
              reward: {}
            outputs:
              metrics: {}
            params:
              samples: { type: int, default: 64, min: 1 }
            """,
        "stages/judge.yaml": """
            kind: judge
            version: 1
            run: "python3 judge.py ${inputs.model} ${params.steps} ${outs.report}"
            deps: [judge.py]
            inputs:
              model: {}
            outputs:
              report: {}
            params:
              steps: { type: int, default: 10 }
            """,
        "judge.py": "print('judge')\n",
        "plot.py": "print('plot')\n",
    ]

    /// A valid 6-stage pipeline over `declarations`.
    static let rlhf = """
        name: rlhf
        seed: 7
        stages:
          tokens: { uses: tokenise, with: { vocab_size: 512 } }
          sft:    { uses: sft, inputs: { tokens: tokens.tokens, tokenizer: tokens.tokenizer }, with: { lr: 3e-4 } }
          pairs:  { uses: rm-pairs, inputs: { corpus: tokens.tokens, model: sft.model } }
          rm:     { uses: rm, inputs: { pairs: pairs.pairs, init: sft.model } }
          ppo:    { uses: ppo, inputs: { policy: sft.model, reward: rm.model }, with: { lr: 1.41e-5, init_kl_coef: 0.2 } }
          eval:   { uses: evaluate, inputs: { policy: ppo.model, baseline: sft.model, reward: rm.model } }
        """
}
