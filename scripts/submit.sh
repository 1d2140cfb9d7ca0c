#!/usr/bin/env bash
# Submits sparktrain (the shaded application jar, main class io.sparktrain.driver.Main) to Spark.
#
#   scripts/submit.sh [spark-submit options] -- [sparktrain args]
#   scripts/submit.sh --master spark://127.0.0.1:7077 -- train --config conf/job.yaml
#   scripts/submit.sh train --config conf/job.yaml          (no "--": all args are sparktrain's; local[*])
#
# With SPARK_HOME set it runs $SPARK_HOME/bin/spark-submit; otherwise the same SparkSubmit class from
# the Maven-resolved Spark jars (target/spark-home, see scripts/env.sh), so no Spark download is needed.
# It always adds:
#   --class io.sparktrain.driver.Main and the jar (driver/target/sparktrain-driver-*-app.jar, built when
#     missing; or $SPARKTRAIN_JAR),
#   spark.executorEnv.OPENBLAS_NUM_THREADS=1 (one BLAS thread per task),
#   --add-modules=jdk.incubator.vector for the driver and the executors (netlib's VectorBLAS), appended
#     to any spark.{driver,executor}.extraJavaOptions given here. The Java 17 --add-opens options:
#     spark-submit's launcher adds them for the driver and SparkContext for the executors; without
#     SPARK_HOME this script starts the driver JVM itself and passes them.
set -euo pipefail
user_local_ip="${SPARK_LOCAL_IP-}"
source "$(dirname "$0")/env.sh"
cd "$ROOT"

MAIN_CLASS=io.sparktrain.driver.Main
VECTOR_OPT="--add-modules=jdk.incubator.vector"

spark_opts=() app_args=() seen_sep=0
for a in "$@"; do
  if [ "$seen_sep" = 0 ] && [ "$a" = "--" ]; then seen_sep=1; continue; fi
  if [ "$seen_sep" = 1 ]; then app_args+=("$a"); else spark_opts+=("$a"); fi
done
if [ "$seen_sep" = 0 ]; then app_args=("${spark_opts[@]+"${spark_opts[@]}"}"); spark_opts=(); fi

# Pull out the master and the driver's/executors' Java options the caller gave (--driver-java-options,
# spark.*.extraJavaOptions), so ours are appended, not lost; and --driver-memory for the java path.
master="" driver_java="" executor_java="" driver_memory="" rest=()
set -- "${spark_opts[@]+"${spark_opts[@]}"}"
while [ $# -gt 0 ]; do
  case "$1" in
    --master) master="${2:-}"; rest+=("$1" "${2:-}"); shift 2 || shift ;;
    --master=*) master="${1#--master=}"; rest+=("$1"); shift ;;
    --conf|-c)
      case "${2:-}" in
        spark.driver.extraJavaOptions=*) driver_java="${2#*=}" ;;
        spark.executor.extraJavaOptions=*) executor_java="${2#*=}" ;;
        *) rest+=("$1" "${2:-}") ;;
      esac
      shift 2 || shift ;;
    --conf=*)
      case "${1#--conf=}" in
        spark.driver.extraJavaOptions=*) driver_java="${1#*Options=}" ;;
        spark.executor.extraJavaOptions=*) executor_java="${1#*Options=}" ;;
        *) rest+=("$1") ;;
      esac
      shift ;;
    --driver-java-options) driver_java="${driver_java:+$driver_java }${2:-}"; shift 2 || shift ;;
    --driver-java-options=*) driver_java="${driver_java:+$driver_java }${1#--driver-java-options=}"; shift ;;
    --driver-memory) driver_memory="${2:-}"; rest+=("$1" "${2:-}"); shift 2 || shift ;;
    --driver-memory=*) driver_memory="${1#--driver-memory=}"; rest+=("$1"); shift ;;
    --class|--class=*) echo "submit.sh: the main class is always $MAIN_CLASS" >&2; exit 2 ;;
    *) rest+=("$1"); shift ;;
  esac
done

# Loopback (env.sh's default) only when everything runs on this machine; a real cluster's executors
# must reach the driver at a routable address.
if [ -z "$user_local_ip" ]; then
  case "$master" in
    local*|spark://127.0.0.1:*|spark://localhost:*) ;;
    "") [ -z "${SPARK_HOME:-}" ] || unset SPARK_LOCAL_IP ;;
    *) unset SPARK_LOCAL_IP ;;
  esac
fi

JAR="${SPARKTRAIN_JAR:-}"
if [ -z "$JAR" ]; then
  JAR="$(ls driver/target/sparktrain-driver-*-app.jar 2>/dev/null | head -1 || true)"
  if [ -z "$JAR" ]; then
    echo "submit.sh: building the application jar (mvn package -pl driver -am)" >&2
    mvn -q -B -ntp package -pl driver -am -DskipTests >&2
    JAR="$(ls driver/target/sparktrain-driver-*-app.jar | head -1)"
  fi
fi
[ -f "$JAR" ] || { echo "submit.sh: no application jar at $JAR" >&2; exit 1; }

ours=(
  --class "$MAIN_CLASS"
  --conf "spark.executorEnv.OPENBLAS_NUM_THREADS=${SPARKTRAIN_EXECUTOR_BLAS_THREADS:-1}"
  --conf "spark.driver.extraJavaOptions=${driver_java:+$driver_java }$VECTOR_OPT"
  --conf "spark.executor.extraJavaOptions=${executor_java:+$executor_java }$VECTOR_OPT"
)

if [ -n "${SPARK_HOME:-}" ]; then
  exec "$SPARK_HOME/bin/spark-submit" "${ours[@]}" "${rest[@]+"${rest[@]}"}" "$JAR" "${app_args[@]+"${app_args[@]}"}"
fi

SH="$(spark_home)"
# This JVM is the driver (client deploy mode), so the driver's options go on its command line:
# the module options spark-submit's launcher would add, the caller's driver options, our log4j2 setup.
# shellcheck disable=SC2086
exec env SPARK_HOME="$SH" SPARK_SCALA_VERSION="$(sed -n 's:.*<scala.binary.version>\(.*\)</scala.binary.version>.*:\1:p' "$ROOT/pom.xml")" \
  java $SPARK_JVM_OPTS ${driver_memory:+-Xmx$driver_memory} $driver_java \
  -cp "$SH/jars/*" org.apache.spark.deploy.SparkSubmit \
  "${ours[@]}" "${rest[@]+"${rest[@]}"}" "$JAR" "${app_args[@]+"${app_args[@]}"}"
