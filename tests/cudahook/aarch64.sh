#!/usr/bin/env bash
# --cuda-hook on aarch64 under qemu-user: the aarch64 hook, fake libcuda and
# C loader, recorded by the host's jetmem (copied beside the aarch64 hook,
# where `record --cuda-hook` looks for it). Run by .ci/run after the aarch64
# tests; needs aarch64-linux-gnu-gcc, qemu-aarch64 and the aarch64 fake
# libcuda (tests/fakecuda/build.sh).
#   tests/cudahook/aarch64.sh FAKECUDA_AARCH64_DIR
set -euo pipefail
cd "$(dirname "$0")/../.."
fake=$(realpath "$1")
work=$(mktemp -d "${TMPDIR:-/tmp}/jetmem-cudahook-a64.XXXXXX")
trap 'rm -rf "$work"' EXIT
cargo build --locked -q -p jetmem
cargo build --locked -q -p jetmem-cudahook --target aarch64-unknown-linux-gnu
cp target/debug/jetmem target/aarch64-unknown-linux-gnu/debug/libjetmem_cudahook.so "$work/"
aarch64-linux-gnu-gcc -std=c11 -D_DEFAULT_SOURCE -Wall -Wextra -Werror \
    tests/cudahook/loader.c -o "$work/cudahook_loader" -ldl
python3 tests/cudahook/test_cudahook.py --qemu "$work/jetmem" "$work/cudahook_loader" "$fake" "$work"
