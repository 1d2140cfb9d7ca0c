"""Reference values for LazyAdamReferenceTest: PyTorch 1.13's SparseAdam on a row-sparse table.

A 6 x 3 table (a sparse first layer's kernel: 6 input rows, 3 units) followed by 4 dense
parameters. Each step's gradient touches a few rows of the table (its other rows are exactly 0,
as a CSR mini-batch leaves them) and all dense parameters. The table steps with
torch.optim.SparseAdam (moments of untouched rows are left alone), the dense part with
torch.optim.Adam, both with the same hyper-parameters. Written: the initial values, every step's
row ids and gradients, and the parameters after every step.

Regenerate (Debian's python3-torch):
  /usr/bin/python3 trainer/src/test/resources/optim/make_lazy_adam_reference.py \
      > trainer/src/test/resources/optim/lazy_adam_reference.json
"""
import json

import torch

torch.manual_seed(7)
ROWS, WIDTH, DENSE = 6, 3, 4
LR, BETAS, EPS = 0.05, (0.9, 0.999), 1e-8
table = torch.nn.Parameter(torch.randn(ROWS, WIDTH))
dense = torch.nn.Parameter(torch.randn(DENSE))
init = torch.cat([table.detach().flatten(), dense.detach()]).tolist()
sparse_opt = torch.optim.SparseAdam([table], lr=LR, betas=BETAS, eps=EPS)
dense_opt = torch.optim.Adam([dense], lr=LR, betas=BETAS, eps=EPS)
touched = [[0, 2], [2, 5], [1], [0, 2, 4], [5], [3, 2]]
steps = []
for rows in touched:
    values = torch.randn(len(rows), WIDTH)
    table.grad = torch.sparse_coo_tensor(torch.tensor([rows]), values, (ROWS, WIDTH))
    dense.grad = torch.randn(DENSE)
    full = torch.zeros(ROWS, WIDTH)
    full[rows] = values
    grad = torch.cat([full.flatten(), dense.grad]).tolist()
    sparse_opt.step()
    dense_opt.step()
    after = torch.cat([table.detach().flatten(), dense.detach()]).tolist()
    steps.append({"rows": sorted(rows), "gradient": grad, "params": after})
print(json.dumps({"torch_version": torch.__version__, "rows": ROWS, "width": WIDTH, "lr": LR,
                  "betas": list(BETAS), "eps": EPS, "initial_params": init, "steps": steps}, indent=1))
