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
    # The plugin leaves an unchanged file as it is, older than the pom: without the touch every call
    # would run Maven again (7 s). Only after a successful run, so a failure is retried next time.
    if ! (cd "$ROOT" && mvn -q -B -ntp dependency:build-classpath -pl "$module" -am \
        -Dmdep.outputFile=target/classpath.txt >&2); then
      echo "sparktrain: mvn dependency:build-classpath failed for $module" >&2
      return 1
    fi
    touch "$out"
  fi
  # Our own modules from this checkout's target/classes, never from ~/.m2 (which other checkouts
  # on the machine may overwrite while this JVM runs).
  local deps
  deps="$(tr ':' '\n' < "$out" | grep -v '/io/sparktrain/' | paste -sd: -)"
  echo "$ROOT/$module/target/classes:$ROOT/trainer/target/classes:$deps"
}

# The jar mvn package builds for one of our modules: target/sparktrain-<module>-<version>.jar.
module_jar() {
  echo "$ROOT/$1/target/sparktrain-$1-$(sed -n '0,/<version>/s:.*<version>\(.*\)</version>.*:\1:p' "$ROOT/pom.xml").jar"
}

# The same runtime classpath with our modules as their jars (module_jar of the module and of the
# trainer): class-data sharing archives classes from jars only, never from directories.
module_jar_classpath() {
  local module="$1" cp
  cp="$(module_classpath "$module")" || return 1
  cp="${cp#*:}"; cp="${cp#*:}"
  echo "$(module_jar "$module"):$(module_jar trainer):$cp"
}

# Class-data sharing for the sparktrain command $2 (train, experiment, evaluate, predict or export; others get
# none) in a JVM on classpath $1: sets CDS_OPTS (the JVM options to add) and CDS_TMP (an archive to
# publish with cds_publish after the JVM exits, or empty). A JVM spends most of a small job's first
# seconds loading and verifying Spark's 20,000 classes; a dynamic archive (-XX:ArchiveClassesAtExit,
# then -XX:SharedArchiveFile) maps them ready-made. The first run of a command writes its archive,
# the later ones use it (docs/BENCHMARKS.md, "Start-up"). One archive per command, java binary and
# jar set (names, sizes, times), in $SPARKTRAIN_CDS_DIR (default target/cds), about 150 MB each; the
# newest 5 are kept; none is written where the directory is not writable or has under 1 GB free. SPARKTRAIN_CDS=off turns it off. A stale archive is never used: the key changes
# with any jar, and the JVM itself checks the classpath and its options (-Xmx may differ) and falls
# back to loading classes as usual when they do not fit. The JVM's CDS warnings (old class-file
# versions it cannot archive) are silenced; its errors go to stderr.
cds_prepare() {
  local cp="$1" command="$2" dir="${SPARKTRAIN_CDS_DIR:-$ROOT/target/cds}" key jar a
  CDS_OPTS=() CDS_TMP=""
  case "$command" in train|experiment|evaluate|predict|export) ;; *) return 0 ;; esac
  if [ "${SPARKTRAIN_CDS:-on}" = off ]; then return 0; fi
  # --help and --version load no Spark: their archive would be a useless 17 MB under the command's key.
  for a in "${@:3}"; do
    case "$a" in -h|--help|-V|--version) return 0 ;; esac
  done
  key="$({ echo "$command"; readlink -f "$(command -v java)"
           IFS=: read -ra jars <<<"$cp"
           for jar in "${jars[@]}"; do stat -c '%n %s %Y' "$jar" 2>/dev/null || echo "$jar missing"; done
         } | sha1sum | cut -c1-16)"
  mkdir -p "$dir" 2>/dev/null || return 0
  find "$dir" -maxdepth 1 -name 'sparktrain-*.jsa.tmp.*' -mmin +60 -delete 2>/dev/null || true
  CDS_OPTS=("-Xlog:cds*=off" "-Xlog:cds*=error:stderr")
  if [ -s "$dir/sparktrain-$key.jsa" ]; then
    touch "$dir/sparktrain-$key.jsa" 2>/dev/null || true
    CDS_OPTS+=("-XX:SharedArchiveFile=$dir/sparktrain-$key.jsa")
  elif [ -w "$dir" ] && [ "$(df -Pk "$dir" 2>/dev/null | awk 'NR == 2 {print $4}')" -gt 1048576 ] 2>/dev/null; then
    # Only where it can be written (1 GB free): a JVM that cannot write its archive exits 1 after
    # the job itself succeeded.
    CDS_TMP="$dir/sparktrain-$key.jsa.tmp.$$"
    CDS_OPTS+=("-XX:ArchiveClassesAtExit=$CDS_TMP")
  else
    CDS_OPTS=()
  fi
}

# After the JVM of cds_prepare exited with status $1: publishes the archive it wrote (rename, so a
# concurrent run sees a whole archive or none) when the JVM was not killed by a signal (the JVM also
# writes it after a failure at run time, which still loaded Spark) and it holds Spark's classes
# (50 MB or more: a run that stopped before Spark started is not worth mapping), drops it
# otherwise, and keeps the newest 5 archives (one per command).
cds_publish() {
  local rc="$1" dir
  [ -n "$CDS_TMP" ] || return 0
  dir="$(dirname "$CDS_TMP")"
  if [ "$rc" -lt 128 ] && [ "$(stat -c %s "$CDS_TMP" 2>/dev/null || echo 0)" -ge 52428800 ]; then
    mv -f "$CDS_TMP" "${CDS_TMP%.tmp.*}" || true
    # shellcheck disable=SC2012 # names are ours: sparktrain-<hex>.jsa
    ls -t "$dir"/sparktrain-*.jsa 2>/dev/null | tail -n +6 | xargs -r rm -f || true
  fi
  rm -f "$CDS_TMP"
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
