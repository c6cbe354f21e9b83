#!/usr/bin/env bash
# podman as the image test runs it: this folder's containers.conf, and storage of its own in the cache
# outside the clone (the vfs driver: no overlay or fuse needed, so any CI host runs it). Arguments go
# to podman unchanged: `bash scripts/podman.sh images`.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=versions.sh
. "$HERE/versions.sh"
bash "$HERE/host-tools.sh"
export CONTAINERS_CONF="$HERE/podman/containers.conf"
exec podman --root "$WS2OTEL_CACHE/containers/storage" --runroot "/run/ws2otel-containers" \
  --storage-driver vfs --cgroup-manager cgroupfs "$@"
