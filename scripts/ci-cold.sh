#!/usr/bin/env bash
# Runs CI as a fresh machine would: a new clone of this repository's HEAD, every download and build cache
# pointed at a new empty folder (the project's cache, Go's module and build caches, npm's cache, pip's
# cache; Maven's local repository lives inside the project's cache), then `CI=true bash .ci/run`.
# Prints the clone's path, the cache's path and how long the run took. Usage:
#
#   bash scripts/ci-cold.sh            # cold: empty caches
#   bash scripts/ci-cold.sh --warm     # a fresh clone with the machine's usual caches
#
# Run it from a checkout whose work you have committed: it clones HEAD, not the work tree.
set -euo pipefail
HERE="$(cd "$(dirname "$0")/.." && pwd)"
MODE="${1:---cold}"

ROOT="$(mktemp -d "${TMPDIR:-/tmp}/ws2otel-ci.XXXXXX")"
git clone --quiet --no-hardlinks "$HERE" "$ROOT/main"
# CI has the shared folder beside the clone; the product must not need it, so an empty one stands in.
mkdir -p "$ROOT/shared"

if [ "$MODE" = "--cold" ]; then
  CACHE="$ROOT/cache"
  mkdir -p "$CACHE"
  export WS2OTEL_CACHE="$CACHE/ws2otel"
  export XDG_CACHE_HOME="$CACHE/xdg"
  export GOPATH="$CACHE/gopath"
  export GOMODCACHE="$CACHE/gopath/pkg/mod"
  export GOCACHE="$CACHE/go-build"
  export npm_config_cache="$CACHE/npm"
  export PIP_CACHE_DIR="$CACHE/pip"
  echo "ci-cold: clone $ROOT/main, empty caches under $CACHE" >&2
else
  echo "ci-cold: clone $ROOT/main, the machine's caches (warm)" >&2
fi

start=$(date +%s)
set +e
(cd "$ROOT/main" && CI=true bash .ci/run < /dev/null)
rc=$?
set -e
elapsed=$(( $(date +%s) - start ))
echo "ci-cold: $MODE run exited $rc after ${elapsed} s ($(( elapsed / 60 )) min $(( elapsed % 60 )) s); clone $ROOT/main" >&2
exit $rc
