#!/usr/bin/env bash
# A real Prometheus (Debian's `prometheus` package) scrapes `jetmem serve` every
# second; tests/prometheus/test_prometheus.py asserts the figures through its
# HTTP API, and runs the Grafana dashboard's queries and the alert rule's unit
# test (promtool). Everything binds 127.0.0.1 and is stopped at the end; the whole run
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
# The alerting rule example: valid, and it fires only after 1 min under 10 % headroom.
(cd contrib/prometheus && promtool check rules jetmem-alerts.yml && promtool test rules jetmem-alerts.test.yml)
timeout 180 python3 tests/prometheus/test_prometheus.py "$jetmem" "$work" contrib/grafana/jetmem.json || {
    rc=$?
    echo "---- prometheus.log (tail)" >&2
    tail -n 20 "$work/prometheus.log" >&2 || true
    exit "$rc"
}
