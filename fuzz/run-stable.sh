#!/usr/bin/env bash
# Builds the fuzz targets on the stable toolchain and runs each one.
#
# cargo-fuzz needs nightly (for its sanitizer flags); the targets themselves do
# not: libfuzzer-sys builds libFuzzer from source, and LLVM's sancov pass
# (stable -C flags) gives it coverage. This is what `cargo fuzz run -s none`
# does, without the tool. Overflow checks and debug assertions are on.
#
# Usage: fuzz/run-stable.sh [SECONDS per target, default 15] [libFuzzer flags...]
#   e.g. fuzz/run-stable.sh 600 -runs=10000000     (the recorded 10 M runs)
# A crash leaves its input in fuzz/artifacts/TARGET-crash-*; add it as a
# regression test (core/tests/parse_no_panic.rs or tests/tests/format_props.rs).
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:-15}"
shift || true
triple="$(rustc -vV | awk '/^host:/ {print $2}')"
export RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module \
-Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
-Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares \
-Cdebug-assertions -Coverflow-checks"
# --target keeps the flags off build scripts and proc macros.
cargo build --locked --release --target "$triple" --bins
targets=(decode analysis parse_meminfo parse_status parse_nvmap parse_misc duration)
mkdir -p artifacts
for t in "${targets[@]}"; do
    corpus="target/corpus/$t"
    mkdir -p "$corpus"
    log="target/fuzz-$t.log"
    t0=$SECONDS
    if ! "target/$triple/release/$t" -max_total_time="$secs" -print_final_stats=1 \
        -artifact_prefix="artifacts/$t-" "$@" "$corpus" >"$log" 2>&1; then
        tail -40 "$log"
        echo "fuzz: $t FAILED (input in fuzz/artifacts/)" >&2
        exit 1
    fi
    runs="$(awk '/stat::number_of_executed_units/ {print $2}' "$log")"
    echo "fuzz: $t ok: ${runs:-?} executions in $((SECONDS - t0)) s"
done
