#!/usr/bin/python3
"""PyTorch DistributedDataParallel reference for scripts/bench.sh fashion --mode sync.

Synchronous data-parallel SGD as sparktrain's sync mode does it: 2 processes x 1 thread each (gloo
backend over loopback, torch.multiprocessing spawn), a global mini-batch of 128 (64 per process),
gradients all-reduced (averaged) every step, the same Adam step on both replicas. Model 784-256-128-10
(or --hidden), ReLU, softmax cross-entropy, Adam lr 1e-3, real Fashion-MNIST training rows (pixels /
255, float32). Each epoch the 60,000 rows are shuffled with a seed shared by the processes and
process r takes every P-th row from r (DistributedSampler's scheme, last incomplete batch dropped).

Timing: --warmup steps first (not measured, they do train the model), then the measured steps
(--epochs epochs, or --steps if given) split into --reps equal blocks; samples/s = global samples of
a block / its wall time on rank 0 (the step's all-reduce keeps the processes in lock-step); the
median block is reported, with min and max. Afterwards rank 0 evaluates on the 10,000 test rows.

The same process set-up as scripts/bench_torch.py (see its docstring): glibc's malloc thresholds
raised (else each step page-faults a few MB back in), denormals flushed, Adam(foreach=True),
zero_grad(set_to_none=True).

Network: loopback only. gloo's connections use the loopback device (GLOO_SOCKET_IFNAME=lo: they
listen on and connect to 127.0.0.1). The rendezvous goes through a FileStore in a temporary
directory rather than the TCPStore of MASTER_ADDR/MASTER_PORT, because PyTorch 1.13's TCPStore
server binds every interface (seen with ss -ltnp: *:port) whatever MASTER_ADDR says.
MASTER_ADDR=127.0.0.1 and a free loopback port are still set for anything that reads them.

Prints one JSON line: {"bench": "ddp", "backend": "gloo", "processes": 2, ...}.
"""
import argparse
from datetime import timedelta
import json
import os
import socket
import statistics
import sys
import tempfile
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_torch as bt  # noqa: E402  (data loading, model, allocator set-up)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker(rank, args, port, store_path, result_q):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), GLOO_SOCKET_IFNAME="lo")
    bt.tune_allocator()
    torch.set_flush_denormal(True)
    torch.set_num_threads(args.threads)
    # A FileStore, not the TCPStore of MASTER_ADDR:MASTER_PORT: PyTorch 1.13's TCPStore server listens
    # on every interface (*:port) whatever MASTER_ADDR says; a file store listens on nothing.
    store = dist.FileStore(store_path, args.processes)
    dist.init_process_group("gloo", store=store, rank=rank, world_size=args.processes,
                            timeout=timedelta(seconds=300))
    world = args.processes
    if args.batch % world:
        raise SystemExit("bench_ddp.py: --batch %d is not a multiple of %d processes" % (args.batch, world))
    local = args.batch // world
    x, y = bt.load_fashion("train", args.data)
    hidden = tuple(int(h) for h in args.hidden.split(","))
    torch.manual_seed(args.seed)  # the same initial weights everywhere (DDP also broadcasts rank 0's)
    model = torch.nn.parallel.DistributedDataParallel(bt.make_model(hidden), gradient_as_bucket_view=True)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, foreach=True)
    loss_fn = torch.nn.CrossEntropyLoss()

    steps_per_epoch = len(x) // args.batch
    measured = args.steps if args.steps else int(args.epochs * steps_per_epoch)
    total = args.warmup + measured

    def batches():
        epoch = 0
        while True:
            g = torch.Generator().manual_seed(args.seed * 1000 + epoch)
            shard = torch.randperm(len(x), generator=g)[rank::world]
            for s in range(steps_per_epoch):
                yield shard[s * local:(s + 1) * local]
            epoch += 1

    block = max(1, measured // args.reps)
    marks = []
    it = batches()
    for step in range(total):
        if step >= args.warmup and (step - args.warmup) % block == 0:
            marks.append((step, time.perf_counter()))
        idx = next(it)
        xb, yb = x.index_select(0, idx), y.index_select(0, idx)
        opt.zero_grad(set_to_none=True)
        loss_fn(model(xb), yb).backward()
        opt.step()
    marks.append((total, time.perf_counter()))
    rates = [(s1 - s0) * args.batch / (t1 - t0) for (s0, t0), (s1, t1) in zip(marks, marks[1:])
             if s1 - s0 == block]  # full blocks only
    train_s = marks[-1][1] - marks[0][1]
    if rank == 0:
        acc = None
        if not args.no_eval:
            xt, yt = bt.load_fashion("test", args.data)
            with torch.no_grad():
                model.eval()
                correct = sum(int((model.module(xt[i:i + 1000]).argmax(1) == yt[i:i + 1000]).sum())
                              for i in range(0, len(xt), 1000))
            acc = correct / len(xt)
        result_q.put({"rates": rates, "train_s": train_s, "acc": acc, "measured": measured,
                      "epochs": measured / steps_per_epoch})
    dist.barrier()
    dist.destroy_process_group()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=float, default=2, help="measured epochs (default 2)")
    ap.add_argument("--batch", type=int, default=128, help="global mini-batch (default 128)")
    ap.add_argument("--steps", type=int, default=0, help="measured steps instead of --epochs")
    ap.add_argument("--hidden", default="256,128", help="hidden layer sizes (default 256,128)")
    ap.add_argument("--warmup", type=int, default=50, help="unmeasured steps first (default 50)")
    ap.add_argument("--reps", type=int, default=5, help="timed blocks of the measured steps (default 5)")
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1, help="torch threads per process (default 1)")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data", default=None, help="Fashion-MNIST idx directory (see bench_torch.py)")
    ap.add_argument("--no-eval", action="store_true", help="skip the test-set accuracy")
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    os.environ["GLOO_SOCKET_IFNAME"] = "lo"
    bt.idx_dir(args.data)  # fail early, before spawning, when the data is missing
    ctx = mp.get_context("spawn")
    q = ctx.SimpleQueue()
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench_ddp.") as tmp:
        mp.start_processes(worker, args=(args, port, os.path.join(tmp, "store"), q), nprocs=args.processes,
                           join=True, start_method="spawn")
    r = q.get()
    hidden = args.hidden.split(",")
    rates = r["rates"]
    print(json.dumps({"bench": "ddp", "backend": "gloo", "processes": args.processes,
                      "threads_per_process": args.threads, "global_batch": args.batch,
                      "model": "-".join(["784"] + hidden + ["10"]), "optimizer": "adam", "lr": args.lr,
                      "blas": "pytorch-" + torch.__version__, "blas_lib": bt.blas_library(),
                      "data": "fashion-mnist-train", "warmup_steps": args.warmup, "measured_steps": r["measured"],
                      "epochs": round(r["epochs"], 2), "blocks": len(rates),
                      "samples_per_s": round(statistics.median(rates)), "samples_per_s_min": round(min(rates)),
                      "samples_per_s_max": round(max(rates)), "train_seconds": round(r["train_s"], 2),
                      "test_accuracy": None if r["acc"] is None else round(r["acc"], 4)}))


if __name__ == "__main__":
    main()
