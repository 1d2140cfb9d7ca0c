#!/usr/bin/python3
"""Knowledge distillation on Fashion-MNIST (issue 12, part 4): a small student alone and distilled.

Every run is `scripts/sparktrain train --config conf/fashion-mnist.yaml` (average mode, 10 epochs,
batch 128, Adam 1e-3, the raw pixels) with only the model, the seed and the distillation changed:

  teachers   784-256-128-10 and 784-1024-1024-10, seed 1 (trained once; kept in --out and reused)
  students   784-32-10 alone, and distilled from each teacher (training.distillation with
             --temperature and --alpha), once per seed of --seeds

Same epochs for every run. Prints one JSON line per run (test accuracy from the run's
test_metrics.json, wall seconds) and a table of the mean test accuracy per student and its gain
over the student alone.

  /usr/bin/python3 scripts/distill.py [--seeds 1,2] [--temperature 1] [--alpha 0.5] [--student 32]
      [--teachers 256,128:1024,1024] [--epochs 10] [--out runs/distill]
  scripts/bench.sh distill                 (the same)
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def train(out, hidden, seed, epochs, extra=()):
    """One CLI run into out; returns (test accuracy, wall seconds). Reuses a finished run."""
    metrics = os.path.join(out, "test_metrics.json")
    if os.path.exists(metrics) and os.path.isdir(os.path.join(out, "model")):
        with open(metrics) as f:
            return json.load(f)["accuracy"], None
    cmd = [os.path.join(ROOT, "scripts", "sparktrain"), "train", "--config", "conf/fashion-mnist.yaml",
           "--set", "model.hidden=[%s]" % hidden, "--set", "training.seed=%d" % seed,
           "--set", "training.epochs=%d" % epochs, "--set", "output.dir=" + out,
           "--set", "output.overwrite=true", *extra]
    t0 = time.time()
    r = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wall = time.time() - t0
    if r.returncode != 0:
        sys.stderr.write(r.stderr[-4000:])
        raise SystemExit("distill.py: %s failed with exit code %d" % (" ".join(cmd), r.returncode))
    with open(metrics) as f:
        return json.load(f)["accuracy"], wall


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", default="1,2")
    ap.add_argument("--temperature", type=float, default=1.0)
    ap.add_argument("--alpha", type=float, default=0.5)
    ap.add_argument("--student", default="32")
    ap.add_argument("--teachers", default="256,128:1024,1024")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--out", default="runs/distill")
    a = ap.parse_args()
    seeds = [int(s) for s in a.seeds.split(",")]
    subprocess.run(["bash", os.path.join(ROOT, "scripts", "get-fashion-mnist.sh")], check=True,
                   stdout=subprocess.DEVNULL)
    out = os.path.abspath(a.out)
    teachers = {}
    for t in a.teachers.split(":"):
        d = os.path.join(out, "teacher-%s-e%d" % (t.replace(",", "-"), a.epochs))
        acc, wall = train(d, t, 1, a.epochs)
        teachers[t] = d
        print(json.dumps({"run": "teacher", "hidden": t, "seed": 1, "test_accuracy": acc, "wall_s": wall}),
              flush=True)
    results = {}
    setting = "T%g-a%g" % (a.temperature, a.alpha)
    for seed in seeds:
        acc, wall = train(os.path.join(out, "student-%s-alone-e%d-s%d" % (a.student, a.epochs, seed)), a.student, seed,
                          a.epochs)
        results.setdefault("alone", []).append(acc)
        print(json.dumps({"run": "student", "hidden": a.student, "teacher": None, "seed": seed,
                          "test_accuracy": acc, "wall_s": wall}), flush=True)
        for t, d in teachers.items():
            dist = "training.distillation={teacher: %s, temperature: %g, alpha: %g}" % (
                os.path.join(d, "model"), a.temperature, a.alpha)
            run = os.path.join(out, "student-%s-from-%s-%s-e%d-s%d" % (a.student, t.replace(",", "-"), setting,
                                                                     a.epochs, seed))
            acc, wall = train(run, a.student, seed, a.epochs, ("--set", dist))
            results.setdefault(t, []).append(acc)
            print(json.dumps({"run": "student", "hidden": a.student, "teacher": t, "temperature": a.temperature,
                              "alpha": a.alpha, "seed": seed, "test_accuracy": acc, "wall_s": wall}), flush=True)
    alone = statistics.mean(results["alone"])
    print()
    print("| student 784-%s-10 | test accuracy per seed (%s) | mean | gain (points) |" % (a.student, a.seeds))
    print("|---|---|---:|---:|")
    for k, v in results.items():
        name = "alone" if k == "alone" else "from 784-%s-10 (T %g, alpha %g)" % (k.replace(",", "-"), a.temperature,
                                                                               a.alpha)
        m = statistics.mean(v)
        print("| %s | %s | %.4f | %+.2f |" % (name, ", ".join("%.4f" % x for x in v), m, 100 * (m - alone)))


if __name__ == "__main__":
    main()
