#!/usr/bin/env bash
# Makes sure syslog-ng (Debian syslog-ng-core, the real receiver of the syslog sink tests) is
# installed; the tests start their own instances on loopback, never the packaged service.
# Prints the syslog-ng path on stdout. Usage: testenv-sinks-syslog-ng.sh [--check]
source "$(dirname "$0")/testenv-lib.sh"
if ! command -v syslog-ng >/dev/null 2>&1 && [ ! -x /usr/sbin/syslog-ng ]; then
  # --check: only say whether it is installed (exit 3 when not); tests never install a peer.
  [ "${1:-}" = --check ] && exit 3
  # syslog-ng-core conflicts with rsyslog: apt replaces it when asked.
  apt_install syslog-ng-core
fi
command -v syslog-ng 2>/dev/null || echo /usr/sbin/syslog-ng
