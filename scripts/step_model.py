#!/usr/bin/env python3
"""Step-time model of sparktrain's two `sync` engines (docs/ARCHITECTURE.md).

    python3 scripts/step_model.py                  # the tables in docs/ARCHITECTURE.md
    python3 scripts/step_model.py --breakdown      # every term of every cell
    python3 scripts/step_model.py --executors 2 --params 235146 --batch 128 --breakdown

A back-of-the-envelope model, not a measurement: every constant is a flag, and the defaults are
the assumptions the document states. Python standard library only.
"""
import argparse
import math

MIB = 1 << 20


def parse_count(text):
    """235146, 1e6, 10M, 1.5k -> an integer."""
    t = text.strip().upper()
    mult = {"K": 1e3, "M": 1e6, "G": 1e9, "B": 1e9}.get(t[-1:], 1)
    if mult != 1:
        t = t[:-1]
    return int(float(t) * mult)


class Model:
    def __init__(self, a):
        self.a = a
        self.flops = a.gflops * 1e9            # FLOP/s of one task (one core)
        self.mem = a.mem_gbs * 1e9             # bytes/s one task streams from memory
        self.ser = a.ser_gbs * 1e9             # bytes/s of Spark's serialize+compress (and of the reverse)
        self.alpha = a.latency_us * 1e-6       # s per ring hop
        self.job0 = a.job_ms * 1e-3            # s, fixed cost of a Spark job
        self.per_task = a.task_ms * 1e-3       # s of driver time per task launched
        self.adam = a.adam_ns * 1e-9           # s per parameter, one thread
        self.add = a.add_ns * 1e-9             # s per parameter for acc += x, one thread

    def bw(self, gbits):
        return gbits * 1e9 / 8 * self.a.net_eff

    # -- shared terms ---------------------------------------------------------------------------
    def compute(self, params, rows):
        """Forward + backward of `rows` rows: 6 FLOPs per parameter per row, but never faster than
        three passes over the weights (forward reads W, backward reads W and accumulates dW)."""
        if rows == 0:
            return 0.0
        return max(6.0 * params * rows / self.flops, 3 * 4.0 * params / self.mem)

    def job(self, tasks):
        return self.job0 + self.per_task * tasks

    def broadcast(self, nbytes, n, bw):
        """TorrentBroadcast as a pipelined tree of 4 MiB blocks: serialize once on the driver, the
        bytes flow down ceil(log2 n) levels (pipelined when there are many blocks), every executor
        deserializes its copy."""
        depth = max(1, math.ceil(math.log2(n))) if n > 1 else 1
        wire = (nbytes + (depth - 1) * min(nbytes, 4 * MIB)) / bw
        return 2 * nbytes / self.ser + wire

    # -- the two engines ------------------------------------------------------------------------
    def tree_levels(self, n, depth):
        """OrderedAggregate's (= Spark treeAggregate's) level rule: fan-in per executor level, and
        the number of partials the driver finally receives."""
        scale = max(math.ceil(n ** (1.0 / depth)), 2)
        fanins = []
        while n > scale + math.ceil(n / scale):
            groups = math.ceil(n / scale)
            fanins.append((min(scale, n), groups))
            n = groups
        return fanins, n

    def driver_step(self, params, n, batch, gbits):
        a, bw, M = self.a, self.bw(gbits), 4.0 * params
        rows = math.ceil(batch / n)
        levels, final = self.tree_levels(n, a.depth)
        t = {}
        t["job"] = self.job(n + sum(g for _, g in levels))
        t["broadcast"] = self.broadcast(M, n, bw)
        t["compute"] = self.compute(params, rows)
        # every level: each producer serializes its M bytes; each reducer fetches its fan-in through
        # its NIC while it deserializes (pipelined: the slower of the two), then adds
        agg = M / self.ser
        for fanin, _ in levels:
            agg += max(fanin * M / bw, fanin * M / self.ser) + fanin * params * self.add + M / self.ser
        # the driver: fetches `final` partials through its NIC while the result-getter threads
        # deserialize them, and merges them in partition order on one thread
        agg += max(final * M / bw, final * M / self.ser / a.result_threads) + final * params * self.add
        t["aggregate"] = agg
        t["optimizer"] = params * self.adam
        return t, rows, final

    def collective_step(self, params, n, batch, gbits):
        a, bw, M = self.a, self.bw(gbits), 4.0 * params
        rows = math.ceil(batch / n)
        t = {}
        t["compute"] = self.compute(params, rows)
        # RingAllReduce adds incoming floats as they arrive: the reduction hides behind the transfer
        t["bandwidth"] = 2 * (n - 1) / n * M / bw
        t["latency"] = 2 * (n - 1) * self.alpha
        t["optimizer"] = params * self.adam / (n if a.sharded_optimizer else 1)
        # one span: a one-stage barrier job, the rendezvous, params + 2 Adam moments out (broadcast)
        # and back (rank 0's task result); paid once per span, shown per step
        span = (self.job(n) + a.rendezvous_ms * 1e-3 + self.broadcast(3 * M, n, bw)
                + 3 * M / bw + 2 * 3 * M / self.ser)
        t["span/step"] = span / a.span_steps
        return t, rows

    def collective_bound(self, t):
        return max(("compute", "bandwidth", "latency", "optimizer"), key=lambda k: t[k])


def fmt_ms(s):
    ms = s * 1e3
    if ms < 10:
        return f"{ms:.1f}"
    return f"{ms:,.0f}"


def fmt_params(p):
    for unit, div in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if p >= div:
            v = p / div
            return f"{v:g}{unit}" if v == int(v) else f"{v:.3g}{unit}"
    return str(p)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--params", nargs="+", type=parse_count, default=[10**6, 10**7, 10**8],
                    help="float32 parameters (default: 1M 10M 100M)")
    ap.add_argument("--executors", nargs="+", type=int, default=[8, 64, 256],
                    help="N, tasks = ring members, one per host NIC (default: 8 64 256)")
    ap.add_argument("--batch", nargs="+", type=int, default=[128, 1024], help="global mini-batch B (default: 128 1024)")
    ap.add_argument("--gbits", nargs=2, type=float, default=[10, 25], help="NIC line rates, Gbit/s (two values)")
    ap.add_argument("--net-eff", type=float, default=0.8, help="achieved fraction of line rate (default 0.8)")
    ap.add_argument("--latency-us", type=float, default=50, help="per ring hop, microseconds (default 50)")
    ap.add_argument("--gflops", type=float, default=50, help="GFLOP/s of one task (one core, GEMM) (default 50)")
    ap.add_argument("--mem-gbs", type=float, default=20, help="GB/s one task streams from memory (default 20)")
    ap.add_argument("--adam-ns", type=float, default=1.5, help="ns per parameter for one Adam step, one thread (default 1.5)")
    ap.add_argument("--add-ns", type=float, default=0.7, help="ns per parameter for acc += x, one thread (default 0.7)")
    ap.add_argument("--job-ms", type=float, default=20, help="fixed cost of one Spark job, ms (default 20)")
    ap.add_argument("--task-ms", type=float, default=0.5, help="driver time per task launched, ms (default 0.5)")
    ap.add_argument("--ser-gbs", type=float, default=1.0,
                    help="GB/s of Spark's serialization path (Kryo/Java + lz4), each way (default 1)")
    ap.add_argument("--result-threads", type=int, default=4, help="driver result-getter threads (default 4)")
    ap.add_argument("--depth", type=int, default=2, help="aggregation_depth of the driver engine (default 2)")
    ap.add_argument("--span-steps", type=int, default=500, help="steps per collective span (default 500)")
    ap.add_argument("--rendezvous-ms", type=float, default=100, help="rendezvous per span, ms (default 100)")
    ap.add_argument("--sharded-optimizer", action="store_true",
                    help="collective: each replica steps only its 1/N shard between reduce-scatter and all-gather")
    ap.add_argument("--breakdown", action="store_true", help="print every term of every cell")
    a = ap.parse_args()
    m = Model(a)
    lo, hi = a.gbits
    g = lambda x: f"{x:g}"

    print("Step time in ms; B = global mini-batch, N = executors (one task each).\n")
    for batch in a.batch:
        print(f"**B = {batch}**\n")
        print(f"| params | N | rows/task | driver {g(lo)}G | collective {g(lo)}G | driver {g(hi)}G "
              f"| collective {g(hi)}G | driver/collective at {g(hi)}G | collective bound by ({g(lo)}G / {g(hi)}G) |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
        notes = []
        for p in a.params:
            for n in a.executors:
                cells, bounds, ratio = [], [], None
                for gb in (lo, hi):
                    d, rows, _ = m.driver_step(p, n, batch, gb)
                    c, _ = m.collective_step(p, n, batch, gb)
                    td, tc = sum(d.values()), sum(c.values())
                    cells += [fmt_ms(td), fmt_ms(tc)]
                    bounds.append(m.collective_bound(c))
                    ratio = td / tc
                    if a.breakdown:
                        notes.append((p, n, gb, d, c))
                r = f"{batch / n:g}" + (" *" if batch < n else "")
                b = bounds[0] if bounds[0] == bounds[1] else f"{bounds[0]} / {bounds[1]}"
                print(f"| {fmt_params(p)} | {n} | {r} | {cells[0]} | {cells[1]} | {cells[2]} | {cells[3]} "
                      f"| {ratio:.1f}x | {b} |")
        if any(batch < n for n in a.executors):
            print(f"\n\\* fewer rows than tasks: ceil(B/N) = 1 row on {batch} tasks, the others idle.")
        print()
        for p, n, gb, d, c in notes:
            fd = ", ".join(f"{k} {fmt_ms(v)}" for k, v in d.items())
            fc = ", ".join(f"{k} {fmt_ms(v)}" for k, v in c.items())
            print(f"    {fmt_params(p)} N={n} {g(gb)}G  driver [{fd}]  collective [{fc}]")
        if notes:
            print()

    # Crossovers that do not depend on the grid.
    print("Crossovers (collective engine):\n")
    for gb in (lo, hi):
        bw = m.bw(gb)
        # compute(r) = 6 P r / F  vs  ring bandwidth ~ 8 P / bw  (N large)
        r_star = (8.0 / bw) / (6.0 / m.flops)
        print(f"- {g(gb)} Gbit/s: bandwidth-bound below ~{r_star:.0f} rows per task (any model size);", end="")
        crit = ", ".join(f"N={n}: {fmt_params(int(n * m.alpha * bw / 4))}" for n in a.executors)
        print(f" ring latency > ring bandwidth below {crit} params")
    floors = ", ".join(f"N={n}: {fmt_ms(m.job(n + sum(gr for _, gr in m.tree_levels(n, a.depth)[0])))} ms"
                       for n in a.executors)
    print(f"- driver engine: Spark job floor alone (no bytes moved) {floors}")


if __name__ == "__main__":
    main()
