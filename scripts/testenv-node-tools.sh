#!/usr/bin/env bash
# Fetches the pinned packaging tools from the npm registry into the cache (nothing global, nothing
# in the repository), and prints KEY=path lines for build-binary.sh:
#   $CACHE/packaging-tools-pkg<ver>-esbuild<ver>/   @yao-pkg/pkg and esbuild, exact versions
#   $CACHE/node-v<ver>-linux-<arch>/bin/node        official Node LTS binaries (npm packages node-linux-<arch>)
#   $CACHE/node-v<ver>-linux-<arch>/include/node    their C headers (node_api.h, for the timex.node addon)
# Usage: testenv-node-tools.sh [x64] [arm64]   (default: x64 arm64). Idempotent.
source "$(dirname "$0")/testenv-lib.sh"

archs=("$@")
[ "${#archs[@]}" -gt 0 ] || archs=(x64 arm64)

tools="$CACHE/packaging-tools-pkg$PKG_VERSION-esbuild$ESBUILD_VERSION"
if [ ! -f "$tools/.complete" ]; then
  tmp="$(mktemp -d "$CACHE/.tools.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  printf '{ "private": true, "dependencies": { "@yao-pkg/pkg": "%s", "esbuild": "%s" } }\n' "$PKG_VERSION" "$ESBUILD_VERSION" >"$tmp/package.json"
  log "npm install @yao-pkg/pkg@$PKG_VERSION esbuild@$ESBUILD_VERSION"
  # --ignore-scripts: no install script is needed (esbuild's binary comes in its @esbuild/<platform>
  # optional dependency; the install script only double-checks it). Both platforms' esbuild binaries
  # are not needed: esbuild runs on the build machine only.
  (cd "$tmp" && npm install --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null)
  "$tmp/node_modules/.bin/esbuild" --version | grep -qx "$ESBUILD_VERSION"
  touch "$tmp/.complete"
  publish "$tmp" "$tools"
  trap - EXIT
fi
echo "TOOLS=$tools"

for arch in "${archs[@]}"; do
  case "$arch" in x64 | arm64) ;; *) log "unknown arch $arch (x64, arm64)"; exit 2 ;; esac
  dir="$CACHE/node-v$NODE_LTS_VERSION-linux-$arch"
  if [ ! -f "$dir/bin/node" ] || [ ! -f "$dir/include/node/node_api.h" ]; then
    tmp="$(mktemp -d "$CACHE/.node-$arch.XXXXXX")"
    trap 'rm -rf "$tmp"' EXIT
    log "npm pack node-linux-$arch@$NODE_LTS_VERSION"
    (cd "$tmp" && npm pack --silent "node-linux-$arch@$NODE_LTS_VERSION" >/dev/null)
    mkdir -p "$tmp/out/bin" "$tmp/x"
    tar -xzf "$tmp/node-linux-$arch-$NODE_LTS_VERSION.tgz" -C "$tmp/x" package/bin/node package/LICENSE package/include/node
    mv "$tmp/x/package/bin/node" "$tmp/out/bin/node"
    mv "$tmp/x/package/include" "$tmp/out/include"
    mv "$tmp/x/package/LICENSE" "$tmp/out/LICENSE"
    chmod 0755 "$tmp/out/bin/node"
    # The ELF machine must match (the npm package is only trusted for what it says it is).
    want="x86-64"; [ "$arch" = arm64 ] && want="aarch64"
    file -b "$tmp/out/bin/node" 2>/dev/null | grep -qi "$want" || od -An -tx1 -j18 -N2 "$tmp/out/bin/node" | grep -q "$([ "$arch" = arm64 ] && echo 'b7 00' || echo '3e 00')"
    publish "$tmp/out" "$dir"
    rm -rf "$tmp"
    trap - EXIT
  fi
  echo "NODE_$arch=$dir/bin/node"
done
