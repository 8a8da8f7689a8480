#!/usr/bin/env python3
"""transformers interoperability check for pipe's GPT checkpoints (needs torch + transformers).

  transformers_interop.py export OUT_DIR [VARIANT] write a random GPT2LMHeadModel with save_pretrained.
      VARIANT: tied (default; safetensors, tied lm_head omitted as usual), untied (tie_word_embeddings
      False, its own lm_head), sharded (max_shard_size small enough for several shards + index.json),
      f16 / bf16 (weights saved in half precision), gelu (activation_function "gelu", the erf form),
      bin (only pytorch_model.bin + config.json, as old hub folders: torch.save of the state dict, tied
      lm_head.weight sharing wte's storage), bin_f16, bin_untied, bin_sharded (two .bin shards +
      pytorch_model.bin.index.json, as transformers 4 wrote them), bin_uer (as UER-py's GPT-2 conversion
      saved uer/gpt2-chinese-cluecorpussmall: Conv1D weights as .t() views, float masks), bin_legacy (bin_uer in
      the legacy format torch.save wrote before PyTorch 1.6), bin_convert (bin, for
      scripts/convert-to-safetensors.py),
      inner (n_inner set to 4 × n_embd), eps (layer_norm_epsilon 1e-3), pos256 / pos1024 (n_positions),
      extras (generation_config.json, torch_dtype float16 with F32 weights, unknown config keys),
      upcast (reorder_and_upcast_attn true: the same F32 arithmetic), shard200k (a larger model saved
      with max_shard_size "200KB"), inner_odd (n_inner ≠ 4 × n_embd), relu / silu / quick_gelu
      (activation_function), layer_idx (scale_attn_by_inverse_layer_idx), noscale (scale_attn_weights
      false), cross (add_cross_attention: pipe must refuse it), act_NAME (activation_function NAME, for
      each of TRANSFORMERS_ACTIVATIONS)
  transformers_interop.py logits MODEL_DIR IN OUT  load MODEL_DIR with from_pretrained, run the tokens
                                                  of IN ({"tokens": [[...]], "mask": [[...]]}) and write
                                                  float32 logits [B, T, V]
For `logits`, a directory holding `score.weight` is also loaded as GPT2ForSequenceClassification and its
scores [B] are appended; `v_head.summary.*` (TRL) is applied by hand and appended as values [B, T].
"""
import json
import os
import sys

import torch
from transformers import GPT2Config, GPT2ForSequenceClassification, GPT2LMHeadModel


# The rest of transformers' elementwise activations pipe computes (variant act_NAME).
TRANSFORMERS_ACTIVATIONS = ["relu6", "leaky_relu", "hardswish", "relu2", "sigmoid", "tanh", "linear", "mish", "sqrtsoftplus",
                            "gelu_10", "laplace", "gelu_python_tanh"]


def export(out, variant="tied"):
    torch.manual_seed(0)
    extra = {"inner": {"n_inner": 48}, "inner_odd": {"n_inner": 20}, "eps": {"layer_norm_epsilon": 1e-3},
             "pos256": {"n_positions": 256}, "pos1024": {"n_positions": 1024}, "upcast": {"reorder_and_upcast_attn": True},
             "layer_idx": {"scale_attn_by_inverse_layer_idx": True}, "shard200k": {"n_embd": 96, "n_head": 4},
             "relu": {"activation_function": "relu"}, "silu": {"activation_function": "silu"},
             "quick_gelu": {"activation_function": "quick_gelu"}, "noscale": {"scale_attn_weights": False},
             "cross": {"add_cross_attention": True},
             **{f"act_{name}": {"activation_function": name} for name in TRANSFORMERS_ACTIVATIONS}}.get(variant, {})
    settings = dict(vocab_size=29, n_positions=16, n_embd=12, n_layer=2, n_head=3)
    settings.update(extra)
    settings.setdefault("activation_function", "gelu" if variant == "gelu" else "gelu_new")
    config = GPT2Config(**settings, resid_pdrop=0, embd_pdrop=0, attn_pdrop=0, bos_token_id=None, eos_token_id=None,
                        tie_word_embeddings=(variant not in ("untied", "bin_untied")))
    model = GPT2LMHeadModel(config)
    with torch.no_grad():  # non-trivial biases and LayerNorm gains; an untied head unlike wte
        for name, p in model.named_parameters():
            if p.dim() == 1:
                p.normal_(0, 0.3)
        if variant in ("untied", "bin_untied"):
            model.lm_head.weight.normal_(0, 0.5)
    if variant.startswith("bin"):
        config.save_pretrained(out)
        if variant == "bin_f16":
            model = model.half()
        state = model.state_dict()
        if variant in ("bin_uer", "bin_legacy"):
            for k in list(state):
                if k.endswith(("c_attn.weight", "c_proj.weight", "c_fc.weight")):
                    state[k] = state[k].t().contiguous().t()  # non-contiguous, as torch.cat(...).t() saved them
            state["lm_head.weight"] = state["transformer.wte.weight"].clone()
            for i in range(config.n_layer):
                state[f"transformer.h.{i}.attn.bias"] = torch.tril(torch.ones(16, 16)).view(1, 1, 16, 16)
        if variant != "bin_sharded":  # bin_legacy: the format torch.save wrote before PyTorch 1.6
            torch.save(state, f"{out}/pytorch_model.bin", _use_new_zipfile_serialization=(variant != "bin_legacy"))
            return
        names, weight_map = [k for k in state if k != "lm_head.weight"], {}
        for i, part in enumerate([names[: len(names) // 2], names[len(names) // 2:]]):
            shard = f"pytorch_model-{i + 1:05d}-of-00002.bin"
            torch.save({k: state[k] for k in part}, f"{out}/{shard}")
            weight_map.update({k: shard for k in part})
        with open(f"{out}/pytorch_model.bin.index.json", "w") as f:
            json.dump({"metadata": {"total_size": sum(v.numel() * 4 for v in state.values())}, "weight_map": weight_map}, f)
        return
    if variant in ("f16", "bf16"):
        model = model.to(torch.float16 if variant == "f16" else torch.bfloat16)
    shard = {"sharded": "6KB", "shard200k": "200KB"}.get(variant, "5GB")
    model.save_pretrained(out, max_shard_size=shard)
    if variant == "extras":
        from transformers import GenerationConfig
        GenerationConfig(do_sample=True, top_k=5, max_new_tokens=7, eos_token_id=3).save_pretrained(out)
        with open(f"{out}/config.json") as f:
            saved = json.load(f)
        saved.update({"torch_dtype": "float16", "task_specific_params": {"text-generation": {"do_sample": True}},
                      "summary_type": "cls_index", "my_custom_key": [1, 2, 3]})
        with open(f"{out}/config.json", "w") as f:
            json.dump(saved, f, indent=2)


def logits(directory, inp, out):
    request = json.load(open(inp))
    tokens = torch.tensor(request["tokens"])
    mask = torch.tensor(request["mask"])
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    model = GPT2LMHeadModel.from_pretrained(directory, attn_implementation="eager", dtype=torch.float32).eval()
    outputs = []
    with torch.no_grad():
        result = model(tokens, attention_mask=mask, position_ids=positions, output_hidden_states=True)
        outputs.append(result.logits.flatten())
        from safetensors.torch import load_file
        single = f"{directory}/model.safetensors"
        state = load_file(single) if os.path.exists(single) else {}
        if "v_head.summary.weight" in state:
            hidden = result.hidden_states[-1]
            outputs.append((hidden @ state["v_head.summary.weight"].T + state["v_head.summary.bias"]).flatten())
        if "score.weight" in state:
            rm = GPT2ForSequenceClassification.from_pretrained(directory, num_labels=1, attn_implementation="eager",
                                                               dtype=torch.float32).eval()
            rm.config.pad_token_id = -1  # the last non-pad token is found from the mask below
            hidden = rm.transformer(tokens, attention_mask=mask, position_ids=positions).last_hidden_state
            last = torch.tensor([max(i for i in range(tokens.shape[1]) if mask[b, i] == 1) for b in range(tokens.shape[0])])
            outputs.append(rm.score(hidden[torch.arange(tokens.shape[0]), last]).flatten())
    torch.cat(outputs).to(torch.float32).numpy().tofile(out)


if __name__ == "__main__":
    {"export": lambda: export(*sys.argv[2:4]), "logits": lambda: logits(*sys.argv[2:5])}[sys.argv[1]]()
