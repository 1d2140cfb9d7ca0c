#!/usr/bin/env bash
# Benchmarks (never part of the tests).
# Usage: scripts/bench.sh core [batches reps batch] | fashion [FashionBench options] | cluster
#        | small-tables [--tables wine,iris] [--set key=value]
# Prints JSON lines; record the figures in docs/BENCHMARKS.md with the command that made them.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
what="${1:-core}"; shift || true
# Issue 9, executors in separate JVMs on scripts/cluster.sh (1 and 2 Workers): no mvn install, it
# submits the already built app jar (docs/CLUSTER-SCALING.md).
if [ "$what" = cluster ]; then exec "$ROOT/scripts/bench_cluster.sh" "$@"; fi
# Issue 11, small real tables with only the data section against scikit-learn's MLPClassifier
# (docs/BENCHMARKS.md): builds this checkout's classes (no mvn install) and runs the CLI on them.
if [ "$what" = small-tables ]; then
  ensure_deb python3-sklearn || true
  mvn -q -B -ntp -Dstyle.color=never package -DskipTests -pl trainer,driver >&2
  exec /usr/bin/python3 "$ROOT/scripts/small_tables.py" "$@"
fi
# The value of option $1 (--name V or --name=V, the last one wins) among the remaining arguments;
# status 1 when it is absent.
opt_value() {
  local name="$1" v="" found=1
  shift
  while [ $# -gt 0 ]; do
    case "$1" in
      "$name") if [ $# -ge 2 ]; then v="$2"; found=0; shift; fi ;;
      "$name"=*) v="${1#*=}"; found=0 ;;
    esac
    shift
  done
  [ "$found" = 0 ] && printf '%s\n' "$v"
  return "$found"
}
ensure_deb libopenblas0-pthread || true
mvn -q -B -ntp -Dstyle.color=never install -DskipTests >&2
case "$what" in
  core)
    CP="$(module_classpath examples)"
    # shellcheck disable=SC2086
    java $SPARK_JVM_OPTS -cp "$CP" io.sparktrain.examples.bench.CoreBench "$@" 2> >(grep -v "incubator" >&2)
    # Debian's python3-torch lives under /usr/bin/python3 (a pyenv python3 may shadow it).
    ensure_deb python3-torch || true
    if /usr/bin/python3 -c "import torch" 2>/dev/null; then
      OMP_NUM_THREADS=1 /usr/bin/python3 scripts/bench_torch.py --data "$(bash scripts/get-fashion-mnist.sh)" "$@"
    else
      echo "sparktrain: python3-torch not installed; skipping the PyTorch reference line" >&2
    fi
    ;;
  fashion)
    DATA="$(bash scripts/get-fashion-mnist.sh)"
    CP="$(module_classpath examples)"
    lines="$(mktemp)"
    trap 'rm -f "$lines"' EXIT
    # shellcheck disable=SC2086 # SPARK_JVM_OPTS is a list of JVM options: split on purpose
    java $SPARK_JVM_OPTS -Xmx6g -cp "$CP" io.sparktrain.examples.bench.FashionBench --data "$DATA" "$@" | tee "$lines"
    # Sync mode: the PyTorch DistributedDataParallel reference (gloo, 2 processes x 1 thread, loopback),
    # with FashionBench's --epochs, --batch (global) and --hidden when given.
    mode="$(opt_value --mode "$@" || true)"
    if [ "${mode,,}" = sync ]; then
      ensure_deb python3-torch || true
      if /usr/bin/python3 -c "import torch" 2>/dev/null; then
        ddp_args=(--data "$DATA")
        for o in epochs batch hidden; do
          if v="$(opt_value "--$o" "$@")"; then ddp_args+=("--$o" "$v"); fi
        done
        OMP_NUM_THREADS=1 /usr/bin/python3 scripts/bench_ddp.py "${ddp_args[@]}" | tee -a "$lines"
        # The comparison line: the collective engine's steady state against DDP, from this invocation.
        python3 - "$lines" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
ours = next((r for r in recs if r.get("system") == "sparktrain" and r.get("sync_engine") == "collective"), None)
ddp = next((r for r in recs if r.get("bench") == "ddp"), None)
if ours and ddp:
    print(json.dumps({"bench": "fashion", "comparison": "collective_vs_ddp", "model": ours.get("model"),
                      "collective_samples_per_s_steady": ours["samples_per_s_steady"],
                      "ddp_samples_per_s": ddp["samples_per_s"],
                      "collective_vs_ddp": ours["samples_per_s_steady"] / ddp["samples_per_s"],
                      "collective_test_accuracy": ours.get("test_accuracy"),
                      "ddp_test_accuracy": ddp.get("test_accuracy")}))
PY
      else
        echo "sparktrain: python3-torch not installed; skipping the PyTorch DDP reference line" >&2
      fi
    fi
    ;;
  *)
    echo "usage: scripts/bench.sh core [batches reps batch] | fashion [--mode average|sync --epochs N ...] | cluster" \
      "| small-tables [--tables wine,iris]" >&2
    exit 2 ;;
esac
