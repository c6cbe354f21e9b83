#!/usr/bin/env bash
# Installs the Debian packages the packaging tests run (as root, from the Debian archive), if missing:
#   podman, runc, slirp4netns, uidmap  build and run the image (scripts/podman.sh)
#   debootstrap                        the Debian roots (scripts/debian-root.sh)
#   systemd-container                  systemd-nspawn, which boots the systemd root (test/systemd/boot.test.ts)
# Idempotent: prints nothing and changes nothing when they are there.
set -euo pipefail
need=()
for pair in podman:podman runc:runc slirp4netns:slirp4netns newuidmap:uidmap debootstrap:debootstrap \
            systemd-nspawn:systemd-container nsenter:util-linux openssl:openssl; do
  command -v "${pair%%:*}" >/dev/null || need+=("${pair#*:}")
done
[ "${#need[@]}" -eq 0 ] && exit 0
echo "installing ${need[*]}" >&2
apt-get update >&2
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}" >&2
