"""Independent numpy reference for Tests/StagesTests/PPOMathTests.swift and RMLossTests.swift.

Run: python3 Tests/StagesTests/ppo_math_reference.py  — prints the values the Swift tests pin.
Written from the formulas in shared/notes/rlhf-ppo.md (TRL v0.11 semantics), not from the Swift code.
"""
import numpy as np

np.set_printoptions(precision=9, floatmode="fixed")
T = 4
logp = np.array([[-1.0, -2.0, -0.5, -1.5], [-0.7, -0.2, -3.0, -1.0]])
ref = np.array([[-1.2, -1.5, -0.5, -2.0], [-0.9, -0.4, -2.0, -1.1]])
mask = np.array([[1, 1, 1, 1], [1, 1, 1, 0]], dtype=float)   # row 1 truncated after 3 tokens
scores = np.array([0.8, -0.3])
beta = 0.2

# k1 / k3 per token
k1 = (logp - ref) * mask
logr = ref - logp
k3 = ((np.exp(logr) - 1) - logr) * mask
print("k1", k1.ravel())
print("k3", k3.ravel())

# rewards: -beta*kl, score on the last unmasked token
rewards = -beta * k1
for r in range(2):
    last = np.nonzero(mask[r])[0][-1]
    rewards[r, last] += scores[r]
print("rewards", rewards.ravel())

# GAE gamma=1, lam=0.95 (TRL v0.11 compute_advantages with masked values/rewards)
values = np.array([[0.1, 0.2, 0.3, 0.4], [0.5, -0.1, 0.2, 0.9]])
gamma, lam = 1.0, 0.95
v = values * mask
rw = rewards * mask
adv = np.zeros_like(v)
for r in range(2):
    lastgaelam = 0.0
    for t in reversed(range(T)):
        nextv = v[r, t + 1] if t < T - 1 else 0.0
        delta = rw[r, t] + gamma * nextv - v[r, t]
        lastgaelam = delta + gamma * lam * lastgaelam
        adv[r, t] = lastgaelam
adv = adv * mask
ret = adv + v
print("adv", adv.ravel())
print("ret", ret.ravel())

# whitening (masked, Bessel-corrected variance)
def whiten(x, m, shift_mean=True):
    mean = (x * m).sum() / m.sum()
    var = (((x - mean) ** 2) * m).sum() / m.sum()
    var = var * m.sum() / (m.sum() - 1)
    w = (x - mean) / np.sqrt(var + 1e-8)
    if not shift_mean:
        w = w + mean
    return w * m
print("whiten", whiten(adv, mask).ravel())
print("whiten_noshift", whiten(adv, mask, False).ravel())

# clipped policy loss
new = np.array([[-0.8, -2.5, -0.45, -1.5], [-0.2, -0.25, -3.1, -9.0]])
A = np.array([[0.5, -1.0, 2.0, -0.3], [1.0, 0.7, -0.4, 5.0]])
eps = 0.2
ratio = np.exp(new - logp)
pg1 = -A * ratio
pg2 = -A * np.clip(ratio, 1 - eps, 1 + eps)
n = mask.sum()
print("pg_loss", (np.maximum(pg1, pg2) * mask).sum() / n)
print("pg_clipfrac", ((pg2 > pg1) * mask).sum() / n)
print("approxkl", 0.5 * (((new - logp) ** 2) * mask).sum() / n)
print("policykl", ((logp - new) * mask).sum() / n)
print("ratio_mean", (ratio * mask).sum() / n)
# gradient by central finite differences
def pgl(x):
    r = np.exp(x - logp)
    return (np.maximum(-A * r, -A * np.clip(r, 1 - eps, 1 + eps)) * mask).sum() / n
g = np.zeros_like(new)
h = 1e-6
for idx in np.ndindex(new.shape):
    e = np.zeros_like(new); e[idx] = h
    g[idx] = (pgl(new + e) - pgl(new - e)) / (2 * h)
print("pg_grad", g.ravel())

# clipped value loss
vnew = np.array([[0.5, 0.1, 0.25, 0.0], [0.9, -0.2, 0.1, 3.0]])
vold = values
epsv = 0.2
def vl(x):
    vc = vold + np.clip(x - vold, -epsv, epsv)
    return 0.5 * (np.maximum((x - ret) ** 2, (vc - ret) ** 2) * mask).sum() / n
vc = vold + np.clip(vnew - vold, -epsv, epsv)
print("vf_loss", vl(vnew))
print("vf_clipfrac", ((((vc - ret) ** 2) > ((vnew - ret) ** 2)) * mask).sum() / n)
g = np.zeros_like(vnew)
for idx in np.ndindex(vnew.shape):
    e = np.zeros_like(vnew); e[idx] = h
    g[idx] = (vl(vnew + e) - vl(vnew - e)) / (2 * h)
print("vf_grad", g.ravel())

# adaptive KL controller, 3 updates: KL 9 (clipped to +0.2), 6.6 (+0.1), 3 (-0.2); n=64, horizon 10000
b = 0.2
for kl in [9.0, 6.6, 3.0]:
    b *= 1 + np.clip(kl / 6 - 1, -0.2, 0.2) * 64 / 10000
    print("beta", repr(b))

# Bradley-Terry
rc = np.array([1.0, 0.2, -0.5, 3.0])
rr = np.array([0.0, 0.7, -0.5, -1.0])
c = 0.01
d = rc - rr
bt = np.mean(np.logaddexp(0, -d)) + c * np.mean((rc + rr) ** 2)
print("bt_loss", repr(bt))
def btl(x, y):
    return np.mean(np.logaddexp(0, -(x - y))) + c * np.mean((x + y) ** 2)
gc = np.zeros(4); gr = np.zeros(4)
for i in range(4):
    e = np.zeros(4); e[i] = h
    gc[i] = (btl(rc + e, rr) - btl(rc - e, rr)) / (2 * h)
    gr[i] = (btl(rc, rr + e) - btl(rc, rr - e)) / (2 * h)
print("bt_grad_c", gc)
print("bt_grad_r", gr)
print("bt_acc", np.mean(rc > rr), "bt_margin", np.mean(d))

# entropy of one logits row
z = np.array([1.0, 2.0, 0.5, -1.0])
p = np.exp(z - z.max()); p /= p.sum()
print("entropy", -(p * np.log(p)).sum())
