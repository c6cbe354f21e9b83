#!/usr/bin/env bash
# Installs helm (helm.sh/helm/v3/cmd/helm from the Go module proxy) into the cache outside the clone
# and prints its directory on stdout (the last line). Idempotent: a second run only checks the version.
# The API server, controller manager, etcd and kubectl that the chart is installed into come from
# scripts/kube-build.sh.
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

echo "$BIN"
