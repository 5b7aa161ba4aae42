#!/usr/bin/env bash
# Bundles the agent (agent/main.ts and everything it imports, node_modules included) into one
# CommonJS file with esbuild: dist/bundle/nodetap.cjs (+ .map, + licenses). The single binary
# (scripts/build-binary.sh) embeds this file; `node dist/bundle/nodetap.cjs` runs it directly.
# The git revision is baked in (NODETAP_BUILD_REVISION, else `git describe`), as version.ts expects.
# Usage: bundle.sh [ESBUILD]   (default: the pinned esbuild from testenv-node-tools.sh)
source "$(dirname "$0")/testenv-lib.sh"
cd "$REPO_ROOT"

esbuild="${1:-}"
if [ -z "$esbuild" ]; then
  tools="$(bash scripts/testenv-node-tools.sh x64 | sed -n 's/^TOOLS=//p')"
  # The platform binary itself (the .bin/esbuild wrapper is a Node script that only execs it).
  esbuild="$(ls "$tools"/node_modules/@esbuild/*/bin/esbuild | head -1)"
fi
revision="${NODETAP_BUILD_REVISION:-$(git describe --always --dirty --abbrev=12 2>/dev/null || echo unknown)}"
node_major="${NODE_LTS_VERSION%%.*}"
out=dist/bundle
mkdir -p "$out"
# --format=cjs: SEA runs one CommonJS script. --platform=node keeps node: builtins external.
# --minify-syntax/whitespace (identifiers kept, so stack traces and error messages stay readable)
# cuts parse time at start-up. --legal-comments=external keeps the bundled packages' license
# headers in nodetap.cjs.LEGAL.txt.
"$esbuild" agent/main.ts \
  --bundle --platform=node --format=cjs --target="node$node_major" \
  --outfile="$out/nodetap.cjs" --sourcemap=external --sources-content=false \
  --minify-syntax --minify-whitespace --legal-comments=external \
  --define:process.env.NODETAP_BUILD_REVISION_BAKED="\"$revision\"" \
  --log-level=warning
echo "$revision" >"$out/REVISION"
ls -l "$out/nodetap.cjs" >&2
