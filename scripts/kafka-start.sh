#!/usr/bin/env bash
# Starts a real single-node Kafka broker (KRaft, combined broker+controller) in the background for the
# end-to-end tests. Usage: kafka-start.sh <workdir> [port]
# Prints the bootstrap address 127.0.0.1:<port> on stdout once the broker is up; also writes it to
# <workdir>/bootstrap and the pid to <workdir>/kafka.pid (stop it with kafka-stop.sh <workdir>).
# Restartable: a second call on the same workdir after a stop reuses the formatted storage and the same
# ports, so tests can bounce the broker mid-stream and check that no data was lost.
# Broker log: <workdir>/logs/server.log; the JVM's own stdout/stderr: <workdir>/kafka.out.
#
# Secured listener (optional): with KAFKA_TLS_CERT and KAFKA_TLS_KEY (PEM files: a server certificate
# for DNS:localhost, the chain after it, and its unencrypted PKCS#8 key) the broker also listens with
# SASL_SSL on a third loopback port, advertised as localhost:<port>, SCRAM-SHA-512 only. The SCRAM user
# KAFKA_SCRAM_USER / KAFKA_SCRAM_PASSWORD is written into the storage when it is formatted (the first
# start of a workdir). Its bootstrap address goes to <workdir>/bootstrap-sasl-ssl.
set -euo pipefail

[ $# -ge 1 ] && [ $# -le 2 ] || { echo "usage: $0 <workdir> [port]" >&2; exit 2; }
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mkdir -p "$1"
WORK="$(cd "$1" && pwd)"   # absolute: it goes into server.properties and the log4j2 config
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"

# Already running on this workdir (pid alive and really a Kafka broker)? Then just report it.
is_running() {
  local pid
  pid="$(cat "$WORK/kafka.pid" 2>/dev/null)" || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -q 'kafka\.Kafka'
}
if is_running && [ -f "$WORK/bootstrap" ]; then cat "$WORK/bootstrap"; exit 0; fi

# The jars: fetched (or found in the cache) by kafka-fetch.sh, whose last stdout line is the libs dir.
LIBS="$("$HERE/kafka-fetch.sh" | tail -n 1)"
CP="$LIBS/*"

# Ports: reused from <workdir>/ports on a restart (clients and the stored quorum config point at them);
# otherwise the given port, or a free loopback one, and a free one for the controller listener.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
PORT="" CPORT="" SPORT=""
if [ -f "$WORK/ports" ]; then read -r PORT CPORT SPORT <"$WORK/ports"; fi
if [ $# -ge 2 ]; then PORT="$2"; fi
[ -n "$PORT" ] || PORT="$(free_port)"
while [ -z "$CPORT" ] || [ "$CPORT" = "$PORT" ]; do CPORT="$(free_port)"; done
SECURED=""
if [ -n "${KAFKA_TLS_CERT:-}" ]; then
  SECURED=1
  [ -n "${KAFKA_TLS_KEY:-}" ] && [ -n "${KAFKA_SCRAM_USER:-}" ] && [ -n "${KAFKA_SCRAM_PASSWORD:-}" ] \
    || { echo "kafka-start: KAFKA_TLS_CERT needs KAFKA_TLS_KEY, KAFKA_SCRAM_USER and KAFKA_SCRAM_PASSWORD" >&2; exit 2; }
  # The storage tool parses the SCRAM spec itself: these characters would end a field early.
  case "$KAFKA_SCRAM_USER$KAFKA_SCRAM_PASSWORD" in *[],=\[\"\ ]*) echo "kafka-start: SCRAM user/password may not hold , = [ ] \" or spaces" >&2; exit 2;; esac
  while [ -z "$SPORT" ] || [ "$SPORT" = "$PORT" ] || [ "$SPORT" = "$CPORT" ]; do SPORT="$(free_port)"; done
fi
echo "$PORT $CPORT $SPORT" >"$WORK/ports"

mkdir -p "$WORK/data" "$WORK/logs"
LISTENERS="PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CPORT"
ADVERTISED="PLAINTEXT://127.0.0.1:$PORT"
PROTOCOLS="PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
SECURED_PROPS=""
if [ -n "$SECURED" ]; then
  # Kafka's PEM keystore is one file: the private key, then the certificate chain.
  mkdir -p "$WORK/tls"
  cat "$KAFKA_TLS_KEY" "$KAFKA_TLS_CERT" >"$WORK/tls/keystore.pem"
  chmod 600 "$WORK/tls/keystore.pem"
  LISTENERS="$LISTENERS,SASL_SSL://127.0.0.1:$SPORT"
  # Advertised by name: clients verify the certificate against the name they dial, and the test
  # certificate names localhost only, so dialling 127.0.0.1 is how a test sees a host-name mismatch.
  ADVERTISED="$ADVERTISED,SASL_SSL://localhost:$SPORT"
  PROTOCOLS="$PROTOCOLS,SASL_SSL:SASL_SSL"
  SECURED_PROPS="sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.ssl.keystore.type=PEM
listener.name.sasl_ssl.ssl.keystore.location=$WORK/tls/keystore.pem
listener.name.sasl_ssl.ssl.client.auth=none"
fi
# Static controller quorum (controller.quorum.voters): nothing to bootstrap, so `format` needs no
# --standalone and a restart needs nothing but the same ports. Threads are kept few: 2 shared cores.
cat >"$WORK/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CPORT
listeners=$LISTENERS
advertised.listeners=$ADVERTISED
listener.security.protocol.map=$PROTOCOLS
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
log.dirs=$WORK/data
num.partitions=3
auto.create.topics.enable=true
default.replication.factor=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=2
num.recovery.threads.per.data.dir=1
background.threads=2
# After a crash (SIGKILL) the restarted broker cannot register until its old session expires: a shorter
# session (default 9 s, heartbeat 2 s) makes a crash-restart a few seconds quicker.
broker.heartbeat.interval.ms=1000
broker.session.timeout.ms=5000
$SECURED_PROPS
PROPS

# Logs to a file (log4j2 properties format: needs nothing beyond log4j-core, unlike YAML).
cat >"$WORK/log4j2.properties" <<LOG
status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = $WORK/logs/server.log
appender.file.append = true
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.statechange.name = state.change.logger
logger.statechange.level = WARN
LOG

# Modest heap, serial GC and few compiler threads: this shares 2 cores with the tests and the collector.
JVM_OPTS=(-Xms256m -Xmx512m -XX:+UseSerialGC -XX:CICompilerCount=2 -XX:+ExitOnOutOfMemoryError
  -Djava.awt.headless=true -Dlog4j2.configurationFile="$WORK/log4j2.properties")

# Format once: meta.properties in the log dir means storage (and its cluster id) already exists, and
# formatting again would be refused; --ignore-formatted covers a half-finished earlier attempt.
if [ ! -f "$WORK/data/meta.properties" ]; then
  # Cluster id = Kafka's Uuid text form: 16 random bytes, URL-safe base64 without padding (22 chars).
  # Like Kafka's Uuid.randomUuid, never one starting with '-': the tool's argument parser would read
  # it as an option ("argument --cluster-id/-t: expected one argument"), 1 start in 64.
  CLUSTER_ID="$(python3 -c 'import base64,os
while True:
    s = base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("=")
    if not s.startswith("-"): break
print(s)')"
  echo "$CLUSTER_ID" >"$WORK/cluster-id"
  # KRaft keeps SCRAM credentials in the metadata log: the user is created with the storage, before
  # the broker ever serves (the password is on this one command line, of a local test broker).
  SCRAM=()
  [ -z "$SECURED" ] || SCRAM=(--add-scram "SCRAM-SHA-512=[name=$KAFKA_SCRAM_USER,password=$KAFKA_SCRAM_PASSWORD]")
  "$JAVA" "${JVM_OPTS[@]}" -Xms64m -cp "$CP" kafka.tools.StorageTool format \
    --cluster-id "$CLUSTER_ID" --config "$WORK/server.properties" --ignore-formatted "${SCRAM[@]}" >"$WORK/format.out" 2>&1 \
    || { echo "kafka-start: storage format failed:" >&2; cat "$WORK/format.out" >&2; exit 1; }
fi

# Only log lines written by this start count as "started" (the file is appended to across restarts).
LOG_OFFSET="$(stat -c %s "$WORK/logs/server.log" 2>/dev/null || echo 0)"

# Detached (setsid, stdin from /dev/null, output to a file) so it outlives this script and does not hold
# the caller's pipes open (a test's execFileSync would otherwise wait for the broker to exit). The inner
# shell writes its own pid and then execs java, so the pid file holds the JVM's pid whatever setsid does.
rm -f "$WORK/kafka.pid"
setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$WORK/kafka.pid" \
  "$JAVA" "${JVM_OPTS[@]}" -cp "$CP" kafka.Kafka "$WORK/server.properties" \
  </dev/null >>"$WORK/kafka.out" 2>&1 &

fail() {
  echo "kafka-start: $1; errors in and tail of $WORK/logs/server.log, then kafka.out:" >&2
  # The first ERROR lines name the cause (e.g. a port in use); the tail is mostly the shutdown after it.
  tail -c "+$((LOG_OFFSET + 1))" "$WORK/logs/server.log" 2>/dev/null | grep -E -A3 ' (ERROR|FATAL) ' | head -n 30 >&2 || true
  echo "--- tail:" >&2
  tail -n 30 "$WORK/logs/server.log" >&2 2>/dev/null || true
  tail -n 20 "$WORK/kafka.out" >&2 2>/dev/null || true
  "$HERE/kafka-stop.sh" "$WORK" >&2 || true
  exit 1
}

# Ready = the PLAINTEXT port accepts connections AND this run's log says the server started.
deadline=$((SECONDS + START_TIMEOUT))
while :; do
  if [ -s "$WORK/kafka.pid" ]; then
    kill -0 "$(cat "$WORK/kafka.pid")" 2>/dev/null || fail "broker exited during startup"
  fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null \
     && tail -c "+$((LOG_OFFSET + 1))" "$WORK/logs/server.log" 2>/dev/null | grep -q 'Kafka Server started'; then
    break
  fi
  [ "$SECONDS" -lt "$deadline" ] || fail "broker not up after ${START_TIMEOUT}s"
  sleep 0.5
done

# The secured listener opens with the others; checked all the same, so a test never races it.
if [ -n "$SECURED" ]; then
  while ! (exec 3<>"/dev/tcp/127.0.0.1/$SPORT") 2>/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || fail "SASL_SSL listener not up after ${START_TIMEOUT}s"
    sleep 0.2
  done
  echo "localhost:$SPORT" >"$WORK/bootstrap-sasl-ssl"
fi
echo "127.0.0.1:$PORT" >"$WORK/bootstrap"
echo "127.0.0.1:$PORT"
