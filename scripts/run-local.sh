#!/usr/bin/env bash
# Trains Fashion-MNIST in local[*] with the sparktrain CLI (the README's main command):
#   scripts/run-local.sh [train options]
# builds when needed, gets the data (scripts/get-fashion-mnist.sh), then runs
#   sparktrain train --config conf/fashion-mnist.yaml [train options]
# Extra options pass through, e.g. --set training.epochs=2, or --config conf/other.yaml (instead of
# the Fashion-MNIST config). Spark runs in local[*] unless the config's spark.master or $SPARK_MASTER
# says otherwise. The Fashion-MNIST run goes to runs/fashion-mnist: model/, metrics.jsonl,
# summary.json, test_metrics.json, report.html.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
if [ ! -f driver/target/classes/io/sparktrain/driver/Main.class ] \
   || [ -n "$(find trainer/src driver/src pom.xml trainer/pom.xml driver/pom.xml -newer driver/target/classes/io/sparktrain/driver/Main.class -type f 2>/dev/null | head -1)" ]; then
  echo "sparktrain: building (mvn install -DskipTests)" >&2
  mvn -q -B -ntp install -DskipTests >&2
fi
config=conf/fashion-mnist.yaml
for a in "$@"; do
  case "$a" in --config|-c|--config=*|-c=*) config="";; esac
done
if [ -n "$config" ]; then
  scripts/get-fashion-mnist.sh >/dev/null
  set -- --config "$config" "$@"
fi
# trainer/target/classes first: this checkout's trainer, whatever ~/.m2 holds.
CP="$ROOT/trainer/target/classes:$(module_classpath driver)"
MASTER_OPT=()
[ -n "${SPARK_MASTER:-}" ] && MASTER_OPT=(-Dspark.master="$SPARK_MASTER")
TTY=false; [ -t 2 ] && TTY=true   # the progress bar is live only on a terminal
# shellcheck disable=SC2086 # SPARK_JVM_OPTS is a list of JVM options: split on purpose
exec java $SPARK_JVM_OPTS -Xmx6g -Dsparktrain.stderr.tty=$TTY "${MASTER_OPT[@]}" -cp "$CP" io.sparktrain.driver.Main train "$@"
