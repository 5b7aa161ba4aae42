#!/usr/bin/env bash
# Installs the Debian packages the tests and benchmarks use: real peers to compare against
# (prometheus-node-exporter, prometheus/promtool, syslog-ng) and load tools. Idempotent.
set -euo pipefail
packages=(prometheus prometheus-node-exporter syslog-ng-core hyperfine wrk strace openssl gcc libc6-dev make)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # Services these packages ship are not started here: tests start their own instances on loopback.
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
