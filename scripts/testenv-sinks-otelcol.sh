#!/usr/bin/env bash
# Builds a minimal OpenTelemetry Collector distribution (OTLP receiver + file exporter) with the
# OpenTelemetry Collector Builder (OCB, go.opentelemetry.io/collector/cmd/builder), both pinned to
# OTELCOL_VERSION, into $CACHE/otelcol-<version>/bin/otelcol-nodetap. Idempotent: a cached build
# that answers its version is kept. Prints the binary path on stdout. Usage: testenv-sinks-otelcol.sh [--check]
source "$(dirname "$0")/testenv-lib.sh"
source "$(dirname "$0")/testenv-sinks-versions.sh"

dest="$CACHE/otelcol-$OTELCOL_VERSION"
bin="$dest/bin/otelcol-nodetap"
if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q "${OTELCOL_VERSION#v}"; then
  echo "$bin"
  exit 0
fi
# --check: only say whether the cached build is there (exit 3 when not); tests never build a peer.
[ "${1:-}" = --check ] && exit 3
need_go
start=$(date +%s)
tmp="$(mktemp -d "$CACHE/.otelcol.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
log "building the builder go.opentelemetry.io/collector/cmd/builder@$OTELCOL_VERSION"
GOBIN="$tmp/tools" go install -trimpath "go.opentelemetry.io/collector/cmd/builder@$OTELCOL_VERSION"
cat >"$tmp/manifest.yaml" <<YAML
dist:
  name: otelcol-nodetap
  description: Minimal collector for nodetap's OTLP sink tests (OTLP receiver, file exporter)
  output_path: $tmp/src
  version: ${OTELCOL_VERSION#v}
receivers:
  - gomod: go.opentelemetry.io/collector/receiver/otlpreceiver $OTELCOL_VERSION
exporters:
  - gomod: github.com/open-telemetry/opentelemetry-collector-contrib/exporter/fileexporter $OTELCOL_VERSION
YAML
# No providers list: the builder adds its default confmap providers (env, file, http(s), yaml).
log "generating the distribution's sources"
# The builder writes the sources and go.mod, then runs `go mod tidy`, which fails here: tidy also
# resolves the test-only imports of fileexporter, and one of those module versions
# (extension/encoding/otlpencodingextension v0.165.0) is not served by the proxy. `tidy -e`
# records everything the build itself needs and skips that one.
"$tmp/tools/builder" --config "$tmp/manifest.yaml" --skip-compilation >&2 || log "the builder's go mod tidy failed (expected, see above); continuing with go mod tidy -e"
[ -f "$tmp/src/go.mod" ] && [ -f "$tmp/src/components.go" ] || { log "the builder did not generate the sources"; exit 1; }
log "resolving modules and compiling (one package at a time)"
( cd "$tmp/src" && go mod tidy -e >&2 && go build -trimpath -ldflags "-s -w" -o "$tmp/bin/otelcol-nodetap" . )
rm -rf "$tmp/src" "$tmp/tools"
"$tmp/bin/otelcol-nodetap" --version | grep -q "${OTELCOL_VERSION#v}"
publish "$tmp" "$dest"
trap - EXIT
log "otelcol-nodetap $OTELCOL_VERSION ready in $(( $(date +%s) - start ))s"
echo "$bin"
