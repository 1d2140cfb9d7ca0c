#!/usr/bin/python3
"""Self-supervised pretraining on Fashion-MNIST (issue 13, part 2): 1 % and 10 % of the labels, from scratch and after pretraining.

Data, made once and kept in data/fashion-mnist (examples' LabeledSubset, through scripts/env.sh's classpath):
  train-unlabeled.parquet              the 60,000 training images, the features column only (no labels)
  train-labeled-<K>x10-s<S>.parquet    a stratified subset: K images of each of the 10 classes, the ones with
                                       the smallest xxhash64(S, pixels, label) (--subsets 60,600: 600 and 6,000)

Every run is `scripts/sparktrain train --config conf/fashion-mnist.yaml` (784-256-128-10 relu, raw pixels,
Adam 1e-3) with --set data.train=<subset> data.validation=null training.mode=sync training.batch_size=32
training.epochs=<E> training.seed=<seed>; the pretrained runs add
  training.pretrain={epochs: P, batch_size: 128, noise: "masking(0.5)", data: data/fashion-mnist/train-unlabeled.parquet}
Same epochs E for both runs of a subset (--epochs, one value per subset). Test accuracy on the 10,000 test images
(the run's test_metrics.json). Prints one JSON line per run and a table of the means and the gain.

  /usr/bin/python3 scripts/pretrain.py [--seeds 1,2,3] [--subsets 60,600] [--epochs 50,20] [--pretrain-epochs 40]
      [--pretrain-batch 128] [--noise "masking(0.5)"] [--subset-seed 1] [--out runs/pretrain]
  scripts/bench.sh pretrain                (the same)
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "data", "fashion-mnist")


def subset_tool(*args):
    """Runs examples' LabeledSubset (compiled first when missing) on this checkout's classes."""
    cls = os.path.join(ROOT, "examples", "target", "classes", "io", "sparktrain", "examples", "LabeledSubset.class")
    if not os.path.exists(cls):
        subprocess.run(["mvn", "-q", "-B", "-ntp", "compile", "-pl", "trainer,examples", "-am"], cwd=ROOT,
                       check=True, stdout=sys.stderr)
    script = ('source scripts/env.sh && java $SPARK_JVM_OPTS -Xmx3g -cp "$(module_classpath examples)" '
              'io.sparktrain.examples.LabeledSubset "$@"')
    r = subprocess.run(["bash", "-c", script, "subset", *args], cwd=ROOT, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.stderr.write(r.stderr[-4000:])
        raise SystemExit("pretrain.py: LabeledSubset %s failed" % " ".join(args))
    sys.stderr.write(r.stdout)


def train(out, subset, seed, epochs, extra=()):
    """One CLI run into out; returns (test accuracy, wall seconds, summary). Reuses a finished run."""
    metrics = os.path.join(out, "test_metrics.json")
    summary = os.path.join(out, "summary.json")
    wall = None
    if not (os.path.exists(metrics) and os.path.exists(summary)):
        cmd = [os.path.join(ROOT, "scripts", "sparktrain"), "train", "--config", "conf/fashion-mnist.yaml",
               "--set", "data.train=" + subset, "--set", "data.validation=null", "--set", "training.mode=sync",
               "--set", "training.batch_size=32", "--set", "training.epochs=%d" % epochs,
               "--set", "training.seed=%d" % seed, "--set", "output.dir=" + out, "--set", "output.overwrite=true",
               *extra]
        t0 = time.time()
        r = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wall = time.time() - t0
        if r.returncode != 0:
            sys.stderr.write(r.stderr[-4000:])
            raise SystemExit("pretrain.py: %s failed with exit code %d" % (" ".join(cmd), r.returncode))
    with open(metrics) as f:
        acc = json.load(f)["accuracy"]
    with open(summary) as f:
        return acc, wall, json.load(f)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--subsets", default="60,600", help="labeled images per class, one subset each")
    ap.add_argument("--epochs", default="50,20", help="supervised epochs, one per subset (or one for all)")
    ap.add_argument("--pretrain-epochs", type=int, default=40)
    ap.add_argument("--pretrain-batch", type=int, default=128)
    ap.add_argument("--noise", default="masking(0.5)")
    ap.add_argument("--subset-seed", type=int, default=1)
    ap.add_argument("--out", default="runs/pretrain")
    a = ap.parse_args()
    seeds = [int(s) for s in a.seeds.split(",")]
    subsets = [int(k) for k in a.subsets.split(",")]
    epochs = [int(e) for e in a.epochs.split(",")]
    if len(epochs) == 1:
        epochs = epochs * len(subsets)
    if len(epochs) != len(subsets):
        raise SystemExit("pretrain.py: --epochs: expected 1 or %d values (one per subset), found %d"
                         % (len(subsets), len(epochs)))
    subprocess.run(["bash", os.path.join(ROOT, "scripts", "get-fashion-mnist.sh")], check=True,
                   stdout=subprocess.DEVNULL)
    unlabeled = os.path.join(DATA, "train-unlabeled.parquet")
    if not os.path.isdir(unlabeled):
        subset_tool("--features-only", os.path.join(DATA, "train.parquet"), unlabeled)
    files = {}
    for k in subsets:
        files[k] = os.path.join(DATA, "train-labeled-%dx10-s%d.parquet" % (k, a.subset_seed))
        if not os.path.isdir(files[k]):
            subset_tool("--per-class", str(k), "--seed", str(a.subset_seed), os.path.join(DATA, "train.parquet"),
                        files[k])
    out = os.path.abspath(a.out)
    pre = "training.pretrain={epochs: %d, batch_size: %d, noise: \"%s\", data: %s}" % (
        a.pretrain_epochs, a.pretrain_batch, a.noise, unlabeled)
    setting = "p%d-b%d-%s" % (a.pretrain_epochs, a.pretrain_batch, a.noise.replace("(", "").replace(")", ""))
    results = {}
    for k, e in zip(subsets, epochs):
        for seed in seeds:
            for kind in ("scratch", "pretrained"):
                run = os.path.join(out, "%d-%s%s-e%d-s%d" % (10 * k, kind, "" if kind == "scratch" else "-" + setting,
                                                           e, seed))
                acc, wall, summary = train(run, files[k], seed, e, ("--set", pre) if kind == "pretrained" else ())
                results.setdefault((k, kind), []).append(acc)
                line = {"labels": 10 * k, "run": kind, "seed": seed, "epochs": e, "test_accuracy": acc,
                        "wall_s": wall, "train_s": summary["timings"]["train_s"]}
                if kind == "pretrained":
                    p = summary["pretraining"]
                    line.update({"pretrain_epochs": p["epochs"], "noise": p["noise"], "pretrain_rows": p["rows"],
                                 "pretrain_s": summary["timings"]["pretrain_s"],
                                 "reconstruction_mse": p["epoch_losses"][-1]})
                print(json.dumps(line), flush=True)
    print()
    print("| labeled rows | epochs | from scratch (%s) | pretrained (%s) | mean scratch | mean pretrained | gain |"
          % (a.seeds, a.seeds))
    print("|---:|---:|---|---|---:|---:|---:|")
    for k, e in zip(subsets, epochs):
        s = results[(k, "scratch")]
        p = results[(k, "pretrained")]
        print("| %d | %d | %s | %s | %.4f | %.4f | %+.2f |" % (
            10 * k, e, ", ".join("%.4f" % x for x in s), ", ".join("%.4f" % x for x in p), statistics.mean(s),
            statistics.mean(p), 100 * (statistics.mean(p) - statistics.mean(s))))


if __name__ == "__main__":
    main()
