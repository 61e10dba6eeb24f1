#!/usr/bin/env bash
# Local single-node Kafka (KRaft, combined broker + controller) for development and tests.
#
# The broker is assembled from Maven Central jars (scripts/kafka/pom.xml) and run with the
# system Java (17+); no Docker and no Kafka tarball are needed. Everything it writes lives
# in .kafka/ at the repository root:
#   .kafka/libs/              broker classpath (fetched with mvn only when missing or when
#                             scripts/kafka/pom.xml changed)
#   .kafka/data/              KRaft metadata log + topic data (kept across stop/start)
#   .kafka/logs/              server.log (broker), kafka.out (JVM stdout/stderr), mvn.log
#   .kafka/server.properties  generated on every start from the settings below
#   .kafka/kafka.pid, kafka.ports   pid and ports of the running broker
#
# Usage: scripts/kafka.sh start|stop|status|wait-ready|reset|bootstrap
#   start       start the broker in the background; no-op if it is already running and
#               answers metadata requests
#   wait-ready  poll (scripts/kafka_ready.py) until metadata + produce/consume work, or
#               fail after KAFKA_READY_TIMEOUT seconds
#   stop        SIGTERM, wait for a clean shutdown (KAFKA_STOP_TIMEOUT s), then SIGKILL
#   status      exit 0 if the broker process is running, 3 if not
#   reset       stop and delete data + logs (the downloaded jars are kept)
#   bootstrap   print the bootstrap address (127.0.0.1:PORT)
#
# Environment:
#   KAFKA_PORT             client listener port            (default 19092)
#   KAFKA_CONTROLLER_PORT  KRaft controller listener port  (default 19093)
#   KAFKA_HEAP             JVM heap (-Xms/-Xmx)            (default 512m)
#   KAFKA_JVM_OPTS         extra JVM options appended to the defaults (e.g.
#                          -XX:TieredStopAtLevel=1 starts ~1s faster, at some throughput)
#   KAFKA_READY_TIMEOUT    wait-ready deadline in seconds  (default 120)
#   KAFKA_STOP_TIMEOUT     stop grace period in seconds    (default 60)
#   KAFKA_MVN_OPTS         extra mvn options for the jar fetch (e.g. -o for offline)
#   PYTHON                 interpreter with kafka-python 3.0.x (default: the project's
#                          .venv/bin/python when it exists, else python3)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KDIR="$ROOT/.kafka"
LIBS="$KDIR/libs"
DATA="$KDIR/data"
LOGS="$KDIR/logs"
CONF="$KDIR/server.properties"
PIDFILE="$KDIR/kafka.pid"
PORTSFILE="$KDIR/kafka.ports"
POM="$ROOT/scripts/kafka/pom.xml"
LOG4J="$ROOT/scripts/kafka/log4j2.xml"
READY_PY="$ROOT/scripts/kafka_ready.py"

PORT="${KAFKA_PORT:-19092}"
CPORT="${KAFKA_CONTROLLER_PORT:-19093}"
HEAP="${KAFKA_HEAP:-512m}"
READY_TIMEOUT="${KAFKA_READY_TIMEOUT:-120}"
STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-60}"
if [ -z "${PYTHON:-}" ]; then
  if [ -x "$ROOT/.venv/bin/python" ]; then PYTHON="$ROOT/.venv/bin/python"; else PYTHON=python3; fi
fi

say() { echo "kafka: $*"; }
die() { echo "kafka: ERROR: $*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------
# process tracking
# ---------------------------------------------------------------------------------------

# True if $1 is a live broker process started from this checkout's .kafka/ directory
# (guards against a stale pid file whose pid was reused by something else).
is_our_broker() {
  local pid="$1" cmd
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [ -r "/proc/$pid/cmdline" ] || return 1
  cmd="$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null)" || return 1
  [[ "$cmd" == *kafka.Kafka* && "$cmd" == *"$CONF"* ]]
}

# Prints the pid of the running broker, or returns 1. Falls back to scanning /proc when
# the pid file is missing (e.g. deleted by hand while the broker was running).
running_pid() {
  local pid
  if [ -f "$PIDFILE" ]; then
    pid="$(cat "$PIDFILE" 2>/dev/null || true)"
    if is_our_broker "$pid"; then echo "$pid"; return 0; fi
  fi
  for d in /proc/[0-9]*; do
    pid="${d#/proc/}"
    if is_our_broker "$pid"; then echo "$pid" > "$PIDFILE"; echo "$pid"; return 0; fi
  done
  return 1
}

# Port of the running broker (the one it was started with, not today's KAFKA_PORT).
running_port() {
  local p=""
  [ -f "$PORTSFILE" ] && p="$(cut -d' ' -f1 < "$PORTSFILE")"
  echo "${p:-$PORT}"
}

port_in_use() {
  # bash's /dev/tcp: succeeds only if something accepts on 127.0.0.1:$1
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

log_tail() {
  local f
  for f in "$LOGS/kafka.out" "$LOGS/server.log"; do
    if [ -s "$f" ]; then
      echo "---- last lines of ${f#"$ROOT"/} ----" >&2
      tail -n 25 "$f" >&2
    fi
  done
}

# ---------------------------------------------------------------------------------------
# prerequisites
# ---------------------------------------------------------------------------------------

# Java 17+ and Maven. Installed from Debian packages when missing and we are root.
ensure_tools() {
  local missing=()
  command -v java >/dev/null 2>&1 || missing+=(default-jre-headless)
  if ! command -v mvn >/dev/null 2>&1 && ! jars_present; then missing+=(maven); fi
  if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      say "installing ${missing[*]} with apt-get"
      DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
    else
      die "missing ${missing[*]}: install Java 17+ and Maven"
    fi
  fi
  local major
  major="$(java -XshowSettings:properties -version 2>&1 \
            | sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p')"
  [ -n "$major" ] && [ "$major" -ge 17 ] || die "Kafka 4.x needs Java 17 or newer (found: ${major:-unknown})"
}

pom_hash() { sha256sum "$POM" | cut -d' ' -f1; }

jars_present() {
  [ -f "$LIBS/.pom.sha256" ] && [ "$(cat "$LIBS/.pom.sha256")" = "$(pom_hash)" ] \
    && compgen -G "$LIBS/kafka_2.13-*.jar" >/dev/null
}

# Fetch the broker classpath into .kafka/libs, only if it is missing or the pom changed.
# The copy goes to a temporary directory first so an interrupted download never leaves a
# half-filled libs/ that would later be taken as complete.
ensure_jars() {
  jars_present && return 0
  command -v mvn >/dev/null 2>&1 || die "mvn not found (needed once to fetch the broker jars)"
  local tmp="$KDIR/libs.partial" build="$KDIR/build" t0 t1
  rm -rf "$tmp"
  mkdir -p "$build" "$LOGS"
  cp "$POM" "$build/pom.xml"          # keeps mvn from writing anything under scripts/
  say "fetching broker jars with mvn (log: ${LOGS#"$ROOT"/}/mvn.log)"
  t0="$(date +%s.%N)"
  # shellcheck disable=SC2086  # KAFKA_MVN_OPTS is a list of options
  if ! mvn -B -q ${KAFKA_MVN_OPTS:-} -f "$build/pom.xml" dependency:copy-dependencies \
        -DincludeScope=runtime -DoutputDirectory="$tmp" > "$LOGS/mvn.log" 2>&1; then
    tail -n 30 "$LOGS/mvn.log" >&2
    die "mvn could not fetch the broker jars"
  fi
  t1="$(date +%s.%N)"
  compgen -G "$tmp/kafka_2.13-*.jar" >/dev/null || die "mvn finished but kafka_2.13 jar is missing"
  pom_hash > "$tmp/.pom.sha256"
  rm -rf "$LIBS"
  mv "$tmp" "$LIBS"
  say "fetched $(find "$LIBS" -name '*.jar' | wc -l) jars ($(du -sh "$LIBS" | cut -f1)) in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}')s"
}

# ---------------------------------------------------------------------------------------
# configuration
# ---------------------------------------------------------------------------------------

write_config() {
  cat > "$CONF.tmp" <<PROPS
# Generated by scripts/kafka.sh on every start; edit the script, not this file.
# Single node, KRaft combined mode, tuned for tests (one replica, small internal topics,
# no rebalance delay, short retention), listening on loopback only.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:${CPORT}
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://127.0.0.1:${PORT},CONTROLLER://127.0.0.1:${CPORT}
advertised.listeners=PLAINTEXT://127.0.0.1:${PORT},CONTROLLER://127.0.0.1:${CPORT}
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=${DATA}

# replication: there is exactly one broker
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
share.coordinator.state.topic.num.partitions=1

# test friendliness
auto.create.topics.enable=true
delete.topic.enable=true
group.initial.rebalance.delay.ms=0
offsets.retention.minutes=60
offsets.retention.check.interval.ms=60000
log.retention.hours=24
log.retention.check.interval.ms=60000
log.segment.bytes=16777216
log.cleaner.dedupe.buffer.size=16777216
transactional.id.expiration.ms=3600000

# small machine: few threads
num.network.threads=2
num.io.threads=4
background.threads=4
num.recovery.threads.per.data.dir=1
num.replica.fetchers=1
PROPS
  mv "$CONF.tmp" "$CONF"
}

# Kafka cluster ids are 16 random bytes in URL-safe base64 without padding (22 chars).
# Kafka itself never hands out ids starting with '-' (they look like CLI options).
new_cluster_id() {
  local id
  while :; do
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    [ "${id:0:1}" != "-" ] && [ "${#id}" -eq 22 ] && { echo "$id"; return; }
  done
}

# Format the storage directory once (what bin/kafka-storage.sh format does). A data/
# directory without meta.properties is a leftover of an interrupted format: start over.
ensure_formatted() {
  [ -f "$DATA/meta.properties" ] && return 0
  rm -rf "$DATA"
  mkdir -p "$DATA"
  local cid
  cid="$(new_cluster_id)"
  if ! java -Xmx256m -XX:TieredStopAtLevel=1 -Dkafka.logs.dir="$LOGS" \
        -Dlog4j2.configurationFile="$LOG4J" -cp "$LIBS/*" \
        kafka.tools.StorageTool format --standalone -t "$cid" -c "$CONF" \
        > "$LOGS/format.log" 2>&1; then
    cat "$LOGS/format.log" >&2
    rm -rf "$DATA"
    die "formatting the KRaft storage failed"
  fi
  say "formatted storage (cluster id $cid)"
}

# ---------------------------------------------------------------------------------------
# commands
# ---------------------------------------------------------------------------------------

probe() {  # probe PORT TIMEOUT [extra args]: run the readiness check, quietly
  local port="$1" timeout="$2"; shift 2
  "$PYTHON" "$READY_PY" --bootstrap "127.0.0.1:$port" --timeout "$timeout" "$@"
}

cmd_start() {
  mkdir -p "$KDIR" "$LOGS"
  # Serialise concurrent 'start' calls (two test runners starting at once).
  exec 9>"$KDIR/.lock"
  if command -v flock >/dev/null 2>&1; then flock -w 600 9 || die "could not take .kafka/.lock"; fi

  local pid
  if pid="$(running_pid)"; then
    local rport age
    rport="$(running_port)"
    if [ "$rport" != "$PORT" ]; then
      die "already running on port $rport (pid $pid), but KAFKA_PORT=$PORT was asked for: stop it first"
    fi
    if probe "$rport" 5 --metadata-only --quiet 2>/dev/null; then
      say "already running and healthy (pid $pid, 127.0.0.1:$rport)"
      return 0
    fi
    age="$(ps -o etimes= -p "$pid" 2>/dev/null | tr -d ' ' || echo 0)"
    if [ "${age:-0}" -lt "$READY_TIMEOUT" ]; then
      say "already running (pid $pid, started ${age}s ago, still starting up)"
      return 0
    fi
    say "pid $pid has run ${age}s but does not answer on 127.0.0.1:$rport: restarting it"
    cmd_stop
  fi

  for p in "$PORT" "$CPORT"; do
    if port_in_use "$p"; then
      die "port $p is already in use by another process (choose KAFKA_PORT / KAFKA_CONTROLLER_PORT)"
    fi
  done
  [ "$PORT" != "$CPORT" ] || die "KAFKA_PORT and KAFKA_CONTROLLER_PORT must differ"

  ensure_tools
  ensure_jars
  write_config
  ensure_formatted

  # Same JVM flags as Kafka's own start scripts, with a fixed modest heap.
  local jvm=("-Xms$HEAP" "-Xmx$HEAP")
  if [[ "${KAFKA_JVM_OPTS:-}" != *-XX:+Use*GC* ]]; then   # caller may pick another GC
    jvm+=(-XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35
          -XX:+ExplicitGCInvokesConcurrent)
  fi
  jvm+=(
    -XX:MaxInlineLevel=15
    -XX:+ExitOnOutOfMemoryError
    -Djava.awt.headless=true
    "-Dkafka.logs.dir=$LOGS"
    "-Dlog4j2.configurationFile=$LOG4J"
  )
  # shellcheck disable=SC2206  # KAFKA_JVM_OPTS is a list of options
  jvm+=(${KAFKA_JVM_OPTS:-})

  echo "==== $(date -u '+%Y-%m-%dT%H:%M:%SZ') start on 127.0.0.1:$PORT" >> "$LOGS/kafka.out"
  # setsid: the broker gets its own session, so it is not killed together with the
  # shell/process group that ran 'start' (and does not hold that terminal).
  local launcher=()
  command -v setsid >/dev/null 2>&1 && launcher=(setsid)
  "${launcher[@]}" java "${jvm[@]}" -cp "$LIBS/*" kafka.Kafka "$CONF" \
      >> "$LOGS/kafka.out" 2>&1 < /dev/null 9>&- &
  pid=$!
  echo "$pid" > "$PIDFILE"
  echo "$PORT $CPORT" > "$PORTSFILE"
  say "started pid $pid on 127.0.0.1:$PORT (controller $CPORT); logs in ${LOGS#"$ROOT"/}/"
}

cmd_stop() {
  local pid
  if ! pid="$(running_pid)"; then
    say "not running"
    rm -f "$PIDFILE" "$PORTSFILE"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + STOP_TIMEOUT))
  while kill -0 "$pid" 2>/dev/null && is_our_broker "$pid"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      say "no clean shutdown after ${STOP_TIMEOUT}s: sending SIGKILL to $pid"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
  while kill -0 "$pid" 2>/dev/null && is_our_broker "$pid"; do sleep 0.1; done
  rm -f "$PIDFILE" "$PORTSFILE"
  say "stopped (pid $pid)"
}

cmd_status() {
  local pid port
  if pid="$(running_pid)"; then
    port="$(running_port)"
    local rss
    rss="$(ps -o rss= -p "$pid" 2>/dev/null | tr -d ' ')"
    if probe "$port" 3 --metadata-only --quiet 2>/dev/null; then
      say "running (pid $pid, 127.0.0.1:$port, rss $((${rss:-0} / 1024)) MiB, answering)"
    else
      say "running (pid $pid, 127.0.0.1:$port, rss $((${rss:-0} / 1024)) MiB, not answering yet)"
    fi
    return 0
  fi
  say "stopped"
  return 3
}

cmd_wait_ready() {
  local pid port rc=0
  if ! pid="$(running_pid)"; then
    if [ -f "$PIDFILE" ]; then
      log_tail
      die "the broker started as pid $(cat "$PIDFILE") has exited (see the log lines above)"
    fi
    die "not running (run: scripts/kafka.sh start)"
  fi
  port="$(running_port)"
  probe "$port" "$READY_TIMEOUT" --pid "$pid" || rc=$?
  case "$rc" in
    0) return 0 ;;
    2) log_tail; die "the broker process exited during start-up" ;;
    3) die "kafka-python is missing from $PYTHON (run scripts/bootstrap.sh, or set PYTHON)" ;;
    *) log_tail; die "broker on 127.0.0.1:$port not ready within ${READY_TIMEOUT}s" ;;
  esac
}

cmd_reset() {
  cmd_stop
  rm -rf "$DATA" "$LOGS" "$CONF" "$KDIR/build" "$KDIR/libs.partial"
  say "data and logs deleted (jars kept in ${LIBS#"$ROOT"/}; remove .kafka/ to drop them too)"
}

case "${1:-}" in
  start)      cmd_start ;;
  stop)       cmd_stop ;;
  status)     cmd_status ;;
  wait-ready) cmd_wait_ready ;;
  reset)      cmd_reset ;;
  bootstrap)  echo "127.0.0.1:$( (running_pid >/dev/null && running_port) || echo "$PORT")" ;;
  *) echo "usage: $0 start|stop|status|wait-ready|reset|bootstrap" >&2; exit 2 ;;
esac
