#!/usr/bin/env bash
# Builds a Debian root file system with Node.js in it, cached outside the clone, and prints its path
# on stdout (the last line). Two kinds, both from debootstrap against the Debian mirror:
#
#   debian-root.sh image    --variant=minbase: stands in for the node:<ver>-bookworm-slim base image
#                           (Docker Hub is not reachable here); node and npm under /usr/local as in
#                           the official image. scripts/image-base.sh imports it into podman.
#   debian-root.sh systemd  with systemd, systemd-sysv and dbus: a host for `systemd-nspawn --boot`
#                           that runs the shipped unit; node at /usr/bin/node, where the unit wants it.
#
# Built in a temporary folder and renamed into place when finished, so a killed run leaves nothing
# that a later one trusts. Needs root (debootstrap, chroot).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=versions.sh
. "$HERE/versions.sh"

KIND="${1:?usage: debian-root.sh image|systemd}"
case "$KIND" in
  image) OPTS=(--variant=minbase --include=ca-certificates); NODE_PREFIX=/usr/local ;;
  systemd) OPTS=(--variant=minbase --include=systemd,systemd-sysv,dbus,ca-certificates); NODE_PREFIX=/usr ;;
  *) echo "debian-root: unknown kind $KIND" >&2; exit 2 ;;
esac
DEST="$WS2OTEL_CACHE/rootfs-$KIND-$DEBIAN_SUITE-node$NODE_VERSION"
if [ -x "$DEST$NODE_PREFIX/bin/node" ]; then echo "$DEST"; exit 0; fi

bash "$HERE/host-tools.sh"
NODE_DIR="$(bash "$HERE/node-fetch.sh" | tail -n 1)"

mkdir -p "$WS2OTEL_CACHE"
WORK="$(mktemp -d "$WS2OTEL_CACHE/.rootfs-$KIND.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
echo "debootstrap $DEBIAN_SUITE ($KIND) into $WORK" >&2
debootstrap "${OPTS[@]}" "$DEBIAN_SUITE" "$WORK/root" "$DEBIAN_MIRROR" >&2
R="$WORK/root"

install -m 0755 "$NODE_DIR/bin/node" "$R$NODE_PREFIX/bin/node"
if [ "$KIND" = image ]; then
  # npm as the official image has it: the registry's npm package under lib/node_modules, and the
  # node headers so node-gyp needs no download.
  mkdir -p "$R/usr/local/lib/node_modules" "$R/usr/local/include"
  (cd "$WORK" && npm pack --silent "npm@$NPM_VERSION" >/dev/null)
  tar -xzf "$WORK"/npm-*.tgz -C "$WORK" && mv "$WORK/package" "$R/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$R/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$R/usr/local/bin/npx"
  cp -a "$NODE_DIR/include/node" "$R/usr/local/include/node"
  # What the slim image leaves out.
  rm -rf "$R"/var/cache/apt/archives/*.deb "$R"/var/lib/apt/lists/* "$R"/usr/share/doc/* "$R"/usr/share/man/*
else
  # A machine id is made at first boot; the unit's DynamicUser= needs nothing else. A root login is
  # not needed: the test drives it through nsenter.
  rm -f "$R/etc/machine-id" && touch "$R/etc/machine-id"
  rm -rf "$R"/var/cache/apt/archives/*.deb
fi
chroot "$R" "$NODE_PREFIX/bin/node" -e 'process.exit(0)'   # it runs inside, before it is trusted

rm -rf "$DEST"
mv "$R" "$DEST"
echo "$DEST"
