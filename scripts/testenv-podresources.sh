#!/usr/bin/env bash
# Builds the pod-resources test peer, test/peers/podresources-server (the kubelet's
# v1.PodResourcesLister gRPC service from the k8s.io/kubelet module, served on a unix socket from a
# JSON file), into $CACHE/podresources-server-<hash>/bin/podresources-server, where <hash> is
# that of its sources (go.mod, go.sum, main.go) and of this script. Idempotent: a build for the
# same hash is kept. Prints the binary path on stdout. Usage: testenv-podresources.sh [--check]
source "$(dirname "$0")/testenv-lib.sh"

src="$REPO_ROOT/test/peers/podresources-server"
hash="$(cat "$src/go.mod" "$src/go.sum" "$src/main.go" "${BASH_SOURCE[0]}" | sha256sum | cut -c1-16)"
dest="$CACHE/podresources-server-$hash"
bin="$dest/bin/podresources-server"
if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi
# --check: only say whether the cached build is there (exit 3 when not); tests never build a peer.
[ "${1:-}" = --check ] && exit 3
need_go
start=$(date +%s)
log "building test/peers/podresources-server (k8s.io/kubelet pod-resources v1 service; one package at a time)"
tmp="$(mktemp -d "$CACHE/.podresources-server.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
# -mod=readonly: go.sum as committed, nothing written into the repository.
( cd "$src" && go build -mod=readonly -trimpath -ldflags "-s -w" -o "$tmp/bin/podresources-server" . )
# Without arguments it prints its usage and exits 2: the binary runs.
rc=0; "$tmp/bin/podresources-server" 2>/dev/null || rc=$?
[ "$rc" -eq 2 ] || { log "the built podresources-server does not run (exit $rc)"; exit 1; }
publish "$tmp" "$dest"
trap - EXIT
log "podresources-server ready in $(( $(date +%s) - start ))s"
echo "$bin"
