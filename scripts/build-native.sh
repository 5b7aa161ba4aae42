#!/bin/sh
# Builds nodetap's native addon, build/native/timex.node (native/timex/timex.c: adjtimex(2) for the
# timex collector), with the C compiler directly: no node-gyp, so nothing is downloaded. N-API is
# ABI-stable, so one build serves every Node version (and the Node LTS inside the single binary).
#
# Usage: sh scripts/build-native.sh [--optional] [OUTPUT]      (default OUTPUT: build/native/timex.node)
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
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/build/native/timex.node}"
src="$root/native/timex/timex.c"
cc="${CC:-gcc}"

say() { echo "build-native: $*" >&2; }

if ! command -v "$cc" >/dev/null 2>&1; then
  say "no C compiler ($cc) found: timex.node not built; the timex collector will report success 0 (install gcc, then run: npm run build:native)"
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
  say "Node's C headers (node_api.h) not found in \$NODE_INCLUDE_DIR, /usr/include/node, /usr/local/include/node${node_prefix:+ or $node_prefix/include/node}: timex.node not built; the timex collector will report success 0 (install Node's headers, e.g. Debian's libnode-dev, or set NODE_INCLUDE_DIR, then run: npm run build:native)"
  exit 0
fi

mkdir -p "$(dirname "$out")" || exit $((1 - optional))
tmp="$out.tmp.$$"
# Written to a temporary name and renamed, so a running agent never loads a half-written file.
if "$cc" -O2 -shared -fPIC -Wall -Wextra -I"$include" -o "$tmp" "$src" && mv -f "$tmp" "$out"; then
  say "built $out ($cc, headers from $include)"
  exit 0
fi
rm -f "$tmp"
say "compiling $src with $cc failed: timex.node not built; the timex collector will report success 0"
exit $((1 - optional))
