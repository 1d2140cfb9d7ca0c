"""Reference values for EmbeddingReferenceTest: PyTorch 1.13's nn.EmbeddingBag in a wide-and-deep net.

The network: 3 numeric inputs, two embedding tables (7 x 3 with mode 'mean', 5 x 2 with mode
'sum'), their outputs concatenated after the numeric inputs (3 + 3 + 2 = 8 values per row), a
dense layer of 4 tanh units, and 3 softmax outputs with cross-entropy. Six rows, each with a weight;
the bags include a repeated id, an empty bag (EmbeddingBag gives zeros) and single ids. Written:
the parameters in sparktrain's flat layout (dense_0/kernel as (in, out) row-major, then the
tables, then dense_0/bias, dense_1/kernel, dense_1/bias), the batch, the weighted loss sum, its
gradient in the same layout, and the network's outputs (softmax probabilities).

Regenerate (Debian's python3-torch):
  /usr/bin/python3 trainer/src/test/resources/nn/make_embedding_reference.py \
      > trainer/src/test/resources/nn/embedding_reference.json
"""
import json

import torch

torch.manual_seed(11)
torch.set_default_dtype(torch.float64)
ROWS, NUMERIC, HIDDEN, CLASSES = 6, 3, 4, 3
TABLES = [(7, 3, "mean"), (5, 2, "sum")]
x = torch.randn(ROWS, NUMERIC)
bags = [  # per row, per table: the bucket ids
    [[0, 3], [1]],
    [[6], []],
    [[2, 2, 5], [4, 0]],
    [[], [3]],
    [[1], [1, 1]],
    [[4, 0, 6, 6], [2]],
]
labels = [0, 2, 1, 1, 0, 2]
weights = torch.tensor([1.0, 0.5, 2.0, 1.5, 0.75, 1.25])
embs = [torch.nn.EmbeddingBag(b, d, mode=m) for b, d, m in TABLES]
for e in embs:
    torch.nn.init.normal_(e.weight, std=0.7)
width = NUMERIC + sum(d for _, d, _ in TABLES)
l0 = torch.nn.Linear(width, HIDDEN)
l1 = torch.nn.Linear(HIDDEN, CLASSES)


def bag_input(t):
    ids, offsets = [], []
    for row in bags:
        offsets.append(len(ids))
        ids.extend(row[t])
    return torch.tensor(ids, dtype=torch.long), torch.tensor(offsets, dtype=torch.long)


parts = [x] + [embs[t](*bag_input(t)) for t in range(len(TABLES))]
logits = l1(torch.tanh(l0(torch.cat(parts, dim=1))))
per_row = torch.nn.functional.cross_entropy(logits, torch.tensor(labels), reduction="none")
loss = (weights * per_row).sum()
loss.backward()


def flat(tensors):
    return torch.cat([t.detach().flatten() for t in tensors]).tolist()


layout = lambda g: [g(l0.weight).t(), *[g(e.weight) for e in embs], g(l0.bias), g(l1.weight).t(), g(l1.bias)]
print(json.dumps({
    "torch_version": torch.__version__,
    "numeric": NUMERIC, "hidden": HIDDEN, "classes": CLASSES,
    "tables": [{"buckets": b, "dim": d, "combiner": m} for b, d, m in TABLES],
    "features": x.flatten().tolist(), "bags": bags, "labels": labels, "weights": weights.tolist(),
    "params": flat(layout(lambda p: p)),
    "loss": loss.item(),
    "gradient": flat(layout(lambda p: p.grad)),
    "probabilities": torch.softmax(logits, dim=1).flatten().tolist(),
}, indent=1))
