#!/usr/bin/env python3
"""Independent numpy (float64) forward pass of a GPT-2 checkpoint directory written by pipe.

Usage: numpy_gpt2_reference.py CHECKPOINT_DIR INPUT_JSON OUTPUT_BIN

Reads config.json + model.safetensors with nothing but numpy and the standard library (the
safetensors header is parsed by hand), runs GPT-2 (learned positions, pre-LayerNorm, causal
multi-head attention with a key padding mask, tanh GELU, tied LM head) and writes float32
little-endian: logits [B,T,V], then value-head outputs [B,T] and reward-head outputs [B] when the
checkpoint has those heads. INPUT_JSON: {"tokens": [[...]], "mask": [[...]]}; positions count real
tokens only (left padding), pads get position 0; a query with no visible key outputs zeros.
"""
import json
import struct
import sys

import numpy as np


def read_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    data = blob[8 + n:]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", (name, info["dtype"])
        begin, end = info["data_offsets"]
        tensors[name] = np.frombuffer(data[begin:end], dtype="<f4").reshape(info["shape"]).astype(np.float64)
    return tensors


def layernorm(x, w, b, eps):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


def gelu(x):
    return 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x ** 3)))


def main(directory, input_path, output_path):
    config = json.load(open(f"{directory}/config.json"))
    w = read_safetensors(f"{directory}/model.safetensors")
    w = {(k if k.startswith(("transformer.", "v_head.", "score.", "lm_head.")) else "transformer." + k): v for k, v in w.items()}
    request = json.load(open(input_path))
    tokens = np.array(request["tokens"], dtype=np.int64)
    mask = np.array(request["mask"], dtype=np.int64)
    B, T = tokens.shape
    C, NH, L, eps = config["n_embd"], config["n_head"], config["n_layer"], config["layer_norm_epsilon"]
    hs = C // NH
    positions = np.where(mask == 1, np.cumsum(mask, axis=1) - 1, 0)

    x = w["transformer.wte.weight"][tokens] + w["transformer.wpe.weight"][positions]
    causal = np.tril(np.ones((T, T), dtype=bool))
    visible = causal[None, None, :, :] & (mask[:, None, None, :] == 1)       # (B, 1, T, T)
    for l in range(L):
        p = f"transformer.h.{l}."
        h = layernorm(x, w[p + "ln_1.weight"], w[p + "ln_1.bias"], eps)
        qkv = h @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]  # Conv1D: [in, out]
        q, k, v = np.split(qkv, 3, axis=-1)
        q, k, v = (t.reshape(B, T, NH, hs).transpose(0, 2, 1, 3) for t in (q, k, v))
        scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(hs)
        scores = np.where(visible, scores, -np.inf)
        row_max = np.max(scores, axis=-1, keepdims=True)
        row_max = np.where(np.isfinite(row_max), row_max, 0.0)
        e = np.where(visible, np.exp(scores - row_max), 0.0)
        total = e.sum(-1, keepdims=True)
        att = np.divide(e, total, out=np.zeros_like(e), where=total > 0)
        y = (att @ v).transpose(0, 2, 1, 3).reshape(B, T, C)
        x = x + y @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"]
        h = layernorm(x, w[p + "ln_2.weight"], w[p + "ln_2.bias"], eps)
        x = x + gelu(h @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"]) @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"]
    x = layernorm(x, w["transformer.ln_f.weight"], w["transformer.ln_f.bias"], eps)
    outputs = [x @ w["transformer.wte.weight"].T]
    if "v_head.summary.weight" in w:
        outputs.append((x @ w["v_head.summary.weight"].T)[..., 0] + w["v_head.summary.bias"][0])
    if "score.weight" in w:
        last = np.array([max([t for t in range(T) if mask[b, t] == 1] or [0]) for b in range(B)])
        outputs.append(x[np.arange(B), last] @ w["score.weight"][0])
    with open(output_path, "wb") as f:
        for o in outputs:
            f.write(np.ascontiguousarray(o, dtype="<f4").tobytes())


if __name__ == "__main__":
    main(*sys.argv[1:4])
