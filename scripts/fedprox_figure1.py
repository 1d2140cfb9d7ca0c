#!/usr/bin/env python3
"""Li et al. (MLSys 2020), Figure 1, Synthetic(1,1) column, from sparktrain experiment runs.

Reads the experiment.csv files of `sparktrain experiment --config conf/fed-synthetic-stragglers.yaml`
runs made with federated.eval_train_loss (global_train_loss: the global model on all devices' training
rows) and draws the paper's layout: one panel per straggler fraction (0 %, 50 %, 90 %), training loss
vs communication round, FedAvg (stragglers dropped) against FedProx mu = 0 and mu > 0 (partial work).
Also prints a table of the late training losses.

Usage: scripts/fedprox_figure1.py OUT.svg RUN_DIR_OR_CSV...

Needs matplotlib (Debian: apt-get install python3-matplotlib, then run it with /usr/bin/python3);
sparktrain itself does not.
"""
import csv
import os
import statistics
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

STYLE = {  # the paper's three curves
    ("FedAvg", 0.0): dict(label="FedAvg", color="#D55E00", linestyle="-"),
    ("FedProx", 0.0): dict(label="FedProx (\u03bc=0)", color="#009E73", linestyle="--"),
    ("FedProx", 1.0): dict(label="FedProx (\u03bc=1)", color="#0072B2", linestyle="-"),
}


def read(paths):
    """{(stragglers, algorithm, mu, seed): [(round, loss)]} from experiment.csv files."""
    curves = {}
    for p in paths:
        f = os.path.join(p, "experiment.csv") if os.path.isdir(p) else p
        with open(f, newline="") as fh:
            for row in csv.DictReader(fh):
                if not row.get("global_train_loss"):
                    continue
                key = (float(row["stragglers"]), row["algorithm"], float(row["prox_mu"]), int(row["seed"]))
                curves.setdefault(key, []).append((int(row["round"]), float(row["global_train_loss"])))
    if not curves:
        sys.exit("no global_train_loss in " + ", ".join(paths) + " (run with federated.eval_train_loss: true)")
    return curves


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out, paths = sys.argv[1], sys.argv[2:]
    curves = read(paths)
    fractions = sorted({k[0] for k in curves})
    fig, axes = plt.subplots(1, len(fractions), figsize=(4.2 * len(fractions), 3.4), sharey=True)
    axes = [axes] if len(fractions) == 1 else list(axes)
    print("| stragglers | algorithm | seed | training loss at 200 | mean, rounds 151-200 | min - max, rounds 151-200 |"
          " rounds above 1.0 after 50 |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for ax, p in zip(axes, fractions):
        for key in sorted((k for k in curves if k[0] == p), key=lambda k: (k[1] != "FedAvg", k[2], k[3])):
            _, alg, mu, seed = key
            pts = sorted(curves[key])
            x = [r for r, _ in pts]
            y = [v for _, v in pts]
            style = dict(STYLE.get((alg, 1.0 if mu > 0 else 0.0), dict(label=f"{alg} \u03bc={mu:g}")))
            if mu > 0 and mu != 1.0:
                style["label"] = f"FedProx (\u03bc={mu:g})"
            if alg == "FedAvg" and p == 0:
                style["label"] = "FedAvg (= FedProx \u03bc=0)"  # without stragglers they are one algorithm
            ax.plot(x, y, linewidth=1.4, **style)
            late = [v for r, v in pts if 151 <= r <= 200]
            above = sum(1 for r, v in pts if r > 50 and v > 1.0)
            name = style["label"] + (", drop" if alg == "FedAvg" and p > 0 else ", partial" if p > 0 else "")
            print(f"| {p * 100:g} % | {name} | {seed} | {dict(pts).get(200, float('nan')):.3f} | "
                  f"{statistics.mean(late):.3f} | {min(late):.3f} - {max(late):.3f} | {above} |")
        ax.set_title(f"Synthetic(1,1), {p * 100:g} % stragglers", fontsize=10)
        ax.set_xlabel("# rounds")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("training loss")
    for ax in axes:
        ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    fig.savefig(out, metadata={"Date": None})
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
