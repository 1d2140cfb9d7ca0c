#!/usr/bin/env python3
"""Issue 11, benchmark (a): the Python side of `scripts/bench.sh text`.

  bench_text.py sklearn DIR BITS EPOCHS BATCH LR     scikit-learn on DIR/d<BITS>/{train,test}.libsvm: JSON lines
  bench_text.py sparktrain RUN_DIR MODEL WALL_S      one sparktrain run's JSON line (summary.json, metrics.jsonl)
  bench_text.py summary LINES_FILE CORPUS_JSON        the table and the issue's goals, from the JSON lines

The sklearn part needs Debian's python3-sklearn (run it with /usr/bin/python3); the others only the standard
library.
"""
import json
import statistics
import sys
import time


def sklearn_lines(d, bits, epochs, batch, lr):
    import warnings
    from sklearn.datasets import load_svmlight_file
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    import sklearn

    n = 1 << bits
    t0 = time.time()
    xtr, ytr = load_svmlight_file(f"{d}/d{bits}/train.libsvm", n_features=n, zero_based=False)
    xte, yte = load_svmlight_file(f"{d}/d{bits}/test.libsvm", n_features=n, zero_based=False)
    load_s = time.time() - t0
    models = [
        ("sklearn_lr", "LogisticRegression(lbfgs, max_iter 100, C 1.0; the defaults)",
         LogisticRegression()),
        ("sklearn_mlp", f"MLPClassifier(64 relu, adam lr {lr}, batch {batch}, {epochs} epochs; sparktrain's settings)",
         MLPClassifier(hidden_layer_sizes=(64,), batch_size=batch, learning_rate_init=lr, max_iter=epochs,
                       random_state=1)),
    ]
    for system, desc, m in models:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            t = time.time()
            m.fit(xtr, ytr)
            secs = time.time() - t
        it = m.n_iter_
        print(json.dumps({
            "bench": "text", "system": system, "model": desc, "sklearn_version": sklearn.__version__,
            "num_features": n, "train_rows": xtr.shape[0], "train_nonzeros": int(xtr.nnz),
            "iterations": int(it[0]) if hasattr(it, "__len__") else int(it),
            "converged": not any(issubclass(w.category, ConvergenceWarning) for w in caught),
            "test_accuracy": float(m.score(xte, yte)), "train_seconds": secs, "load_seconds": load_s}),
            flush=True)


def epoch_records(run_dir):
    recs = []
    with open(f"{run_dir}/metrics.jsonl") as f:
        for line in f:
            r = json.loads(line)
            if r.get("type") == "epoch":
                recs.append(r)
    return recs


def epoch_times(run_dir):
    """The run's epoch records, each epoch's training time without validation (train_s is cumulative),
    and the steady figure: the first epoch carries the JIT's warm-up, so the median of the later ones
    when there are any."""
    epochs = epoch_records(run_dir)
    per_epoch, last = [], 0.0
    for r in epochs:
        per_epoch.append(r["train_s"] - last)
        last = r["train_s"]
    steady = statistics.median(per_epoch[1:]) if len(per_epoch) > 1 else (per_epoch[0] if per_epoch else None)
    return epochs, per_epoch, steady


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def sparktrain_line(run_dir, model, wall):
    with open(f"{run_dir}/summary.json") as f:
        s = json.load(f)
    data, timings = s["data"], s["timings"]
    epochs, per_epoch, steady = epoch_times(run_dir)
    nnz = data.get("train_nonzeros")
    rows, parts = data["train_rows"], data["train_partitions"]
    # CSR: int32 row pointers (rows + 1 per partition), int32 column indices and float32 values (nnz each),
    # one float32 label per row.
    csr = 4 * (2 * nnz + rows + parts + rows) if nnz is not None else None
    coll = s.get("collective") or {}
    cfg = s["config"]
    print(json.dumps({
        "bench": "text", "system": "sparktrain", "model": model, "network": s["network"],
        "parameters": s["parameters"], "num_features": data["num_features"],
        "mode": cfg["training"]["mode"], "optimizer": cfg["training"]["optimizer"]["name"],
        "batch": cfg["training"]["batch_size"], "learning_rate": cfg["training"]["optimizer"]["learning_rate"],
        "epochs": s["epochs"], "train_rows": rows, "train_partitions": parts,
        "test_accuracy": (s.get("test") or {}).get("accuracy"),
        "wall_seconds": wall, "train_seconds": timings["train_s"], "decode_seconds": timings["decode_s"],
        "total_seconds": timings["total_s"],
        "epoch_train_seconds": per_epoch, "epoch_seconds_steady": steady,
        "train_cached_bytes": data["train_cached_bytes"], "train_nonzeros": nnz, "csr_bytes": csr,
        "cached_vs_csr": data["train_cached_bytes"] / csr if csr else None,
        # Not in summary.json yet as such (issue 11, sparse updates): the collective engine's bytes sent per
        # step by one task, when it reports them; null otherwise.
        "bytes_per_round": s.get("bytes_per_round", coll.get("bytes_sent_per_step")),
        "collective_ms_per_step": {k: coll.get(k) for k in
                                   ("compute_ms_per_step", "allreduce_ms_per_step", "optimizer_ms_per_step")
                                   if k in coll},
        "val_accuracy_by_epoch": [[r["epoch"], r["train_s"], r.get("val_accuracy")] for r in epochs],
        "run_dir": run_dir}), flush=True)


def summary(lines_file, corpus_file):
    recs = [json.loads(x) for x in open(lines_file) if x.startswith("{")]
    corpus = json.load(open(corpus_file))
    st = [r for r in recs if r.get("system") == "sparktrain"]
    main = [r for r in st if r["num_features"] == 1 << 18]
    mllib = next((r for r in recs if r.get("system") == "mllib_lr"), None)
    sk = [r for r in recs if r.get("system", "").startswith("sklearn")]

    print(f"\nDebian package descriptions: {corpus['packages']} packages (dumpavail sha256 "
          f"{corpus['input_sha256'][:16]}...), top {corpus['top']} of {corpus['sections']} Sections, "
          f"{corpus['train_rows']} train / {corpus['test_rows']} test rows")
    print(f"{'system':<12} {'model':<8} {'dim':>5} {'test acc':>8} {'train s':>8} {'wall s':>7} "
          f"{'epoch s':>8} {'cached MB':>9} {'CSR MB':>7} {'bytes/round':>12}")
    for r in main + ([mllib] if mllib else []) + sk + [r for r in st if r not in main]:
        dim = "2^%d" % (r["num_features"].bit_length() - 1)
        name = r.get("model", "") if r["system"] == "sparktrain" else ""
        print(f"{r['system']:<12} {name:<8} {dim:>5} {fmt(r.get('test_accuracy'), '.4f'):>8} "
              f"{fmt(r.get('train_seconds'), '.1f'):>8} {fmt(r.get('wall_seconds'), '.1f'):>7} "
              f"{fmt(r.get('epoch_seconds_steady'), '.1f'):>8} "
              f"{fmt(r['train_cached_bytes'] / 1e6 if 'train_cached_bytes' in r else None, '.2f'):>9} "
              f"{fmt(r['csr_bytes'] / 1e6 if r.get('csr_bytes') else None, '.2f'):>7} "
              f"{fmt(r.get('bytes_per_round'), '.3g'):>12}")

    goals = []

    def goal(name, ratio, limit, met, detail):
        goals.append({"bench": "text", "goal": name, "ratio": ratio, "limit": limit,
                      "verdict": None if met is None else ("met" if met else "missed"), "detail": detail})

    for r in main:
        c = r.get("cached_vs_csr")
        goal(f"cached <= 1.5x CSR bytes ({r['model']})", c, 1.5, None if c is None else c <= 1.5,
             f"{r['train_cached_bytes']} cached / {r['csr_bytes']} CSR")
    for model in sorted({r["model"] for r in st}):
        lo = next((r for r in st if r["model"] == model and r["num_features"] == 1 << 16), None)
        hi = next((r for r in st if r["model"] == model and r["num_features"] == 1 << 20), None)
        if lo and hi and lo.get("epoch_seconds_steady") and hi.get("epoch_seconds_steady"):
            ratio = hi["epoch_seconds_steady"] / lo["epoch_seconds_steady"]
            goal(f"epoch time 2^20 / 2^16 <= 1.3 ({model})", ratio, 1.3, ratio <= 1.3,
                 f"{hi['epoch_seconds_steady']:.2f} s / {lo['epoch_seconds_steady']:.2f} s")
    if mllib:
        target = mllib["test_accuracy"]
        for r in main:
            goal(f"accuracy >= MLlib LR ({r['model']})", r["test_accuracy"] / target, 1.0,
                 r["test_accuracy"] >= target, f"{r['test_accuracy']:.4f} vs {target:.4f}")
        for r in main:
            hit = next((e for e in r["val_accuracy_by_epoch"] if e[2] is not None and e[2] >= target), None)
            if hit is None:
                goal(f"time to MLlib's accuracy <= MLlib's ({r['model']})", None, 1.0, False,
                     f"never reached {target:.4f} in {r['epochs']} epochs (best "
                     f"{max((e[2] or 0) for e in r['val_accuracy_by_epoch']):.4f}); MLlib "
                     f"{mllib['train_seconds']:.1f} s")
            else:
                ratio = hit[1] / mllib["train_seconds"]
                goal(f"time to MLlib's accuracy <= MLlib's ({r['model']})", ratio, 1.0, ratio <= 1.0,
                     f"epoch {hit[0]}: {hit[1]:.1f} s training (+{r['decode_seconds']:.1f} s decode) vs "
                     f"MLlib fit {mllib['train_seconds']:.1f} s")
    print()
    for g in goals:
        print(f"{g['verdict'] or 'n/a':<7} {g['goal']:<48} ratio {fmt(g['ratio'], '.3f'):>7}  {g['detail']}")
    for g in goals:
        print(json.dumps(g))


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "sklearn":
        sklearn_lines(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6]))
    elif cmd == "sparktrain":
        sparktrain_line(sys.argv[2], sys.argv[3], float(sys.argv[4]))
    elif cmd == "summary":
        summary(sys.argv[2], sys.argv[3])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
