#!/usr/bin/env bash
# Builds the OpenTelemetry Collector used by the end-to-end tests with its official builder (ocb),
# both fetched from the Go module proxy, and caches the binary outside the clone keyed by version, so a
# fresh clone (CI) reuses it. Prints the binary's path on stdout (the last line); the rest goes to stderr.
#
# Everything is built in a temporary folder and only the finished binary is moved into place (a rename
# on the same file system): a build killed half-way leaves nothing that a later run would trust.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=versions.sh
. "$HERE/versions.sh"

DEST="$WS2OTEL_CACHE/otelcol-$OTELCOL_VERSION"
BIN="$DEST/otelcol-ws2otel"

if [ -x "$BIN" ]; then echo "$BIN"; exit 0; fi

command -v go >/dev/null || { echo "collector-build: go not found" >&2; exit 1; }
mkdir -p "$WS2OTEL_CACHE"
WORK="$(mktemp -d "$WS2OTEL_CACHE/.otelcol-$OTELCOL_VERSION.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# The module cache is the Go command's own (GOMODCACHE, else GOPATH/pkg/mod): it verifies what it
# downloads, so a half-finished earlier run is safe to reuse. Our default keeps it inside the cache.
export GOPATH="${GOPATH:-$WS2OTEL_CACHE/gopath}"
export GOFLAGS="${GOFLAGS:--mod=mod}"
export GOTOOLCHAIN=local

echo "building otelcol $OTELCOL_VERSION with ocb in $WORK" >&2
GOBIN="$WORK/bin" go install "go.opentelemetry.io/collector/cmd/builder@v$OTELCOL_VERSION" >&2

cat > "$WORK/builder.yaml" <<YAML
dist:
  name: otelcol-ws2otel
  description: OpenTelemetry Collector for ws2otel's end-to-end tests
  output_path: $WORK/build
receivers:
  - gomod: go.opentelemetry.io/collector/receiver/otlpreceiver v$OTELCOL_VERSION
  - gomod: github.com/open-telemetry/opentelemetry-collector-contrib/receiver/kafkareceiver v$OTELCOL_VERSION
  - gomod: github.com/open-telemetry/opentelemetry-collector-contrib/receiver/splunkhecreceiver v$OTELCOL_VERSION
exporters:
  - gomod: go.opentelemetry.io/collector/exporter/debugexporter v$OTELCOL_VERSION
  - gomod: github.com/open-telemetry/opentelemetry-collector-contrib/exporter/fileexporter v$OTELCOL_VERSION
processors:
  - gomod: go.opentelemetry.io/collector/processor/batchprocessor v$OTELCOL_VERSION
YAML

"$WORK/bin/builder" --config "$WORK/builder.yaml" --ldflags="-s -w" >&2
"$WORK/build/otelcol-ws2otel" components >/dev/null   # it runs, before it is trusted

mkdir -p "$DEST"
mv "$WORK/build/otelcol-ws2otel" "$BIN.tmp.$$"
mv "$BIN.tmp.$$" "$BIN"
echo "$BIN"
