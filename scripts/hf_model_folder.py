#!/usr/bin/env python3
"""Copies a Hugging Face model folder from outside the workspace into a stage output (pipelines/sentiment-hf.yaml).

  hf_model_folder.py ROLE SOURCE OUT [--pipe-weights] [--eos-token TOKEN]

ROLE names the stage in messages ("policy", "classifier": the param to set is ROLE.folder). SOURCE must
be an absolute path (the stage runs in a directory of its own; `~` is expanded) to a folder with
config.json. Its top-level files are copied with symlinks followed (a hub cache snapshot links to its
blobs); sub-folders, hidden files and weights for other frameworks (TensorFlow, Flax, Rust, ONNX) are
left out, and so is pytorch_model.bin when the folder also has safetensors weights.
  --pipe-weights    pipe loads the weights itself: require weights it reads, model.safetensors or
                    pytorch_model.bin (or their sharded indexes); --safetensors is the old spelling
  --eos-token T     write eos_token T into tokenizer_config.json (and special_tokens_map.json when it
                    names one), e.g. "[PAD]" for the classic Chinese GPT-2, whose config's EOS id lies
                    outside its vocabulary
Needs only the Python standard library.
"""
import argparse
import json
import os
import shutil
import sys

OTHER_FRAMEWORKS = ("tf_model.h5", "flax_model.msgpack", "rust_model.ot", "model.onnx", "model.ckpt")
SAFETENSORS = ("model.safetensors", "model.safetensors.index.json")
PYTORCH = ("pytorch_model.bin", "pytorch_model.bin.index.json")


def fail(message):
    print(f"hf_model_folder.py: error: {message}", file=sys.stderr, flush=True)
    sys.exit(2)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("role")
    p.add_argument("source")
    p.add_argument("out")
    p.add_argument("--pipe-weights", "--safetensors", dest="pipe_weights", action="store_true")
    p.add_argument("--eos-token", default="")
    args = p.parse_args()
    setting = f"--set {args.role}.folder=/ABSOLUTE/PATH"
    if not args.source:
        fail(f"no {args.role} folder given: point the stage at your copy of the model with {setting}")
    source = os.path.expanduser(args.source)
    if not os.path.isabs(source):
        fail(f"{args.role}.folder '{args.source}' is not an absolute path; the stage runs in a directory of its own, "
             f"so give the full path ({setting})")
    if not os.path.isdir(source):
        fail(f"{args.role} folder '{source}' does not exist or is not a folder ({args.role}.folder; {setting})")
    names = sorted(os.listdir(source))
    if "config.json" not in names:
        fail(f"{args.role} folder '{source}' has no config.json; it must be a model folder as save_pretrained writes it")
    has_safetensors = any(n in names for n in SAFETENSORS) or any(n.endswith(".safetensors") for n in names)
    if args.pipe_weights and not has_safetensors and not any(n in names for n in PYTORCH):
        fail(f"{args.role} folder '{source}' has no model.safetensors or pytorch_model.bin (nor their sharded "
             f"index files); pipe reads GPT-2 weights in those two formats")

    os.makedirs(args.out)
    copied = 0
    for name in names:
        path = os.path.join(source, name)
        if name.startswith(".") or not os.path.isfile(path) or name in OTHER_FRAMEWORKS:
            continue
        if has_safetensors and name.startswith("pytorch_model"):
            continue
        shutil.copyfile(path, os.path.join(args.out, name))  # follows symlinks
        copied += 1
    if args.eos_token:
        set_eos(args.out, args.eos_token)
    total = sum(os.path.getsize(os.path.join(args.out, n)) for n in os.listdir(args.out))
    print(f"{args.role}: copied {copied} files ({total / 1e6:.1f} MB) from {source}"
          + (f"; eos_token {args.eos_token}" if args.eos_token else ""), file=sys.stderr)


def set_eos(directory, token):
    """eos_token = token in tokenizer_config.json (created when missing) and in special_tokens_map.json if it names one."""
    for name, create in [("tokenizer_config.json", True), ("special_tokens_map.json", False)]:
        path = os.path.join(directory, name)
        if not os.path.exists(path):
            if not create:
                continue
            config = {}
        else:
            try:
                with open(path, encoding="utf-8") as f:
                    config = json.load(f)
            except (OSError, ValueError) as error:
                fail(f"cannot read {name} of the folder: {error}")
            if not isinstance(config, dict):
                fail(f"{name} of the folder is not a JSON object")
            if not create and "eos_token" not in config:
                continue
        config["eos_token"] = token
        with open(path, "w", encoding="utf-8") as f:
            json.dump(config, f, ensure_ascii=False, indent=2, sort_keys=True)
            f.write("\n")


if __name__ == "__main__":
    main()
