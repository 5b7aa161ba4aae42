#!/usr/bin/env bash
# Everything the chart and packaging tests (test/chart, test/packaging) need, built or reused from
# the cache; .ci/run calls it before `npm test`. Each step is idempotent and cached outside the repo:
#   helm (Go module build)  ~8 min once on 2 cores, then 0 s
#   kubeconform + Kubernetes/CRD JSON schemas  ~2 min once
#   the single binaries (esbuild + pkg SEA, x64 and arm64)  ~1 min every run
#   debootstrap base images  ~5 min once; the image (buildah bud)  ~2 min when the context changed
source "$(dirname "$0")/testenv-lib.sh"
cd "$REPO_ROOT"

step() {
  local name="$1"; shift
  local t0=$SECONDS
  log "== $name"
  "$@"
  log "== $name: $((SECONDS - t0)) s"
}
# C compilers (this arch, and arm64) for the timex collector's native addon beside the binaries (build-binary.sh).
apt_install gcc libc6-dev gcc-aarch64-linux-gnu libc6-dev-arm64-cross
step helm bash scripts/testenv-helm.sh >/dev/null
step kube-schemas bash scripts/testenv-kube-schemas.sh >/dev/null
step binary bash scripts/build-binary.sh >/dev/null
step image bash scripts/testenv-image.sh >/dev/null
