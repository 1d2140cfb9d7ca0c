#!/usr/bin/env bash
# A Spark standalone cluster on this machine, for trying sparktrain the way it runs on a real one:
# a Master and 2 Workers (1 core each), every process bound to 127.0.0.1, started from $SPARK_HOME
# or, when it is not set, from the Spark jars Maven resolves (assembled under target/spark-home).
#
#   scripts/cluster.sh up       start, wait until the Master has 2 ALIVE workers, print the master URL
#   scripts/cluster.sh status   print the processes, ports and the workers the Master sees
#   scripts/cluster.sh down     stop the Workers (and their executors) and the Master
#
# Ports are free ones picked at start. Pids, ports (cluster.env) and logs go to the state directory
# $SPARKTRAIN_CLUSTER_DIR (default target/cluster). Settings: SPARKTRAIN_WORKERS (2),
# SPARKTRAIN_WORKER_CORES (1), SPARKTRAIN_WORKER_MEMORY (1g: room for a 1g executor),
# SPARKTRAIN_CLUSTER_TIMEOUT (seconds to wait for the workers, 120).
set -euo pipefail
source "$(dirname "$0")/env.sh"

STATE="${SPARKTRAIN_CLUSTER_DIR:-$ROOT/target/cluster}"
WORKERS="${SPARKTRAIN_WORKERS:-2}"
WORKER_CORES="${SPARKTRAIN_WORKER_CORES:-1}"
WORKER_MEMORY="${SPARKTRAIN_WORKER_MEMORY:-1g}"
TIMEOUT="${SPARKTRAIN_CLUSTER_TIMEOUT:-120}"
HOST=127.0.0.1
export SPARK_LOCAL_IP=$HOST

die() { echo "cluster.sh: $*" >&2; exit 1; }
alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
pid_of() { cat "$STATE/$1.pid" 2>/dev/null || true; }

# GET http://127.0.0.1:<port><path>: curl when there is one, else bash's /dev/tcp (HTTP/1.0, body only).
http_get() {
  local port="$1" path="$2"
  if command -v curl >/dev/null 2>&1; then
    curl -s --max-time 3 "http://$HOST:$port$path"
  else
    (exec 3<>"/dev/tcp/$HOST/$port" || exit 1
     printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$path" "$HOST" >&3
     timeout 3 cat <&3 | sed '1,/^\r\{0,1\}$/d')
  fi
}

master_json() {
  # shellcheck disable=SC1091
  source "$STATE/cluster.env"
  http_get "$MASTER_WEBUI_PORT" /json/
}

alive_workers() {
  local json n
  json="$(master_json 2>/dev/null)" || { echo 0; return; }
  n="$(printf '%s' "$json" | tr -d ' \n' | sed -n 's/.*"aliveworkers":\([0-9]*\).*/\1/p')"
  if [ -z "$n" ]; then n="$(printf '%s' "$json" | tr -d ' \n' | grep -o '"state":"ALIVE"' | wc -l)"; fi
  echo "${n:-0}"
}

show_logs() {
  local f
  for f in "$STATE"/logs/*.log; do
    [ -f "$f" ] || continue
    echo "----- $f (last 40 lines)" >&2
    tail -n 40 "$f" >&2
  done
}

# Starts "name" as its own process group (so that down also reaches what it started, e.g. executors).
start_daemon() {
  local name="$1"; shift
  # Spark's own log4j2 defaults (INFO) for the daemons: their logs are for reading when something fails.
  # shellcheck disable=SC2086
  setsid java $SPARK_MODULE_OPTS -Xmx512m -cp "$SPARK_HOME_DIR/jars/*" "$@" \
    </dev/null >"$STATE/logs/$name.log" 2>&1 &
  echo $! > "$STATE/$name.pid"
}

stop_pid() {
  local name="$1" pid
  pid="$(pid_of "$name")"
  if alive "$pid"; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do alive "$pid" || break; sleep 0.2; done
    if alive "$pid"; then
      echo "cluster.sh: $name ($pid) did not stop in 10 s; killing it" >&2
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  # Anything left in its process group (an executor a Worker started) goes too.
  if [ -n "$pid" ] && command -v pgrep >/dev/null && pgrep -g "$pid" >/dev/null 2>&1; then
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$STATE/$name.pid"
}

cmd_down() {
  local f
  [ -d "$STATE" ] || { echo "cluster.sh: not running (no $STATE)"; return 0; }
  for f in "$STATE"/worker*.pid; do [ -f "$f" ] && stop_pid "$(basename "$f" .pid)"; done
  stop_pid master
  rm -f "$STATE/cluster.env"
  echo "cluster.sh: stopped"
}

cmd_status() {
  [ -f "$STATE/cluster.env" ] || { echo "cluster.sh: not running"; return 1; }
  # shellcheck disable=SC1091
  source "$STATE/cluster.env"
  local f name pid state rc=0
  echo "master url: $MASTER_URL"
  echo "master ui:  http://$HOST:$MASTER_WEBUI_PORT/"
  echo "spark home: $SPARK_HOME_DIR"
  echo "state dir:  $STATE"
  for f in "$STATE"/master.pid "$STATE"/worker*.pid; do
    [ -f "$f" ] || continue
    name="$(basename "$f" .pid)"; pid="$(cat "$f")"
    if alive "$pid"; then state=running; else state=DEAD; rc=1; fi
    echo "$name: pid $pid $state, log $STATE/logs/$name.log"
  done
  echo "alive workers: $(alive_workers)"
  return $rc
}

cmd_up() {
  if [ -f "$STATE/cluster.env" ] && alive "$(pid_of master)"; then
    echo "cluster.sh: already running"; cmd_status; return 0
  fi
  SPARK_HOME_DIR="$(spark_home)"
  [ -d "$SPARK_HOME_DIR/jars" ] || die "no jars/ in $SPARK_HOME_DIR"
  rm -rf "$STATE" && mkdir -p "$STATE/logs"

  # Free, distinct ports: master, its web UI, and a port and a web UI port for each worker.
  local ports=() p n
  while [ "${#ports[@]}" -lt $((2 + 2 * WORKERS)) ]; do
    p="$(free_port)"
    case " ${ports[*]:-} " in *" $p "*) continue ;; esac
    ports+=("$p")
  done
  MASTER_PORT=${ports[0]} MASTER_WEBUI_PORT=${ports[1]}
  MASTER_URL="spark://$HOST:$MASTER_PORT"
  {
    echo "MASTER_URL=$MASTER_URL"
    echo "MASTER_PORT=$MASTER_PORT"
    echo "MASTER_WEBUI_PORT=$MASTER_WEBUI_PORT"
    echo "SPARK_HOME_DIR=$SPARK_HOME_DIR"
    echo "WORKERS=$WORKERS"
  } > "$STATE/cluster.env"

  # No REST submission server: it would listen on the fixed port 6066.
  start_daemon master -Dspark.master.rest.enabled=false org.apache.spark.deploy.master.Master \
    --host "$HOST" --port "$MASTER_PORT" --webui-port "$MASTER_WEBUI_PORT"
  for n in $(seq 1 "$WORKERS"); do
    local wport=${ports[$((2 * n))]} wui=${ports[$((2 * n + 1))]}
    mkdir -p "$STATE/work/worker$n"
    echo "WORKER${n}_PORT=$wport" >> "$STATE/cluster.env"
    echo "WORKER${n}_WEBUI_PORT=$wui" >> "$STATE/cluster.env"
    # SPARK_HOME + SPARK_SCALA_VERSION: how the Worker's launcher finds jars/ for the executors.
    SPARK_HOME="$SPARK_HOME_DIR" SPARK_SCALA_VERSION="$(sed -n 's:.*<scala.binary.version>\(.*\)</scala.binary.version>.*:\1:p' "$ROOT/pom.xml")" \
      start_daemon "worker$n" org.apache.spark.deploy.worker.Worker \
        --host "$HOST" --port "$wport" --webui-port "$wui" \
        --cores "$WORKER_CORES" --memory "$WORKER_MEMORY" --work-dir "$STATE/work/worker$n" \
        "$MASTER_URL"
  done

  local deadline=$((SECONDS + TIMEOUT)) have=0
  while :; do
    for f in "$STATE"/master.pid "$STATE"/worker*.pid; do
      alive "$(cat "$f")" || { show_logs; cmd_down >/dev/null; die "$(basename "$f" .pid) exited during start; logs above"; }
    done
    have="$(alive_workers)"
    [ "$have" -ge "$WORKERS" ] && break
    if [ "$SECONDS" -ge "$deadline" ]; then
      show_logs; cmd_down >/dev/null
      die "the Master had $have of $WORKERS workers ALIVE after ${TIMEOUT}s; logs above"
    fi
    sleep 1
  done
  echo "cluster.sh: up, $have workers ALIVE"
  cmd_status
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  *) echo "usage: scripts/cluster.sh up|down|status" >&2; exit 2 ;;
esac
