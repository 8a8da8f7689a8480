#!/usr/bin/env python3
"""Writes the pytorch_model.bin fixtures of Tests/ModelsTests/TorchCheckpointTests.swift (committed; rerun
only to change them): one tiny random GPT-2 (2 layers, 24 wide, vocab 100) as torch.save zip archives and
as safetensors, so the test can check every tensor read from .bin equals the safetensors load bit for bit.

  /path/to/python scripts/make-torchbin-fixtures.py [OUT_DIR]   (default Tests/ModelsTests/Fixtures/torchbin)

Needs torch, transformers and safetensors. transformers 5 always saves safetensors, so the .bin folders are
written the way transformers 4's save_pretrained(safe_serialization=False) wrote them: torch.save of the
state dict (tied lm_head.weight sharing wte's storage), shards + pytorch_model.bin.index.json.

Folders (each with config.json):
  st-f32, st-f16, st-bf16, st-untied   model.safetensors (the references)
  bin-f32     state_dict with old-style causal-mask buffers (uint8 attn.bias, masked_bias), and wte, wpe and
              the tied lm_head as views at different offsets of one shared storage
  bin-f16, bin-bf16   model.half() / model.bfloat16() state dicts
  bin-uer     as UER-py's GPT-2 conversion saved uer/gpt2-chinese-cluecorpussmall: Conv1D weights as .t() views
              (non-contiguous), float causal masks, lm_head a copy of wte
  bin-legacy  bin-uer in the legacy format (torch.save before PyTorch 1.6, _use_new_zipfile_serialization=False)
  bin-untied  dict(named_parameters()) of an untied model (torch.nn.Parameter, _rebuild_parameter)
  bin-sharded two shards pytorch_model-0000i-of-00002.bin + pytorch_model.bin.index.json, GPT2Model names
  bin-zip64   bin-f16 repacked with ZIP64 records (as torch writes archives over 4 GB)
fuzz-seed/pytorch_model.bin is the tiny GPT-2 of scripts/fuzz/seeds.py, a seed for scripts/fuzz.sh checkpoint.
Hostile or unsupported single files in hostile/: os-system.bin (a pickle that would call os.system),
legacy.bin (pre-1.6 format: loads), torchscript.bin (torch.jit.save), deflated.bin (compressed entries),
big-endian.bin (byteorder 'big'), transposed.bin (a transposed view: loads), strided.bin (every other column:
refused), whole-model.bin (a nested dict).
"""
import collections
import io
import json
import os
import shutil
import sys
import zipfile

import torch
from safetensors.torch import save_file
from transformers import GPT2Config, GPT2LMHeadModel

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "../Tests/ModelsTests/Fixtures/torchbin")


def model(tied=True, seed=0):
    torch.manual_seed(seed)
    config = GPT2Config(vocab_size=100, n_positions=16, n_embd=24, n_layer=2, n_head=2, bos_token_id=None,
                        eos_token_id=None, tie_word_embeddings=tied)
    m = GPT2LMHeadModel(config).eval()
    with torch.no_grad():
        for _, p in m.named_parameters():
            if p.dim() == 1:
                p.normal_(0, 0.3)
        if not tied:
            m.lm_head.weight.normal_(0, 0.5)
    return m


def uer_layout(m):
    """The state dict as UER-py's conversion saved uer/gpt2-chinese-cluecorpussmall: every Conv1D weight a .t()
    view of a [out, in] matrix (non-contiguous: stride (1, in)), float causal masks, lm_head a copy of wte."""
    state = collections.OrderedDict()
    for k, v in m.state_dict().items():
        if k.endswith(("c_attn.weight", "c_proj.weight", "c_fc.weight")):
            v = v.t().contiguous().t()
            assert not v.is_contiguous()
        state[k] = v
    state["lm_head.weight"] = state["transformer.wte.weight"].clone()
    for layer in range(2):
        state[f"transformer.h.{layer}.attn.bias"] = torch.tril(torch.ones(16, 16)).view(1, 1, 16, 16)
    return state


def uer_legacy(tied):
    """bin-legacy: the UER layout in the format torch.save wrote before PyTorch 1.6 (not a zip archive)."""
    path = folder("bin-legacy", tied)
    torch.save(uer_layout(tied), os.path.join(path, "pytorch_model.bin"), _use_new_zipfile_serialization=False)


def folder(name, m):
    path = os.path.join(OUT, name)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    m.config.to_json_file(os.path.join(path, "config.json"))
    return path


def safetensors(name, m):
    path = folder(name, m)
    state = {k: v.contiguous() for k, v in m.state_dict().items() if k != "lm_head.weight" or not m.config.tie_word_embeddings}
    save_file(state, os.path.join(path, "model.safetensors"), metadata={"format": "pt"})


def repack(source, target, zip64=False, compress=zipfile.ZIP_STORED, edit=None):
    """Rewrites a torch.save archive entry by entry (optionally with ZIP64 records, compression or an edit)."""
    limit = zipfile.ZIP64_LIMIT
    if zip64:
        zipfile.ZIP64_LIMIT = 16  # every size and offset above 16 bytes goes to ZIP64 fields
    try:
        with zipfile.ZipFile(source) as src, zipfile.ZipFile(target + ".tmp", "w", compression=compress) as dst:
            for info in src.infolist():
                data = src.read(info.filename)
                if edit:
                    data = edit(info.filename, data)
                dst.writestr(zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0)), data, compress_type=compress)
    finally:
        zipfile.ZIP64_LIMIT = limit
    if zip64:  # as in an archive over 4 GB: the end record's fields saturated, the ZIP64 record authoritative
        with open(target + ".tmp", "r+b") as f:
            f.seek(-22 + 8, os.SEEK_END)
            f.write(b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff")
    os.replace(target + ".tmp", target)


def main():
    os.makedirs(OUT, exist_ok=True)
    tied, untied = model(), model(tied=False)
    safetensors("st-f32", tied)
    safetensors("st-f16", tied.half())
    tied = model()
    safetensors("st-bf16", tied.bfloat16())
    tied = model()
    safetensors("st-untied", untied)

    # F32: buffers as old transformers saved them; wte, wpe and lm_head as views of one storage.
    path = folder("bin-f32", tied)
    state = tied.state_dict()
    wte, wpe = state["transformer.wte.weight"], state["transformer.wpe.weight"]
    shared = torch.cat([wpe.flatten(), wte.flatten()])
    state["transformer.wpe.weight"] = shared[:wpe.numel()].view(wpe.shape)
    state["transformer.wte.weight"] = shared[wpe.numel():].view(wte.shape)
    state["lm_head.weight"] = state["transformer.wte.weight"]
    for layer in range(2):
        state[f"transformer.h.{layer}.attn.bias"] = torch.tril(torch.ones(16, 16, dtype=torch.uint8)).view(1, 1, 16, 16)
        state[f"transformer.h.{layer}.attn.masked_bias"] = torch.tensor(-1e4)
    torch.save(state, os.path.join(path, "pytorch_model.bin"))

    # As UER-py's convert_gpt2_from_uer_to_huggingface.py saved uer/gpt2-chinese-cluecorpussmall.
    path = folder("bin-uer", tied)
    torch.save(uer_layout(tied), os.path.join(path, "pytorch_model.bin"))

    uer_legacy(tied)

    for name, dtype in [("bin-f16", torch.float16), ("bin-bf16", torch.bfloat16)]:
        m = model().to(dtype)
        torch.save(m.state_dict(), os.path.join(folder(name, m), "pytorch_model.bin"))

    path = folder("bin-untied", untied)
    torch.save(dict(untied.named_parameters()), os.path.join(path, "pytorch_model.bin"))

    tied = model()
    path = folder("bin-sharded", tied)
    state = {k.removeprefix("transformer."): v for k, v in tied.state_dict().items() if k != "lm_head.weight"}
    names = list(state)
    weight_map, total = {}, 0
    for i, part in enumerate([names[: len(names) // 2], names[len(names) // 2:]]):
        shard = f"pytorch_model-{i + 1:05d}-of-00002.bin"
        torch.save({k: state[k] for k in part}, os.path.join(path, shard))
        weight_map.update({k: shard for k in part})
        total += sum(state[k].numel() * 4 for k in part)
    with open(os.path.join(path, "pytorch_model.bin.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)

    path = folder("bin-zip64", tied)
    repack(os.path.join(OUT, "bin-f16/pytorch_model.bin"), os.path.join(path, "pytorch_model.bin"), zip64=True)
    shutil.copy(os.path.join(OUT, "bin-f16/config.json"), os.path.join(path, "config.json"))

    # A seed for scripts/fuzz.sh checkpoint: the tiny GPT-2 of scripts/fuzz/seeds.py (vocab 8, 4 positions,
    # 4 channels, 1 layer, 1 head) as torch.save writes it, small enough for the fuzzer's 8 kB inputs.
    torch.manual_seed(0)
    seed_model = GPT2LMHeadModel(GPT2Config(vocab_size=8, n_positions=4, n_embd=4, n_layer=1, n_head=1,
                                            bos_token_id=7, eos_token_id=7))
    os.makedirs(os.path.join(OUT, "fuzz-seed"), exist_ok=True)
    torch.save({k: v for k, v in seed_model.state_dict().items() if k != "lm_head.weight"},
               os.path.join(OUT, "fuzz-seed/pytorch_model.bin"))

    # Hostile and unsupported files, each small.
    hostile = os.path.join(OUT, "hostile")
    shutil.rmtree(hostile, ignore_errors=True)
    os.makedirs(hostile)
    small = {"w": torch.arange(6, dtype=torch.float32).view(2, 3)}
    torch.save(small, os.path.join(hostile, "small.bin"))

    class Exploit:
        def __reduce__(self):
            return (os.system, ("echo this must never run",))

    def with_pickle(payload):
        return lambda name, data: payload if name.endswith("/data.pkl") else data

    import pickle
    repack(os.path.join(hostile, "small.bin"), os.path.join(hostile, "os-system.bin"),
           edit=with_pickle(pickle.dumps({"w": Exploit()}, protocol=2)))
    torch.save(small, os.path.join(hostile, "legacy.bin"), _use_new_zipfile_serialization=False)
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), os.path.join(hostile, "torchscript.bin"))
    repack(os.path.join(hostile, "small.bin"), os.path.join(hostile, "deflated.bin"), compress=zipfile.ZIP_DEFLATED)
    repack(os.path.join(hostile, "small.bin"), os.path.join(hostile, "big-endian.bin"),
           edit=lambda name, data: b"big" if name.endswith("/byteorder") else data)
    torch.save({"w": torch.arange(6, dtype=torch.float32).view(2, 3).t()}, os.path.join(hostile, "transposed.bin"))
    torch.save({"w": torch.arange(12, dtype=torch.float32).view(3, 4)[:, ::2]}, os.path.join(hostile, "strided.bin"))
    torch.save({"model": small, "step": 3}, os.path.join(hostile, "whole-model.bin"))


if __name__ == "__main__":
    main()
