"""Reference values for DistillationTest: Hinton et al.'s distillation loss in PyTorch 1.13.

Per row: alpha * T^2 * KL(teacher_T || student_T) + (1 - alpha) * CE(label), weighted and summed
over the rows. Two cases:
  softmax: 4 inputs, 5 tanh units, 3 softmax outputs; KL over the classes
           (F.kl_div(log_softmax(z / T), softmax(z_t / T)));
  sigmoid: 4 inputs, 5 relu units, 2 sigmoid outputs (two labels per row); each unit's Bernoulli KL,
           averaged over the units as binary cross-entropy is.
The teacher's logits are given (random, some large). Written per case: the parameters in
sparktrain's flat layout (dense_l/kernel as (in, out) row-major, then dense_l/bias, per layer),
the batch, the teacher logits, T, alpha, the weighted loss sum and its gradient in the same layout.

Regenerate (Debian's python3-torch):
  /usr/bin/python3 trainer/src/test/resources/nn/make_distillation_reference.py \
      > trainer/src/test/resources/nn/distillation_reference.json
"""
import json

import torch
import torch.nn.functional as F

torch.manual_seed(2015)
torch.set_default_dtype(torch.float64)
ROWS, INPUTS, HIDDEN = 6, 4, 5


def case(kind, outputs, act, temperature, alpha):
    x = torch.randn(ROWS, INPUTS)
    weights = torch.tensor([1.0, 0.5, 2.0, 1.5, 0.75, 1.25])
    teacher = torch.randn(ROWS, outputs) * 3.0
    teacher[2, 0] = 40.0  # a confident teacher: the soft targets must stay finite
    l0 = torch.nn.Linear(INPUTS, HIDDEN)
    l1 = torch.nn.Linear(HIDDEN, outputs)
    z = l1(act(l0(x)))
    t = temperature
    if kind == "softmax":
        labels = torch.tensor([0, 2, 1, 1, 0, 2])
        hard = F.cross_entropy(z, labels, reduction="none")
        kl = F.kl_div(F.log_softmax(z / t, dim=1), F.softmax(teacher / t, dim=1), reduction="none").sum(dim=1)
        label_list = labels.tolist()
    else:
        labels = torch.tensor([[1, 0], [0, 0], [1, 1], [0, 1], [1, 0], [0, 1]], dtype=torch.float64)
        hard = F.binary_cross_entropy_with_logits(z, labels, reduction="none").mean(dim=1)
        q = torch.sigmoid(teacher / t)
        ls, l1s = F.logsigmoid(z / t), F.logsigmoid(-z / t)
        lq, l1q = F.logsigmoid(teacher / t), F.logsigmoid(-teacher / t)
        kl = (q * (lq - ls) + (1 - q) * (l1q - l1s)).mean(dim=1)
        label_list = labels.flatten().tolist()
    per_row = alpha * t * t * kl + (1 - alpha) * hard
    loss = (weights * per_row).sum()
    loss.backward()
    flat = lambda g: torch.cat([g(l0.weight).t().flatten(), g(l0.bias), g(l1.weight).t().flatten(),
                                g(l1.bias)]).tolist()
    return {
        "kind": kind, "outputs": outputs, "temperature": temperature, "alpha": alpha,
        "features": x.flatten().tolist(), "labels": label_list, "weights": weights.tolist(),
        "teacher_logits": teacher.flatten().tolist(),
        "params": flat(lambda p: p.detach()),
        "loss": loss.item(),
        "gradient": flat(lambda p: p.grad),
    }


print(json.dumps({
    "torch_version": torch.__version__,
    "inputs": INPUTS, "hidden": HIDDEN,
    "cases": [case("softmax", 3, torch.tanh, 2.5, 0.7), case("sigmoid", 2, torch.relu, 4.0, 0.9),
              case("softmax", 3, torch.tanh, 1.0, 1.0)],
}, indent=1))
