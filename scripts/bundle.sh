#!/usr/bin/env bash
# Bundles the agent (agent/main.ts and everything it imports, node_modules included) into one
# CommonJS file with esbuild: dist/bundle/nodetap.cjs (+ .map, + licenses). The single binary
# (scripts/build-binary.sh) embeds this file; `node dist/bundle/nodetap.cjs` runs it directly.
# The git revision is baked in (NODETAP_BUILD_REVISION, else `git describe`), as version.ts expects.
# Usage: bundle.sh [ESBUILD]   (default: the pinned esbuild from testenv-node-tools.sh)
# BUNDLE_OUT (default dist/bundle) and BUNDLE_TARGET (default the image's Node LTS) change where it
# goes and the syntax level: `npm start` bundles into dist/start for the lowest supported Node.js.
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
out="${BUNDLE_OUT:-dist/bundle}"
target="${BUNDLE_TARGET:-node$node_major}"
mkdir -p "$out"
# --format=cjs: SEA runs one CommonJS script. --platform=node keeps node: builtins external.
# --minify-syntax/whitespace (identifiers kept, so stack traces and error messages stay readable)
# cuts parse time at start-up. --legal-comments=external keeps the bundled packages' license
# headers in nodetap.cjs.LEGAL.txt. The --alias flags make the bundled packages' https, http2 and
# tls load on first use (scripts/bundle-shims/lazy-builtin.cjs says why); the agent's own code
# loads such modules with process.getBuiltinModule where a feature needs them. memoize-to-esm.cjs
# then makes the files that import one CommonJS module share one ESM wrapper of it (it says why).
# fastify's schema compilers and prom-client's exemplar support are left out (the no-*.cjs shims say why).
# import.meta is empty in CJS: the one module that reads it (host/adjtimex.ts) uses __dirname
# first, so that warning is silenced.
lazy=()
for m in https http2 tls; do lazy+=("--alias:$m=./scripts/bundle-shims/$m.cjs" "--alias:node:$m=./scripts/bundle-shims/$m.cjs"); done
for m in @fastify/ajv-compiler @fastify/fast-json-stringify-compiler; do lazy+=("--alias:$m=./scripts/bundle-shims/no-schema-compiler.cjs"); done
lazy+=("--alias:@opentelemetry/api=./scripts/bundle-shims/no-opentelemetry.cjs")
"$esbuild" agent/main.ts \
  --bundle --platform=node --format=cjs --target="$target" \
  --outfile="$out/nodetap.cjs" --sourcemap=external --sources-content=false \
  --minify-syntax --minify-whitespace --legal-comments=external \
  --define:process.env.NODETAP_BUILD_REVISION_BAKED="\"$revision\"" "${lazy[@]}" \
  --log-level=warning --log-override:empty-import-meta=silent
node scripts/bundle-shims/memoize-to-esm.cjs "$out/nodetap.cjs"
echo "$revision" >"$out/REVISION"
[ -n "${BUNDLE_QUIET:-}" ] || ls -l "$out/nodetap.cjs" >&2
