"""The same 6-stage command pipeline (tokenise → sft → pairs → rm → ppo → evaluate) written three
ways: pipe (pipeline YAML + stages/ declarations, a port of Sources/Commands/Bench/CommandPipelineFixture.swift),
DVC (dvc.yaml + params.yaml) and Snakemake (Snakefile + config.yaml).

Every command appends "<stage> <pid>" to $PIPE_LEDGER when that variable is set, so the benchmark
counts which stages each tool really executed, from the commands' own side.
"""

import os
import re

STAGE_KINDS = ["tokenise", "sft", "rm-pairs", "rm", "ppo", "evaluate"]
LEDGER = '[ -z "$PIPE_LEDGER" ] || echo "$STAGE $$" >> "$PIPE_LEDGER"'
PIPE_PIPELINE_FILE = "pipelines/rlhf.yaml"
CORPUS_FILE = "data/corpus.txt"
BIG_INPUT_FILE = "data/big.bin"

# Base values of the params the pipeline file sets (the rest are the declarations' defaults).
BASE_PARAMS = {
    "tokens": {"max_tokens": 10000},
    "sft": {"lr": "3e-4", "steps": 40},
    "pairs": {"count": 12, "note": "''"},
    "rm": {"margin": 0.5},
    "ppo": {"lr": "1.41e-5", "init_kl_coef": 0.2, "sleep": 0},
    "eval": {"fail": "false"},
}


def corpus_text():
    """200 lines of pseudo-random words, byte-identical to CommandPipelineFixture's corpus."""
    words = ["the", "film", "was", "great", "terrible", "acting", "plot", "boring", "loved", "it", "music", "slow"]
    state = 12345
    mask = (1 << 64) - 1
    lines = []
    for line in range(200):
        sentence = []
        for _ in range(5 + line % 7):
            state = (state * 6364136223846793005 + 1442695040888963407) & mask
            sentence.append(words[(state >> 33) % len(words)])
        lines.append(" ".join(sentence) + ".\n")
    return "".join(lines)


# Commands with placeholders {p.NAME} (a param), {i.NAME} (an input path), {o.NAME} (an output path),
# rendered per tool. Same shell text as the Swift fixture.
COMMANDS = {
    "tokens": ("tokenise", r"tr -cs 'A-Za-z' '\n' < data/corpus.txt | tr 'A-Z' 'a-z' | grep -v '^$' | head -n {p.max_tokens} > {o.tokens}"),
    "sft": ("sft", r'{{ echo "sft lr={p.lr} steps={p.steps}"; sort {i.tokens} | uniq -c | sort -rn | head -n {p.steps}; }} > {o.model}'),
    "pairs": ("rm-pairs", r': "{p.note}"; tail -n +2 {i.model} | paste - - | head -n {p.count} > {o.pairs}'),
    "rm": ("rm", r"{{ wc -l < {i.pairs}; cat {i.init} | wc -c; }} > {o.model}"),
    "ppo": ("ppo", r'sleep {p.sleep}; {{ echo "ppo lr={p.lr} kl={p.init_kl_coef}"; cat {i.reward}; head -n 5 {i.policy}; }} > {o.model}'),
    "eval": ("evaluate", r'if [ "{p.fail}" = true ]; then echo "evaluating {i.policy}"; echo "error: reward model diverged (asked to fail)" >&2; exit 3; fi; {{ wc -l < {i.policy}; wc -l < {i.reward}; }} > {o.metrics}'),
}

# stage → {input name: (upstream stage, output name)}
INPUTS = {
    "tokens": {},
    "sft": {"tokens": ("tokens", "tokens")},
    "pairs": {"model": ("sft", "model")},
    "rm": {"pairs": ("pairs", "pairs"), "init": ("sft", "model")},
    "ppo": {"policy": ("sft", "model"), "reward": ("rm", "model")},
    "eval": {"policy": ("ppo", "model"), "reward": ("rm", "model")},
}
OUTPUTS = {"tokens": ["tokens"], "sft": ["model"], "pairs": ["pairs"], "rm": ["model"], "ppo": ["model"], "eval": ["metrics"]}
ORDER = ["tokens", "sft", "pairs", "rm", "ppo", "eval"]


class _Names:
    def __init__(self, mapping):
        self._mapping = mapping

    def __getattr__(self, name):
        return self._mapping(name)


def render(stage, param, inp, out):
    kind, template = COMMANDS[stage]
    body = template.format(p=_Names(param), i=_Names(inp), o=_Names(out))
    return f"STAGE={kind}; {LEDGER}; {body}"


def write(path, text):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as handle:
        handle.write(text)


# ---------------------------------------------------------------- pipe (port of the Swift fixture)

def _swift_quoted(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _pipe_declaration(kind, doc, command, inputs, outputs, params, deps=()):
    text = f"kind: {kind}\nversion: 1\ndoc: {_swift_quoted(doc)}\n"
    text += "run: '" + (f"STAGE={kind}; " + LEDGER + "; " + command).replace("'", "''") + "'\n"
    if deps:
        text += "deps: [" + ", ".join(deps) + "]\n"
    if inputs:
        text += "inputs:\n" + "".join(f"  {name}: {{ doc: the {name} artifact }}\n" for name in inputs)
    text += "outputs:\n" + "".join(f"  {name}: {{ doc: the {name} file }}\n" for name in outputs)
    if params:
        text += "params:\n" + "".join(
            f"  {name}: {{ type: {type_}, default: {value}, doc: {_swift_quoted(doc_)} }}\n" for name, type_, value, doc_ in params)
    return text


def write_pipe(root, big_input=False):
    def pipe_command(stage):
        _, template = COMMANDS[stage]
        return template.format(p=_Names(lambda n: "${params.%s}" % n), i=_Names(lambda n: "${inputs.%s}" % n),
                               o=_Names(lambda n: "${outs.%s}" % n))

    declarations = {
        "tokenise": _pipe_declaration("tokenise", "Split the corpus into lower-case words, one per line.", pipe_command("tokens"),
                                      [], ["tokens"], [("max_tokens", "int", "10000", "keep at most this many tokens")],
                                      [CORPUS_FILE] + ([BIG_INPUT_FILE] if big_input else [])),
        "sft": _pipe_declaration("sft", "Count word frequencies (stands in for supervised fine-tuning).", pipe_command("sft"),
                                 ["tokens"], ["model"], [("lr", "float", "3e-4", "learning rate"), ("steps", "int", "50", "vocabulary kept")]),
        "rm-pairs": _pipe_declaration("rm-pairs", "Pair up lines of the model (stands in for preference pairs). `note` does not change the output.",
                                      pipe_command("pairs"), ["model"], ["pairs"],
                                      [("count", "int", "20", "pairs kept"), ("note", "string", "''", "free text, not used by the command's output")]),
        "rm": _pipe_declaration("rm", "Score pairs (stands in for reward-model training).", pipe_command("rm"),
                                ["pairs", "init"], ["model"], [("margin", "float", "0.5", "margin")]),
        "ppo": _pipe_declaration("ppo", "Combine policy and reward (stands in for PPO).", pipe_command("ppo"), ["policy", "reward"], ["model"],
                                 [("lr", "float", "1.41e-5", "learning rate"), ("init_kl_coef", "float", "0.2", "initial KL coefficient"),
                                  ("sleep", "float", "0", "seconds to sleep first (tests kill it meanwhile)")]),
        "evaluate": _pipe_declaration("evaluate", "Summarise the policy (stands in for evaluation). `fail: true` makes it fail.",
                                      pipe_command("eval"), ["policy", "reward"], ["metrics"], [("fail", "bool", "false", "fail on purpose")]),
    }
    for kind, text in declarations.items():
        write(os.path.join(root, "stages", kind + ".yaml"), text)
    write(os.path.join(root, PIPE_PIPELINE_FILE), """name: rlhf-shaped
seed: 7
stages:
  tokens: { uses: tokenise }
  sft:    { uses: sft, inputs: { tokens: tokens.tokens }, with: { lr: 3e-4, steps: 40 } }
  pairs:  { uses: rm-pairs, inputs: { model: sft.model }, with: { count: 12 } }
  rm:     { uses: rm, inputs: { pairs: pairs.pairs, init: sft.model } }
  ppo:    { uses: ppo, inputs: { policy: sft.model, reward: rm.model }, with: { lr: 1.41e-5, init_kl_coef: 0.2 } }
  eval:   { uses: evaluate, inputs: { policy: ppo.model, reward: rm.model } }
""")
    write(os.path.join(root, CORPUS_FILE), corpus_text())


# ---------------------------------------------------------------- DVC

def _out_path(stage, name):
    return f"out/{stage}/{name}"


def write_dvc_files(root, big_input=False):
    """dvc.yaml + params.yaml + corpus (the caller runs git init / dvc init)."""
    lines = ["stages:"]
    for stage in ORDER:
        command = render(stage, lambda n, s=stage: "${%s.%s}" % (s, n),
                         lambda n, s=stage: _out_path(*INPUTS[s][n]), lambda n, s=stage: _out_path(s, n))
        deps = [_out_path(*INPUTS[stage][name]) for name in INPUTS[stage]]
        if stage == "tokens":
            deps = [CORPUS_FILE] + ([BIG_INPUT_FILE] if big_input else [])
        lines.append(f"  {stage}:")
        lines.append("    cmd: " + _yaml_single_quoted(command))
        lines.append("    deps:")
        lines += [f"      - {dep}" for dep in dict.fromkeys(deps)]
        lines.append("    params:")
        lines += [f"      - {stage}.{name}" for name in BASE_PARAMS[stage]]
        lines.append("    outs:")
        lines += [f"      - {_out_path(stage, name)}" for name in OUTPUTS[stage]]
    write(os.path.join(root, "dvc.yaml"), "\n".join(lines) + "\n")
    write_dvc_params(root, {})
    write(os.path.join(root, CORPUS_FILE), corpus_text())
    for stage in ORDER:
        os.makedirs(os.path.join(root, "out", stage), exist_ok=True)


def write_dvc_params(root, overrides):
    """params.yaml with BASE_PARAMS, `overrides` = {(stage, name): value} replacing some."""
    lines = []
    for stage in ORDER:
        lines.append(f"{stage}:")
        for name, value in BASE_PARAMS[stage].items():
            value = overrides.get((stage, name), value)
            if value == "''":
                value = "''"
            lines.append(f"  {name}: {value}")
    write(os.path.join(root, "params.yaml"), "\n".join(lines) + "\n")


def _yaml_single_quoted(text):
    return "'" + text.replace("'", "''") + "'"


# ---------------------------------------------------------------- Snakemake

def write_snakemake(root, big_input=False):
    rules = ["configfile: \"config.yaml\"", "", "rule all:", f"    input: \"{_out_path('eval', 'metrics')}\"", ""]
    for stage in ORDER:
        # Snakemake formats the shell text: literal braces double, then the placeholders go in.
        command = render(stage, lambda n: "@@params.%s@@" % _snakemake_param(n), lambda n: "@@input.%s@@" % n, lambda n: "@@output.%s@@" % n)
        command = re.sub(r"@@([a-z_.]+)@@", r"{\1}", command.replace("{", "{{").replace("}", "}}"))
        inputs = {name: _out_path(*INPUTS[stage][name]) for name in INPUTS[stage]}
        if stage == "tokens":
            inputs = {"corpus": CORPUS_FILE}
            if big_input:
                inputs["big"] = BIG_INPUT_FILE
        rules.append(f"rule {stage}:")
        rules.append("    input: " + ", ".join(f"{name}=\"{path}\"" for name, path in inputs.items()))
        rules.append("    output: " + ", ".join(f"{name}=\"{_out_path(stage, name)}\"" for name in OUTPUTS[stage]))
        rules.append("    params: " + ", ".join(f"{_snakemake_param(name)}=config[\"{stage}\"][\"{name}\"]" for name in BASE_PARAMS[stage]))
        rules.append("    shell: " + repr(command))
        rules.append("")
    write(os.path.join(root, "Snakefile"), "\n".join(rules))
    write_snakemake_config(root, {})
    write(os.path.join(root, CORPUS_FILE), corpus_text())


def _snakemake_param(name):
    """Snakemake reserves `count` (and a few others) as rule-parameter names."""
    return name + "_" if name in ("count", "index", "items", "keys") else name


def write_snakemake_config(root, overrides):
    # Snakemake reads config.yaml with PyYAML: "1.41e-5" (no dot) would be a string, which is fine,
    # since the value only goes into the shell command text.
    lines = []
    for stage in ORDER:
        lines.append(f"{stage}:")
        for name, value in BASE_PARAMS[stage].items():
            value = overrides.get((stage, name), value)
            lines.append(f"  {name}: {value}")
    write(os.path.join(root, "config.yaml"), "\n".join(lines) + "\n")
