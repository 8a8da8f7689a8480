"""PyTorch reference for `pipe bench ppo`: one LM-PPO step on config S, timed by phase.

Same compute shape as pipe's PPO stage: a GPT-2 policy with a scalar value head on the shared trunk, a
frozen reference copy, a separate reward model (GPT trunk + scalar head on the last token).
64 queries x 16 tokens -> 16 sampled tokens (one batch, KV cache) -> no-grad forwards of policy (log-probs
+ values), reference and reward model on the 32-token sequences -> per-token KL penalty + score on the
last token, GAE (gamma 1, lambda 0.95), whitened advantages -> 4 epochs x 4 minibatches of 16: forward,
clipped PPO loss (0.2) + 0.1 x clipped value loss (0.2), backward, grad-clip 1.0, AdamW.

Usage: venv-torch/bin/python benchmarks/ppo/pytorch_ppo_step.py [--threads 1] [--steps 5] [--json]
Prints per-phase medians (seconds); --json prints one JSON object (read by `pipe bench ppo`).
"""
import argparse, json, math, os, statistics, sys, time

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--steps", type=int, default=5)
ap.add_argument("--queries", type=int, default=64)
ap.add_argument("--query-len", type=int, default=16)
ap.add_argument("--response-len", type=int, default=16)
ap.add_argument("--epochs", type=int, default=4)
ap.add_argument("--minibatch", type=int, default=16)
ap.add_argument("--vocab", type=int, default=6000)
ap.add_argument("--layers", type=int, default=4)
ap.add_argument("--heads", type=int, default=4)
ap.add_argument("--width", type=int, default=256)
ap.add_argument("--json", action="store_true")
args = ap.parse_args()
os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(args.threads)
torch.manual_seed(0)
BLOCK = 128


class Block(nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.fc, self.fc2 = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)
        self.h = h

    def forward(self, x, cache=None):
        B, T, C = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, self.h, C // self.h).transpose(1, 2) for t in (q, k, v))
        if cache is not None:
            if "k" in cache:
                k = torch.cat([cache["k"], k], 2); v = torch.cat([cache["v"], v], 2)
            cache["k"], cache["v"] = k, v
        causal = T > 1
        y = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        x = x + self.proj(y.transpose(1, 2).reshape(B, T, C))
        return x + self.fc2(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self, head=None):
        super().__init__()
        d = args.width
        self.wte, self.wpe = nn.Embedding(args.vocab, d), nn.Embedding(BLOCK, d)
        self.blocks = nn.ModuleList(Block(d, args.heads) for _ in range(args.layers))
        self.lnf = nn.LayerNorm(d)
        self.v_head = nn.Linear(d, 1)   # value head (policy) or score head (reward model)

    def trunk(self, idx, caches=None, pos0=0):
        pos = torch.arange(pos0, pos0 + idx.shape[1])
        x = self.wte(idx) + self.wpe(pos)
        for i, b in enumerate(self.blocks):
            x = b(x, None if caches is None else caches[i])
        return self.lnf(x)

    def forward(self, idx):
        h = self.trunk(idx)
        return h @ self.wte.weight.T, self.v_head(h).squeeze(-1)

    @torch.no_grad()
    def generate(self, idx, n):
        caches = [dict() for _ in self.blocks]
        h = self.trunk(idx, caches)
        out = []
        pos = idx.shape[1]
        for _ in range(n):
            logits = h[:, -1] @ self.wte.weight.T
            tok = torch.multinomial(F.softmax(logits, -1), 1)
            out.append(tok)
            h = self.trunk(tok, caches, pos); pos += 1
        return torch.cat(out, 1)


policy, ref, rm = GPT(), GPT(), GPT()
ref.load_state_dict(policy.state_dict())
for m in (ref, rm):
    m.requires_grad_(False)
opt = torch.optim.AdamW(policy.parameters(), lr=1.41e-5)
Q, R = args.query_len, args.response_len


def logprobs_values(model, seq):
    logits, values = model(seq)
    lp = F.log_softmax(logits[:, Q - 1:-1], -1).gather(-1, seq[:, Q:, None]).squeeze(-1)
    return lp, values[:, Q - 1:-1]


def step():
    t0 = time.perf_counter()
    queries = torch.randint(0, args.vocab, (args.queries, Q))
    responses = policy.generate(queries, R)
    seq = torch.cat([queries, responses], 1)
    t1 = time.perf_counter()
    with torch.no_grad():
        old_lp, old_v = logprobs_values(policy, seq)
        ref_lp, _ = logprobs_values(ref, seq)
        _, rv = rm(seq)
        score = rv[:, -1]
    t2 = time.perf_counter()
    rewards = -0.2 * (old_lp - ref_lp)
    rewards[:, -1] += score
    adv = torch.zeros_like(rewards); last = 0
    for t in reversed(range(R)):
        nv = old_v[:, t + 1] if t < R - 1 else 0.0
        delta = rewards[:, t] + nv - old_v[:, t]
        last = delta + 0.95 * last
        adv[:, t] = last
    ret = adv + old_v
    adv = (adv - adv.mean()) / (adv.std() + 1e-8)
    for _ in range(args.epochs):
        perm = torch.randperm(args.queries)
        for i in range(0, args.queries, args.minibatch):
            mb = perm[i:i + args.minibatch]
            lp, v = logprobs_values(policy, seq[mb])
            ratio = torch.exp(lp - old_lp[mb])
            pg = torch.max(-adv[mb] * ratio, -adv[mb] * ratio.clamp(0.8, 1.2)).mean()
            vc = old_v[mb] + (v - old_v[mb]).clamp(-0.2, 0.2)
            vf = 0.5 * torch.max((v - ret[mb]) ** 2, (vc - ret[mb]) ** 2).mean()
            loss = pg + 0.1 * vf
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(policy.parameters(), 1.0)
            opt.step()
    t3 = time.perf_counter()
    return t1 - t0, t2 - t1, t3 - t2


step()  # warm-up
runs = [step() for _ in range(args.steps)]
gen, score, update = (statistics.median(r[i] for r in runs) for i in range(3))
total = statistics.median(sum(r) for r in runs)
if args.json:
    print(json.dumps({"threads": args.threads, "steps": args.steps, "generate_s": gen, "score_s": score,
                      "update_s": update, "total_s": total, "torch": torch.__version__}))
else:
    print(f"torch {torch.__version__}, {args.threads} thread(s), median of {args.steps} steps")
    print(f"generate {gen:.3f} s  score {score:.3f} s  update {update:.3f} s  total {total:.3f} s")
