#!/usr/bin/env bash
# Builds the Kubernetes control plane the Helm chart's test applies the chart to: etcd,
# kube-apiserver, kube-controller-manager and kubectl, from the Go module proxy, pinned by the wrapper
# modules in scripts/kube/ (see their go.mod for why a plain `go install` does not work). Caches the
# binaries outside the clone keyed by those modules' content and prints their directory on stdout (the
# last line). Cold, about 10 minutes of two cores; warm, a checksum.
#
# No kubelet, scheduler or container runtime: pods stay Pending. What runs proves admission (the
# PodSecurity `restricted` level included), the objects the chart creates, upgrades and uninstalls.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=versions.sh
. "$HERE/versions.sh"

SUM="$(cat "$HERE"/kube/*/go.mod "$HERE"/kube/*/go.sum "$HERE"/kube/*/tools.go | sha256sum | cut -c1-16)"
DEST="$WS2OTEL_CACHE/kube-$SUM"
if [ -x "$DEST/bin/kube-apiserver" ] && [ -x "$DEST/bin/etcd" ]; then echo "$DEST/bin"; exit 0; fi

command -v go >/dev/null || { echo "kube-build: go not found" >&2; exit 1; }
mkdir -p "$WS2OTEL_CACHE"
WORK="$(mktemp -d "$WS2OTEL_CACHE/.kube.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

export GOPATH="${GOPATH:-$WS2OTEL_CACHE/gopath}"
export GOTOOLCHAIN=local
# -mod=readonly: the committed go.sum is the whole trust list; a missing entry fails the build.
export GOFLAGS=-mod=readonly

echo "building etcd, kube-apiserver, kube-controller-manager, kubectl in $WORK" >&2
mkdir -p "$WORK/bin"
(cd "$HERE/kube/etcd" && go build -trimpath -ldflags="-s -w" -o "$WORK/bin/etcd" go.etcd.io/etcd/server/v3) >&2
# The version the release build stamps (hack/lib/version.sh); unstamped, the binaries call themselves
# v0.0.0 and Helm's kubeVersion checks and the API server's emulation version go wrong.
KV="$(sed -n 's/^require k8s.io\/kubernetes v//p' "$HERE/kube/kubernetes/go.mod")"
MAJOR="${KV%%.*}"; MINOR="$(echo "$KV" | cut -d. -f2)"
LD="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  LD="$LD -X $pkg.gitVersion=v$KV -X $pkg.gitMajor=$MAJOR -X $pkg.gitMinor=$MINOR -X $pkg.gitTreeState=clean"
done
for cmd in kube-apiserver kube-controller-manager kubectl; do
  (cd "$HERE/kube/kubernetes" && go build -trimpath -ldflags="$LD" -o "$WORK/bin/$cmd" "k8s.io/kubernetes/cmd/$cmd") >&2
done
"$WORK/bin/kube-apiserver" --version >&2   # they run, before they are trusted
"$WORK/bin/etcd" --version >&2

rm -rf "$DEST"
mv "$WORK" "$DEST"
trap - EXIT
echo "$DEST/bin"
