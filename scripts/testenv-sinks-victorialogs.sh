#!/usr/bin/env bash
# Builds VictoriaLogs (pinned VICTORIALOGS_VERSION) from its Go module into
# $CACHE/victorialogs-<version>/bin/victoria-logs. Its go.mod has no replace directives, so a
# plain `go install module/app/victoria-logs@version` builds it (pure Go, CGO off).
# Idempotent: a cached build that answers its version is kept. Prints the binary path on stdout. Usage: testenv-sinks-victorialogs.sh [--check]
source "$(dirname "$0")/testenv-lib.sh"
source "$(dirname "$0")/testenv-sinks-versions.sh"

dest="$CACHE/victorialogs-$VICTORIALOGS_VERSION"
if [ -x "$dest/bin/victoria-logs" ] && "$dest/bin/victoria-logs" -version 2>/dev/null | grep -q "victoria-logs"; then
  echo "$dest/bin/victoria-logs"
  exit 0
fi
# --check: only say whether the cached build is there (exit 3 when not); tests never build a peer.
[ "${1:-}" = --check ] && exit 3
need_go
mod="github.com/VictoriaMetrics/VictoriaLogs"
log "building $mod/app/victoria-logs@$VICTORIALOGS_VERSION (one package at a time)"
tmp="$(mktemp -d "$CACHE/.victorialogs.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
start=$(date +%s)
GOBIN="$tmp/bin" go install -trimpath -ldflags "-s -w -X github.com/VictoriaMetrics/VictoriaMetrics/lib/buildinfo.Version=victoria-logs-$VICTORIALOGS_VERSION" "$mod/app/victoria-logs@$VICTORIALOGS_VERSION"
"$tmp/bin/victoria-logs" -version | grep -q "victoria-logs"
publish "$tmp" "$dest"
trap - EXIT
log "victoria-logs $VICTORIALOGS_VERSION ready in $(( $(date +%s) - start ))s"
echo "$dest/bin/victoria-logs"
