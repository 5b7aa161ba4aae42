#!/usr/bin/env bash
# Builds the single executable: dist/nodetap-linux-x64 and dist/nodetap-linux-arm64 (default), or
# the arches given (x64, arm64). Fully offline once the pinned tools are cached:
#   1. scripts/bundle.sh: esbuild -> dist/bundle/nodetap.cjs (one CommonJS file)
#   2. @yao-pkg/pkg --sea (Node's single-executable applications): the bundle is injected into the
#      official Node LTS binary of each arch (npm package node-linux-<arch>). pkg runs on that same
#      Node (>= 22 required; the machines' Node 20 is not used), so the SEA blob is made by exactly
#      the Node version it is injected into. pkg's cache (~/.pkg-cache/sea) is seeded from the npm
#      package, under a private HOME in $CACHE, so pkg never downloads from nodejs.org; where
#      possible pkg runs in a network namespace without network to prove it.
# Also builds the native addons dist/{timex,nvml,neigh}-linux-<arch>.node (see below) and writes
# dist/SHA256SUMS. Usage: build-binary.sh [x64] [arm64]
source "$(dirname "$0")/testenv-lib.sh"
cd "$REPO_ROOT"

archs=("$@")
[ "${#archs[@]}" -gt 0 ] || archs=(x64 arm64)
host_arch="$(uname -m)"; case "$host_arch" in x86_64) host_arch=x64 ;; aarch64) host_arch=arm64 ;; esac

# Tools: pkg + esbuild, and the Node binaries of the target arches and of this host (pkg runs on it).
declare -A node
while IFS='=' read -r k v; do
  case "$k" in TOOLS) tools="$v" ;; NODE_*) node[${k#NODE_}]="$v" ;; esac
done < <(bash scripts/testenv-node-tools.sh $(printf '%s\n' "${archs[@]}" "$host_arch" | sort -u))

bash scripts/bundle.sh "$(ls "$tools"/node_modules/@esbuild/*/bin/esbuild | head -1)"

# Seed pkg's SEA cache: it looks for ~/.pkg-cache/sea/node-v<ver>-linux-<arch>.tar.gz(.ok) and the
# extracted node-v<ver>-linux-<arch>/bin/node(.ok); with both present it neither downloads nor extracts.
pkg_home="$CACHE/pkg-home"
for arch in $(printf '%s\n' "${archs[@]}" "$host_arch" | sort -u); do
  name="node-v$NODE_LTS_VERSION-linux-$arch"
  sea="$pkg_home/.pkg-cache/sea"
  if [ ! -f "$sea/$name/bin/node.ok" ] || ! cmp -s "$sea/$name/bin/node" "${node[$arch]}"; then
    mkdir -p "$sea/$name/bin"
    cp "${node[$arch]}" "$sea/$name/bin/node"
    tar -C "$sea" -czf "$sea/$name.tar.gz" "$name/bin/node"
    touch "$sea/$name.tar.gz.ok" "$sea/$name/bin/node.ok"
  fi
done

mkdir -p dist
# No network: run pkg in a fresh network namespace (only loopback, down) when this machine allows it.
nonet=()
if unshare --net true 2>/dev/null; then nonet=(unshare --net); fi
pkg=("${nonet[@]}" env HOME="$pkg_home" "${node[$host_arch]}" "$tools/node_modules/@yao-pkg/pkg/lib-es5/bin.js")
for arch in "${archs[@]}"; do
  out="dist/nodetap-linux-$arch"
  rm -f "$out"
  # One target per run keeps the output name exact (pkg appends -<platform>-<arch> for several).
  "${pkg[@]}" --sea --target "node$NODE_LTS_VERSION-linux-$arch" --output "$out" dist/bundle/nodetap.cjs
  [ -x "$out" ] || { log "pkg did not produce $out"; exit 1; }
done
# The native addons (timex.node: adjtimex(2) for the timex collector; nvml.node: NVIDIA's NVML for the
# gpu collector; neigh.node: the rtnetlink neighbour dump for arp's node_arp_states), which the
# agent loads from next to its executable: built per arch with Node's own
# headers when a C compiler for that arch is here (gcc for this machine's arch, <triplet>-gcc to
# cross-build). Ship dist/<addon>-linux-<arch>.node as <addon>.node beside the binary (the image does);
# without them timex and gpu report success 0 and arp falls back to /proc/net/arp (no states).
for arch in "${archs[@]}"; do
  case "$arch" in
    "$host_arch") cc="${CC:-gcc}" ;;
    arm64) cc=aarch64-linux-gnu-gcc ;;
    x64) cc=x86_64-linux-gnu-gcc ;;
  esac
  for name in timex nvml neigh; do
    addon="dist/$name-linux-$arch.node"
    rm -f "$addon"
    if command -v "$cc" >/dev/null 2>&1; then
      CC="$cc" NODE_INCLUDE_DIR="$(dirname "$(dirname "${node[$arch]}")")/include/node" sh scripts/build-native.sh --addon "$name" "$addon"
      [ -s "$addon" ] || { log "building $addon with $cc failed"; exit 1; }
    else
      log "no $cc here: $addon not built (the collector that uses it in that binary will report success 0)"
    fi
  done
done
(cd dist && sha256sum nodetap-linux-* timex-linux-*.node nvml-linux-*.node neigh-linux-*.node 2>/dev/null >SHA256SUMS)
ls -l dist/nodetap-linux-* >&2
