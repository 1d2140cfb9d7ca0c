#!/usr/bin/python3
"""Reference values for io.sparktrain.optim.OptimizerReferenceTest, computed with PyTorch (1.13).

Regenerate (from the repository root; Debian's python3-torch lives in /usr/bin/python3):

    /usr/bin/python3 trainer/src/test/resources/optim/make_reference.py

It writes reference.json next to this script. Everything the Java test needs is in the JSON: the
initial parameters, the gradients of every step, and per case the optimizer, its hyper-parameters,
the clipping threshold, the schedule, the learning rate of every step and the parameters after
every step. All tensors are float32; the values are written as the exact doubles of the float32
numbers.

Learning rates: lrs[t] is the rate in effect when optimizer.step() is called the (t+1)-th time
(the scheduler is stepped after each optimizer.step(), as PyTorch requires), which is what the
Java LearningRateSchedule calls the rate at step index t.
"""

import json
import math
import os

import torch

# Five parameters of different signs and scales (one small, so absolute errors show).
INITIAL_PARAMS = [0.5, -1.25, 2.0, 0.003, -0.75]

# A fixed, explicit gradient sequence: signs change, magnitudes vary (norms about 0.2 to 3.3),
# one component is zero at one step.
GRADIENTS = [
    [0.1, -0.2, 0.3, 0.05, -0.4],
    [0.25, 0.1, -0.15, 0.02, 0.3],
    [-0.3, 0.4, 0.05, -0.01, 0.0],
    [1.5, -2.0, 0.5, 0.2, -1.0],
    [0.05, 0.03, -0.02, 0.01, 0.04],
    [-0.6, 0.2, 0.7, -0.1, 0.35],
]

# Cosine schedule with linear warm-up, exactly LearningRateSchedule.factor (Java):
#   t < warmup:  (t + 1) / warmup
#   t >= total:  min_factor
#   otherwise:   min_factor + (1 - min_factor) * 0.5 * (1 + cos(pi * (t - warmup) / (total - warmup)))
def cosine_factor(warmup, total, min_factor):
    def factor(t):
        if t < warmup:
            return (t + 1.0) / warmup
        if t >= total:
            return min_factor
        progress = (t - warmup) / (total - warmup)
        return min_factor + (1 - min_factor) * 0.5 * (1 + math.cos(math.pi * progress))
    return factor


CONSTANT = {"kind": "constant"}

# name, optimizer, hyper-parameters (the keys of OptimizerSpec, torch names), clip_norm (0 = off), schedule
CASES = [
    ("sgd_plain", "sgd", {"lr": 0.1}, 0, CONSTANT),
    ("sgd_momentum", "sgd", {"lr": 0.1, "momentum": 0.9}, 0, CONSTANT),
    ("sgd_nesterov", "sgd", {"lr": 0.1, "momentum": 0.9, "nesterov": True}, 0, CONSTANT),
    ("sgd_momentum_weight_decay", "sgd", {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.05}, 0, CONSTANT),
    ("adam", "adam", {"lr": 0.05}, 0, CONSTANT),
    ("adam_betas_eps", "adam", {"lr": 0.05, "betas": [0.8, 0.95], "eps": 1e-4}, 0, CONSTANT),
    ("adam_weight_decay", "adam", {"lr": 0.05, "weight_decay": 0.1}, 0, CONSTANT),
    ("adamw_wd_0.01", "adamw", {"lr": 0.05, "weight_decay": 0.01}, 0, CONSTANT),
    ("adamw_wd_0.1", "adamw", {"lr": 0.05, "weight_decay": 0.1}, 0, CONSTANT),
    # max_norm below every gradient norm but one (clipping active), and above all of them (no-op).
    ("adam_clip_below", "adam", {"lr": 0.05}, 0.3, CONSTANT),
    ("adam_clip_above", "adam", {"lr": 0.05}, 10.0, CONSTANT),
    ("sgd_momentum_step_lr", "sgd", {"lr": 0.1, "momentum": 0.9}, 0, {"kind": "step", "every": 2, "gamma": 0.5}),
    ("adam_exponential_lr", "adam", {"lr": 0.05}, 0, {"kind": "exponential", "gamma": 0.8}),
    ("adamw_cosine_warmup", "adamw", {"lr": 0.05, "weight_decay": 0.1}, 0,
     {"kind": "cosine", "warmup": 2, "total": 5, "min_factor": 0.1}),
    ("sgd_cosine_warmup_clip", "sgd", {"lr": 0.1, "momentum": 0.9, "nesterov": True}, 1.0,
     {"kind": "cosine", "warmup": 1, "total": 4, "min_factor": 0.0}),
]


def make_optimizer(kind, hyper, params):
    h = dict(hyper)
    if kind == "sgd":
        return torch.optim.SGD(params, foreach=False, **h)
    if "betas" in h:
        h["betas"] = tuple(h["betas"])
    if kind == "adam":
        return torch.optim.Adam(params, foreach=False, **h)
    if kind == "adamw":
        h.setdefault("weight_decay", 0.01)  # torch and OptimizerSpec default; stated explicitly in the JSON
        return torch.optim.AdamW(params, foreach=False, **h)
    raise ValueError(kind)


def make_scheduler(schedule, optimizer):
    k = schedule["kind"]
    if k == "constant":
        return None
    if k == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=schedule["every"], gamma=schedule["gamma"])
    if k == "exponential":
        return torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=schedule["gamma"])
    if k == "cosine":
        f = cosine_factor(schedule["warmup"], schedule["total"], schedule["min_factor"])
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda=f)
    raise ValueError(k)


def floats(t):
    return [float(x) for x in t.detach().to(torch.float32).tolist()]


def run_case(name, kind, hyper, clip_norm, schedule):
    p = torch.nn.Parameter(torch.tensor(INITIAL_PARAMS, dtype=torch.float32))
    opt = make_optimizer(kind, hyper, [p])
    sched = make_scheduler(schedule, opt)
    lrs, params, norms, clipped = [], [], [], []
    for g in GRADIENTS:
        p.grad = torch.tensor(g, dtype=torch.float32)
        if clip_norm > 0:
            norms.append(float(torch.nn.utils.clip_grad_norm_([p], max_norm=clip_norm)))
            clipped.append(floats(p.grad))
        lrs.append(float(opt.param_groups[0]["lr"]))
        opt.step()
        if sched is not None:
            sched.step()
        params.append(floats(p))
    group = opt.param_groups[0]
    full = {"lr": group["lr"] if sched is None else group["initial_lr"]}
    if kind == "sgd":
        full.update(momentum=group["momentum"], nesterov=group["nesterov"], weight_decay=group["weight_decay"])
    else:
        full.update(beta1=group["betas"][0], beta2=group["betas"][1], epsilon=group["eps"],
                    weight_decay=group["weight_decay"])
    case = {"name": name, "optimizer": kind, "hyper": full, "clip_norm": clip_norm,
            "schedule": schedule, "lrs": lrs, "params": params}
    if clip_norm > 0:
        case["pre_clip_norms"] = norms
        case["clipped_gradients"] = clipped
    return case


def main():
    torch.set_num_threads(1)
    out = {
        "generator": "trainer/src/test/resources/optim/make_reference.py",
        "torch_version": torch.__version__,
        "dtype": "float32",
        "initial_params": floats(torch.tensor(INITIAL_PARAMS, dtype=torch.float32)),
        "gradients": [floats(torch.tensor(g, dtype=torch.float32)) for g in GRADIENTS],
        "cases": [run_case(*c) for c in CASES],
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "reference.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print("wrote", path, "with", len(out["cases"]), "cases, torch", torch.__version__)


if __name__ == "__main__":
    main()
