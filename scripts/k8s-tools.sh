#!/usr/bin/env bash
# Installs the tools the Helm chart's test needs into the cache outside the clone and prints their
# directory on stdout (the last line). Idempotent: a second run only checks that they are there.
#
#   helm       helm.sh/helm/v3/cmd/helm from the Go module proxy (`helm template`, `helm lint`)
#   kubecheck  scripts/kubecheck, offline manifest validation (strict decoding into the typed
#              Kubernetes structs plus the API server's metadata and pod-template checks), rebuilt
#              when its source changes
#
# No kubectl: without an API server `kubectl apply|create --dry-run=client` fails on discovery even
# with --validate=false, and its schema validation downloads the server's OpenAPI document.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=versions.sh
. "$HERE/versions.sh"
CACHE="$WS2OTEL_CACHE"
BIN="$CACHE/bin"
mkdir -p "$BIN"

export GOPATH="${GOPATH:-$CACHE/gopath}"
export GOFLAGS="${GOFLAGS:--mod=mod}"
export GOTOOLCHAIN=local

if [ "$("$BIN/helm" version --template '{{.Version}}' 2>/dev/null || true)" != "v$HELM_VERSION" ]; then
  echo "installing helm $HELM_VERSION into $BIN" >&2
  GOBIN="$BIN" go install -trimpath -ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=v$HELM_VERSION" \
    "helm.sh/helm/v3/cmd/helm@v$HELM_VERSION" >&2
fi

SUM="$(cat "$HERE/kubecheck/go.mod" "$HERE/kubecheck/go.sum" "$HERE/kubecheck/main.go" | sha256sum | cut -c1-16)"
if [ "$(cat "$BIN/kubecheck.sum" 2>/dev/null || true)" != "$SUM" ] || [ ! -x "$BIN/kubecheck" ]; then
  echo "building kubecheck into $BIN" >&2
  (cd "$HERE/kubecheck" && go build -trimpath -ldflags="-s -w" -o "$BIN/kubecheck.tmp" .) >&2
  mv "$BIN/kubecheck.tmp" "$BIN/kubecheck"
  echo "$SUM" > "$BIN/kubecheck.sum"
fi

echo "$BIN"
