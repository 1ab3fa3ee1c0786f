#!/usr/bin/env bash
# A real Prometheus (Debian's `prometheus` package) scrapes `jetmem serve` every
# second; tests/prometheus/test_prometheus.py asserts the figures through its
# HTTP API. Everything binds 127.0.0.1 and is stopped at the end; the whole run
# is bounded by `timeout`.
#
# Usage: tests/prometheus/run.sh            (builds the release jetmem)
# Env:   JETMEM_BIN=path uses that jetmem (CI passes the one installed from the wheel).
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v prometheus >/dev/null || {
    echo "prometheus is missing (apt-get install prometheus; .ci/run installs it)" >&2
    exit 1
}
jetmem=${JETMEM_BIN:-}
if [ -z "$jetmem" ]; then
    cargo build --locked --release -p jetmem
    jetmem=$PWD/target/release/jetmem
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/jetmem-prometheus.XXXXXX")
trap 'rm -rf "$work"' EXIT
timeout 180 python3 tests/prometheus/test_prometheus.py "$jetmem" "$work" || {
    rc=$?
    echo "---- prometheus.log (tail)" >&2
    tail -n 20 "$work/prometheus.log" >&2 || true
    exit "$rc"
}
