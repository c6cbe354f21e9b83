#!/usr/bin/env bash
# Builds the OpenTelemetry Collector used by the end-to-end tests with its official builder (ocb),
# fetched from the Go module proxy, and caches the binary outside the clone keyed by version so a
# fresh clone (CI) reuses it. Prints the binary's path on stdout.
set -euo pipefail

OTELCOL_VERSION="${OTELCOL_VERSION:-0.155.0}"   # the newest release whose kafkareceiver and fileexporter modules the proxy here serves in full
CACHE="${WS2OTEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ws2otel}"
DEST="$CACHE/otelcol-$OTELCOL_VERSION"
BIN="$DEST/otelcol-ws2otel"

if [ -x "$BIN" ]; then echo "$BIN"; exit 0; fi

mkdir -p "$DEST"
export GOPATH="${GOPATH:-$CACHE/gopath}"
export GOFLAGS="${GOFLAGS:--mod=mod}"
export GOTOOLCHAIN=local

echo "building otelcol $OTELCOL_VERSION with ocb into $DEST" >&2
GOBIN="$DEST/bin" go install "go.opentelemetry.io/collector/cmd/builder@v$OTELCOL_VERSION" >&2

cat > "$DEST/builder.yaml" <<YAML
dist:
  name: otelcol-ws2otel
  description: OpenTelemetry Collector for ws2otel's end-to-end tests
  output_path: $DEST/build
receivers:
  - gomod: go.opentelemetry.io/collector/receiver/otlpreceiver v$OTELCOL_VERSION
  - gomod: github.com/open-telemetry/opentelemetry-collector-contrib/receiver/kafkareceiver v$OTELCOL_VERSION
exporters:
  - gomod: go.opentelemetry.io/collector/exporter/debugexporter v$OTELCOL_VERSION
  - gomod: github.com/open-telemetry/opentelemetry-collector-contrib/exporter/fileexporter v$OTELCOL_VERSION
processors:
  - gomod: go.opentelemetry.io/collector/processor/batchprocessor v$OTELCOL_VERSION
YAML

# The builder's own `go mod tidy` fails on a module that only fileexporter's tests import and the proxy
# does not serve; tidy with -e (keeps going past it) and compile ourselves.
"$DEST/bin/builder" --config "$DEST/builder.yaml" --skip-get-modules --skip-compilation >&2
(cd "$DEST/build" && go mod tidy -e >&2 && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o "$BIN.tmp" .)
mv "$BIN.tmp" "$BIN"
rm -rf "$DEST/build"
echo "$BIN"
