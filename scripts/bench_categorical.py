#!/usr/bin/env python3
"""Issue 11, benchmark (b): the Python side of `scripts/bench.sh categorical`.

  bench_categorical.py sparktrain RUN_DIR VARIANT WALL_S   one sparktrain run's JSON line (summary.json, metrics.jsonl)
  bench_categorical.py sklearn TABLE_DIR BITS              scikit-learn's LogisticRegression on the one-hot LibSVM
                                                           files TABLE_DIR/d<BITS>/{train,test}.libsvm: a JSON line
  bench_categorical.py summary LINES_FILE TABLE_JSON       the table, from the JSON lines

The sklearn part needs Debian's python3-sklearn (run it with /usr/bin/python3); the others only the standard
library.
"""
import json
import sys
import time

from bench_text import epoch_times, fmt  # scripts/ is on the path: the script's own folder


def sparktrain_line(run_dir, variant, wall):
    with open(f"{run_dir}/summary.json") as f:
        s = json.load(f)
    data, timings = s.get("data", {}), s.get("timings", {})
    epochs, per_epoch, steady = epoch_times(run_dir)
    coll = s.get("collective") or {}
    cfg = s.get("config", {})
    tr = cfg.get("training", {})
    print(json.dumps({
        "bench": "categorical", "system": "sparktrain", "variant": variant, "network": s.get("network"),
        "parameters": s.get("parameters"), "features": cfg.get("data", {}).get("features"),
        "num_features": data.get("num_features"), "mode": tr.get("mode"),
        "sync_engine": tr.get("sync_engine"), "optimizer": (tr.get("optimizer") or {}).get("name"),
        "batch": tr.get("batch_size"), "learning_rate": (tr.get("optimizer") or {}).get("learning_rate"),
        "epochs": s.get("epochs"), "train_rows": data.get("train_rows"),
        "train_partitions": data.get("train_partitions"),
        "test_accuracy": (s.get("test") or {}).get("accuracy"),
        "wall_seconds": wall, "train_seconds": timings.get("train_s"), "decode_seconds": timings.get("decode_s"),
        "total_seconds": timings.get("total_s"),
        "epoch_train_seconds": per_epoch, "epoch_seconds_steady": steady,
        "train_cached_bytes": data.get("train_cached_bytes"), "train_nonzeros": data.get("train_nonzeros"),
        # What one task sends per optimizer step (the collective engine's all-reduce or row-sparse all-gather).
        "bytes_per_step": coll.get("bytes_sent_per_step"),
        "row_sparse_steps": coll.get("row_sparse_steps"), "steps": coll.get("steps"),
        "collective_ms_per_step": {k: coll.get(k) for k in
                                   ("compute_ms_per_step", "allreduce_ms_per_step", "optimizer_ms_per_step")
                                   if k in coll},
        "val_accuracy_by_epoch": [[r["epoch"], r["train_s"], r.get("val_accuracy")] for r in epochs],
        "run_dir": run_dir}), flush=True)


def sklearn_line(d, bits):
    import warnings
    from sklearn.datasets import load_svmlight_file
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    import sklearn

    n = 1 << bits
    t0 = time.time()
    xtr, ytr = load_svmlight_file(f"{d}/d{bits}/train.libsvm", n_features=n, zero_based=False)
    xte, yte = load_svmlight_file(f"{d}/d{bits}/test.libsvm", n_features=n, zero_based=False)
    load_s = time.time() - t0
    m = LogisticRegression()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        t = time.time()
        m.fit(xtr, ytr)
        secs = time.time() - t
    it = m.n_iter_
    print(json.dumps({
        "bench": "categorical", "system": "sklearn_lr", "variant": "onehot",
        "model": "LogisticRegression(lbfgs, max_iter 100, C 1.0; the defaults) on the one-hot matrix",
        "sklearn_version": sklearn.__version__, "num_features": n, "train_rows": xtr.shape[0],
        "train_nonzeros": int(xtr.nnz), "iterations": int(it[0]) if hasattr(it, "__len__") else int(it),
        "converged": not any(issubclass(w.category, ConvergenceWarning) for w in caught),
        "test_accuracy": float(m.score(xte, yte)), "train_seconds": secs, "load_seconds": load_s}), flush=True)


def summary(lines_file, table_file):
    recs = [json.loads(x) for x in open(lines_file) if x.startswith("{")]
    t = json.load(open(table_file))
    card = ", ".join(f"{k} {v['distinct_train_values']}" for k, v in t["cardinality"].items())
    print(f"\nDebian package metadata: {t['packages']} packages (dumpavail sha256 {t['input_sha256'][:16]}...), "
          f"top {t['top']} of {t['sections']} Sections, {t['train_rows']} train / {t['test_rows']} test rows; "
          f"distinct train values: {card}; majority class ({t['majority_section']}) "
          f"{t['majority_test_accuracy']:.4f}")
    print(f"{'system':<11} {'variant':<7} {'test acc':>8} {'train s':>8} {'wall s':>7} {'epoch s':>8} "
          f"{'parameters':>11} {'cached bytes':>12} {'bytes/step':>11}")
    for r in recs:
        if r.get("system") not in ("sparktrain", "sklearn_lr"):
            continue
        print(f"{r['system']:<11} {r.get('variant', ''):<7} {fmt(r.get('test_accuracy'), '.4f'):>8} "
              f"{fmt(r.get('train_seconds'), '.1f'):>8} {fmt(r.get('wall_seconds'), '.1f'):>7} "
              f"{fmt(r.get('epoch_seconds_steady'), '.2f'):>8} {fmt(r.get('parameters'), 'd'):>11} "
              f"{fmt(r.get('train_cached_bytes'), 'd'):>12} {fmt(r.get('bytes_per_step'), '.0f'):>11}")
    for r in recs:
        if r.get("system") == "sparktrain" and r.get("val_accuracy_by_epoch"):
            curve = ", ".join(fmt(e[2], ".4f") for e in r["val_accuracy_by_epoch"])
            print(f"{r['variant']}: test (= validation) accuracy by epoch: {curve}")
    for r in recs:
        if r.get("system") == "sparktrain_failed":
            print(f"{r['variant']}: failed ({r.get('reason')}); see {r.get('log')}")


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "sparktrain":
        sparktrain_line(sys.argv[2], sys.argv[3], float(sys.argv[4]))
    elif cmd == "sklearn":
        sklearn_line(sys.argv[2], int(sys.argv[3]))
    elif cmd == "summary":
        summary(sys.argv[2], sys.argv[3])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
