#!/usr/bin/env python3
"""Convert a Hugging Face GPT-2 folder that has only PyTorch weights to safetensors, so pipe can load it.

  python scripts/convert-to-safetensors.py MODEL_DIR [--output OUT_DIR] [--dtype keep|float32] [--force]

Reads MODEL_DIR/pytorch_model.bin (or the shards listed by pytorch_model.bin.index.json) on the CPU and
writes OUT_DIR/model.safetensors (default OUT_DIR = MODEL_DIR; every other file of the folder — config.json,
vocab.txt, tokenizer files — is copied when OUT_DIR differs). Tensor names and values are kept as they are:
  - an lm_head.weight that is the same tensor as (or equal to) the token embedding is dropped (tied, as
    save_pretrained writes it); a different one is kept (an untied head);
  - causal-mask buffers (h.N.attn.bias, h.N.attn.masked_bias) of old checkpoints are dropped (transformers
    and pipe rebuild them);
  - dtypes are kept (F16/BF16 checkpoints stay half size; pipe converts to float32 on load) unless
    --dtype float32.
Needs a Python with torch and safetensors (pip install torch safetensors); loads with weights_only=True,
so a pickle cannot run code.
"""
import argparse
import json
import os
import re
import shutil
import sys

BUFFER = re.compile(r"(^|\.)h\.\d+\.attn\.(bias|masked_bias)$")


def parse():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model_dir")
    p.add_argument("--output", help="folder to write (default: MODEL_DIR itself)")
    p.add_argument("--dtype", choices=["keep", "float32"], default="keep")
    p.add_argument("--force", action="store_true", help="overwrite an existing model.safetensors")
    return p.parse_args()


def fail(message):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def weight_files(model_dir):
    single = os.path.join(model_dir, "pytorch_model.bin")
    index = os.path.join(model_dir, "pytorch_model.bin.index.json")
    if os.path.exists(single):
        return [single]
    if os.path.exists(index):
        with open(index) as f:
            shards = sorted(set(json.load(f)["weight_map"].values()))
        for shard in shards:
            if os.path.basename(shard) != shard:
                fail(f"{index}: shard name {shard!r} is not a file name in the folder")
        return [os.path.join(model_dir, s) for s in shards]
    fail(f"{model_dir}: no pytorch_model.bin or pytorch_model.bin.index.json")


def main():
    args = parse()
    try:
        import torch
        from safetensors.torch import save_file
    except ImportError as e:
        fail(f"{e}; run this with a Python that has torch and safetensors (pip install torch safetensors)")
    model_dir = args.model_dir.rstrip("/")
    if not os.path.isdir(model_dir):
        fail(f"{model_dir}: not a directory")
    output = args.output or model_dir
    target = os.path.join(output, "model.safetensors")
    if os.path.exists(target) and not args.force:
        fail(f"{target} exists (use --force to overwrite)")

    state = {}
    for path in weight_files(model_dir):
        part = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(part, dict):
            fail(f"{path}: not a state dict (got {type(part).__name__})")
        for name, tensor in part.items():
            if name in state:
                fail(f"{path}: tensor {name!r} appears in two shards")
            state[name] = tensor

    dropped = [n for n in state if BUFFER.search(n)]
    for name in dropped:
        del state[name]
    wte = state.get("transformer.wte.weight", state.get("wte.weight"))
    head = state.get("lm_head.weight")
    if head is not None and wte is not None and head.shape == wte.shape and (
            head.data_ptr() == wte.data_ptr() or torch.equal(head, wte)):
        del state["lm_head.weight"]
        dropped.append("lm_head.weight (tied to the token embedding)")

    tensors = {}
    for name, tensor in state.items():
        if not torch.is_tensor(tensor):
            fail(f"tensor {name!r} is a {type(tensor).__name__}, not a tensor")
        if args.dtype == "float32" and tensor.is_floating_point():
            tensor = tensor.float()
        tensors[name] = tensor.detach().contiguous().clone()  # no shared storage: safetensors refuses it

    os.makedirs(output, exist_ok=True)
    if output != model_dir:
        for entry in sorted(os.listdir(model_dir)):
            source = os.path.join(model_dir, entry)
            if os.path.isfile(source) and not entry.startswith("pytorch_model.bin"):
                shutil.copy2(source, os.path.join(output, entry))
    save_file(tensors, target + ".tmp", metadata={"format": "pt"})
    os.replace(target + ".tmp", target)
    total = sum(t.numel() for t in tensors.values())
    print(f"wrote {target}: {len(tensors)} tensors, {total:,} parameters"
          + (f"; dropped {', '.join(sorted(dropped)[:4])}{' …' if len(dropped) > 4 else ''}" if dropped else ""))


if __name__ == "__main__":
    main()
