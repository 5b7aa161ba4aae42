#!/usr/bin/env bash
# Builds a real Kubernetes control plane for the end-to-end chart tests (test/integration/k8s),
# all from Go modules (pinned in testenv-versions.sh), into one cached directory
#   $CACHE/k8s-<K8S_VERSION>-etcd-<ETCD_VERSION>-kwok-<KWOK_VERSION>-promop-<PROMETHEUS_OPERATOR_VERSION>/
#     bin/kube-apiserver, bin/kube-controller-manager, bin/kube-scheduler, bin/kubectl
#         k8s.io/kubernetes in a wrapper module that replaces each k8s.io staging module named in
#         its go.mod with the published v0.<minor>.<patch> twin; the version ldflags of
#         hack/lib/version.sh (without them the server says v0.0.0-master and helm refuses the
#         chart's kubeVersion). kubectl comes from the same module, so it matches the server.
#     bin/etcd          a three-line main calling go.etcd.io/etcd/server/v3/etcdmain.Main
#     bin/kwok          sigs.k8s.io/kwok/cmd/kwok (simulated nodes and pods; no kubelet, no runtime)
#     kwok/*.yaml       kwok's stages from its module (kustomize/stage/): node fast +
#                       heartbeat-with-lease, pod fast (standalone kwok exits "no stages found" without)
#     crds/*.yaml       the prometheus-operator CRDs (ServiceMonitor, PodMonitor, PrometheusRule, ...)
#                       from its module's example/prometheus-operator-crd/
# Cold build (empty Go build and module caches, GOFLAGS -p=1), measured on the shared 2-core
# machine with other work running: 19 min 17 s (the four k8s binaries 14.6 min, etcd ~2 min, kwok
# ~3 min; 406 MB). A re-run with everything cached checks the directory and exits at once.
# Idempotent; built in a temp dir and published atomically. Prints the directory on stdout.
# Usage: testenv-k8s.sh [--check]   (--check: print the directory and exit 0 only when all is built)
source "$(dirname "$0")/testenv-lib.sh"

dest="$CACHE/k8s-$K8S_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION-promop-$PROMETHEUS_OPERATOR_VERSION"
BINS=(kube-apiserver kube-controller-manager kube-scheduler kubectl etcd kwok)

complete() {
  local d="$1" b
  [ -f "$d/.complete" ] || return 1
  for b in "${BINS[@]}"; do [ -x "$d/bin/$b" ] || return 1; done
  ls "$d"/crds/*servicemonitors.yaml "$d"/kwok/*.yaml >/dev/null 2>&1
}
if complete "$dest"; then
  echo "$dest"
  exit 0
fi
# --check: only say whether the cached build is there (exit 3 when not); tests never build it.
[ "${1:-}" = --check ] && exit 3
need_go
start=$(date +%s)
tmp="$(mktemp -d "$CACHE/.k8s.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin" "$tmp/kwok" "$tmp/crds" "$tmp/src"
moddir() { go mod download -json "$1" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p'; }

# --- kube-apiserver, kube-controller-manager, kube-scheduler, kubectl --------------------------
log "k8s.io/kubernetes@$K8S_VERSION: wrapper module (one package at a time; several minutes)"
k8s="$(moddir "k8s.io/kubernetes@$K8S_VERSION")"
[ -f "$k8s/go.mod" ] || { log "cannot download k8s.io/kubernetes@$K8S_VERSION"; exit 1; }
staging_version="v0.${K8S_VERSION#v1.}"
mkdir -p "$tmp/src/k8s"
{
  echo "module nodetap.test/k8s-control-plane"
  echo
  echo "go $(sed -n 's/^go \([0-9.]*\)$/\1/p' "$k8s/go.mod")"
  echo
  echo "require k8s.io/kubernetes $K8S_VERSION"
  echo
  echo "replace ("
  sed -n 's#^\s*\(k8s\.io/[a-z0-9-]*\) => \./staging/src/.*$#\t\1 => \1 '"$staging_version"'#p' "$k8s/go.mod"
  echo ")"
} >"$tmp/src/k8s/go.mod"
n="$(grep -c " => k8s.io/" "$tmp/src/k8s/go.mod")"
[ "$n" -gt 20 ] || { log "found only $n staging modules in k8s.io/kubernetes's go.mod"; exit 1; }
cmds=(cmd/kube-apiserver cmd/kube-controller-manager cmd/kube-scheduler cmd/kubectl)
{
  echo "//go:build tools"
  echo
  echo "// Package tools names the commands this module builds, for go mod tidy."
  echo "package tools"
  echo
  echo "import ("
  for c in "${cmds[@]}"; do echo "	_ \"k8s.io/kubernetes/$c\""; done
  echo ")"
} >"$tmp/src/k8s/tools.go"
# hack/lib/version.sh's -X flags, for the server (component-base) and the client (client-go).
minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags="$ldflags -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  ldflags="$ldflags -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done
(
  cd "$tmp/src/k8s"
  go mod tidy >&2
  pkgs=(); for c in "${cmds[@]}"; do pkgs+=("k8s.io/kubernetes/$c"); done
  # One go build for all four: the packages they share compile once.
  go build -trimpath -ldflags "$ldflags" -o "$tmp/bin/" "${pkgs[@]}"
)
log "k8s binaries built ($(( $(date +%s) - start ))s so far)"

# --- etcd --------------------------------------------------------------------------------------
log "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
mkdir -p "$tmp/src/etcd"
cat >"$tmp/src/etcd/go.mod" <<EOF
module nodetap.test/etcd

go 1.24

require go.etcd.io/etcd/server/v3 $ETCD_VERSION
EOF
cat >"$tmp/src/etcd/main.go" <<'EOF'
// Command etcd is etcd's own server main (go.etcd.io/etcd/server/v3/etcdmain).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
EOF
( cd "$tmp/src/etcd" && go mod tidy >&2 && go build -trimpath -ldflags "-s -w" -o "$tmp/bin/etcd" . )

# --- kwok and its stages -----------------------------------------------------------------------
log "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
GOBIN="$tmp/bin" go install -trimpath -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$KWOK_VERSION" \
  "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
kwokdir="$(moddir "sigs.k8s.io/kwok@$KWOK_VERSION")"
for s in node/fast node/heartbeat-with-lease pod/fast; do
  found=0
  for f in "$kwokdir/kustomize/stage/$s"/*.yaml; do
    [ -f "$f" ] || continue
    [ "$(basename "$f")" = kustomization.yaml ] && continue
    cp "$f" "$tmp/kwok/${s//\//-}-$(basename "$f")"
    found=1
  done
  [ "$found" = 1 ] || { log "no stage YAML under kustomize/stage/$s in sigs.k8s.io/kwok@$KWOK_VERSION"; exit 1; }
done

# --- prometheus-operator CRDs --------------------------------------------------------------------
log "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION: CRDs"
po="$(moddir "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION")"
[ -d "$po/example/prometheus-operator-crd" ] || { log "no example/prometheus-operator-crd in the prometheus-operator module"; exit 1; }
cp "$po"/example/prometheus-operator-crd/*.yaml "$tmp/crds/"
chmod -R u+w "$tmp/crds" "$tmp/kwok"

# --- check and publish -----------------------------------------------------------------------------
rm -rf "$tmp/src"
"$tmp/bin/kube-apiserver" --version | grep -qx "Kubernetes $K8S_VERSION"
"$tmp/bin/kubectl" version --client | grep -q "$K8S_VERSION"
"$tmp/bin/etcd" --version | grep -q "etcd Version: ${ETCD_VERSION#v}"
"$tmp/bin/kwok" --help >/dev/null
touch "$tmp/.complete"
chmod 0755 "$tmp"
publish "$tmp" "$dest"
trap - EXIT
log "control plane ready in $(( $(date +%s) - start ))s: $dest"
echo "$dest"
