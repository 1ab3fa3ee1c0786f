#!/usr/bin/env bash
# Builds the fake libcuda.so.1 and libnvidia-ml.so.1 for x86-64 and aarch64 and checks each build
# with test_fakecuda (the aarch64 one under qemu-aarch64).
#   tests/fakecuda/build.sh [OUT_DIR]     default OUT_DIR: target/fakecuda
# Leaves OUT_DIR/<arch>/libcuda.so.1, OUT_DIR/<arch>/libnvidia-ml.so.1 and
# OUT_DIR/<arch>/nvml-v1/libnvidia-ml.so.1 (only the unversioned process call).
# Point tests at one with JETMEM_FAKECUDA_DIR=OUT_DIR/<arch>.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$(realpath -m "${1:-target/fakecuda}")
cflags=(-std=c11 -D_DEFAULT_SOURCE -O2 -Wall -Wextra -Werror)

build_one() { # arch cc run-prefix...
    local arch=$1 cc=$2
    shift 2
    mkdir -p "$out/$arch"
    # -Bsymbolic: the library's calls to its own functions (cuMemAllocHost_v2
    # -> cuMemHostAlloc) stay inside it, as in the real driver, so a preloaded
    # --cuda-hook does not see (and count) them twice.
    "$cc" "${cflags[@]}" -shared -fPIC -Wl,-soname,libcuda.so.1 -Wl,-Bsymbolic \
        -o "$out/$arch/libcuda.so.1" "$here/fakecuda.c" "$here/fakecuda_mem.c"
    mkdir -p "$out/$arch/nvml-v1"
    "$cc" "${cflags[@]}" -shared -fPIC -Wl,-soname,libnvidia-ml.so.1 \
        -o "$out/$arch/libnvidia-ml.so.1" "$here/fakenvml.c"
    "$cc" "${cflags[@]}" -DFAKENVML_V1_ONLY -shared -fPIC -Wl,-soname,libnvidia-ml.so.1 \
        -o "$out/$arch/nvml-v1/libnvidia-ml.so.1" "$here/fakenvml.c"
    "$cc" "${cflags[@]}" -o "$out/$arch/test_fakecuda" "$here/test_fakecuda.c" \
        "$here/test_fakestate.c" -ldl
    "$@" "$out/$arch/test_fakecuda" "$out/$arch/libcuda.so.1" "$out/$arch/libnvidia-ml.so.1"
}

build_one x86_64 "${CC:-gcc}"
if command -v aarch64-linux-gnu-gcc >/dev/null && command -v qemu-aarch64 >/dev/null; then
    build_one aarch64 aarch64-linux-gnu-gcc qemu-aarch64 -L /usr/aarch64-linux-gnu
else
    echo "fakecuda: aarch64-linux-gnu-gcc or qemu-aarch64 missing; aarch64 build skipped" >&2
    exit 1
fi
