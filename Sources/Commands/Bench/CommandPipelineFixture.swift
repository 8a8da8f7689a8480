import Foundation

/// A 6-stage pipeline of small shell commands shaped like the RLHF flow
/// (tokenise → sft → pairs → rm → ppo → evaluate), with its own `stages/` declarations.
/// Used by the end-to-end tests and by `pipe bench runner`, so both measure the same thing.
///
/// Every command appends `<stage> <pid>` to `$PIPE_LEDGER` when that variable is set: tests count
/// executions from the commands' own side, independent of what pipe reports.
public enum CommandPipelineFixture {
    public static let pipelineFile = "pipelines/rlhf.yaml"
    public static let ledgerFile = "ledger.txt"
    public static let corpusFile = "data/corpus.txt"
    public static let stageNames = ["tokens", "sft", "pairs", "rm", "ppo", "eval"]

    static let ledger = #"[ -z "$PIPE_LEDGER" ] || echo "$STAGE $$" >> "$PIPE_LEDGER""#

    static func declaration(kind: String, doc: String, command: String, inputs: [String], outputs: [String],
                            params: [(name: String, type: String, value: String, doc: String)], deps: [String] = []) -> String {
        var text = "kind: \(kind)\nversion: 1\ndoc: \(YAMLText.quoted(doc))\n"
        text += "run: '" + (#"STAGE=\#(kind); "# + ledger + "; " + command).replacingOccurrences(of: "'", with: "''") + "'\n"
        if !deps.isEmpty { text += "deps: [\(deps.joined(separator: ", "))]\n" }
        if !inputs.isEmpty {
            text += "inputs:\n" + inputs.map { "  \($0): { doc: the \($0) artifact }\n" }.joined()
        }
        text += "outputs:\n" + outputs.map { "  \($0): { doc: the \($0) file }\n" }.joined()
        if !params.isEmpty {
            text += "params:\n" + params.map { "  \($0.name): { type: \($0.type), default: \($0.value), doc: \(YAMLText.quoted($0.doc)) }\n" }.joined()
        }
        return text
    }

    /// Files of the fixture, workspace-relative path → contents.
    public static func files(ppoSleepSeconds: Double = 0, extraTokenDeps: [String] = []) -> [(String, String)] {
        let tokenise = declaration(
            kind: "tokenise", doc: "Split the corpus into lower-case words, one per line.",
            command: #"tr -cs 'A-Za-z' '\n' < data/corpus.txt | tr 'A-Z' 'a-z' | grep -v '^$' | head -n ${params.max_tokens} > ${outs.tokens}"#,
            inputs: [], outputs: ["tokens"],
            params: [("max_tokens", "int", "10000", "keep at most this many tokens")],
            deps: [corpusFile] + extraTokenDeps)
        let sft = declaration(
            kind: "sft", doc: "Count word frequencies (stands in for supervised fine-tuning).",
            command: #"{ echo "sft lr=${params.lr} steps=${params.steps}"; sort ${inputs.tokens} | uniq -c | sort -rn | head -n ${params.steps}; } > ${outs.model}"#,
            inputs: ["tokens"], outputs: ["model"],
            params: [("lr", "float", "3e-4", "learning rate"), ("steps", "int", "50", "vocabulary kept")])
        let pairs = declaration(
            kind: "rm-pairs", doc: "Pair up lines of the model (stands in for preference pairs). `note` does not change the output.",
            command: #": "${params.note}"; tail -n +2 ${inputs.model} | paste - - | head -n ${params.count} > ${outs.pairs}"#,
            inputs: ["model"], outputs: ["pairs"],
            params: [("count", "int", "20", "pairs kept"), ("note", "string", "''", "free text, not used by the command's output")])
        let rm = declaration(
            kind: "rm", doc: "Score pairs (stands in for reward-model training).",
            command: #"{ wc -l < ${inputs.pairs}; cat ${inputs.init} | wc -c; } > ${outs.model}"#,
            inputs: ["pairs", "init"], outputs: ["model"],
            params: [("margin", "float", "0.5", "margin")])
        let ppo = declaration(
            kind: "ppo", doc: "Combine policy and reward (stands in for PPO).",
            command: #"sleep ${params.sleep}; { echo "ppo lr=${params.lr} kl=${params.init_kl_coef}"; cat ${inputs.reward}; head -n 5 ${inputs.policy}; } > ${outs.model}"#,
            inputs: ["policy", "reward"], outputs: ["model"],
            params: [("lr", "float", "1.41e-5", "learning rate"), ("init_kl_coef", "float", "0.2", "initial KL coefficient"),
                     ("sleep", "float", "0", "seconds to sleep first (tests kill it meanwhile)")])
        let evaluate = declaration(
            kind: "evaluate", doc: "Summarise the policy (stands in for evaluation). `fail: true` makes it fail.",
            command: #"if [ "${params.fail}" = true ]; then echo "evaluating ${inputs.policy}"; echo "error: reward model diverged (asked to fail)" >&2; exit 3; fi; { wc -l < ${inputs.policy}; wc -l < ${inputs.reward}; } > ${outs.metrics}"#,
            inputs: ["policy", "reward"], outputs: ["metrics"],
            params: [("fail", "bool", "false", "fail on purpose")])
        let sleep = ppoSleepSeconds == 0 ? "" : ", sleep: \(ppoSleepSeconds)"
        let pipeline = """
        name: rlhf-shaped
        seed: 7
        stages:
          tokens: { uses: tokenise }
          sft:    { uses: sft, inputs: { tokens: tokens.tokens }, with: { lr: 3e-4, steps: 40 } }
          pairs:  { uses: rm-pairs, inputs: { model: sft.model }, with: { count: 12 } }
          rm:     { uses: rm, inputs: { pairs: pairs.pairs, init: sft.model } }
          ppo:    { uses: ppo, inputs: { policy: sft.model, reward: rm.model }, with: { lr: 1.41e-5, init_kl_coef: 0.2\(sleep) } }
          eval:   { uses: evaluate, inputs: { policy: ppo.model, reward: rm.model } }

        """
        var corpus = ""
        let words = ["the", "film", "was", "great", "terrible", "acting", "plot", "boring", "loved", "it", "music", "slow"]
        var state: UInt64 = 12345
        for line in 0..<200 {
            var sentence: [String] = []
            for _ in 0..<(5 + line % 7) {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                sentence.append(words[Int(state >> 33) % words.count])
            }
            corpus += sentence.joined(separator: " ") + ".\n"
        }
        return [
            ("stages/tokenise.yaml", tokenise), ("stages/sft.yaml", sft), ("stages/rm-pairs.yaml", pairs),
            ("stages/rm.yaml", rm), ("stages/ppo.yaml", ppo), ("stages/evaluate.yaml", evaluate),
            (pipelineFile, pipeline), (corpusFile, corpus),
        ]
    }

    public static func write(into root: String, ppoSleepSeconds: Double = 0, extraTokenDeps: [String] = []) throws {
        for (relative, text) in files(ppoSleepSeconds: ppoSleepSeconds, extraTokenDeps: extraTokenDeps) {
            let url = URL(fileURLWithPath: root + "/" + relative)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url)
        }
    }
}
