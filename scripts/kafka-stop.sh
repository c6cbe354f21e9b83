#!/usr/bin/env bash
# Stops the broker kafka-start.sh started in <workdir>: SIGTERM (a controlled shutdown that flushes the
# logs, so a later start on the same workdir sees all acknowledged data), up to 30 s, then SIGKILL.
# Idempotent: no pid file, or a pid that is gone or is no longer a Kafka broker, is success.
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 <workdir>" >&2; exit 2; }
PIDFILE="$1/kafka.pid"
TIMEOUT="${KAFKA_STOP_TIMEOUT:-30}"

pid="$(cat "$PIDFILE" 2>/dev/null || true)"
# Only signal a live process that is really our broker: after a reboot or a crash the pid may be reused.
alive() { kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'kafka\.Kafka'; }

if [ -n "$pid" ] && alive; then
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + TIMEOUT))
  while alive && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2; done
  if alive; then
    echo "kafka-stop: pid $pid still up after ${TIMEOUT}s, sending SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
    # alive() is false for a zombie too (empty cmdline), so this ends even if no one reaps it yet.
    for _ in $(seq 50); do alive || break; sleep 0.1; done
  fi
fi
rm -f "$PIDFILE"
