# Shared helpers for scripts/testenv-*.sh and scripts/build-binary.sh (sourced, not run).
# Everything these scripts build or download lands under $TESTENV_CACHE
# (default ~/.cache/nodetap-testenv/<tool>-<version>/), never inside the repository, and is
# published atomically (built in a temp dir, then renamed), so a re-run finds it and an
# interrupted run leaves nothing half-made behind.
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=testenv-versions.sh
source "$REPO_ROOT/scripts/testenv-versions.sh"
CACHE="${TESTENV_CACHE:-$HOME/.cache/nodetap-testenv}"
mkdir -p "$CACHE"

log() { printf '[%s] %s\n' "$(basename "$0")" "$*" >&2; }

# The Go toolchain: PATH, else /usr/local/go (where the machines have it).
need_go() {
  if ! command -v go >/dev/null 2>&1; then
    if [ -x /usr/local/go/bin/go ]; then export PATH="/usr/local/go/bin:$PATH"; else
      log "the Go toolchain is required (go not in PATH nor /usr/local/go/bin)"; exit 1
    fi
  fi
  # Two shared cores: build one package at a time.
  export GOFLAGS="${GOFLAGS:--p=1} -buildvcs=false"
  export CGO_ENABLED=0
}

# Installs Debian packages that are missing (idempotent; apt-get update only when needed).
apt_install() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  log "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Moves a finished temp dir into place as $2 (atomic rename; replaces a stale copy).
publish() {
  local tmp="$1" dest="$2"
  rm -rf "$dest.old"
  [ -e "$dest" ] && mv "$dest" "$dest.old"
  mv "$tmp" "$dest"
  rm -rf "$dest.old"
}
