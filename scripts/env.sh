# shellcheck shell=bash
# Sourced by the scripts: the environment every sparktrain process gets.
# One BLAS thread per Spark task (Spark already runs one task per core); loopback only.
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"
export SPARK_LOCAL_IP="${SPARK_LOCAL_IP:-127.0.0.1}"
export MAVEN_OPTS="${MAVEN_OPTS:-} -Djava.net.preferIPv4Stack=true"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export SPARKTRAIN_ROOT="$ROOT"
# The JVM options spark-submit adds on Java 17, plus the Vector API (read from the parent pom).
SPARK_MODULE_OPTS="$(sed -n 's:.*<spark.jvm.options>\(.*\)</spark.jvm.options>.*:\1:p' "$ROOT/pom.xml")"
# Transparent huge pages for the heap (where the kernel's THP mode is madvise or always): wide sparse
# first layers and embedding tables are stepped row by row at random, and with 4 KB pages every such
# row is a TLB miss (docs/BENCHMARKS.md, "Transparent huge pages"). Harmless where THP is off.
SPARK_JVM_OPTS="$SPARK_MODULE_OPTS -XX:+UseTransparentHugePages -Dlog4j2.configurationFile=$ROOT/conf/log4j2.properties"
export SPARK_MODULE_OPTS SPARK_JVM_OPTS

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

# The Spark to run with: $SPARK_HOME when set; otherwise one assembled from Maven Central under
# target/spark-home (jars/ = the runtime dependencies of spark-core/sql/mllib, see
# scripts/spark-dist/pom.xml, and an empty RELEASE file, which Spark's launcher needs to find jars/
# when a Worker starts an executor). Prints the directory.
spark_home() {
  if [ -n "${SPARK_HOME:-}" ]; then echo "$SPARK_HOME"; return 0; fi
  local dir="$ROOT/target/spark-home" stamp
  stamp="$(sed -n 's:.*<spark.version>\(.*\)</spark.version>.*:\1:p;s:.*<scala.binary.version>\(.*\)</scala.binary.version>.*:\1:p' "$ROOT/pom.xml" | tr '\n' ' ')"
  if [ ! -f "$dir/RELEASE" ] || [ "$(cat "$dir/.sparktrain-stamp" 2>/dev/null)" != "$stamp" ] \
      || [ "$ROOT/scripts/spark-dist/pom.xml" -nt "$dir/.sparktrain-stamp" ]; then
    echo "sparktrain: assembling Spark ($stamp) from Maven in $dir" >&2
    local tmp="$dir.tmp.$$"
    rm -rf "$tmp" && mkdir -p "$tmp/jars"
    (cd "$ROOT" && mvn -q -B -ntp -f scripts/spark-dist/pom.xml dependency:copy-dependencies \
        -DoutputDirectory="$tmp/jars" >&2) || { rm -rf "$tmp"; return 1; }
    : > "$tmp/RELEASE"
    echo "$stamp" > "$tmp/.sparktrain-stamp"
    rm -rf "$dir" && mv "$tmp" "$dir"
  fi
  echo "$dir"
}

# A TCP port free on 127.0.0.1 now (asked from the kernel: no fixed, well-known ports).
free_port() {
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()' && return 0
  fi
  local p
  while :; do
    p=$(( 20000 + RANDOM % 40000 ))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
  done
}
