#!/usr/bin/env bash
# Issue 9: throughput with executors in separate JVMs, on scripts/cluster.sh with 1 and then 2 Workers
# (1 core each), for sync mode on both engines and average mode on both engines (Fashion-MNIST,
# batch 128, conf/fashion-mnist.yaml). Prints one JSON line per run (also appended to
# target/bench-cluster/results.jsonl); results in docs/CLUSTER-SCALING.md.
#
#   scripts/bench_cluster.sh                 W = 1 2, every configuration once
#   BENCH_WORKERS="2" BENCH_CONFIGS="avg_coll avg_drv" BENCH_REPEAT=2 scripts/bench_cluster.sh
#   BENCH_WORKERS=1 BENCH_WORKER_CORES=2 scripts/bench_cluster.sh    one executor JVM running both tasks
#
# Configurations: sync_coll (6 epochs, BENCH_SYNC_EPOCHS), sync_drv (max_rounds 400: ~75-95 ms per step
# here), avg_coll and avg_drv (12 epochs, BENCH_AVG_EPOCHS; local_steps 235). data.partitions = W x cores; validation after each epoch (test set).
# Steady samples/s: median over the epochs of the second half (rows / delta train_s, from
# metrics.jsonl), or for max_rounds runs over the rounds of the second half (rows / delta train_s).
# While each run goes, scripts/cpu_sampler.py records the CPU of the driver JVM, Master, Workers and
# executors (from /proc); the JSON line has their share of a core over the training window after the
# first epoch (or the first half of the rounds). It also checks, in the first run of each W, that
# OPENBLAS_NUM_THREADS reaches the executors (/proc/<pid>/environ) and which BLAS they loaded.
# Never runs mvn install; needs the app jar (mvn -q -B -ntp package -DskipTests).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"

OUT="$ROOT/target/bench-cluster"
DATA="$(bash scripts/get-fashion-mnist.sh)"
WORKERS_LIST="${BENCH_WORKERS:-1 2}"
CONFIGS="${BENCH_CONFIGS:-sync_coll sync_drv avg_coll avg_drv}"
REPEAT="${BENCH_REPEAT:-1}"
FIRST_REP="${BENCH_FIRST_REPEAT:-1}"   # numbering of the repeats (run names end in -r<n>)
AVG_EPOCHS="${BENCH_AVG_EPOCHS:-12}" SYNC_EPOCHS="${BENCH_SYNC_EPOCHS:-6}"   # epochs of the avg_* and sync_coll runs
CORES="${BENCH_WORKER_CORES:-1}"   # cores per Worker (and per executor); 2 with W=1: both tasks in one JVM
mkdir -p "$OUT"

settings() {   # the --set list of a configuration
  local c="$1" w="$2"
  local common=(--set "data.partitions=$w" --set "data.train=$DATA/train.parquet" --set "data.test=$DATA/test.parquet"
                --set "data.validation=$DATA/test.parquet" --set training.batch_size=128)
  case "$c" in
    sync_coll) echo "${common[@]}" --set training.mode=sync --set training.sync_engine=collective --set "training.epochs=$SYNC_EPOCHS" ;;
    sync_drv)  echo "${common[@]}" --set training.mode=sync --set training.sync_engine=driver --set training.epochs=1 --set training.max_rounds=400 ;;
    avg_coll)  echo "${common[@]}" --set training.mode=average --set training.average_engine=collective --set training.local_steps=235 --set "training.epochs=$AVG_EPOCHS" ;;
    avg_drv)   echo "${common[@]}" --set training.mode=average --set training.average_engine=driver --set training.local_steps=235 --set "training.epochs=$AVG_EPOCHS" ;;
    *) echo "bench_cluster.sh: unknown configuration $c" >&2; return 1 ;;
  esac
}

# In the background: once an executor JVM is up, record its OPENBLAS_NUM_THREADS and thread count.
check_executor_env() {
  local file="$1" pid
  for _ in $(seq 1 240); do
    pid="$(pgrep -f CoarseGrainedExecutorBackend | head -1 || true)"
    if [ -n "$pid" ] && [ -r "/proc/$pid/environ" ]; then
      sleep 45   # into training: BLAS loaded
      {
        echo "executor pid $pid"
        tr '\0' '\n' < "/proc/$pid/environ" | grep -E '^(OPENBLAS|OMP|MKL)_' || echo "(no OPENBLAS_/OMP_/MKL_ variables)"
        echo "threads: $(find "/proc/$pid/task" -mindepth 1 -maxdepth 1 | wc -l)"
        echo "openblas mapped: $(grep -oE '/[^ ]*(blas|lapack)[^ ]*' "/proc/$pid/maps" 2>/dev/null | sort -u | tr '\n' ' ')"
      } > "$file"
      return 0
    fi
    sleep 0.5
  done
  echo "no executor seen" > "$file"
}

summarize() {   # run dir, log, cpu timeline, W, config -> one JSON line
  python3 - "$@" <<'PY'
import json, re, statistics, sys
run, log, cpu_file, w, conf, cores, rep = sys.argv[1:8]
recs = [json.loads(l) for l in open(f"{run}/metrics.jsonl") if l.strip()]
summ = json.load(open(f"{run}/summary.json"))
rounds = [r for r in recs if r.get("type") == "round"]
epochs = [r for r in recs if r.get("type") == "epoch"]
res = {"bench": "cluster", "workers": int(w), "cores_per_worker": int(cores), "repeat": int(rep), "config": conf,
       "mode": summ["config"]["training"]["mode"],
       "engine": summ["config"]["training"].get("sync_engine" if summ["config"]["training"]["mode"] == "sync" else "average_engine"),
       "partitions": summ["data"]["train_partitions"], "rounds": summ["rounds"], "epochs": summ["epochs"]}
# per epoch: rows / delta train_s (train_s of the epoch's last round)
per_epoch, prev_t = [], 0.0
for e in sorted({r["epoch"] for r in rounds}):
    rs = [r for r in rounds if r["epoch"] == e]
    t = rs[-1]["train_s"]
    per_epoch.append((e, sum(r["rows"] for r in rs), t - prev_t, len(rs)))
    prev_t = t
res["per_epoch_samples_per_s"] = [round(rows / dt) for e, rows, dt, n in per_epoch if dt > 0]
full_epochs = [p for p in per_epoch if p[1] >= summ["data"]["train_rows"] * 0.99]
if len(full_epochs) >= 2:
    late = full_epochs[len(full_epochs) // 2:]
    res["samples_per_s_steady"] = round(statistics.median(rows / dt for e, rows, dt, n in late))
    res["steady_basis"] = f"median of epochs {[p[0] for p in late]}"
    steady_from_elapsed = next(r for r in epochs if r["epoch"] == full_epochs[0][0])["elapsed_s"] if epochs else 0
else:   # max_rounds run: the second half of the rounds
    half = rounds[len(rounds) // 2:]
    t0 = rounds[len(rounds) // 2 - 1]["train_s"]
    res["samples_per_s_steady"] = round(sum(r["rows"] for r in half) / (half[-1]["train_s"] - t0))
    res["steady_basis"] = f"rounds {half[0]['round']}-{half[-1]['round']}: rows / delta train_s"
    res["ms_per_round_steady"] = round(1000 * (half[-1]["train_s"] - t0) / len(half), 2)
    res["per_round_samples_per_s_median"] = round(statistics.median(r["rows"] / r["seconds"] for r in half))
    steady_from_elapsed = rounds[len(rounds) // 2 - 1]["elapsed_s"]
res["rows_per_round"] = rounds[-1]["rows"]
res["test_accuracy"] = summ.get("test", {}).get("accuracy")
res["timings"] = {k: round(v, 2) for k, v in summ["timings"].items()}
if "collective" in summ:
    res["collective"] = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in summ["collective"].items()}
res["blas_driver"] = summ.get("blas")
# CPU per role over the steady training window: training starts at the "Trainer: ... on N rows" log line
# (HH:MM:SS), steady from then + the elapsed_s of the first full epoch (or of the half-way round) to the end.
start = None
for line in open(log):
    m = re.match(r"(\d\d):(\d\d):(\d\d) INFO Trainer: sparktrain: Network", line)
    if m:
        start = int(m[1]) * 3600 + int(m[2]) * 60 + int(m[3]); break
tl = [json.loads(l) for l in open(cpu_file) if l.strip()]
if start is not None and tl:
    import time
    def tod(t):
        lt = time.localtime(t); return lt.tm_hour * 3600 + lt.tm_min * 60 + lt.tm_sec + (t % 1)
    end_elapsed = (epochs[-1]["elapsed_s"] if epochs else rounds[-1]["elapsed_s"])
    a, b = start + 0.5 + steady_from_elapsed, start + 0.5 + end_elapsed
    win = [s for s in tl if a <= tod(s["t"]) <= b]
    if len(win) >= 2:
        s0, s1 = win[0], win[-1]
        dt = s1["t"] - s0["t"]
        res["cpu_window_s"] = round(dt, 1)
        res["cpu_cores"] = {r: round((s1["cpu"].get(r, 0) - s0["cpu"].get(r, 0)) / dt, 2) for r in sorted(s1["cpu"])}
        res["cpu_threads_cores"] = {g: round((s1["threads"].get(g, 0) - s0["threads"].get(g, 0)) / dt, 2)
                                    for g in sorted(s1["threads"]) if s1["threads"].get(g, 0) - s0["threads"].get(g, 0) > 0.05 * dt}
        res["machine_busy_cores"] = round(2 * (s1["busy"] - s0["busy"]) / max(1, s1["all"] - s0["all"]), 2)
        res["cpu_cores"]["not_spark"] = round(res["machine_busy_cores"] - sum(v for k, v in res["cpu_cores"].items()), 2)
        o0, o1 = s0.get("others", {}), s1.get("others", {})
        res["others_cores"] = dict(sorted(((k, round((v - o0.get(k, 0)) / dt, 2)) for k, v in o1.items()
                                           if v - o0.get(k, 0) > 0.03 * dt), key=lambda kv: -kv[1])[:5])
print(json.dumps(res))
PY
}

for W in $WORKERS_LIST; do
  P=$((W * CORES)) sfx=""; [ "$CORES" = 1 ] || sfx="x$CORES"
  export SPARKTRAIN_CLUSTER_DIR="$OUT/cluster-w$W$sfx" SPARKTRAIN_WORKERS="$W" SPARKTRAIN_WORKER_CORES="$CORES" SPARKTRAIN_WORKER_MEMORY=2g
  scripts/cluster.sh up >&2
  # shellcheck disable=SC1091
  source "$SPARKTRAIN_CLUSTER_DIR/cluster.env"
  first=1
  for rep in $(seq "$FIRST_REP" $((FIRST_REP + REPEAT - 1))); do
    for c in $CONFIGS; do
      tag="w$W$sfx-$c-r$rep" run="$OUT/runs/w$W$sfx-$c-r$rep"
      rm -rf "$run"; mkdir -p "$OUT/logs"
      log="$OUT/logs/$tag.log" cpu="$OUT/logs/$tag.cpu.jsonl"
      rm -f "$cpu"
      python3 scripts/cpu_sampler.py "$cpu" 1 & sampler=$!
      envpid=""
      if [ "$first" = 1 ]; then check_executor_env "$OUT/logs/w$W$sfx-executor-env.txt" & envpid=$!; fi
      # shellcheck disable=SC2046
      if ! scripts/submit.sh --master "$MASTER_URL" --conf "spark.executor.cores=$CORES" --conf "spark.cores.max=$P" \
          --executor-memory 2g -- train --config conf/fashion-mnist.yaml $(settings "$c" "$P") \
          --set "output.dir=$run" > "$log" 2>&1; then
        echo "bench_cluster.sh: $tag failed; log $log" >&2
        kill "$sampler" 2>/dev/null || true; wait "$sampler" 2>/dev/null || true
        continue
      fi
      kill "$sampler"; wait "$sampler" 2>/dev/null || true
      if [ -n "$envpid" ]; then wait "$envpid" 2>/dev/null || true; first=0; fi
      summarize "$run" "$log" "$cpu" "$W" "$c" "$CORES" "$rep" | tee -a "$OUT/results.jsonl" || echo "bench_cluster.sh: no summary for $tag" >&2
    done
  done
  if [ -f "$OUT/logs/w$W$sfx-executor-env.txt" ]; then
    echo "executor environment (W=$W):" >&2; sed 's/^/  /' "$OUT/logs/w$W$sfx-executor-env.txt" >&2
  fi
  echo "executor BLAS (W=$W):" >&2
  grep -h "sparktrain BLAS" "$SPARKTRAIN_CLUSTER_DIR"/work/worker*/app-*/*/stderr 2>/dev/null | sed 's/^/  /' | sort | uniq -c >&2 || true
  scripts/cluster.sh down >&2
done
