#!/usr/bin/env bash
# Submits sparktrain (the shaded application jar, main class io.sparktrain.driver.Main) to Spark.
#
#   scripts/submit.sh [spark-submit options] -- [sparktrain args]
#   scripts/submit.sh --master spark://127.0.0.1:7077 -- train --config conf/job.yaml
#   scripts/submit.sh train --config conf/job.yaml          (no "--": all args are sparktrain's; local[*])
#
# With SPARK_HOME set it runs $SPARK_HOME/bin/spark-submit; otherwise the same SparkSubmit class from
# the Maven-resolved Spark jars (target/spark-home, see scripts/env.sh), so no Spark download is needed.
# It always adds --class io.sparktrain.driver.Main, the jar (driver/target/sparktrain-driver-*-app.jar,
# built when missing; or $SPARKTRAIN_JAR) and spark.executorEnv.OPENBLAS_NUM_THREADS=1 (one BLAS thread
# per task; SPARKTRAIN_EXECUTOR_BLAS_THREADS to change). Java 17 options: Spark 4.2 adds its
# --add-opens list and --add-modules=jdk.incubator.vector itself (spark-submit's launcher for the
# driver, SparkContext for the executors); without SPARK_HOME this script starts the driver JVM itself
# and puts them (the parent pom's spark.jvm.options), --driver-java-options,
# spark.driver.extraJavaOptions and --driver-memory on its command line.
set -euo pipefail
user_local_ip="${SPARK_LOCAL_IP-}"
source "$(dirname "$0")/env.sh"
cd "$ROOT"

MAIN_CLASS=io.sparktrain.driver.Main

spark_opts=() app_args=() seen_sep=0
for a in "$@"; do
  if [ "$seen_sep" = 0 ] && [ "$a" = "--" ]; then seen_sep=1; continue; fi
  if [ "$seen_sep" = 1 ]; then app_args+=("$a"); else spark_opts+=("$a"); fi
done
if [ "$seen_sep" = 0 ]; then app_args=("${spark_opts[@]+"${spark_opts[@]}"}"); spark_opts=(); fi

# Read (and pass on unchanged) what the java path needs: the master, the driver's Java options, memory.
master="" driver_java="" driver_memory=""
set -- "${spark_opts[@]+"${spark_opts[@]}"}"
while [ $# -gt 0 ]; do
  opt="$1" val="${2:-}" n=2
  case "$opt" in --*=*) val="${opt#*=}" opt="${opt%%=*}" n=1 ;; esac
  case "$opt" in
    --master) master="$val" ;;
    --driver-java-options) driver_java="${driver_java:+$driver_java }$val" ;;
    --driver-memory) driver_memory="$val" ;;
    --conf|-c)
      case "$val" in
        spark.master=*) [ -n "$master" ] || master="${val#*=}" ;;
        spark.driver.extraJavaOptions=*) driver_java="${driver_java:+$driver_java }${val#*=}" ;;
        spark.driver.memory=*) [ -n "$driver_memory" ] || driver_memory="${val#*=}" ;;
      esac ;;
    --class) echo "submit.sh: the main class is always $MAIN_CLASS" >&2; exit 2 ;;
    *) n=1 ;;
  esac
  shift "$n" 2>/dev/null || shift $#
done

# Loopback (env.sh's default) only when everything runs on this machine; a real cluster's executors
# must reach the driver at a routable address.
loopback=()
case "$master" in
  local*|spark://127.0.0.1:*|spark://localhost:*) loopback=(--conf spark.driver.host=127.0.0.1) ;;
  *) if [ -z "$user_local_ip" ] && { [ -n "$master" ] || [ -n "${SPARK_HOME:-}" ]; }; then unset SPARK_LOCAL_IP; fi ;;
esac

# The application jar in driver/target (the first by name, as ls would list it), or nothing.
app_jar() {
  local jars=(driver/target/sparktrain-driver-*-app.jar)
  if [ -f "${jars[0]}" ]; then echo "${jars[0]}"; fi
}

JAR="${SPARKTRAIN_JAR:-}"
if [ -z "$JAR" ]; then
  JAR="$(app_jar)"
  if [ -z "$JAR" ]; then
    echo "submit.sh: building the application jar (mvn package -pl driver -am)" >&2
    mvn -q -B -ntp package -pl driver -am -DskipTests >&2
    JAR="$(app_jar)"
  fi
fi
[ -f "$JAR" ] || { echo "submit.sh: no application jar at $JAR" >&2; exit 1; }

ours=(
  --class "$MAIN_CLASS"
  --conf "spark.executorEnv.OPENBLAS_NUM_THREADS=${SPARKTRAIN_EXECUTOR_BLAS_THREADS:-1}"
  "${loopback[@]+"${loopback[@]}"}"
)

if [ -n "${SPARK_HOME:-}" ]; then
  exec "$SPARK_HOME/bin/spark-submit" "${ours[@]}" "${spark_opts[@]+"${spark_opts[@]}"}" "$JAR" "${app_args[@]+"${app_args[@]}"}"
fi

SH="$(spark_home)"
# This JVM is the driver (client deploy mode), so the driver's options go on its command line: the
# module options spark-submit's launcher would add, our log4j2 setup, then the caller's options.
# shellcheck disable=SC2086
exec env SPARK_HOME="$SH" SPARK_SCALA_VERSION="$(sed -n 's:.*<scala.binary.version>\(.*\)</scala.binary.version>.*:\1:p' "$ROOT/pom.xml")" \
  java $SPARK_JVM_OPTS ${driver_memory:+-Xmx$driver_memory} $driver_java \
  -cp "$SH/jars/*" org.apache.spark.deploy.SparkSubmit \
  "${ours[@]}" "${spark_opts[@]+"${spark_opts[@]}"}" "$JAR" "${app_args[@]+"${app_args[@]}"}"
