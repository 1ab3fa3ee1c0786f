#!/usr/bin/env bash
# Rehearses the real-GPU check, tests/device/run.sh, against the fake driver
# (tests/fakecuda: libcuda.so.1 and libnvidia-ml.so.1 as one GPU shared by
# processes through FAKECUDA_STATE / FAKENVML_STATE), so that a lent GPU's
# few minutes are never spent on a broken script. Run by .ci/run (x86-64).
# Its figures come from the fakes: NOT a device result, never to be put in
# docs/cuda-hook.md as one (run.sh marks every section of a rehearsal).
#   tests/device/rehearse.sh            builds target/device-bin (build.sh)
#                                       and target/fakecuda (fakecuda/build.sh)
#   tests/device/rehearse.sh --reuse    uses them as they are (CI, just built)
# Two runs of run.sh from the device folder, each a fresh state file:
#   1. the fake as a plain 16 GiB GPU: run.sh must pass (exit 0);
#   2. FAKECUDA_STATE_SKEW=20 (the fake charges every allocation 20 % more
#      than asked): run.sh must fail, at its cuMemGetInfo comparison.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=$PWD/target/device-bin
fakes=$PWD/target/fakecuda
if [[ "${1:-}" != --reuse ]]; then
    bash tests/device/build.sh "$bin" >/dev/null
    bash tests/fakecuda/build.sh "$fakes" >/dev/null 2>&1 ||
        { echo "rehearse.sh: tests/fakecuda/build.sh failed" >&2; exit 1; }
fi
fake=$fakes/x86_64
for f in "$bin/run.sh" "$bin/device_alloc" "$fake/libcuda.so.1" "$fake/libnvidia-ml.so.1"; do
    [[ -f "$f" ]] || { echo "rehearse.sh: $f missing (run without --reuse)" >&2; exit 2; }
done
work=$(mktemp -d "${TMPDIR:-/tmp}/jetmem-rehearse.XXXXXX")
trap 'rm -rf "$work"' EXIT

# One discrete GPU: NVML's total 16 GiB with 512 MiB reserved, cuMemGetInfo's
# total without the reserve (as real drivers report less there), 1 GiB in use
# by others when idle, 300 MiB per CUDA context.
GIB=$((1 << 30)) MIB=$((1 << 20))
export LD_LIBRARY_PATH=$fake${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export FAKECUDA_TOTAL=$((16 * GIB - 512 * MIB)) FAKECUDA_FREE=$((15 * GIB - 512 * MIB))
export FAKENVML_MEMORY=$((16 * GIB)):$((512 * MIB)):$((15 * GIB - 512 * MIB))
export FAKECUDA_CONTEXT_BYTES=$((300 * MIB)) FAKECUDA_NAME="FakeCUDA (rehearsal)"
export JETMEM_DEVICE_REHEARSAL=1

rehearse() { # name, then env assignments for this run
    local name=$1
    shift
    local state=$work/$name.state
    env FAKECUDA_STATE="$state" FAKENVML_STATE="$state" "$@" \
        timeout 60 bash "$bin/run.sh" "$bin" >"$work/$name.log" 2>&1
}

t0=$SECONDS
if ! rehearse pass; then
    cat "$work/pass.log"
    echo "rehearse.sh: run.sh failed against the fake driver" >&2
    exit 1
fi
cat "$work/pass.log"
grep -q '^== \[REHEARSAL.*rehearsal: all passed' "$work/pass.log" ||
    { echo "rehearse.sh: run.sh did not mark its output as a rehearsal" >&2; exit 1; }

if rehearse skew FAKECUDA_STATE_SKEW=20; then
    cat "$work/skew.log"
    echo "rehearse.sh: run.sh passed with the fake's figures 20 % off" >&2
    exit 1
fi
grep -q 'cuMemGetInfo free change: .* is not within 50‰' "$work/skew.log" || {
    cat "$work/skew.log"
    echo "rehearse.sh: run.sh failed with the skew, but not at the cuMemGetInfo check" >&2
    exit 1
}
echo
echo "rehearse.sh: a 20 % skew in the fake's figures fails run.sh's checks, as it should:"
grep 'is not within' "$work/skew.log"
echo "rehearse.sh: run.sh passed against the fake driver in $((SECONDS - t0)) s" \
    "(a rehearsal, NOT a device result)"
