#!/usr/bin/env bash
# The real-GPU check of `jetmem record --cuda-hook` (issue 12), for a machine
# with an NVIDIA driver but no internet and no CUDA toolkit. Build the
# binaries elsewhere with tests/device/build.sh and carry the folder over:
#   BIN_DIR/run.sh            (or tests/device/run.sh BIN_DIR)
# It records device_alloc (cudarc, driver API: 4 × 256 MiB device, 128 MiB
# pinned, two device buffers and the pinned one freed) under --cuda-hook and
# checks the report: the process's hook figures exactly; cuMemGetInfo's free
# change and NVML's per-process change within 5 % of the 1 GiB allocated,
# jetmem's own NVML figure (report gpu.processes) within 5 % of NVML's at the
# peak when the report has one; NVML's device-wide total - free (read by
# device_alloc itself, single-GPU machines) moving by the 1 GiB within 5 %,
# gpu.source "nvml" with gpu.used_peak_bytes within 5 % of it at the peak
# (both totals and used figures printed beside cuMemGetInfo's); on
# a discrete GPU, VRAM additive to RAM. Then it prints the hook's cost per
# intercepted call against the real driver, and what cuMemGetInfo and
# nvmlDeviceGetMemoryInfo cost per call (the recorder makes one per sample
# for its GPU source). The whole run is bounded to 5 minutes. Put the
# output and the command in docs/cuda-hook.md.
#
# JETMEM_DEVICE_REHEARSAL=1 (set by tests/device/rehearse.sh, which CI runs)
# lifts the "no NVIDIA driver" guard so that the script runs against the fake
# driver of tests/fakecuda (it then needs FAKECUDA_STATE, the fakes' shared
# GPU); every section is then marked as a rehearsal: its figures come from
# the fakes and are never a device result.
set -euo pipefail
bin=$(cd "${1:-$(dirname "$0")}" && pwd)
for f in jetmem libjetmem_cudahook.so device_alloc; do
    [[ -x "$bin/$f" || -f "$bin/$f" ]] || { echo "run.sh: $bin/$f missing (tests/device/build.sh)" >&2; exit 2; }
done
tag=""
if [[ "${JETMEM_DEVICE_REHEARSAL:-}" == 1 ]]; then
    [[ -n "${FAKECUDA_STATE:-}" ]] || {
        echo "run.sh: JETMEM_DEVICE_REHEARSAL=1 is for the fake driver (FAKECUDA_STATE unset)" >&2
        exit 2
    }
    tag="[REHEARSAL, fake driver: not a device result] "
    echo "run.sh: REHEARSAL against the fake driver (tests/device/rehearse.sh);" \
        "no figure below is a device result"
elif [[ ! -e /proc/driver/nvidia/version ]] && ! ldconfig -p 2>/dev/null | grep -q 'libcuda\.so\.1'; then
    echo "run.sh: no NVIDIA driver here (no /proc/driver/nvidia/version, no libcuda.so.1)" >&2
    exit 2
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/jetmem-device.XXXXXX")
trap 'rm -rf "$work"' EXIT
step() { printf '\n== %s%s\n' "$tag" "$*"; }
deadline=$((SECONDS + 300))
left() { echo $((deadline - SECONDS > 1 ? deadline - SECONDS : 1)); }

step "machine"
cat /proc/driver/nvidia/version 2>/dev/null || true
timeout "$(left)" "$bin/jetmem" info || true

step "jetmem record --cuda-hook -- device_alloc run"
timeout "$(left)" "$bin/jetmem" record --cuda-hook --no-report --force -o "$work/device.jmt" \
    -- "$bin/device_alloc" run "$work/measured.json"
timeout "$(left)" "$bin/jetmem" report "$work/device.jmt"
timeout "$(left)" "$bin/jetmem" report --format json "$work/device.jmt" >"$work/report.json"

step "checks"
"$bin/device_alloc" check "$work/report.json" "$work/measured.json"

step "cost per intercepted call (cuMemAlloc_v2 + cuMemFree_v2 of 2 MiB, 2000 pairs)"
plain=$(timeout "$(left)" "$bin/device_alloc" bench 2000)
hooked=$(timeout "$(left)" "$bin/jetmem" record --cuda-hook --no-report --force -o "$work/bench.jmt" \
    -- "$bin/device_alloc" bench 2000 2>/dev/null)
echo "without the hook: $plain ns per pair; with it: $hooked ns per pair"
awk -v a="$plain" -v b="$hooked" 'BEGIN { printf "added per call: %.1f ns\n", (b - a) / 2 }'

step "cost per GPU memory query (what the recorder pays per sample for its GPU source)"
timeout "$(left)" "$bin/device_alloc" bench-mem 10000

if [[ -n "$tag" ]]; then
    step "rehearsal: all passed in $((SECONDS)) s against the fake driver (NOT a device result)"
else
    step "device check: all passed in $((SECONDS)) s"
fi
