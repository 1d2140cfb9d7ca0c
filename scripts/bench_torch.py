#!/usr/bin/python3
"""PyTorch reference for scripts/bench.sh core: the same model, batch and optimizer on one thread.

784-256-128-10, ReLU, softmax cross-entropy, Adam (lr 1e-3), batch 128, random Fashion-MNIST-shaped
data; median samples/s over repetitions. Arguments: [batches per repetition] [repetitions] [batch].
"""
import json
import statistics
import sys
import time

import torch

batches = int(sys.argv[1]) if len(sys.argv) > 1 else 200
reps = int(sys.argv[2]) if len(sys.argv) > 2 else 7
batch = int(sys.argv[3]) if len(sys.argv) > 3 else 128
torch.set_num_threads(1)
torch.manual_seed(1)
model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 128),
                            torch.nn.ReLU(), torch.nn.Linear(128, 10))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
loss_fn = torch.nn.CrossEntropyLoss()
rows = 8192
x = torch.rand(rows, 784)
y = torch.randint(0, 10, (rows,))
rates = []
cursor = 0
for rep in range(-1, reps):
    t0 = time.perf_counter()
    for _ in range(batches):
        if cursor + batch > rows:
            cursor = 0
        xb, yb = x[cursor:cursor + batch], y[cursor:cursor + batch]
        cursor += batch
        opt.zero_grad()
        loss_fn(model(xb), yb).backward()
        opt.step()
    secs = time.perf_counter() - t0
    if rep >= 0:
        rates.append(batches * batch / secs)
print(json.dumps({"bench": "core", "model": "784-256-128-10", "batch": batch, "blas": "pytorch-" + torch.__version__,
                  "threads": 1, "repetitions": reps, "batches_per_rep": batches,
                  "samples_per_s": round(statistics.median(rates)), "samples_per_s_min": round(min(rates)),
                  "samples_per_s_max": round(max(rates))}))
