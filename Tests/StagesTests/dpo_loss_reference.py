"""Independent numpy reference for Tests/StagesTests/DPOLossTests.swift.

Run: python3 Tests/StagesTests/dpo_loss_reference.py  — prints the values the Swift tests pin.
Written from TRL's DPOTrainer loss definitions (trl/trainer/dpo_trainer.py `_compute_loss`), not from the
Swift code; gradients by float64 central differences of the loss.
"""
import numpy as np

# Three pairs: summed completion log-probs of policy and reference, completion token counts.
policy_chosen = np.array([-12.0, -7.5, -20.0])
policy_rejected = np.array([-14.0, -7.0, -18.5])
ref_chosen = np.array([-12.5, -8.0, -19.0])
ref_rejected = np.array([-13.0, -7.2, -19.5])
n_chosen = np.array([6.0, 4.0, 9.0])
n_rejected = np.array([7.0, 3.0, 8.0])
beta = 0.1
eps = 0.1  # label smoothing (robust)


def logsigmoid(x):
    return -np.logaddexp(0.0, -x)


def loss(kind, pc, pr, sft_weight=0.0):
    cr = pc - ref_chosen
    rr = pr - ref_rejected
    delta = cr - rr
    if kind == "sigmoid":
        per = -logsigmoid(beta * delta)
    elif kind == "hinge":
        per = np.maximum(0.0, 1 - beta * delta)
    elif kind == "robust":
        per = (-(1 - eps) * logsigmoid(beta * delta) + eps * logsigmoid(-beta * delta)) / (1 - 2 * eps)
    elif kind == "ipo":
        d = cr / n_chosen - rr / n_rejected
        per = (d - 1 / (2 * beta)) ** 2
    elif kind == "sigmoid_norm":
        per = -logsigmoid(beta * (cr / n_chosen - rr / n_rejected))
    # TRL's `sft` loss (loss_type [kind, "sft"], loss_weights [1, w]): the mean NLL of all chosen tokens.
    return per.mean() + sft_weight * (-pc.sum() / n_chosen.sum())


for kind in ["sigmoid", "hinge", "robust", "ipo", "sigmoid_norm"]:
    h = 1e-6
    gc, gr = [], []
    for i in range(3):
        e = np.zeros(3)
        e[i] = h
        gc.append((loss(kind, policy_chosen + e, policy_rejected) - loss(kind, policy_chosen - e, policy_rejected)) / (2 * h))
        gr.append((loss(kind, policy_chosen, policy_rejected + e) - loss(kind, policy_chosen, policy_rejected - e)) / (2 * h))
    print(f'("{kind}", {loss(kind, policy_chosen, policy_rejected):.12f}, [{", ".join(f"{g:.9f}" for g in gc)}], [{", ".join(f"{g:.9f}" for g in gr)}]),')
for kind in ["sigmoid", "ipo"]:
    h, w = 1e-6, 0.5
    gc = []
    for i in range(3):
        e = np.zeros(3)
        e[i] = h
        gc.append((loss(kind, policy_chosen + e, policy_rejected, w) - loss(kind, policy_chosen - e, policy_rejected, w)) / (2 * h))
    print(f'("{kind}+sft 0.5", {loss(kind, policy_chosen, policy_rejected, w):.12f}, [{", ".join(f"{g:.9f}" for g in gc)}]),')
rc = beta * (policy_chosen - ref_chosen)
rj = beta * (policy_rejected - ref_rejected)
print("rewards/chosen", f"{rc.mean():.12f}", "rewards/rejected", f"{rj.mean():.12f}",
      "margins", f"{(rc - rj).mean():.12f}", "accuracies", f"{(rc > rj).mean():.12f}")
