#!/usr/bin/env bash
# Stops the broker kafka-start.sh started in <workdir>: SIGTERM (a controlled shutdown that flushes the
# logs and deregisters the broker, so a later start on the same workdir is quick and sees all acknowledged
# data), up to 30 s, then SIGKILL. Idempotent: no pid file, or a pid that is gone or no longer a Kafka
# broker, is success.
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 <workdir>" >&2; exit 2; }
PIDFILE="$1/kafka.pid"
TIMEOUT="${KAFKA_STOP_TIMEOUT:-30}"

pid="$(cat "$PIDFILE" 2>/dev/null || true)"
# Our broker? After a crash or reboot the pid may belong to something else by now.
is_broker() { tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -q 'kafka\.Kafka'; }
# Still holding its ports and files? Anything but gone or a zombie (a zombie has released everything,
# and may never be reaped if its parent is a test runner that does not wait for it).
running() {
  local state
  state="$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1)" || return 1
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

if [ -n "$pid" ] && is_broker; then
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + TIMEOUT))
  while running && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2; done
  if running; then
    echo "kafka-stop: pid $pid still up after ${TIMEOUT}s, sending SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
    for _ in $(seq 100); do running || break; sleep 0.1; done
  fi
fi
rm -f "$PIDFILE"
