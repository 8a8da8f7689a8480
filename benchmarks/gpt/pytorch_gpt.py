#!/usr/bin/env python3
"""PyTorch reference for `pipe bench gpt`: the same GPT-2 configs, measured the same way.

  python pytorch_gpt.py --config S --threads 1 --json

Measures (CPU, fp32, dropout 0):
  train     own nanoGPT-style model: forward + cross-entropy + backward + AdamW(lr 3e-4, betas (0.9, 0.95),
            weight decay 0.1, for-loop implementation), zero_grad(set_to_none=True), random tokens at the config's
            context (block_size; L: context 128 of 1,024 positions); `warmup` steps then the median of `steps`.
  generate  transformers GPT2LMHeadModel.generate(do_sample=True, top_k=0, top_p=1.0, temperature=1.0,
            max_new_tokens=64, min_new_tokens=64, use_cache=True): 16 prompts x 16 tokens.
  loop      own model, hand-written KV-cache loop (preallocated cache, prefill, then 1-token steps,
            full-distribution multinomial), same shape.
  sgemm     torch.mm of two 1024 x 1024 fp32 matrices (the BLAS PyTorch links, MKL on x86), best of 30 wall
            and median per CPU second: pipe prints OpenBLAS's figure measured the same way beside it.
Rates: tokens per wall second of the median run, and per CPU second (time.process_time) as a
contention-robust companion figure. Prints one JSON object with --json.
"""
import argparse
import json
import math
import os
import resource
import statistics
import sys
import time

CONFIGS = {
    "S": dict(vocab_size=6000, n_layer=4, n_head=4, n_embd=256, block_size=128, batch=16),
    "M": dict(vocab_size=6000, n_layer=6, n_head=8, n_embd=512, block_size=256, batch=8),
    # The shape of uer/gpt2-chinese-cluecorpussmall (1,024 positions), trained at context 128.
    "L": dict(vocab_size=21128, n_layer=12, n_head=12, n_embd=768, block_size=1024, batch=8, context=128),
}


def parse():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", choices=sorted(CONFIGS), default="S")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--sample-repeats", type=int, default=5)
    p.add_argument("--what", default="sgemm,train,generate,loop")
    p.add_argument("--json", action="store_true")
    return p.parse_args()


args = parse()
os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

torch.set_num_threads(args.threads)


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, self.nh = c["n_embd"], c["n_head"]
        self.ln_1, self.ln_2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.c_attn, self.c_proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.c_fc, self.mlp_proj = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def attn(self, x, cache=None, start=0):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.nh, C // self.nh).transpose(1, 2) for t in (q, k, v))
        if cache is None:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            kc, vc = cache
            kc[:, :, start:start + T] = k
            vc[:, :, start:start + T] = v
            k, v = kc[:, :, :start + T], vc[:, :, :start + T]
            y = F.scaled_dot_product_attention(q, k, v, is_causal=(T > 1))
        return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))

    def forward(self, x, cache=None, start=0):
        x = x + self.attn(self.ln_1(x), cache, start)
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.wte = nn.Embedding(c["vocab_size"], c["n_embd"])
        self.wpe = nn.Embedding(c["block_size"], c["n_embd"])
        self.h = nn.ModuleList(Block(c) for _ in range(c["n_layer"]))
        self.ln_f = nn.LayerNorm(c["n_embd"])
        self.lm_head = nn.Linear(c["n_embd"], c["vocab_size"], bias=False)
        self.lm_head.weight = self.wte.weight  # tied
        for name, p in self.named_parameters():
            if p.dim() >= 2:
                std = 0.02 / math.sqrt(2 * c["n_layer"]) if name.endswith(("c_proj.weight", "mlp_proj.weight")) else 0.02
                nn.init.normal_(p, 0.0, std)
            elif name.endswith("bias"):
                nn.init.zeros_(p)

    def forward(self, idx, caches=None, start=0):
        T = idx.shape[1]
        x = self.wte(idx) + self.wpe(torch.arange(start, start + T))
        for i, block in enumerate(self.h):
            x = block(x, None if caches is None else caches[i], start)
        return self.lm_head(self.ln_f(x))

    @torch.no_grad()
    def sample(self, prompt, new_tokens):
        B, Tp = prompt.shape
        c = self.c
        hs = c["n_embd"] // c["n_head"]
        caches = [(torch.empty(B, c["n_head"], Tp + new_tokens, hs), torch.empty(B, c["n_head"], Tp + new_tokens, hs))
                  for _ in range(c["n_layer"])]
        logits = self(prompt, caches, 0)[:, -1]
        out = []
        for step in range(new_tokens):
            token = torch.multinomial(F.softmax(logits, dim=-1), 1)
            out.append(token)
            if step + 1 < new_tokens:
                logits = self(token, caches, Tp + step)[:, -1]
        return torch.cat(out, dim=1)


def timed(fn, repeats, warmup):
    for _ in range(warmup):
        fn()
    wall, cpu = [], []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return dict(median=statistics.median(wall), min=min(wall), max=max(wall), cpu_median=statistics.median(cpu))


def main():
    c = CONFIGS[args.config]
    torch.manual_seed(0)
    result = dict(config=args.config, threads=args.threads, torch=torch.__version__)
    what = set(args.what.split(","))
    B, T, V = c["batch"], c.get("context", c["block_size"]), c["vocab_size"]
    model = GPT(c)
    result["parameters"] = sum(p.numel() for p in model.parameters())
    if "sgemm" in what:
        a, b = torch.rand(1024, 1024) - 0.5, torch.rand(1024, 1024) - 0.5
        t = timed(lambda: torch.mm(a, b), 30, 1)
        result["sgemm"] = dict(best_gflops=2 * 1024 ** 3 / t["min"] / 1e9, cpu_median_gflops=2 * 1024 ** 3 / t["cpu_median"] / 1e9)
    if "train" in what:
        opt = torch.optim.AdamW(model.parameters(), lr=3e-4, betas=(0.9, 0.95), weight_decay=0.1, foreach=False)
        x = torch.randint(0, V, (B, T))
        y = torch.randint(0, V, (B, T))

        def step():
            logits = model(x)
            loss = F.cross_entropy(logits.view(-1, V), y.view(-1))
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)

        t = timed(step, args.steps, args.warmup)
        result["train"] = dict(t, tokens_per_s=B * T / t["median"], tokens_per_cpu_s=B * T / t["cpu_median"])
        del opt
    prompt = torch.randint(0, V, (16, 16))
    if "loop" in what:
        model.eval()
        t = timed(lambda: model.sample(prompt, 64), args.sample_repeats, 1)
        result["loop"] = dict(t, tokens_per_s=1024 / t["median"], tokens_per_cpu_s=1024 / t["cpu_median"])
    if "generate" in what:
        from transformers import GPT2Config, GPT2LMHeadModel
        import transformers
        result["transformers"] = transformers.__version__
        hf = GPT2LMHeadModel(GPT2Config(vocab_size=V, n_positions=c["block_size"], n_embd=c["n_embd"], n_layer=c["n_layer"],
                                        n_head=c["n_head"], resid_pdrop=0, embd_pdrop=0, attn_pdrop=0, bos_token_id=None, eos_token_id=None,
                                        attn_implementation="sdpa")).eval()
        mask = torch.ones_like(prompt)

        def gen():
            with torch.no_grad():
                hf.generate(prompt, attention_mask=mask, do_sample=True, top_k=0, top_p=1.0, temperature=1.0,
                            max_new_tokens=64, min_new_tokens=64, use_cache=True, pad_token_id=0)

        t = timed(gen, args.sample_repeats, 1)
        result["generate"] = dict(t, tokens_per_s=1024 / t["median"], tokens_per_cpu_s=1024 / t["cpu_median"])
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k}: {v}")


if __name__ == "__main__":
    sys.exit(main())
