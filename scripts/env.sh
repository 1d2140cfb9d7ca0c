# Sourced by the scripts: the environment every sparktrain process gets.
# One BLAS thread per Spark task (Spark already runs one task per core); loopback only.
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"
export SPARK_LOCAL_IP="${SPARK_LOCAL_IP:-127.0.0.1}"
export MAVEN_OPTS="${MAVEN_OPTS:-} -Djava.net.preferIPv4Stack=true"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export SPARKTRAIN_ROOT="$ROOT"
# The JVM options spark-submit adds on Java 17, plus the Vector API (read from the parent pom).
SPARK_JVM_OPTS="$(sed -n 's:.*<spark.jvm.options>\(.*\)</spark.jvm.options>.*:\1:p' "$ROOT/pom.xml")"
SPARK_JVM_OPTS="$SPARK_JVM_OPTS -Dlog4j2.configurationFile=$ROOT/conf/log4j2.properties"
export SPARK_JVM_OPTS

# Installs a Debian package when missing and we can (root with apt-get); returns 1 otherwise.
ensure_deb() {
  local pkg="$1"
  if dpkg -s "$pkg" >/dev/null 2>&1; then return 0; fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "sparktrain: installing $pkg" >&2
    (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null 2>&1 \
      || { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null; }) \
      && return 0
  fi
  echo "sparktrain: package $pkg is missing and could not be installed" >&2
  return 1
}

# The runtime classpath of a module (all scopes: Spark is 'provided' for spark-submit but needed here).
module_classpath() {
  local module="$1" out="$ROOT/$1/target/classpath.txt"
  if [ ! -s "$out" ] || [ "$ROOT/pom.xml" -nt "$out" ] || [ "$ROOT/$module/pom.xml" -nt "$out" ]; then
    (cd "$ROOT" && mvn -q -B -ntp dependency:build-classpath -pl "$module" -am -Dmdep.outputFile=target/classpath.txt >/dev/null)
  fi
  # Our own modules from this checkout's target/classes, never from ~/.m2 (which other checkouts
  # on the machine may overwrite while this JVM runs).
  local deps
  deps="$(tr ':' '\n' < "$out" | grep -v '/io/sparktrain/' | paste -sd: -)"
  echo "$ROOT/$module/target/classes:$ROOT/trainer/target/classes:$deps"
}
