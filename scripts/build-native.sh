#!/bin/sh
# Builds nodetap's native addons with the C compiler directly (no node-gyp, so nothing is downloaded):
#   build/native/timex.node  native/timex/timex.c: adjtimex(2) for the timex collector
#   build/native/nvml.node   native/nvml/nvml.c: NVIDIA's NVML, dlopen'ed at run time, for the gpu collector
#                            (no NVIDIA header or library is needed to build it)
#   build/native/neigh.node  native/neigh/neigh.c: the IPv4 neighbour table over rtnetlink, for the arp collector
# N-API is ABI-stable, so one build serves every Node version (and the Node LTS inside the single binary).
#
# Usage: sh scripts/build-native.sh [--optional] [--addon NAME] [OUTPUT]
#   --addon NAME  build only that addon (timex, nvml or neigh); OUTPUT (only with one addon) is where it goes
#                 (default: build/native/NAME.node)
#   --optional  never fail (npm's postinstall uses it: an install must not fail for want of gcc);
#               without it a failed compilation exits 1. A missing compiler or missing Node
#               headers is never an error: the script says so and exits 0, and the timex collector
#               then reports (success 0) why it has no addon and how to build it.
# Environment: CC (default gcc; e.g. aarch64-linux-gnu-gcc to cross-build for arm64),
#   NODE_INCLUDE_DIR (the directory holding node_api.h; default: searched, see below).
# POSIX sh on purpose: npm runs install scripts on hosts without bash (node:alpine).
set -u

optional=0
if [ "${1:-}" = "--optional" ]; then
  optional=1
  shift
fi
addons="timex nvml neigh"
if [ "${1:-}" = "--addon" ]; then
  addons="${2:?--addon needs a name}"
  shift 2
fi
root="$(cd "$(dirname "$0")/.." && pwd)"
output="${1:-}"
cc="${CC:-gcc}"

say() { echo "build-native: $*" >&2; }

if ! command -v "$cc" >/dev/null 2>&1; then
  say "no C compiler ($cc) found: $addons not built; the timex and gpu collectors will report success 0 (install gcc, then run: npm run build:native)"
  exit 0
fi

include=""
node_bin="$(command -v node 2>/dev/null || true)"
node_prefix=""
if [ -n "$node_bin" ]; then node_prefix="$(dirname "$(dirname "$(readlink -f "$node_bin")")")"; fi
for dir in ${NODE_INCLUDE_DIR:-} /usr/include/node /usr/local/include/node ${node_prefix:+"$node_prefix/include/node"}; do
  if [ -f "$dir/node_api.h" ]; then
    include="$dir"
    break
  fi
done
if [ -z "$include" ]; then
  say "Node's C headers (node_api.h) not found in \$NODE_INCLUDE_DIR, /usr/include/node, /usr/local/include/node${node_prefix:+ or $node_prefix/include/node}: $addons not built; the timex and gpu collectors will report success 0 (install Node's headers, e.g. Debian's libnode-dev, or set NODE_INCLUDE_DIR, then run: npm run build:native)"
  exit 0
fi

status=0
for name in $addons; do
  out="${output:-$root/build/native/$name.node}"
  src="$root/native/$name/$name.c"
  mkdir -p "$(dirname "$out")" || exit $((1 - optional))
  tmp="$out.tmp.$$"
  # Written to a temporary name and renamed, so a running agent never loads a half-written file.
  if "$cc" -O2 -shared -fPIC -Wall -Wextra -I"$include" -o "$tmp" "$src" -ldl -lpthread && mv -f "$tmp" "$out"; then
    say "built $out ($cc, headers from $include)"
  else
    rm -f "$tmp"
    say "compiling $src with $cc failed: $name.node not built; the collector that uses it will report success 0"
    status=$((1 - optional))
  fi
done
exit $status
