#!/usr/bin/env bash
# Benchmarks (never part of the tests).
# Usage: scripts/bench.sh core [batches reps batch] | fashion [FashionBench options]
# Prints JSON lines; record the figures in docs/BENCHMARKS.md with the command that made them.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
what="${1:-core}"; shift || true
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
      OMP_NUM_THREADS=1 /usr/bin/python3 scripts/bench_torch.py "$@"
    else
      echo "sparktrain: python3-torch not installed; skipping the PyTorch reference line" >&2
    fi
    ;;
  fashion)
    DATA="$(bash scripts/get-fashion-mnist.sh)"
    CP="$(module_classpath examples)"
    # shellcheck disable=SC2086
    java $SPARK_JVM_OPTS -Xmx6g -cp "$CP" io.sparktrain.examples.bench.FashionBench --data "$DATA" "$@"
    ;;
  *)
    echo "usage: scripts/bench.sh core [batches reps batch] | fashion [--mode average|sync --epochs N ...]" >&2
    exit 2 ;;
esac
