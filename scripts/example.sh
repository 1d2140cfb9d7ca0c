#!/usr/bin/env bash
# Runs an example of the examples module. Usage: scripts/example.sh SimpleNet [args]
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
name="${1:?usage: scripts/example.sh <SimpleNet|FashionMnistClassifier|RegressionExample|FederatedNonIid> [args]}"; shift
# Built when the example's class is missing or a source is newer than the classes.
if ! { [ -f examples/target/classes/io/sparktrain/examples/"$name".class ] \
    && [ -z "$(find trainer/src examples/src -newer examples/target/classes -name '*.java' | head -1)" ]; }; then
  mvn -q -B -ntp install -DskipTests
fi
CP="$(module_classpath examples)"
if { [ "$name" = FashionMnistClassifier ] || [ "$name" = FederatedNonIid ]; } && [ $# -eq 0 ]; then
  set -- "$(bash scripts/get-fashion-mnist.sh)"
fi
# shellcheck disable=SC2086
exec java $SPARK_JVM_OPTS -Xmx6g -cp "$CP" "io.sparktrain.examples.$name" "$@"
