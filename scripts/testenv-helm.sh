#!/usr/bin/env bash
# Builds helm (pinned HELM_VERSION) from its Go module, as helm's Makefile does (same -X version
# flags, so `helm version` and .Capabilities.KubeVersion are right), into
# $CACHE/helm-<version>/bin/helm. Idempotent: a cached build that answers its version is kept.
# Prints the helm path on stdout.
source "$(dirname "$0")/testenv-lib.sh"

dest="$CACHE/helm-$HELM_VERSION"
if [ -x "$dest/bin/helm" ] && "$dest/bin/helm" version --template '{{.Version}}' 2>/dev/null | grep -qx "$HELM_VERSION"; then
  echo "$dest/bin/helm"
  exit 0
fi
need_go
mod="helm.sh/helm/${HELM_VERSION%%.*}"
log "building $mod@$HELM_VERSION (one package at a time; several minutes on 2 cores)"
# helm's Makefile derives the Kubernetes version it assumes from its client-go dependency (v0.X.Y -> 1.X).
moddir="$(go mod download -json "$mod@$HELM_VERSION" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')"
clientgo="$(sed -n 's/^\s*k8s.io\/client-go v0\.\([0-9]*\)\..*/\1/p' "$moddir/go.mod" | head -1)"
[ -n "$clientgo" ] || { log "cannot read the client-go version from $moddir/go.mod"; exit 1; }
ldflags="-s -w -X $mod/internal/version.version=$HELM_VERSION -X $mod/internal/version.metadata= -X $mod/internal/version.gitTreeState=clean"
for p in pkg/lint/rules pkg/chartutil; do ldflags="$ldflags -X $mod/$p.k8sVersionMajor=1 -X $mod/$p.k8sVersionMinor=$clientgo"; done
tmp="$(mktemp -d "$CACHE/.helm.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
GOBIN="$tmp/bin" go install -trimpath -ldflags "$ldflags" "$mod/cmd/helm@$HELM_VERSION"
"$tmp/bin/helm" version --template '{{.Version}}' | grep -qx "$HELM_VERSION"
publish "$tmp" "$dest"
trap - EXIT
log "helm $HELM_VERSION ready"
echo "$dest/bin/helm"
