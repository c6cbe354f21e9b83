#!/usr/bin/env bash
# Makes the base image the Dockerfile builds on, node:$NODE_VERSION-bookworm-slim, in podman's store
# (scripts/podman.sh), and prints its name on stdout (the last line). Docker Hub is not reachable
# here, so it is a stand-in with the same layout: a minimal Debian $DEBIAN_SUITE root with Node.js and
# npm under /usr/local (scripts/debian-root.sh image), imported as one layer. Idempotent.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=versions.sh
. "$HERE/versions.sh"
NAME="localhost/node:$NODE_VERSION-$DEBIAN_SUITE-slim"
if bash "$HERE/podman.sh" image exists "$NAME"; then echo "$NAME"; exit 0; fi

ROOTFS="$(bash "$HERE/debian-root.sh" image | tail -n 1)"
echo "importing $ROOTFS as $NAME" >&2
tar -C "$ROOTFS" --numeric-owner -c . | bash "$HERE/podman.sh" import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "ENV NODE_VERSION=$NODE_VERSION" \
  --change 'CMD ["node"]' - "$NAME" >&2
echo "$NAME"
