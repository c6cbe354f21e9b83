#!/usr/bin/env bash
# Builds the repo's Dockerfile, unchanged, with podman (scripts/podman.sh) on the local base image
# (scripts/image-base.sh), tags it ${1:-localhost/ws2otel:test} and prints that name on stdout (the
# last line).
#
# What the build gets from this host, for its RUN steps only and never baked into a layer (podman
# build's -v mounts exist only while a step runs):
#   - npm's registry and CA bundle (a read-only npmrc over /usr/local/etc/npmrc), as the host's npm
#     has them: a CI host may reach the registry only through a TLS-intercepting proxy;
#   - zstd-napi's binding as a local prebuild (/etc/prebuild-installrc names the folder): its install
#     script fetches the prebuilt binary from GitHub, which is not reachable here, and the slim base
#     has no compiler. The binding is the one the host's `npm ci` made for this same package version
#     (N-API, Debian $DEBIAN_SUITE, x64), so the image's copy is what the host runs.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
# shellcheck source=versions.sh
. "$HERE/versions.sh"
TAG="${1:-localhost/ws2otel:test}"
BASE="$(bash "$HERE/image-base.sh" | tail -n 1)"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/prebuilds"
{
  echo "registry=$(npm config get registry)"
  CA="$(npm config get cafile)"; [ "$CA" = null ] || [ "$CA" = undefined ] && CA=""
  CA="${CA:-${NODE_EXTRA_CA_CERTS:-}}"
  if [ -n "$CA" ]; then cp "$CA" "$WORK/ca.crt"; echo "cafile=/run/ws2otel-build/ca.crt"; fi
} > "$WORK/npmrc"
echo "local-prebuilds=/run/ws2otel-build/prebuilds" > "$WORK/prebuild-installrc"
ZSTD="$ROOT/node_modules/zstd-napi"
if [ -f "$ZSTD/build/Release/binding.node" ]; then
  ZV="$(node -p "require('$ZSTD/package.json').version")"
  tar -C "$ZSTD" -czf "$WORK/prebuilds/zstd-napi-v$ZV-napi-v8-linux-x64.tar.gz" build/Release/binding.node
fi

echo "podman build $TAG on $BASE" >&2
# --format docker keeps HEALTHCHECK (the OCI format has no such field); --network host lets the RUN
# steps reach the registry as the host does. The prebuilds folder is writable: prebuild-install
# insists on write access to a local prebuild before it unpacks it.
bash "$HERE/podman.sh" build --pull=never --format docker --network host \
  --build-arg "NODE_IMAGE=$BASE" \
  -v "$WORK/npmrc:/usr/local/etc/npmrc:ro" \
  -v "$WORK/prebuild-installrc:/etc/prebuild-installrc:ro" \
  -v "$WORK:/run/ws2otel-build" \
  -t "$TAG" -f "$ROOT/Dockerfile" "$ROOT" >&2
echo "$TAG"
