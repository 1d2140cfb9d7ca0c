#!/usr/bin/env python3
"""Issue 14, part 1: does a federated round cost only what its sampled silos cost?

Runs `sparktrain experiment --config conf/fed-synthetic-scale.yaml` with 10,000 silos at C = 0.01 and
with 100 silos at C = 1.0 (100 silos work in every round of both), alternately, --pairs times, and
prints one JSON line per run and a summary: the median round time over rounds 2..R (from
experiment.csv's cumulative seconds, which exclude evaluation), rounds/s, the ratio, the largest heap after a
garbage collection (driver and executor are one JVM in local mode, so it includes the cached silos)
and the peak RSS.

  scripts/bench.sh fed-scale [--pairs 3] [--rounds 30] [--set key=value ...]
"""
import argparse
import csv
import json
import os
import re
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SETTINGS = [("10000 silos, C=0.01", 10000, 0.01), ("100 silos, C=1.0", 100, 1.0)]


def run(label, devices, c, rounds, out, extra):
    gc_log = out + ".gc.log"
    os.makedirs(os.path.dirname(out), exist_ok=True)
    env = dict(os.environ)
    env["SPARKTRAIN_JAVA_OPTS"] = ("-Xmx8g -Xlog:gc:file=" + gc_log + " " + env.get("SPARKTRAIN_JAVA_OPTS", "")).strip()
    cmd = ["/usr/bin/time", "-f", "maxrss_kb=%M", os.path.join(ROOT, "scripts", "sparktrain"), "experiment",
           "--config", os.path.join(ROOT, "conf", "fed-synthetic-scale.yaml"),
           "--set", "silos.synthetic.devices=%d" % devices, "--set", "federated.client_fraction=%s" % c,
           "--set", "federated.rounds=%d" % rounds, "--set", "output.dir=" + out]
    for e in extra:
        cmd += ["--set", e]
    t0 = time.time()
    p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.time() - t0
    if p.returncode != 0:
        sys.stderr.write(p.stdout[-3000:] + p.stderr[-3000:])
        raise SystemExit("run failed: " + label)
    rss = int(re.findall(r"maxrss_kb=(\d+)", p.stderr)[-1]) / 1024
    with open(os.path.join(out, "experiment.csv")) as f:
        rows = list(csv.DictReader(f))
    train_s = [float(r["seconds"]) for r in rows]  # cumulative training seconds (evaluation excluded)
    per_round = [b - a for a, b in zip(train_s, train_s[1:])]  # rounds 2..R
    heap = 0
    with open(gc_log) as f:
        for line in f:
            m = re.search(r"->(\d+)M\(", line)
            if m:
                heap = max(heap, int(m.group(1)))
    tasks = re.findall(r"\((\d+) training stages, (\d+) tasks\)", p.stdout + p.stderr)
    return {"setting": label, "devices": devices, "client_fraction": c, "rounds": len(rows),
            "median_round_s": statistics.median(per_round), "rounds_per_s": 1 / statistics.median(per_round),
            "first_round_s": train_s[0], "wall_s": round(wall, 1), "max_heap_after_gc_mb": heap,
            "max_rss_mb": round(rss), "output": out}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--out", default=os.path.join(ROOT, "runs", "fed-scale"))
    ap.add_argument("--set", action="append", default=[])
    a = ap.parse_args()
    results = {label: [] for label, _, _ in SETTINGS}
    for i in range(a.pairs):
        order = SETTINGS if i % 2 == 0 else SETTINGS[::-1]
        for label, devices, c in order:
            r = run(label, devices, c, a.rounds, os.path.join(a.out, "%d-silos-%d" % (devices, i + 1)), a.set)
            results[label].append(r)
            print(json.dumps(r), flush=True)
    big, small = (statistics.median(x["median_round_s"] for x in results[label]) for label, _, _ in SETTINGS)
    print(json.dumps({"summary": True, "median_round_s_10000": big, "median_round_s_100": small,
                      "ratio_10000_over_100": big / small, "pairs": a.pairs,
                      "max_heap_after_gc_mb": {k: max(x["max_heap_after_gc_mb"] for x in v) for k, v in results.items()},
                      "max_rss_mb": {k: max(x["max_rss_mb"] for x in v) for k, v in results.items()}}), flush=True)


if __name__ == "__main__":
    main()
