#!/usr/bin/env python3
"""transformers interoperability check for pipe's GPT checkpoints (needs torch + transformers).

  transformers_interop.py export OUT_DIR          write a random GPT2LMHeadModel with save_pretrained
                                                  (safetensors; tied lm_head omitted as usual)
  transformers_interop.py logits MODEL_DIR IN OUT  load MODEL_DIR with from_pretrained, run the tokens
                                                  of IN ({"tokens": [[...]], "mask": [[...]]}) and write
                                                  float32 logits [B, T, V]
For `logits`, a directory holding `score.weight` is also loaded as GPT2ForSequenceClassification and its
scores [B] are appended; `v_head.summary.*` (TRL) is applied by hand and appended as values [B, T].
"""
import json
import sys

import torch
from transformers import GPT2Config, GPT2ForSequenceClassification, GPT2LMHeadModel


def export(out):
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=29, n_positions=16, n_embd=12, n_layer=2, n_head=3,
                        resid_pdrop=0, embd_pdrop=0, attn_pdrop=0, bos_token_id=None, eos_token_id=None)
    model = GPT2LMHeadModel(config)
    with torch.no_grad():  # non-trivial biases and LayerNorm gains
        for name, p in model.named_parameters():
            if p.dim() == 1:
                p.normal_(0, 0.3)
    model.save_pretrained(out, safe_serialization=True)


def logits(directory, inp, out):
    request = json.load(open(inp))
    tokens = torch.tensor(request["tokens"])
    mask = torch.tensor(request["mask"])
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    model = GPT2LMHeadModel.from_pretrained(directory, attn_implementation="eager").eval()
    outputs = []
    with torch.no_grad():
        result = model(tokens, attention_mask=mask, position_ids=positions, output_hidden_states=True)
        outputs.append(result.logits.flatten())
        from safetensors.torch import load_file
        state = load_file(f"{directory}/model.safetensors")
        if "v_head.summary.weight" in state:
            hidden = result.hidden_states[-1]
            outputs.append((hidden @ state["v_head.summary.weight"].T + state["v_head.summary.bias"]).flatten())
        if "score.weight" in state:
            rm = GPT2ForSequenceClassification.from_pretrained(directory, num_labels=1, attn_implementation="eager").eval()
            rm.config.pad_token_id = -1  # the last non-pad token is found from the mask below
            hidden = rm.transformer(tokens, attention_mask=mask, position_ids=positions).last_hidden_state
            last = torch.tensor([max(i for i in range(tokens.shape[1]) if mask[b, i] == 1) for b in range(tokens.shape[0])])
            outputs.append(rm.score(hidden[torch.arange(tokens.shape[0]), last]).flatten())
    torch.cat(outputs).to(torch.float32).numpy().tofile(out)


if __name__ == "__main__":
    {"export": lambda: export(sys.argv[2]), "logits": lambda: logits(*sys.argv[2:5])}[sys.argv[1]]()
