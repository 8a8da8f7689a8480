#!/usr/bin/env python3
"""transformers' beam search on a pipe checkpoint, for comparison with pipe's (needs torch + transformers).

  transformers_beam_search.py MODEL_DIR REQUEST OUT
      REQUEST: {"prompts": [[ids]], "runs": [{"num_beams", "length_penalty", "early_stopping" (false, true or
      "never"), "max_new_tokens", "min_new_tokens", "eos" (id or null)}]}
      OUT: {"runs": [[[{"tokens": [generated ids, EOS kept], "score": sequences_score}] per hypothesis] per prompt]}
      Each prompt is generated alone (no padding), all num_beams hypotheses returned, best first.
"""
import json
import sys

import torch
from transformers import GPT2LMHeadModel


def log_likelihood(model, prompt, generated):
    with torch.no_grad():
        logits = model(torch.tensor([prompt + generated])).logits[0]
    log_probs = torch.log_softmax(logits[len(prompt) - 1 : -1], dim=-1)
    return log_probs[torch.arange(len(generated)), torch.tensor(generated)].sum().item()


def main(directory, request_path, out_path):
    request = json.load(open(request_path))
    model = GPT2LMHeadModel.from_pretrained(directory, attn_implementation="eager", dtype=torch.float32).eval()
    runs = []
    for run in request["runs"]:
        eos = run["eos"]
        per_prompt = []
        for prompt in request["prompts"]:
            ids = torch.tensor([prompt])
            with torch.no_grad():
                out = model.generate(
                    ids, attention_mask=torch.ones_like(ids), do_sample=False, num_beams=run["num_beams"],
                    num_return_sequences=run["num_beams"], length_penalty=run["length_penalty"],
                    early_stopping=run["early_stopping"], max_new_tokens=run["max_new_tokens"],
                    min_new_tokens=run["min_new_tokens"], eos_token_id=eos, pad_token_id=0, bos_token_id=None,
                    return_dict_in_generate=True, output_scores=True)
            hypotheses = []
            # num_beams=1 is greedy search, which reports no sequence scores: score the answer by a forward pass.
            scores = out.sequences_scores.tolist() if run["num_beams"] > 1 else [None] * len(out.sequences)
            for sequence, score in zip(out.sequences.tolist(), scores):
                generated = sequence[len(prompt):]
                if eos is not None and eos in generated:  # padding after EOS is EOS or pad: cut after the first
                    generated = generated[: generated.index(eos) + 1]
                if score is None:
                    score = log_likelihood(model, prompt, generated) / len(generated) ** run["length_penalty"]
                hypotheses.append({"tokens": generated, "score": score})
            per_prompt.append(hypotheses)
        runs.append(per_prompt)
    json.dump({"runs": runs}, open(out_path, "w"))


if __name__ == "__main__":
    main(*sys.argv[1:4])
