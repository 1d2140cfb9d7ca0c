#!/usr/bin/env python3
"""CPU use per Spark process role (and per thread group) on this machine, sampled from /proc.

  scripts/cpu_sampler.py OUT.jsonl [interval_s]      (runs until SIGTERM/SIGINT)

Every interval (default 1 s) it appends one JSON line: {"t": unix time, "busy": machine busy
jiffies, "all": all jiffies, "cpu": {role: CPU seconds}, "threads": {"role/group": CPU seconds}},
the CPU seconds being cumulative since each process (thread) started, kept after it exits. Roles
come from the command line: driver (SparkSubmit), master, worker, executor
(CoarseGrainedExecutorBackend), and sampler (this script). Thread groups (driver and executors only): task threads, JIT
compiler, GC, rpc/netty, main, other. The difference of two lines is the CPU each role used in
between; scripts/bench_cluster.sh takes it over a run's training window.
"""
import json, os, signal, sys, time

HZ = os.sysconf("SC_CLK_TCK")
OUT, INTERVAL = sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 1.0


def role(cmd):
    for key, r in (("CoarseGrainedExecutorBackend", "executor"), ("org.apache.spark.deploy.SparkSubmit", "driver"),
                   ("org.apache.spark.deploy.master.Master", "master"), ("org.apache.spark.deploy.worker.Worker", "worker")):
        if key in cmd:
            return r
    return None


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


def ticks(stat):
    s = stat.decode(errors="replace")
    rest = s[s.rfind(")") + 2:].split()
    return int(rest[11]) + int(rest[12])


def group(n):
    if n.startswith("Executor task") or n.startswith("task "):
        return "task threads"
    if n.startswith(("C2 ", "C1 ")):
        return "JIT compiler"
    if "GC" in n or n.startswith("G1 ") or n.startswith("VM Thread"):
        return "GC/VM"
    low = n.lower()
    if any(k in low for k in ("netty", "rpc", "dispatcher", "shuffle", "block")):
        return "rpc/netty"
    if n == "main":
        return "main"
    return "other"


proc_ticks, thread_ticks, proc_role, other_ticks = {}, {}, {}, {}
stop = False
signal.signal(signal.SIGTERM, lambda *_: globals().__setitem__("stop", True))
signal.signal(signal.SIGINT, lambda *_: globals().__setitem__("stop", True))
with open(OUT, "a") as out:
    while True:
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            if pid not in proc_role:
                cmd = read(f"/proc/{pid}/cmdline")
                r = role(cmd.decode(errors="replace")) if cmd and b"java" in cmd.split(b"\0")[0] else None
                if r is None:   # anything else: CPU per command name, under "others"
                    st = read(f"/proc/{pid}/stat")
                    if st is not None and pid != str(os.getpid()):
                        s_ = st.decode(errors="replace")
                        other_ticks[pid] = (s_[s_.find("(") + 1:s_.rfind(")")], ticks(st))
                    continue
                proc_role[pid] = r
            r = proc_role[pid]
            st = read(f"/proc/{pid}/stat")
            if st is None:
                continue
            proc_ticks[pid] = ticks(st)
            if r in ("driver", "executor"):
                try:
                    tids = os.listdir(f"/proc/{pid}/task")
                except OSError:
                    continue
                for tid in tids:
                    ts, nm = read(f"/proc/{pid}/task/{tid}/stat"), read(f"/proc/{pid}/task/{tid}/comm")
                    if ts is not None and nm is not None:
                        thread_ticks[(pid, tid)] = (r + "/" + group(nm.decode(errors="replace").strip()), ticks(ts))
        line = [int(x) for x in read("/proc/stat").decode().splitlines()[0].split()[1:]]
        cpu, thr = {}, {}
        for pid, t in proc_ticks.items():
            cpu[proc_role[pid]] = round(cpu.get(proc_role[pid], 0) + t / HZ, 2)
        own = os.times()
        cpu["sampler"] = round(own.user + own.system, 2)   # this script's own cost, to subtract
        for g, t in thread_ticks.values():
            thr[g] = round(thr.get(g, 0) + t / HZ, 2)
        others = {}
        for name, t in other_ticks.values():
            if t:
                others[name] = round(others.get(name, 0) + t / HZ, 2)
        out.write(json.dumps({"t": round(time.time(), 2), "busy": sum(line) - line[3] - line[4], "all": sum(line),
                              "cpu": cpu, "threads": thr, "others": others}) + "\n")
        out.flush()
        if stop:
            break
        time.sleep(INTERVAL)
