#!/usr/bin/python3
"""PyTorch reference for scripts/bench.sh core: the same model, batch and optimizer on one thread.

784-256-128-10, ReLU, softmax cross-entropy, Adam (lr 1e-3), batch 128, on real Fashion-MNIST
training rows (pixels / 255, float32, real labels; the 60,000 rows in one fixed shuffled order,
contiguous mini-batches); median samples/s over repetitions after one warm-up repetition.

Usage: bench_torch.py [batches per repetition] [repetitions] [batch] [--data DIR]
                      [--no-malloc-tuning] [--no-flush-denormal] [--default-optim] [--random-data]
                      [--no-gemm]
--data: a directory with the Fashion-MNIST idx files (*-idx?-ubyte[.gz]), or the Parquet directory
printed by scripts/get-fashion-mnist.sh (its idx/ subdirectory is looked at). Without it:
/usr/share/datasets/fashion-mnist (Debian's dataset-fashion-mnist), then data/fashion-mnist/idx.
The --no-*/--random-data switches bring back the old behaviour, for A/B runs only.

Prints two JSON lines: {"bench": "core-gemm", ...}, torch.mm alone on this model's GEMM shapes
(what BLAS gives PyTorch on one thread), then {"bench": "core", ...}, the training figure.

Why the old figure (16-26k samples/s, on torch.rand rows) was low, and what is done about it
------------------------------------------------------------------------------------------------
Not the values, their dtype or their layout: torch.rand, torch.from_numpy(numpy float32) and real
pixels are all float32, contiguous, strides (784, 1), and trained at the same speed (within 10 %)
when run side by side in one process. Denormals are real but free here: after a few hundred steps
Adam's exp_avg of weights whose gradient is exactly 0 (ReLU units that died on the all-positive
torch.rand rows; always-black border pixels in Fashion-MNIST) decays by 0.9 per step into the
denormal range and sticks at the smallest denormal (0.9 * 2^-149 rounds back to 2^-149): about
220,000 of the 235,146 exp_avg entries on torch.rand rows, 112,000 on real rows. On this AMD EPYC a
mul_/add_ over 200,704 denormals takes the same time as over normal floats (60 us both), and
torch.set_flush_denormal(True) did not change the training rate. We flush anyway (denormal
arithmetic costs on some other CPUs), so that the reference is PyTorch at its best wherever it runs.

The cause is the allocator. Each step frees and reallocates a few MB of tensors (weight gradients
of 784x256 floats are 784 KiB, activations, Adam temporaries). glibc malloc serves blocks above its
mmap threshold (128 KiB at start, raised dynamically to the largest freed mmapped block up to
32 MiB) with fresh mmap()s, and gives the top of the heap back to the kernel with brk() whenever it
exceeds the trim threshold (twice the mmap threshold). Either way the next step touches new pages:
the old script took 340-700 minor page faults per step (1.4-2.8 MB of pages zeroed by the kernel,
first touched in OpenBLAS's sgemm_beta and in the element-wise kernels; strace: ~4.5 brk() per
step), 1-2 ms of system time in a 5 ms step. How many depends on the allocation history of the
process (which temporaries were freed before training, e.g. a numpy array of 1-32 MiB freed while
building the data raises both thresholds for good), which is why two scripts that only build their
data differently can differ widely. Measured in one process on real rows, alternating 50-step
blocks (2 cores shared with a busy JVM): glibc's 128 KiB thresholds 706 faults/step, 2.0 ms
system time/step, 18,852 samples/s; thresholds raised 1 fault/step, 0.01 ms, 28,314 samples/s.
The JVM keeps its heap committed, so the Java side does not pay this. Here mallopt() raises both thresholds
before anything is allocated (the same as MALLOC_MMAP_THRESHOLD_=67108864
MALLOC_TRIM_THRESHOLD_=268435456 in the environment; jemalloc or tcmalloc via LD_PRELOAD do it
too), and the core line reports page_faults_per_step so a regression shows.

Two documented PyTorch options complete the picture: Adam(foreach=True) (one multi-tensor call per
Adam operation instead of one per parameter; the default on CUDA, not on CPU in 1.13) and
zero_grad(set_to_none=True) (the default from PyTorch 2.0: backward writes fresh gradients instead of
zero-fill then add). Together +18 % in the same side-by-side setup (28,535 -> 33,808 samples/s).
What remains beyond BLAS is PyTorch 1.13's unfused CPU Adam (~1.5 ms per step for 235k parameters)
and per-op dispatch; the core-gemm line shows what torch.mm alone reaches on the step's GEMMs.
"""
import ctypes
import gzip
import json
import os
import resource
import statistics
import struct
import sys
import time

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
         "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


def tune_allocator():
    """Keeps freed tensor memory in the process (see the module docstring). Returns True if applied."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    return bool(libc.mallopt(m_mmap_threshold, 64 << 20)) and bool(libc.mallopt(m_trim_threshold, 256 << 20))


def idx_dir(data=None):
    """The directory holding the Fashion-MNIST idx files."""
    cands = []
    if data:
        cands += [data, os.path.join(data, "idx"), os.path.join(data, "fashion-mnist", "idx")]
    cands.append("/usr/share/datasets/fashion-mnist")
    base = os.environ.get("SPARKTRAIN_DATA", os.path.join(ROOT, "data"))
    cands.append(os.path.join(base, "fashion-mnist", "idx"))
    for d in cands:
        if any(os.path.exists(os.path.join(d, FILES["train"][0] + ext)) for ext in ("", ".gz")):
            return d
    sys.exit("bench: Fashion-MNIST idx files not found in %s; run scripts/get-fashion-mnist.sh "
             "(or apt-get install dataset-fashion-mnist)" % ", ".join(cands))


def read_idx(path):
    """An idx file (optionally gzipped) as a uint8 numpy array of its shape."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError("%s: not an unsigned-byte idx file" % path)
    shape = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_fashion(split, data=None):
    """(x float32 [n, 784] = pixels / 255, y int64 [n]) of the train or test split."""
    d = idx_dir(data)
    out = []
    for name in FILES[split]:
        path = os.path.join(d, name + ".gz")
        out.append(read_idx(path if os.path.exists(path) else os.path.join(d, name)))
    images, labels = out
    x = torch.from_numpy(images.reshape(len(images), -1).astype(np.float32) / np.float32(255))
    return x, torch.from_numpy(labels.astype(np.int64))


def make_model(hidden=(256, 128), inputs=784, classes=10):
    layers, width = [], inputs
    for h in hidden:
        layers += [torch.nn.Linear(width, h), torch.nn.ReLU()]
        width = h
    layers.append(torch.nn.Linear(width, classes))
    return torch.nn.Sequential(*layers)


def gemm_shapes(batch, sizes):
    """The GEMMs of one training step, as autograd runs them: (name, a, b) with a @ b."""
    shapes = []
    for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        shapes.append(("fwd %dx%d @ (%dx%d)^T" % (batch, n_in, n_out, n_in), (batch, n_in), (n_out, n_in), "bt"))
        shapes.append(("dW (%dx%d)^T @ %dx%d" % (batch, n_out, batch, n_in), (batch, n_out), (batch, n_in), "at"))
        if i > 0:  # no input gradient for the first layer: the data does not require grad
            shapes.append(("dX %dx%d @ %dx%d" % (batch, n_out, n_out, n_in), (batch, n_out), (n_out, n_in), "nn"))
    return shapes


def time_gemms(batch, sizes, target_s=0.02, reps=5):
    """torch.mm on each GEMM shape of a step: GFLOP/s per shape (median of reps) and for the step."""
    rows, total_flops, total_s = [], 0, 0.0
    for name, sa, sb, kind in gemm_shapes(batch, sizes):
        a, b = torch.rand(*sa), torch.rand(*sb)
        if kind == "bt":
            f, flops = (lambda a=a, b=b: torch.mm(a, b.t())), 2 * sa[0] * sa[1] * sb[0]
        elif kind == "at":
            f, flops = (lambda a=a, b=b: torch.mm(a.t(), b)), 2 * sa[1] * sa[0] * sb[1]
        else:
            f, flops = (lambda a=a, b=b: torch.mm(a, b)), 2 * sa[0] * sa[1] * sb[1]
        for _ in range(10):
            f()
        t0 = time.perf_counter()
        for _ in range(10):
            f()
        n = max(10, int(target_s / max((time.perf_counter() - t0) / 10, 1e-7)))
        per_call = []
        for _ in range(reps):
            t0 = time.perf_counter()
            for _ in range(n):
                f()
            per_call.append((time.perf_counter() - t0) / n)
        s = statistics.median(per_call)
        rows.append({"gemm": name, "gflops": round(flops / s / 1e9, 1), "gflops_best": round(flops / min(per_call) / 1e9, 1)})
        total_flops += flops
        total_s += s
    return rows, total_flops, total_s


def blas_library():
    try:
        with open("/proc/self/maps") as f:
            libs = {os.path.realpath(line.split()[-1]) for line in f if "blas" in line.rsplit("/", 1)[-1]}
    except OSError:
        return None
    # libblas.so.3 resolved: the implementation Debian's alternatives chose (OpenBLAS, reference, ...).
    chosen = sorted(p for p in libs if os.path.basename(p).startswith("libblas"))
    return ",".join(chosen or sorted(libs)) or None


def main(argv):
    flags = {a for a in argv if a.startswith("--") and a != "--data"}
    data = None
    pos = []
    i = 0
    while i < len(argv):
        if argv[i] == "--data":
            if i + 1 == len(argv):
                sys.exit("bench_torch.py: --data needs a directory")
            data = argv[i + 1]  # may be empty (scripts/get-fashion-mnist.sh failed): then the defaults
            i += 2
            continue
        if not argv[i].startswith("--"):
            pos.append(argv[i])
        i += 1
    unknown = flags - {"--no-malloc-tuning", "--no-flush-denormal", "--random-data", "--no-gemm", "--default-optim"}
    if unknown:
        sys.exit("bench_torch.py: unknown options %s" % sorted(unknown))
    batches = int(pos[0]) if len(pos) > 0 else 200
    reps = int(pos[1]) if len(pos) > 1 else 7
    batch = int(pos[2]) if len(pos) > 2 else 128

    malloc_tuned = "--no-malloc-tuning" not in flags and tune_allocator()  # first: before big allocations
    flush = "--no-flush-denormal" not in flags and torch.set_flush_denormal(True)
    torch.set_num_threads(1)
    sizes = [784, 256, 128, 10]

    if "--random-data" in flags:
        x, y, source = torch.rand(8192, 784), torch.randint(0, 10, (8192,)), "torch.rand"
    else:
        x, y = load_fashion("train", data)
        perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(1))
        x, y, source = x[perm].contiguous(), y[perm].contiguous(), "fashion-mnist-train"
    rows = len(x)

    blas = blas_library()
    flops_per_sample = sum(2 * a * b for a, b in zip(sizes, sizes[1:])) * 2 + \
        sum(2 * a * b for a, b in list(zip(sizes, sizes[1:]))[1:])
    if "--no-gemm" not in flags:
        shapes, gflop, gsecs = time_gemms(batch, sizes)
        print(json.dumps({"bench": "core-gemm", "blas": "pytorch-" + torch.__version__, "blas_lib": blas, "threads": 1,
                          "shapes": shapes, "step_gflops": round(gflop / gsecs / 1e9, 1),
                          "step_gemm_ms": round(gsecs * 1e3, 3),
                          "samples_per_s_if_only_gemm": round(batch / gsecs)}), flush=True)

    torch.manual_seed(1)
    model = make_model(tuple(sizes[1:-1]))
    fast_optim = "--default-optim" not in flags
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, foreach=True if fast_optim else None)
    loss_fn = torch.nn.CrossEntropyLoss()
    rates, cpu_rates, faults = [], [], []
    cursor = 0
    for rep in range(-1, reps):
        r0 = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.perf_counter()
        for _ in range(batches):
            if cursor + batch > rows:
                cursor = 0
            xb, yb = x[cursor:cursor + batch], y[cursor:cursor + batch]
            cursor += batch
            opt.zero_grad(set_to_none=fast_optim)
            loss_fn(model(xb), yb).backward()
            opt.step()
        secs = time.perf_counter() - t0
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        if rep >= 0:
            rates.append(batches * batch / secs)
            cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
            cpu_rates.append(batches * batch / cpu)
            faults.append((r1.ru_minflt - r0.ru_minflt) / batches)
    med = statistics.median(rates)
    print(json.dumps({"bench": "core", "model": "-".join(map(str, sizes)), "batch": batch,
                      "blas": "pytorch-" + torch.__version__, "blas_lib": blas, "threads": 1, "data": source,
                      "repetitions": reps, "batches_per_rep": batches,
                      "samples_per_s": round(med), "samples_per_s_min": round(min(rates)),
                      "samples_per_s_max": round(max(rates)), "gflops": round(med * flops_per_sample / 1e9, 1),
                      "samples_per_cpu_s": round(statistics.median(cpu_rates)),
                      "page_faults_per_step": round(statistics.median(faults), 1),
                      "malloc_tuned": malloc_tuned, "flush_denormal": bool(flush),
                      "adam_foreach": fast_optim, "zero_grad_set_to_none": fast_optim}))


if __name__ == "__main__":
    main(sys.argv[1:])
