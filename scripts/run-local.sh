#!/usr/bin/env bash
# Trains Fashion-MNIST in local[*] with the sparktrain CLI (the README's main command):
#   scripts/run-local.sh [train options]
# builds when needed (through scripts/sparktrain), gets the data (scripts/get-fashion-mnist.sh), then runs
#   sparktrain train --config conf/fashion-mnist.yaml [train options]
# Extra options pass through, e.g. --set training.epochs=2, or --config conf/other.yaml (instead of
# the Fashion-MNIST config). Spark runs in local[*] unless the config's spark.master or $SPARK_MASTER
# says otherwise. The Fashion-MNIST run goes to runs/fashion-mnist: model/, metrics.jsonl,
# summary.json, test_metrics.json, report.html.
set -euo pipefail
cd "$(dirname "$0")/.."
config=conf/fashion-mnist.yaml
for a in "$@"; do
  case "$a" in --config|-c|--config=*|-c=*) config="";; esac
done
if [ -n "$config" ]; then
  scripts/get-fashion-mnist.sh >/dev/null
  set -- --config "$config" "$@"
fi
# scripts/sparktrain builds when needed and maps its class-data archive (a faster start).
SPARKTRAIN_JAVA_OPTS="-Xmx6g ${SPARKTRAIN_JAVA_OPTS:-}" exec scripts/sparktrain train "$@"
