"""Independent numpy reference for Tests/StagesTests/GRPOMathTests.swift.

Run: python3 Tests/StagesTests/grpo_math_reference.py — prints one JSON object with the advantages of
every baseline × scaling and the loss, gradient (central differences of the loss in float64) and
metrics of every loss type, on the fixed inputs below. Written from TRL's GRPOTrainer formulas
(nanstd with Bessel's correction, std + 1e-4, k3 KL exp(ref − logp) − (ref − logp) − 1, token-level
clipped surrogate, grpo / dr_grpo / dapo normalisation), not from the Swift code.
"""
import json
import numpy as np

G, T = 3, 3
rewards = np.array([0.9, -0.2, 0.4, 1.5, 1.1, -0.7, 0.3, 0.3, 0.3])   # third group: zero std
rows = rewards.size
logp = np.array([[-1.0, -2.0, -0.5], [-0.7, -0.2, -3.0], [-1.1, -0.4, -0.9],
                 [-2.2, -0.3, -1.0], [-0.6, -1.4, -0.8], [-0.5, -0.5, -2.5],
                 [-1.3, -0.2, -0.7], [-0.9, -1.9, -0.1], [-0.4, -0.6, -1.2]])
# Old log-probs chosen so ratios fall on both sides of both clip bounds.
offsets = np.array([[0.0, 0.3, -0.3], [0.1, -0.4, 0.05], [0.5, -0.1, 0.0],
                    [-0.25, 0.2, 0.02], [0.3, -0.5, 0.1], [0.0, 0.0, 0.0],
                    [0.15, -0.15, 0.4], [-0.3, 0.25, 0.0], [0.05, 0.6, -0.2]])
old = logp - offsets
ref = logp + np.array([[0.2, -0.5, 0.0], [0.5, 0.2, -1.0], [0.1, 0.3, -0.2],
                       [-0.4, 0.6, 0.1], [0.0, -0.3, 0.25], [0.7, -0.1, 0.05],
                       [-0.2, 0.4, 0.3], [0.1, 0.1, -0.6], [-0.35, 0.2, 0.15]])
mask = np.ones((rows, T))
mask[1, 2] = 0            # row 1 truncated after 2 tokens
mask[4, 1:] = 0           # row 4 after 1 token
beta, eps_low, eps_high, max_len = 0.04, 0.2, 0.28, T


def nanstd(x):
    n = x.size
    return np.sqrt(((x - x.mean()) ** 2).mean() * n / (n - 1))


def advantages(baseline, scaling):
    grouped = rewards.reshape(-1, G)
    mean = grouped.mean(axis=1, keepdims=True)
    if baseline == "grpo":
        centred = grouped - mean
    else:
        centred = grouped - (grouped.sum(axis=1, keepdims=True) - grouped) / (G - 1)
    if scaling == "group":
        centred = centred / (np.array([nanstd(g) for g in grouped])[:, None] + 1e-4)
    elif scaling == "batch":
        centred = centred / (nanstd(rewards) + 1e-4)
    return centred.reshape(-1)


def loss(x, adv, loss_type):
    ratio = np.exp(x - old)
    a = adv[:, None]
    per_token = -np.minimum(ratio * a, np.clip(ratio, 1 - eps_low, 1 + eps_high) * a)
    d = ref - x
    per_token = per_token + beta * (np.exp(d) - d - 1)
    if loss_type == "grpo":
        return ((per_token * mask).sum(-1) / np.maximum(mask.sum(-1), 1)).mean()
    if loss_type == "dr_grpo":
        return (per_token * mask).sum() / (rows * max_len)
    return (per_token * mask).sum() / max(mask.sum(), 1)


out = {"advantages": {}, "loss": {}}
for baseline in ["grpo", "rloo"]:
    for scaling in ["group", "batch", "none"]:
        out["advantages"][baseline + "/" + scaling] = advantages(baseline, scaling).tolist()
adv = advantages("grpo", "group")
n = mask.sum()
ratio = np.exp(logp - old)
a = adv[:, None]
for loss_type in ["grpo", "dr_grpo", "dapo"]:
    g = np.zeros_like(logp)
    h = 1e-6
    for idx in np.ndindex(logp.shape):
        e = np.zeros_like(logp); e[idx] = h
        g[idx] = (loss(logp + e, adv, loss_type) - loss(logp - e, adv, loss_type)) / (2 * h)
    out["loss"][loss_type] = {"loss": loss(logp, adv, loss_type), "gradient": (g * mask).reshape(-1).tolist()}
d = ref - logp
out["kl"] = float(((np.exp(d) - d - 1) * mask).sum() / n)
out["clip_low"] = float((((ratio < 1 - eps_low) & (a < 0)) * mask).sum() / n)
out["clip_high"] = float((((ratio > 1 + eps_high) & (a > 0)) * mask).sum() / n)
out["reward_mean"] = float(rewards.mean())
out["reward_std"] = float(nanstd(rewards))
print(json.dumps(out))
