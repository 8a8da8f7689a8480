import Foundation
import RandomTestSupport
import Testing
@testable import Pipeline

/// One bad pipeline (or declaration, or override) per row, with the exact message expected.
struct DiagnosticCase: CustomTestStringConvertible, Sendable {
    var name: String
    var pipeline: String
    var files: [String: String] = [:]
    var overrides: [String] = []
    var symlinkOutside: String? = nil
    var symlinkTarget = "/"
    var expected: String

    var testDescription: String { name }
}

private let header = "name: t\nseed: 1\nstages:\n"

/// Ten levels of ten aliases each ("billion laughs"): expanded in full, 10^10 scalars.
let aliasBomb: String = {
    var text = "l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
    for level in 1...9 {
        text += "l\(level): &l\(level) [" + Array(repeating: "*l\(level - 1)", count: 10).joined(separator: ", ") + "]\n"
    }
    return text + "name: *l9\nseed: 1\nstages:\n  a: { run: echo, outs: [x] }\n"
}()

/// A merge-key chain: each level merges the previous one ten times (`<<: [*m8, *m8, ...]`).
let mergeChain: String = {
    var text = "name: t\nseed: 1\nx-m0: &m0 { k0: 1 }\n"
    for level in 1...9 {
        text += "x-m\(level): &m\(level) { <<: [" + Array(repeating: "*m\(level - 1)", count: 10).joined(separator: ", ") + "], k\(level): 1 }\n"
    }
    return text + "stages:\n  a: { <<: *m9, run: echo, outs: [x] }\n"
}()

let diagnosticCases: [DiagnosticCase] = [
    DiagnosticCase(name: "YAML syntax: bad indentation", pipeline: """
        name: t
        stages:
          a: { uses: tokenise }
         b: { uses: tokenise }
        """, expected: "pipelines/p.yaml:4:2: error: YAML syntax: did not find expected key (while parsing a block mapping at line 1, column 1)"),
    DiagnosticCase(name: "YAML syntax: unterminated quote", pipeline: header + """
          a: { run: "echo hi, outs: [x] }

        """, expected: "pipelines/p.yaml:5:1: error: YAML syntax: found unexpected end of stream (while scanning a quoted scalar at line 4, column 13)"),
    DiagnosticCase(name: "unknown kind", pipeline: header + """
          tok:
            uses: tokenis
        """, expected: "pipelines/p.yaml:5:11: error: stage 'tok': unknown kind 'tokenis' (no stages/tokenis.yaml) (did you mean 'tokenise'?)"),
    DiagnosticCase(name: "misspelt param", pipeline: header + """
          tok:
            uses: tokenise
            with:
              vocab_sise: 100
        """, expected: "pipelines/p.yaml:7:7: error: stage 'tok': unknown param 'vocab_sise' (see stages/tokenise.yaml) (did you mean 'vocab_size'?)"),
    DiagnosticCase(name: "float where int is declared", pipeline: header + """
          tok:
            uses: tokenise
            with: { vocab_size: 1.5e3 }
        """, expected: "pipelines/p.yaml:6:25: error: stage 'tok': param 'vocab_size': expected int, found float 1.5e3 (allowed: whole numbers from 16)"),
    DiagnosticCase(name: "string where float is declared", pipeline: header + """
          tok: { uses: tokenise }
          sft:
            uses: sft
            inputs: { tokens: tok.tokens, tokenizer: tok.tokenizer }
            with:
              lr: "3e-4"
        """, expected: "pipelines/p.yaml:9:11: error: stage 'sft': param 'lr': expected float, found string \"3e-4\""),
    DiagnosticCase(name: "YAML 1.1 bool spelling is a string", pipeline: header + """
          tok: { uses: tokenise }
          sft: { uses: sft, inputs: { tokens: tok.tokens, tokenizer: tok.tokenizer } }
          rm: { uses: rm, inputs: { pairs: tok.tokens, init: sft.model } }
          ppo: { uses: ppo, inputs: { policy: sft.model, reward: rm.model }, with: { adaptive_kl: yes } }
        """, expected: "pipelines/p.yaml:7:91: error: stage 'ppo': param 'adaptive_kl': expected bool, found string \"yes\""),
    DiagnosticCase(name: "below min", pipeline: header + """
          tok: { uses: tokenise, with: { vocab_size: 8 } }
        """, expected: "pipelines/p.yaml:4:46: error: stage 'tok': param 'vocab_size': 8 is below the minimum 16"),
    DiagnosticCase(name: "above max", pipeline: header + """
          tok: { uses: tokenise }
          sft: { uses: sft, inputs: { tokens: tok.tokens, tokenizer: tok.tokenizer }, with: { n_layer: 13 } }
        """, expected: "pipelines/p.yaml:5:96: error: stage 'sft': param 'n_layer': 13 is above the maximum 12"),
    DiagnosticCase(name: "not one of the choices", pipeline: header + """
          tok: { uses: tokenise }
          sft: { uses: sft, inputs: { tokens: tok.tokens, tokenizer: tok.tokenizer } }
          pairs:
            uses: rm-pairs
            inputs: { corpus: tok.tokens, model: sft.model }
            with: { strategy: random }
        """, expected: "pipelines/p.yaml:9:23: error: stage 'pairs': param 'strategy': random is not one of labels, samples"),
    DiagnosticCase(name: "missing required input", pipeline: header + """
          tok: { uses: tokenise }
          sft: { uses: sft, inputs: { tokens: tok.tokens } }
        """, expected: "pipelines/p.yaml:5:3: error: stage 'sft': missing required input 'tokenizer' (wire it as inputs: { tokenizer: <stage>.<output> })"),
    DiagnosticCase(name: "unknown input name", pipeline: header + """
          tok: { uses: tokenise }
          sft:
            uses: sft
            inputs:
              tokens: tok.tokens
              tokeniser: tok.tokenizer
        """, expected: """
        pipelines/p.yaml:5:3: error: stage 'sft': missing required input 'tokenizer' (wire it as inputs: { tokenizer: <stage>.<output> })
        pipelines/p.yaml:9:7: error: stage 'sft': unknown input 'tokeniser' (it takes 'tokens', 'tokenizer') (did you mean 'tokenizer'?)
        """),
    DiagnosticCase(name: "reference to an unknown stage", pipeline: header + """
          tok: { uses: tokenise }
          sft: { uses: sft, inputs: { tokens: tokk.tokens, tokenizer: tok.tokenizer } }
        """, expected: "pipelines/p.yaml:5:39: error: stage 'sft': input 'tokens' refers to unknown stage 'tokk' (did you mean 'tok'?)"),
    DiagnosticCase(name: "reference to an unknown output", pipeline: header + """
          tok: { uses: tokenise }
          sft: { uses: sft, inputs: { tokens: tok.token, tokenizer: tok.tokenizer } }
        """, expected: "pipelines/p.yaml:5:39: error: stage 'sft': input 'tokens': stage 'tok' has no output 'token' (it has 'tokens', 'tokenizer') (did you mean 'tok.tokens'?)"),
    DiagnosticCase(name: "input reference without an output", pipeline: header + """
          tok: { uses: tokenise }
          sft: { uses: sft, inputs: { tokens: tok, tokenizer: tok.tokenizer } }
        """, expected: "pipelines/p.yaml:5:39: error: stage 'sft': input 'tokens': 'tok' is not a 'stage.output' reference"),
    DiagnosticCase(name: "duplicate stage names", pipeline: header + """
          tok: { uses: tokenise }
          sft: { uses: tokenise }
          tok: { uses: tokenise }
        """, expected: "pipelines/p.yaml:6:3: error: duplicate key 'tok' (first defined at line 4)"),
    DiagnosticCase(name: "duplicate key in a flow mapping", pipeline: header + """
          tok: { uses: tokenise, with: { vocab_size: 100, vocab_size: 200 } }
        """, expected: "pipelines/p.yaml:4:51: error: duplicate key 'vocab_size' (first defined at line 4)"),
    DiagnosticCase(name: "unknown alias", pipeline: header + """
          tok: *base
        """, expected: "pipelines/p.yaml:4:8: error: YAML: unknown alias '*base' (define it first with '&base')"),
    DiagnosticCase(name: "two documents", pipeline: header + """
          tok: { uses: tokenise }
        ---
        name: other
        """, expected: "pipelines/p.yaml:5:1: error: YAML: only one YAML document is allowed (remove the second '---')"),
    DiagnosticCase(name: "cycle", pipeline: header + """
          a: { run: "cp ${inputs.x} ${outs.o}", inputs: { x: c.o }, outs: [o] }
          b: { run: "cp ${inputs.x} ${outs.o}", inputs: { x: a.o }, outs: [o] }
          c: { run: "cp ${inputs.x} ${outs.o}", inputs: { x: b.o }, outs: [o] }
        """, expected: "pipelines/p.yaml:5:54: error: cycle between stages: a → b → c → a"),
    DiagnosticCase(name: "stage reading its own output", pipeline: header + """
          a: { run: "cp ${inputs.x} ${outs.o}", inputs: { x: a.o }, outs: [o] }
        """, expected: "pipelines/p.yaml:4:54: error: cycle between stages: a → a"),
    DiagnosticCase(name: "out escaping with ../", pipeline: header + """
          a: { run: "echo > ${outs.o}", outs: [o, ../escape] }
        """, expected: "pipelines/p.yaml:4:43: error: stage 'a': out '../escape' escapes the workspace (remove '../')"),
    DiagnosticCase(name: "absolute out", pipeline: header + """
          a:
            run: "echo > ${outs.o}"
            outs:
              - o
              - /tmp/x
        """, expected: "pipelines/p.yaml:8:9: error: stage 'a': out '/tmp/x' is an absolute path (use a path relative to the workspace root WS)"),
    DiagnosticCase(name: "out through a symlink leading outside", pipeline: header + """
          a: { run: "echo > ${outs.o}", outs: [o, link/x] }
        """, symlinkOutside: "link", expected: "pipelines/p.yaml:4:43: error: stage 'a': out 'link/x' leads outside the workspace through a symlink (to /)"),
    DiagnosticCase(name: "dep escaping the workspace", pipeline: header + """
          a: { run: "echo > ${outs.o}", outs: [o], deps: [plot.py, ../../etc/passwd] }
        """, expected: "pipelines/p.yaml:4:60: error: stage 'a': dep '../../etc/passwd' escapes the workspace (remove '../')"),
    DiagnosticCase(name: "dep through a symlink leading outside", pipeline: header + """
          a: { run: "echo > ${outs.o}", outs: [o], deps: [evil] }
        """, symlinkOutside: "evil", symlinkTarget: "/etc/hostname",
        expected: "pipelines/p.yaml:4:51: error: stage 'a': dep 'evil' leads outside the workspace through a symlink (to /etc/hostname)"),
    DiagnosticCase(name: "missing dep", pipeline: header + """
          a: { run: "echo > ${outs.o}", outs: [o], deps: [plott.py] }
        """, expected: "pipelines/p.yaml:4:51: error: stage 'a': dep 'plott.py' does not exist (deps are files the command reads)"),
    DiagnosticCase(name: "missing dep of a stage whose doc says where it comes from", pipeline: header + """
          a: { deps: [data/x.txt], doc: "copies data fetched by scripts/get.sh", run: "cp data/x.txt ${outs.o}", outs: [o] }
        """, expected: "pipelines/p.yaml:4:15: error: stage 'a': dep 'data/x.txt' does not exist (deps are files the command reads) — the stage's doc: copies data fetched by scripts/get.sh"),
    DiagnosticCase(name: "path input that does not exist", pipeline: header + """
          a: { run: "cat ${inputs.src} > ${outs.o}", inputs: { src: ./data/missing.jsonl }, outs: [o] }
        """, expected: "pipelines/p.yaml:4:61: error: stage 'a': input 'src': path './data/missing.jsonl' does not exist (a path input names a file or directory in the workspace, relative to its root)"),
    DiagnosticCase(name: "path input escaping the workspace", pipeline: header + """
          a: { run: "cat ${inputs.src} > ${outs.o}", inputs: { src: ../outside.jsonl }, outs: [o] }
        """, expected: "pipelines/p.yaml:4:61: error: stage 'a': input 'src': path '../outside.jsonl' escapes the workspace (remove '../')"),
    DiagnosticCase(name: "absolute path input", pipeline: header + """
          a: { run: "cat ${inputs.src} > ${outs.o}", inputs: { src: /etc/hostname }, outs: [o] }
        """, expected: "pipelines/p.yaml:4:61: error: stage 'a': input 'src': path '/etc/hostname' is an absolute path (use a path relative to the workspace root WS)"),
    DiagnosticCase(name: "path input that is a symlink loop", pipeline: header + """
          a: { run: "cat ${inputs.src} > ${outs.o}", inputs: { src: ./loop/x.jsonl }, outs: [o] }
        """, symlinkOutside: "loop", symlinkTarget: "loop",
        expected: "pipelines/p.yaml:4:61: error: stage 'a': input 'src': path './loop/x.jsonl' is a symlink loop (fix or remove the link)"),
    DiagnosticCase(name: "path input through a symlink leading outside", pipeline: header + """
          a: { run: "cat ${inputs.src} > ${outs.o}", inputs: { src: ./evil }, outs: [o] }
        """, symlinkOutside: "evil", symlinkTarget: "/etc/hostname",
        expected: "pipelines/p.yaml:4:61: error: stage 'a': input 'src': path './evil' leads outside the workspace through a symlink (to /etc/hostname)"),
    DiagnosticCase(name: "workspace path without ./", pipeline: header + """
          a: { run: "cat ${inputs.src} > ${outs.o}", inputs: { src: data/x.jsonl }, outs: [o] }
        """, expected: "pipelines/p.yaml:4:61: error: stage 'a': input 'src': 'data/x.jsonl' is not a 'stage.output' reference (a workspace path starts with './': './data/x.jsonl')"),
    DiagnosticCase(name: "path input for an undeclared input", pipeline: header + """
          tok: { uses: tokenise, inputs: { sorce: ./data/x.jsonl } }
        """, files: ["data/x.jsonl": "{}\n"],
        expected: "pipelines/p.yaml:4:43: error: stage 'tok': unknown input 'sorce' (it takes 'corpus')"),
    DiagnosticCase(name: "empty file", pipeline: "\n# nothing here\n",
                   expected: "pipelines/p.yaml:1:1: error: pipeline is empty (expected name:, seed: and stages:)"),
    DiagnosticCase(name: "no stages", pipeline: "name: t\nstages: {}\n",
                   expected: "pipelines/p.yaml:2:9: error: pipeline has no stages (add a 'stages:' mapping, e.g. stages: { data: { uses: dataset } })"),
    DiagnosticCase(name: "unknown top-level key", pipeline: "name: t\nsed: 3\nstages:\n  a: { uses: tokenise }\n",
                   expected: "pipelines/p.yaml:2:1: error: pipeline: unknown key 'sed' (did you mean 'seed'?)"),
    DiagnosticCase(name: "unknown stage key", pipeline: header + """
          tok:
            uses: tokenise
            whith: { vocab_size: 100 }
        """, expected: "pipelines/p.yaml:6:5: error: stage 'tok': unknown key 'whith' (did you mean 'with'?)"),
    DiagnosticCase(name: "neither uses nor run", pipeline: header + "  tok: { with: { a: 1 } }\n",
                   expected: "pipelines/p.yaml:4:3: error: stage 'tok': needs 'uses: <kind>' or 'run: \"<command>\"'"),
    DiagnosticCase(name: "outs on a uses stage", pipeline: header + "  tok: { uses: tokenise, outs: [x] }\n",
                   expected: "pipelines/p.yaml:4:26: error: stage 'tok': 'outs:' is only for 'run:' stages (kind 'tokenise' declares its outputs in stages/tokenise.yaml)"),
    DiagnosticCase(name: "unknown param in a command", pipeline: header + """
          a:
            run: "python3 plot.py --steps ${params.stepz} > ${outs.o}"
            with: { steps: 3 }
            outs: [o]
        """, expected: "pipelines/p.yaml:5:35: error: stage 'a': '${params.stepz}' refers to an unknown param 'stepz' (it has 'steps') (did you mean '${params.steps}'?)"),
    DiagnosticCase(name: "unknown namespace in a command", pipeline: header + """
          a: { run: "cat ${input.x} > ${outs.o}", outs: [o] }
        """, expected: "pipelines/p.yaml:4:18: error: stage 'a': unknown reference '${input.x}' (use ${params.NAME}, ${inputs.NAME} or ${outs.NAME}) (did you mean '${inputs.x}'?)"),
    DiagnosticCase(name: "--set unknown stage", pipeline: Fixtures.rlhf, overrides: ["ppp.lr=3e-5"],
                   expected: "error: --set ppp.lr=3e-5: unknown stage 'ppp' (did you mean 'ppo'?)"),
    DiagnosticCase(name: "--set unknown param", pipeline: Fixtures.rlhf, overrides: ["ppo.lrr=3e-5"],
                   expected: "error: --set ppo.lrr=3e-5: stage 'ppo': unknown param 'lrr' (did you mean 'lr'?)"),
    DiagnosticCase(name: "--set unparsable value", pipeline: Fixtures.rlhf, overrides: ["ppo.prompts_list=[a, b"],
                   expected: "error: --set ppo.prompts_list=[a, b: cannot parse value '[a, b' (quote text with '...', write lists as [a, b])"),
    DiagnosticCase(name: "--set wrong type", pipeline: Fixtures.rlhf, overrides: ["ppo.steps=2.5"],
                   expected: "error: --set ppo.steps=2.5: stage 'ppo': param 'steps': expected int, found float 2.5 (allowed: whole numbers from 1)"),
    DiagnosticCase(name: "--set without =", pipeline: Fixtures.rlhf, overrides: ["ppo.steps"],
                   expected: "error: --set ppo.steps: expected stage.param=value (e.g. --set ppo.lr=3e-5)"),
    DiagnosticCase(name: "sweep over an unknown param", pipeline: Fixtures.rlhf + "\nsweep:\n  ppo.lrr: [1e-5, 3e-5]\n",
                   expected: "pipelines/p.yaml:11:3: error: sweep: stage 'ppo': unknown param 'lrr' (did you mean 'lr'?)"),
    DiagnosticCase(name: "bad resources", pipeline: header + """
          tok:
            uses: tokenise
            resources: { cpus: 0, mem: 4GB, time: soon }
        """, expected: """
        pipelines/p.yaml:6:24: error: stage 'tok': resources.cpus must be ≥ 1
        pipelines/p.yaml:6:32: error: stage 'tok': resources.mem: '4GB' is not a size (write e.g. 512M, 4G)
        pipelines/p.yaml:6:43: error: stage 'tok': resources.time: 'soon' is not a duration (write e.g. 90s, 30m, 2h, 1d or Slurm's HH:MM:SS)
        """),
    // These passed the loader and trapped when the Slurm executor converted them.
    DiagnosticCase(name: "resources beyond any conversion", pipeline: header + """
          tok:
            uses: tokenise
            resources: { mem: 1e300G, time: 9999999999999999d }
          tok2:
            uses: tokenise
            resources: { mem: infT }
        """, expected: """
        pipelines/p.yaml:6:23: error: stage 'tok': resources.mem: '1e300G' is too large (at most 2^53 KiB)
        pipelines/p.yaml:6:37: error: stage 'tok': resources.time: '9999999999999999d' is too long (at most 2^63 seconds)
        pipelines/p.yaml:9:23: error: stage 'tok2': resources.mem: 'infT' is not a size (write e.g. 512M, 4G)
        """),
    DiagnosticCase(name: "binary tag", pipeline: header + "  a: { run: !!binary aGVsbG8=, outs: [x] }\n",
                   expected: "pipelines/p.yaml:4:13: error: YAML: unsupported tag '!!binary' (pipelines hold plain text, numbers, booleans, lists and mappings; remove the tag)"),
    DiagnosticCase(name: "NUL in a command", pipeline: header + #"  a: { run: "echo > ${outs.x}\0; touch pwned", outs: [x] }"# + "\n",
                   expected: "pipelines/p.yaml:4:13: error: YAML: text contains a NUL character ('\\0'); remove it (commands, paths and names cannot hold one)"),
    DiagnosticCase(name: "NUL in a param", pipeline: header + #"  a: { run: "echo ${params.p} > ${outs.x}", outs: [x], with: { p: "a\0b" } }"# + "\n",
                   expected: "pipelines/p.yaml:4:67: error: YAML: text contains a NUL character ('\\0'); remove it (commands, paths and names cannot hold one)"),
    DiagnosticCase(name: "NUL in an out", pipeline: header + #"  a: { run: echo, outs: ["x\u0000y"] }"# + "\n",
                   expected: "pipelines/p.yaml:4:26: error: YAML: text contains a NUL character ('\\0'); remove it (commands, paths and names cannot hold one)"),
    DiagnosticCase(name: "nesting deeper than libyaml allows",
                   pipeline: header + "  a: { run: echo, outs: [x], with: { p: " + String(repeating: "[", count: 2000) + String(repeating: "]", count: 2000) + " } }\n",
                   expected: "pipelines/p.yaml:4:42: error: YAML: lists and mappings nest more than 1000 levels deep here; flatten the structure"),
    DiagnosticCase(name: "local tag on a mapping", pipeline: header + "  a: !thing { run: echo, outs: [x] }\n",
                   expected: "pipelines/p.yaml:4:6: error: YAML: unsupported tag '!thing' (pipelines hold plain text, numbers, booleans, lists and mappings; remove the tag)"),
    DiagnosticCase(name: "merge of a scalar", pipeline: header + "  a: { <<: 5, run: echo, outs: [x] }\n",
                   expected: "pipelines/p.yaml:4:12: error: YAML: '<<' merges mappings only (write '<<: *name' or '<<: [*a, *b]' with mapping anchors)"),
    DiagnosticCase(name: "nan below a minimum", pipeline: header + """
          tok: { uses: tokenise }
          sft: { uses: sft, inputs: { tokens: tok.tokens, tokenizer: tok.tokenizer }, with: { lr: .nan } }
        """, expected: "pipelines/p.yaml:5:91: error: stage 'sft': param 'lr': nan is not a finite number (the declaration may allow it with 'finite: false')"),
    DiagnosticCase(name: "infinite float param", pipeline: header + """
          tok: { uses: tokenise }
          sft: { uses: sft, inputs: { tokens: tok.tokens, tokenizer: tok.tokenizer }, with: { lr: .inf } }
        """, expected: "pipelines/p.yaml:5:91: error: stage 'sft': param 'lr': inf is not a finite number (the declaration may allow it with 'finite: false')"),
    DiagnosticCase(name: "nan allowed but not within bounds", pipeline: header + "  a: { uses: bad, with: { x: .nan } }\n",
                   files: ["stages/bad.yaml": "kind: bad\nversion: 1\nrun: \"echo ${params.x} > ${outs.o}\"\noutputs: { o: {} }\nparams:\n  x: { type: float, default: 1, min: 0, finite: false }\n"],
                   expected: "pipelines/p.yaml:4:30: error: stage 'a': param 'x': nan is not within the declared bounds"),
    DiagnosticCase(name: "nan in an undeclared param", pipeline: header + "  a: { run: \"echo ${params.x} > ${outs.o}\", outs: [o], with: { x: .nan } }\n",
                   expected: "pipelines/p.yaml:4:67: error: stage 'a': param 'x': nan is not a finite number (quote it to pass the text)"),
    DiagnosticCase(name: "non-ASCII param name", pipeline: header + "  a: { run: \"echo ${params.x} > ${outs.o}\", outs: [o], with: { x: 1, λ: 2 } }\n",
                   expected: "pipelines/p.yaml:4:70: error: stage 'a': param name 'λ' must be ASCII letters, digits, '_' or '-' (it is used in ${params.NAME})"),
    DiagnosticCase(name: "declaration: non-ASCII param name", pipeline: header + "  a: { uses: bad }\n",
                   files: ["stages/bad.yaml": "kind: bad\nversion: 1\nrun: \"echo > ${outs.o}\"\noutputs: { o: {} }\nparams:\n  λ: { type: int, default: 1 }\n"],
                   expected: "stages/bad.yaml:6:3: error: stage declaration: param name 'λ' must be ASCII letters, digits, '_' or '-'"),
    DiagnosticCase(name: "alias bomb", pipeline: aliasBomb,
                   expected: "pipelines/p.yaml:5:45: error: YAML: alias '*l3' expands the document beyond 100000 nodes (nested aliases multiply); write the values out or nest fewer aliases"),
    DiagnosticCase(name: "declaration: kind does not match file name", pipeline: header + "  a: { uses: bad }\n",
                   files: ["stages/bad.yaml": "kind: good\nversion: 1\nbuiltin: good\n"],
                   expected: "stages/bad.yaml:1:7: error: stage declaration: kind 'good' does not match the file name (rename the file to stages/good.yaml or set kind: bad)"),
    DiagnosticCase(name: "declaration: unknown key", pipeline: header + "  a: { uses: bad }\n",
                   files: ["stages/bad.yaml": "kind: bad\nversion: 1\nbuiltin: bad\nparam:\n  x: { type: int, default: 1 }\n"],
                   expected: "stages/bad.yaml:4:1: error: stage declaration: unknown key 'param' (did you mean 'params'?)"),
    DiagnosticCase(name: "declaration: comma in unquoted flow-mapping text", pipeline: header + "  a: { uses: bad }\n",
                   files: ["stages/bad.yaml": "kind: bad\nversion: 1\nbuiltin: bad\nparams:\n  x: { type: int, default: 1, doc: rate, higher }\n"],
                   expected: "stages/bad.yaml:5:42: error: stage declaration: param 'x': unknown key 'higher' (a comma inside { } separates entries: quote the text)"),
    DiagnosticCase(name: "declaration: comma splits text into a key with spaces", pipeline: header + "  a: { uses: bad }\n",
                   files: ["stages/bad.yaml": "kind: bad\nversion: 1\nbuiltin: bad\nparams:\n  x: { type: int, default: 1, doc: rate, higher is: faster }\n"],
                   expected: "stages/bad.yaml:5:42: error: stage declaration: param 'x': unknown key 'higher is' (a comma inside { } separates entries: quote the text)"),
    DiagnosticCase(name: "param name with spaces is cut text", pipeline: header + """
          tok: { uses: tokenise, with: { vocab_size: 100, more text } }
        """, expected: "pipelines/p.yaml:4:51: error: stage 'tok': unknown param 'more text' (a comma inside { } separates entries: quote the text)"),
    DiagnosticCase(name: "declaration: default of the wrong type", pipeline: header + "  a: { uses: bad }\n",
                   files: ["stages/bad.yaml": "kind: bad\nversion: 1\nbuiltin: bad\nparams:\n  x: { type: int, default: 0.5 }\n"],
                   expected: "stages/bad.yaml:5:28: error: stage declaration: param 'x': default: expected int, found float 0.5"),
    DiagnosticCase(name: "declaration: key rule", pipeline: header + "  a: { uses: bad }\n",
                   files: ["stages/bad.yaml": "kind: bad\nversion: 1\nbuiltin: bad\nparams:\n  x: { type: int, default: 1, key: sometimes }\n"],
                   expected: "stages/bad.yaml:5:36: error: stage declaration: param 'x': key: expected true, false or unless_default, found string \"sometimes\""),
    DiagnosticCase(name: "declaration: unknown type", pipeline: header + "  a: { uses: bad }\n",
                   files: ["stages/bad.yaml": "kind: bad\nversion: 1\nbuiltin: bad\nparams:\n  x: { type: flaot, default: 0.5 }\n"],
                   expected: "stages/bad.yaml:5:14: error: stage declaration: param 'x': unknown type 'flaot' (use int, float, string, bool or list) (did you mean 'float'?)"),
    DiagnosticCase(name: "declaration: command references an undeclared output", pipeline: header + "  a: { uses: bad }\n",
                   files: ["stages/bad.yaml": "kind: bad\nversion: 1\nrun: |\n  echo hi\n  echo > ${outs.reprot}\noutputs:\n  report: {}\n"],
                   expected: "stages/bad.yaml:5:10: error: stage declaration: '${outs.reprot}' refers to an unknown output 'reprot' (it has 'report') (did you mean '${outs.report}'?)"),
    DiagnosticCase(name: "metrics file not among the outs", pipeline: header + "  a: { run: \"echo > ${outs.o}\", outs: [o], metrics: [metrics.json] }\n",
                   expected: "pipelines/p.yaml:4:54: error: stage 'a': metrics file 'metrics.json' is not among its outs (it has 'o'; add it to outs:, or write it inside an output directory as 'o/metrics.json')"),
    DiagnosticCase(name: "metrics file that is neither JSON nor YAML", pipeline: header + "  a: { run: \"echo > ${outs.o}\", outs: [o], metrics: [o/scores.txt] }\n",
                   expected: "pipelines/p.yaml:4:54: error: stage 'a': metrics file 'o/scores.txt' must be a .json, .yaml or .yml file"),
    DiagnosticCase(name: "metrics file listed twice", pipeline: header + "  a: { run: \"echo > ${outs.m.json}\", outs: [m.json], metrics: [m.json, ./m.json] }\n",
                   expected: "pipelines/p.yaml:4:72: error: stage 'a': metrics file './m.json' is listed twice"),
    DiagnosticCase(name: "metrics on a uses: stage", pipeline: header + "  tok: { uses: tokenise, metrics: [m.json] }\n",
                   expected: "pipelines/p.yaml:4:26: error: stage 'tok': 'metrics:' is only for 'run:' stages (a command kind declares its metrics files in stages/tokenise.yaml; a built-in reports its own)"),
    DiagnosticCase(name: "declaration: metrics file not among the outputs", pipeline: header + "  a: { uses: bad }\n",
                   files: ["stages/bad.yaml": "kind: bad\nversion: 1\nrun: \"echo > ${outs.report}\"\noutputs: { report: {} }\nmetrics: [report/metrics.json, scores.json]\n"],
                   expected: "stages/bad.yaml:5:32: error: stage declaration: metrics file 'scores.json' is not among its outputs (it has 'report'; add it to outputs:, or write it inside an output directory as 'report/scores.json')"),
    DiagnosticCase(name: "declaration: metrics on a built-in", pipeline: header + "  a: { uses: bad }\n",
                   files: ["stages/bad.yaml": "kind: bad\nversion: 1\nbuiltin: bad\noutputs: { report: {} }\nmetrics: [report/metrics.json]\n"],
                   expected: "stages/bad.yaml:5:1: error: stage declaration: 'metrics:' is only for 'run:' declarations (built-in 'bad' reports its own metrics)"),
    DiagnosticCase(name: "sweep: a seed that is not a non-negative integer", pipeline: header + "  a: { run: \"echo hi > ${outs.o}\", outs: [o] }\nsweep:\n  seed: [1, -2]\n",
                   expected: "pipelines/p.yaml:6:3: error: sweep: seed must be an integer ≥ 0, not -2"),
    DiagnosticCase(name: "--set seed with a non-integer", pipeline: header + "  a: { run: \"echo hi > ${outs.o}\", outs: [o] }\n", overrides: ["seed=1.5"],
                   expected: "error: --set seed=1.5: seed must be an integer ≥ 0, not 1.5"),
    DiagnosticCase(name: "declaration: include of a group that does not exist", pipeline: header + "  a: { uses: bad }\n",
                   files: ["stages/bad.yaml": "kind: bad\nversion: 1\nbuiltin: bad\ninclude: [optimiser]\n",
                           "stages/shared/optimizer.yaml": "params:\n  lr: { type: float, default: 0.1, min: 0, doc: rate }\n"],
                   expected: "stages/bad.yaml:4:11: error: stage declaration: include 'optimiser': cannot read stages/shared/optimiser.yaml (did you mean 'optimizer'?)"),
    DiagnosticCase(name: "declaration: override of an included param gives a type", pipeline: header + "  a: { uses: bad }\n",
                   files: ["stages/bad.yaml": "kind: bad\nversion: 1\nbuiltin: bad\ninclude: [optimizer]\nparams:\n  lr: { type: int, default: 1 }\n",
                           "stages/shared/optimizer.yaml": "params:\n  lr: { type: float, default: 0.1, min: 0, doc: rate }\n"],
                   expected: "stages/bad.yaml:6:9: error: stage declaration: param 'lr': declared by an include group as float; drop 'type:' and give only what changes (default, doc, min, max, choices, key, finite)"),
    DiagnosticCase(name: "declaration: override of an included param breaks its limit", pipeline: header + "  a: { uses: bad }\n",
                   files: ["stages/bad.yaml": "kind: bad\nversion: 1\nbuiltin: bad\ninclude: [optimizer]\nparams:\n  lr: { default: -1 }\n",
                           "stages/shared/optimizer.yaml": "params:\n  lr: { type: float, default: 0.1, min: 0, doc: rate }\n"],
                   expected: "stages/bad.yaml:6:18: error: stage declaration: param 'lr': default -1.0 is below the minimum 0.0"),
    DiagnosticCase(name: "declaration: a bad param inside an include group names the group's file", pipeline: header + "  a: { uses: bad }\n",
                   files: ["stages/bad.yaml": "kind: bad\nversion: 1\nbuiltin: bad\ninclude: [optimizer]\n",
                           "stages/shared/optimizer.yaml": "params:\n  lr: { type: float, default: x }\n"],
                   expected: "stages/shared/optimizer.yaml:2:31: error: stage declaration: param 'lr': default: expected float, found string \"x\""),
    // `include:` of other pipeline files: problems with the entry are placed at it, problems inside
    // an included file name that file.
    DiagnosticCase(name: "include: a file that does not exist", pipeline: "name: t\ninclude: [comon.yaml]\n",
                   files: ["pipelines/common.yaml": "stages:\n  a: { uses: tokenise }\n"],
                   expected: "pipelines/p.yaml:2:11: error: include 'comon.yaml': no file pipelines/comon.yaml (an include path is relative to the including file's directory) (did you mean 'common.yaml'?)"),
    DiagnosticCase(name: "include: an entry that is not a path", pipeline: "name: t\ninclude: [common.yaml, { file: x.yaml }]\n",
                   files: ["pipelines/common.yaml": "stages:\n  a: { uses: tokenise }\n"],
                   expected: "pipelines/p.yaml:2:24: error: pipeline: include: expected a string, found a mapping"),
    DiagnosticCase(name: "include: an empty path", pipeline: "name: t\ninclude: \"\"\nstages:\n  a: { uses: tokenise }\n",
                   expected: "pipelines/p.yaml:2:10: error: pipeline: include: empty path (name a pipeline file, e.g. include: sentiment.yaml)"),
    DiagnosticCase(name: "include: under stages", pipeline: header + "  include: common.yaml\n  a: { uses: tokenise }\n",
                   expected: "pipelines/p.yaml:4:3: error: pipeline: 'include:' goes at the top level of the file, not under 'stages:' (it takes the stages of other pipeline files)"),
    DiagnosticCase(name: "include: inside a stage", pipeline: header + "  a: { uses: tokenise, include: common.yaml }\n",
                   expected: "pipelines/p.yaml:4:24: error: stage 'a': 'include:' goes at the top level of the file, not in a stage (it takes the stages of other pipeline files)"),
    DiagnosticCase(name: "include: an empty file", pipeline: "name: t\ninclude: common.yaml\nstages:\n  a: { uses: tokenise }\n",
                   files: ["pipelines/common.yaml": "# nothing yet\n"],
                   expected: "pipelines/p.yaml:2:10: error: include 'common.yaml': pipelines/common.yaml is empty (an included file holds 'stages:')"),
    DiagnosticCase(name: "include: a file that does not parse names that file", pipeline: "name: t\ninclude: common.yaml\n",
                   files: ["pipelines/common.yaml": "stages:\n  a: { uses: tokenise\n"],
                   expected: "pipelines/common.yaml:3:1: error: YAML syntax: did not find expected ',' or '}' (while parsing a flow mapping at line 2, column 6)"),
    DiagnosticCase(name: "include: a misspelt param in an included stage names that file", pipeline: "name: t\ninclude: shared/common.yaml\n",
                   files: ["pipelines/shared/common.yaml": "stages:\n  tok:\n    uses: tokenise\n    with: { vocab_sise: 100 }\n"],
                   expected: "pipelines/shared/common.yaml:4:13: error: stage 'tok': unknown param 'vocab_sise' (see stages/tokenise.yaml) (did you mean 'vocab_size'?)"),
    DiagnosticCase(name: "include: a bad reference in an included command names that file", pipeline: "name: t\ninclude: common.yaml\n",
                   files: ["pipelines/common.yaml": "\nstages:\n  a: { run: \"echo ${params.n} > ${outs.o}\", outs: [o] }\n"],
                   expected: "pipelines/common.yaml:3:19: error: stage 'a': '${params.n}' refers to an unknown param 'n' (it has none)"),
    DiagnosticCase(name: "include: an unknown top-level key in an included file", pipeline: "name: t\ninclude: common.yaml\n",
                   files: ["pipelines/common.yaml": "stages:\n  a: { uses: tokenise }\nsweeps: {}\n"],
                   expected: "pipelines/common.yaml:3:1: error: pipeline: unknown key 'sweeps' (did you mean 'sweep'?)"),
    DiagnosticCase(name: "include: a stage defined in the includer and an included file", pipeline: "name: t\ninclude: common.yaml\nstages:\n  tok: { uses: tokenise }\n",
                   files: ["pipelines/common.yaml": "stages:\n  tok: { uses: tokenise, with: { vocab_size: 100 } }\n"],
                   expected: "pipelines/p.yaml:4:3: error: stage 'tok' is also defined at pipelines/common.yaml:2:3 (a pipeline and the files it includes share one set of stage names: rename one of them)"),
    DiagnosticCase(name: "include: a stage defined in two included files", pipeline: "name: t\ninclude: [a.yaml, b.yaml]\n",
                   files: ["pipelines/a.yaml": "stages:\n  tok: { uses: tokenise }\n", "pipelines/b.yaml": "# b\nstages:\n  tok: { uses: tokenise }\n"],
                   expected: "pipelines/b.yaml:3:3: error: stage 'tok' is also defined at pipelines/a.yaml:2:3 (a pipeline and the files it includes share one set of stage names: rename one of them)"),
    DiagnosticCase(name: "include: a cycle names the chain", pipeline: "name: t\ninclude: a.yaml\nstages:\n  tok: { uses: tokenise }\n",
                   files: ["pipelines/a.yaml": "include: b.yaml\n", "pipelines/b.yaml": "stages:\n  x: { uses: tokenise }\ninclude: [p.yaml]\n"],
                   expected: "pipelines/b.yaml:3:11: error: include cycle: pipelines/p.yaml → pipelines/a.yaml → pipelines/b.yaml → pipelines/p.yaml (remove one of these includes)"),
    DiagnosticCase(name: "include: a file including itself", pipeline: "name: t\ninclude: ./p.yaml\nstages:\n  tok: { uses: tokenise }\n",
                   expected: "pipelines/p.yaml:2:10: error: include cycle: pipelines/p.yaml → pipelines/p.yaml (remove one of these includes)"),
    DiagnosticCase(name: "include: a cycle through a symlinked directory", pipeline: "name: t\ninclude: a.yaml\nstages:\n  tok: { uses: tokenise }\n",
                   files: ["pipelines/a.yaml": "include: loop/a.yaml\n"], symlinkOutside: "pipelines/loop", symlinkTarget: ".",
                   expected: "pipelines/a.yaml:1:10: error: include cycle: pipelines/a.yaml → pipelines/loop/a.yaml (remove one of these includes)"),
    DiagnosticCase(name: "include: a directory", pipeline: "name: t\ninclude: shared\n",
                   files: ["pipelines/shared/a.yaml": "stages: {}\n"],
                   expected: "pipelines/p.yaml:2:10: error: include 'shared': cannot read pipelines/shared: is a directory, not a file"),
    DiagnosticCase(name: "include: a device", pipeline: "name: t\ninclude: /dev/zero\n",
                   expected: "pipelines/p.yaml:2:10: error: include '/dev/zero': cannot read /dev/zero: is a device, not a regular file"),
    DiagnosticCase(name: "a text file given as a pipeline is quoted shortly", pipeline: String(repeating: "lorem ipsum ", count: 40) + "\n",
                   expected: "pipelines/p.yaml:1:1: error: pipeline: expected a mapping (key: value), found string \"lorem ipsum lorem ipsum lorem ipsum lorem ipsum lorem ips…\""),
    DiagnosticCase(name: "include: an included stage reading a stage nobody defines", pipeline: "name: t\ninclude: common.yaml\n",
                   files: ["pipelines/common.yaml": "stages:\n  sft: { uses: sft, inputs: { tokens: tok.tokens, tokenizer: tokens.tokenizer } }\n  tokens: { uses: tokenise }\n"],
                   expected: "pipelines/common.yaml:2:39: error: stage 'sft': input 'tokens' refers to unknown stage 'tok'"),
]

@Suite struct DiagnosticsTests {
    @Test(arguments: diagnosticCases)
    func reportsPositionedError(_ row: DiagnosticCase) throws {
        let ws = try TempWorkspace(Fixtures.declarations.merging(row.files) { $1 })
        if let link = row.symlinkOutside {
            try FileManager.default.createSymbolicLink(atPath: ws.path(link), withDestinationPath: row.symlinkTarget)
        }
        let message = ws.error(row.pipeline, overrides: row.overrides)
        #expect(message == row.expected.replacingOccurrences(of: "WS", with: ws.root))
    }

    @Test func allIndependentProblemsAreReportedInFileOrder() throws {
        let ws = try TempWorkspace()
        let message = ws.error(header + """
              tok: { uses: tokenise, with: { vocab_sise: 100 } }
              sft: { uses: sft, inputs: { tokens: tok.tokens, tokenizer: tok.tokenizer }, with: { steps: 0, lr: x } }
            """)
        #expect(message == """
            pipelines/p.yaml:4:34: error: stage 'tok': unknown param 'vocab_sise' (see stages/tokenise.yaml) (did you mean 'vocab_size'?)
            pipelines/p.yaml:5:94: error: stage 'sft': param 'steps': 0 is below the minimum 1
            pipelines/p.yaml:5:101: error: stage 'sft': param 'lr': expected float, found string "x"
            """)
    }

    @Test func diagnosticsCarryTheFieldPath() throws {
        let ws = try TempWorkspace()
        do {
            _ = try ws.load(header + "  tok: { uses: tokenise, with: { vocab_sise: 100 } }\n")
            Issue.record("expected an error")
        } catch let error as PipelineError {
            let d = try #require(error.diagnostics.first)
            #expect(d.fieldPath == "stages.tok.with.vocab_sise")
            #expect(d.location?.line == 4 && d.location?.column == 34)
            #expect(d.suggestion == "vocab_size")
        }
    }

    /// Random single-character edits of a valid pipeline: every one loads or fails with a
    /// diagnostic, none crashes.
    @Test func mutatedPipelinesNeverCrash() throws {
        let ws = try TempWorkspace()
        var rng = SplitMix64(seed: 1234)
        let original = Array((Fixtures.rlhf + "\nsweep:\n  ppo.lr: [1e-5, 2e-5]\n").unicodeScalars)
        let alphabet = Array("{}[]:,.'\" -#&*!|>\n\tx1eE$".unicodeScalars)
        var failures = 0
        for _ in 0..<300 {
            var text = original
            for _ in 0..<Int(rng.next() % 3 + 1) {
                let i = Int(rng.next() % UInt64(text.count))
                switch rng.next() % 3 {
                case 0: text.remove(at: i)
                case 1: text.insert(alphabet[Int(rng.next() % UInt64(alphabet.count))], at: i)
                default: text[i] = alphabet[Int(rng.next() % UInt64(alphabet.count))]
                }
            }
            if let message = ws.error(String(String.UnicodeScalarView(text))) {
                failures += 1
                #expect(!message.isEmpty)
            }
        }
        #expect(failures > 100)
    }

    /// The same for stage declarations.
    @Test func mutatedDeclarationsNeverCrash() throws {
        let ws = try TempWorkspace()
        var rng = SplitMix64(seed: 99)
        let original = Array(Fixtures.declarations["stages/ppo.yaml"]!.unicodeScalars)
        let alphabet = Array("{}[]:,.'\" -#&*!|>\n\tx1eE$".unicodeScalars)
        var failures = 0
        for _ in 0..<200 {
            var text = original
            let i = Int(rng.next() % UInt64(text.count))
            if rng.next() % 2 == 0 { text.remove(at: i) } else { text[i] = alphabet[Int(rng.next() % UInt64(alphabet.count))] }
            try ws.write("stages/ppo.yaml", String(String.UnicodeScalarView(text)))
            if let message = ws.error(Fixtures.rlhf) {
                failures += 1
                #expect(!message.isEmpty)
            }
        }
        #expect(failures > 50)
    }

    @Test func missingPipelineFile() throws {
        do {
            _ = try Workspace.locate(pipelineFile: "/nonexistent/p.yaml")
            Issue.record("expected an error")
        } catch {
            #expect(error.description == "error: pipeline file '/nonexistent/p.yaml' not found")
        }
    }

    /// A FIFO or device is refused without being read (reading one could wait forever), and so is a
    /// file far larger than any pipeline.
    @Test func pipelineFilesMustBeRegularAndSmall() throws {
        let ws = try TempWorkspace(Fixtures.declarations)
        let loader = PipelineLoader(workspace: ws.workspace)
        func message(_ file: String) -> String? {
            do { _ = try loader.parse(file: file); return nil } catch { return error.description }
        }
        #expect(message("/dev/zero") == "error: cannot read pipeline file '/dev/zero': is a device, not a regular file")
        let fifo = ws.path("pipelines/fifo.yaml")
        #expect(mkfifo(fifo, 0o600) == 0)
        #expect(message(fifo) == "error: cannot read pipeline file '\(fifo)': is a FIFO, not a regular file")
        let big = ws.path("pipelines/big.yaml")
        #expect(FileManager.default.createFile(atPath: big, contents: nil))
        #expect(truncate(big, 17 << 20) == 0)
        #expect(message(big) == "error: cannot read pipeline file '\(big)': is 17 MiB; a pipeline or declaration file is at most 16 MiB (is it the right file?)")
    }

    /// Positions of bad command references are found by searching from the scalar, not by
    /// splitting the whole file per reference: before, 2,000 bad references took 28 s and 20,000
    /// on one line (1 MB) over two minutes (debug build).
    @Test func thousandsOfBadReferencesAreReportedQuickly() throws {
        let ws = try TempWorkspace()
        let count = 2000
        let stages = (0..<count).map { "a\($0): {run: \"echo ${params.x} > ${outs.o}\", outs: [o]}" }
        for (text, line) in [(header + stages.map { "  " + $0 }.joined(separator: "\n") + "\n", { (i: Int) in 4 + i }),
                             ("{name: t, seed: 1, stages: {" + stages.joined(separator: ", ") + "}}", { (_: Int) in 1 })] {
            let start = ContinuousClock.now
            let lines = ws.error(text)?.split(separator: "\n") ?? []
            #expect(ContinuousClock.now - start < .seconds(15))
            #expect(lines.count == count)
            // The last one: on its own line, or far along the one line.
            let source = String(text.split(separator: "\n")[line(count - 1) - 1])
            let stage = try #require(source.firstRange(of: "a\(count - 1): "))
            let reference = try #require(source[stage.lowerBound...].firstRange(of: "${params.x}"))
            let column = source.unicodeScalars.distance(from: source.startIndex, to: reference.lowerBound) + 1
            #expect(lines.last == "pipelines/p.yaml:\(line(count - 1)):\(column): error: stage 'a\(count - 1)': '${params.x}' refers to an unknown param 'x' (it has none)",
                    "\(lines.last ?? "")")
        }
    }

    /// Alias bombs fail fast, before anything walks the expanded tree.
    @Test func aliasBombFailsQuickly() throws {
        let ws = try TempWorkspace()
        let start = ContinuousClock.now
        let message = ws.error(aliasBomb)
        #expect(ContinuousClock.now - start < .seconds(2))
        #expect(message?.contains("expands the document beyond 100000 nodes") == true)
    }

    /// A few aliases of one long string repeat as much text as a bomb repeats nodes: bounded too, with
    /// the error at the alias that crosses the limit (before, 5,000 aliases of a 1 MB string in a
    /// 1 MB file ran for minutes).
    @Test func aliasesRepeatingLongTextFailQuickly() throws {
        let ws = try TempWorkspace()
        let long = String(repeating: "x", count: 200_000)
        let list = Array(repeating: "*s", count: 5000).joined(separator: ", ")
        let start = ContinuousClock.now
        let message = ws.error(header + "  a:\n    run: \"echo > ${outs.o}\"\n    outs: [o]\n    with:\n      s: &s \"\(long)\"\n      l: [\(list)]\n")
        #expect(ContinuousClock.now - start < .seconds(2))
        // The sixth alias takes the repeated text past 1,000,000 bytes: 11 + 5 × 4 columns in.
        #expect(message == "pipelines/p.yaml:9:31: error: YAML: alias '*s' makes aliases repeat more than 1000000 bytes of text "
                + "(it stands for 200000); alias shorter values or fewer times", "\(message ?? "no error")")
        // Below the limit, aliases of long text still load.
        #expect(ws.error(header + "  a:\n    run: \"echo > ${outs.o}\"\n    outs: [o]\n    with:\n      s: &s \"\(long)\"\n      l: [*s, *s]\n") == nil)
    }

    /// Merge keys are applied once per mapping while composing, so a chain of fan-out merges is
    /// linear; its unknown keys are then reported like any other.
    @Test func mergeKeyChainIsMemoised() throws {
        let ws = try TempWorkspace()
        let start = ContinuousClock.now
        let message = ws.error(mergeChain)
        #expect(ContinuousClock.now - start < .seconds(2))
        // Merged keys keep the position where they were written (in the anchored mapping).
        var expected: [String] = []
        for level in 0...9 {
            expected.append("pipelines/p.yaml:\(3 + level):1: error: pipeline: unknown key 'x-m\(level)'")
            expected.append("pipelines/p.yaml:\(3 + level):\(level == 0 ? 13 : 69): error: stage 'a': unknown key 'k\(level)'")
        }
        #expect(message == expected.joined(separator: "\n"))
    }

    @Test func mergeKeysStillMerge() throws {
        let ws = try TempWorkspace()
        let pipeline = try ws.load("""
            name: t
            seed: 1
            stages:
              tok: &base { uses: tokenise, with: { vocab_size: 64 } }
              tok2: { <<: *base, with: { vocab_size: 128 } }
            """)
        #expect(pipeline.stages.count == 2)
    }

    @Test func invalidUTF8IsReportedWithItsPosition() throws {
        let ws = try TempWorkspace()
        var bytes = Array((header + "  a: { run: \"echo ").utf8)
        bytes += [0xC3, 0x28]
        bytes += Array("\", outs: [x] }\n".utf8)
        try Data(bytes).write(to: URL(fileURLWithPath: ws.path("pipelines/p.yaml")))
        do {
            _ = try PipelineLoader.load(file: ws.path("pipelines/p.yaml"))
            Issue.record("expected an error")
        } catch {
            #expect(error.description.replacingOccurrences(of: ws.root + "/", with: "")
                    == "pipelines/p.yaml:4:19: error: invalid UTF-8 (byte 0xC3 at offset 42); save the file as UTF-8")
        }
    }

    @Test func controlCharactersAreReportedWithTheirPosition() throws {
        let ws = try TempWorkspace()
        try (header + "  a: { run: \"echo \u{07}\", outs: [x] }\n").write(toFile: ws.path("pipelines/p.yaml"), atomically: true, encoding: .utf8)
        do {
            _ = try PipelineLoader.load(file: ws.path("pipelines/p.yaml"))
            Issue.record("expected an error")
        } catch {
            #expect(error.description.replacingOccurrences(of: ws.root + "/", with: "")
                    == "pipelines/p.yaml:4:19: error: cannot read YAML: control characters are not allowed (U+0007); "
                    + "remove that character or write it as an escape in a double-quoted string")
        }
    }

    @Test func byteOrderMarkIsAccepted() throws {
        let ws = try TempWorkspace()
        let bytes = SourceText.byteOrderMark + Array((header + "  tok: { uses: tokenise }\n").utf8)
        try Data(bytes).write(to: URL(fileURLWithPath: ws.path("pipelines/p.yaml")))
        let pipeline = try PipelineLoader.load(file: ws.path("pipelines/p.yaml"))
        #expect(pipeline.stages.map(\.name) == ["tok"])
        let declaration = try #require(Fixtures.declarations["stages/tokenise.yaml"])
        try Data(SourceText.byteOrderMark + Array(declaration.utf8)).write(to: URL(fileURLWithPath: ws.path("stages/tokenise.yaml")))
        #expect(try PipelineLoader.load(file: ws.path("pipelines/p.yaml")).stages.map(\.name) == ["tok"])
    }

    @Test func suggestionsNeedToBeClose() {
        #expect(Suggestion.nearest(to: "lrr", in: ["lr", "steps"]) == "lr")
        #expect(Suggestion.nearest(to: "stpes", in: ["lr", "steps"]) == "steps")
        #expect(Suggestion.nearest(to: "banana", in: ["lr", "steps"]) == nil)
    }
}

/// Sizes in the built-in kinds' `with:` (huge, zero, negative, beyond 64 bits, written as floats):
/// a positioned error naming the allowed range, before any stage could trap on them.
extension DiagnosticsTests {
    /// The error lines of loading one stage of the built-in `kind` with `with: { <with> }`.
    static func builtinErrors(_ kind: String, _ with: String) throws -> [String] {
        let ws = try TempWorkspace([:])
        let message = ws.error("name: t\nseed: 1\nstages:\n  s:\n    uses: \(kind)\n    with: { \(with) }\n") ?? ""
        return message.split(separator: "\n").map(String.init).filter { $0.contains(": param '") }
    }

    @Test func everyBuiltInIntParamIsBoundedBothWays() throws {
        let ws = try TempWorkspace([:])
        var count = 0
        for kind in ws.workspace.declaredKinds() {
            for param in try ws.workspace.loadDeclaration(kind: kind).params where param.type == .int {
                count += 1
                #expect(param.min != nil && param.max != nil, "\(kind).\(param.name) needs min: and max:")
                // Far inside Int64 and Int32 products of two bounded sizes stay exact.
                #expect((param.max ?? .infinity) <= 1e9 + 1, "\(kind).\(param.name)")
            }
        }
        #expect(count > 50)
    }

    @Test func hugeZeroAndNegativeSizesArePositionedWithTheAllowedRange() throws {
        #expect(try Self.builtinErrors("sft", "batch_size: 1000000000000") == [
            "pipelines/p.yaml:6:25: error: stage 's': param 'batch_size': 1000000000000 is above the maximum 65536"])
        #expect(try Self.builtinErrors("sft", "n_layer: 1e9") == [
            "pipelines/p.yaml:6:22: error: stage 's': param 'n_layer': expected int, found float 1e9 (allowed: whole numbers from 1 to 1024)"])
        #expect(try Self.builtinErrors("evaluate", "response_length: 9223372036854775807") == [
            "pipelines/p.yaml:6:30: error: stage 's': param 'response_length': 9223372036854775807 is above the maximum 65536"])
        #expect(try Self.builtinErrors("grpo", "num_generations: 99999999999999999999") == [
            "pipelines/p.yaml:6:30: error: stage 's': param 'num_generations': 99999999999999999999 is beyond the 64-bit integer range (allowed: whole numbers from 2 to 65536)"])
        #expect(try Self.builtinErrors("ppo", "batch_size: 0") == [
            "pipelines/p.yaml:6:25: error: stage 's': param 'batch_size': 0 is below the minimum 2"])
        #expect(try Self.builtinErrors("tokenise", "vocab_size: -9223372036854775808") == [
            "pipelines/p.yaml:6:25: error: stage 's': param 'vocab_size': -9223372036854775808 is below the minimum 259"])
        #expect(try Self.builtinErrors("dataset", "max_chars: -1") == [
            "pipelines/p.yaml:6:24: error: stage 's': param 'max_chars': -1 is below the minimum 0"])
    }

    /// Every int param of every built-in kind, at every extreme: one positioned error each.
    @Test func everyExtremeOfEveryBuiltInIntParamIsReported() throws {
        let ws = try TempWorkspace([:])
        for kind in ws.workspace.declaredKinds() {
            for param in try ws.workspace.loadDeclaration(kind: kind).params where param.type == .int {
                for value in ["-9223372036854775808", "-1", "9223372036854775807", "18446744073709551616", "1e300", "0x7fffffffffffffff"] {
                    let min = param.min ?? 0
                    if value == "-1" && min <= -1 { continue }
                    let errors = try Self.builtinErrors(kind, "\(param.name): \(value)")
                    #expect(errors.count == 1 && errors[0].hasPrefix("pipelines/p.yaml:6:")
                            && errors[0].contains("error: stage 's': param '\(param.name)': "), "\(kind).\(param.name)=\(value): \(errors)")
                }
            }
        }
    }
}
