#!/usr/bin/env bash
# Installs the Debian packages the tests and benchmarks use: every `deb:` row of
# scripts/test-programs.txt (the one list of programs the tests start), plus the benchmarks' load
# and tracing tools. Idempotent; about 1 min on a fresh machine (apt-get update + ~60 MB).
# Today those rows are: logrotate, openssl, prometheus (prometheus, promtool), prometheus-node-exporter, iproute2, mount and
# gcc (the native addons and the NVML test shim); iproute2 and mount give `ip` and `mount`/`umount` to
# the netclass rename test; test/unit/test-programs.test.ts keeps the list complete.
source "$(dirname "$0")/testenv-lib.sh"
mapfile -t test_packages < <(awk '!/^#/ && $2 ~ /^deb:/ { sub(/^deb:/, "", $2); print $2 }' "$REPO_ROOT/scripts/test-programs.txt" | sort -u)
bench_packages=(hyperfine wrk strace make libc6-dev)
# Services these packages ship are not started here: tests start their own instances on loopback.
apt_install "${test_packages[@]}" "${bench_packages[@]}"
