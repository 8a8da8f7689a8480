#!/usr/bin/env python3
"""A `command` reward source for pipe: P(positive) of a Hugging Face sentiment classifier.

  hf_sentiment.py CLASSIFIER_DIR [--positive-label LABEL] [--text full|completion]
                                 [--batch-size N] [--max-length N] [--threads N]

The classic Chinese sentiment demo's reward: `uer/roberta-base-finetuned-jd-binary-chinese` (a
BertForSequenceClassification) scores prompt + completion, and the reward is the softmax probability of
the positive class. CLASSIFIER_DIR is a folder `save_pretrained` wrote (config.json, the weights,
the tokenizer files). The positive class is the `id2label` entry of config.json that names "positive"
(the uer model's "positive (stars 4 and 5)"), or the one given with --positive-label (a label or an index).

Protocol (pipe's `command` reward source): one JSON line per batch on stdin,
{"prompts": [...], "completions": [...], "columns": {...}}; one line back on stdout, {"rewards": [...]}.
Diagnostics go to stderr (pipe puts them in the stage log and shows the last lines when this fails).

Deterministic: a fixed seed, torch's deterministic algorithms, eval mode, float32, a fixed thread count
(--threads, default 1) and fixed chunks of --batch-size rows, so the same request gives the same bytes
and `pipe reproduce` can compare runs. Needs torch and transformers (pip install torch transformers).
"""
import argparse
import json
import math
import os
import sys

PROGRAM = "hf_sentiment.py"


def fail(message, status=2):
    print(f"{PROGRAM}: error: {message}", file=sys.stderr, flush=True)
    sys.exit(status)


def parse_arguments():
    p = argparse.ArgumentParser(prog=PROGRAM, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("classifier_dir", help="a sequence-classification model folder (config.json, weights, tokenizer)")
    p.add_argument("--positive-label", default=None,
                   help="the positive class: an id2label label or an index (default: the label naming 'positive')")
    p.add_argument("--text", choices=["full", "completion"], default="full",
                   help="what is classified: prompt + completion (full, the classic demo's) or the completion alone")
    p.add_argument("--batch-size", type=int, default=32, help="rows per forward pass (default 32)")
    p.add_argument("--max-length", type=int, default=512, help="tokens kept of each text (default 512)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1: the same bits on any machine)")
    args = p.parse_args()
    for name in ["batch_size", "max_length", "threads"]:
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1 (got {getattr(args, name)})")
    return args


def read_config(directory):
    """config.json of the classifier folder, checked before the (slow) import of transformers."""
    if not os.path.exists(directory):
        fail(f"classifier folder '{directory}' does not exist; give the folder of a sequence-classification "
             f"model (e.g. uer/roberta-base-finetuned-jd-binary-chinese saved with save_pretrained)")
    if not os.path.isdir(directory):
        fail(f"'{directory}' is not a folder; give the classifier's folder (config.json, weights, tokenizer files)")
    path = os.path.join(directory, "config.json")
    try:
        with open(path, encoding="utf-8") as f:
            config = json.load(f)
    except FileNotFoundError:
        fail(f"'{directory}' has no config.json; it must be a model folder as save_pretrained writes it")
    except (OSError, ValueError) as error:
        fail(f"cannot read {path}: {error}")
    if not isinstance(config, dict):
        fail(f"{path} is not a JSON object")
    return config


def positive_index(config, requested, directory):
    """The class index whose probability is the reward."""
    raw = config.get("id2label")
    labels = {}
    if isinstance(raw, dict):
        for key, value in raw.items():
            try:
                labels[int(key)] = str(value)
            except ValueError:
                fail(f"{directory}/config.json: id2label key '{key}' is not a class index")
    if not labels:
        fail(f"{directory}/config.json has no id2label; give the positive class index with --positive-label")
    listing = ", ".join(f"{i}: {labels[i]!r}" for i in sorted(labels))
    if requested is not None:
        matches = [i for i in sorted(labels) if labels[i] == requested]
        if not matches and requested.isdigit() and int(requested) in labels:
            matches = [int(requested)]
        if not matches:
            fail(f"--positive-label {requested!r} is none of the classifier's labels ({listing}); give a label or an index")
        return matches[0], labels
    named = [i for i in sorted(labels) if "positive" in labels[i].lower() and "negative" not in labels[i].lower()]
    if len(named) != 1:
        fail(f"cannot tell which class is positive from id2label ({listing}); give it with --positive-label LABEL_OR_INDEX")
    return named[0], labels


def load_model(directory, threads):
    try:
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer
    except ImportError as error:
        fail(f"needs torch and transformers ({error}); install them into the Python that runs this scorer "
             f"({sys.executable}): pip install torch transformers — or point PIPE_TORCH_PYTHON at a Python that has them")
    torch.manual_seed(0)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(threads)
    try:
        tokenizer = AutoTokenizer.from_pretrained(directory)
        model = AutoModelForSequenceClassification.from_pretrained(directory, dtype=torch.float32)
    except Exception as error:  # transformers raises many types for a bad folder; all are fatal here
        fail(f"transformers cannot load the classifier in '{directory}': {type(error).__name__}: {error}")
    model.eval()
    return torch, tokenizer, model


def read_request(line, number):
    try:
        request = json.loads(line)
    except ValueError as error:
        fail(f"request {number} is not JSON ({error}): {line[:200]!r}", status=1)
    if not isinstance(request, dict):
        fail(f"request {number} is not a JSON object", status=1)
    prompts, completions = request.get("prompts"), request.get("completions")
    for name, value in [("prompts", prompts), ("completions", completions)]:
        if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
            fail(f"request {number}: \"{name}\" must be a list of strings", status=1)
    if len(prompts) != len(completions):
        fail(f"request {number}: {len(prompts)} prompts but {len(completions)} completions", status=1)
    return prompts, completions


def main():
    args = parse_arguments()
    config = read_config(args.classifier_dir)
    positive, labels = positive_index(config, args.positive_label, args.classifier_dir)
    torch, tokenizer, model = load_model(args.classifier_dir, args.threads)
    if model.config.num_labels != len(labels):
        fail(f"the classifier has {model.config.num_labels} outputs but id2label names {len(labels)} classes")
    max_length = min(args.max_length, getattr(model.config, "max_position_embeddings", args.max_length))
    print(f"{PROGRAM}: {type(model).__name__} from {args.classifier_dir}, reward = P({labels[positive]!r}), "
          f"text = {args.text}, {args.threads} thread(s), chunks of {args.batch_size}", file=sys.stderr, flush=True)

    for number, line in enumerate(sys.stdin, start=1):
        prompts, completions = read_request(line, number)
        texts = [p + c for p, c in zip(prompts, completions)] if args.text == "full" else completions
        rewards = []
        with torch.inference_mode():
            for start in range(0, len(texts), args.batch_size):
                chunk = texts[start:start + args.batch_size]
                encoded = tokenizer(chunk, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
                probabilities = torch.softmax(model(**encoded).logits.float(), dim=-1)
                rewards += probabilities[:, positive].tolist()
        if not all(math.isfinite(r) for r in rewards):
            fail(f"request {number}: the classifier gave a non-finite probability", status=1)
        print(json.dumps({"rewards": rewards}), flush=True)


if __name__ == "__main__":
    main()
