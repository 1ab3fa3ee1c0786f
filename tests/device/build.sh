#!/usr/bin/env bash
# Builds what tests/device/run.sh needs on a GPU machine without internet or
# CUDA toolkit: jetmem, libjetmem_cudahook.so (beside it, where
# `record --cuda-hook` looks) and the cudarc test program device_alloc, in
# release, plus run.sh itself, into one folder to carry over.
#   tests/device/build.sh [OUT_DIR]            x86-64 (default OUT_DIR: target/device-bin)
#   TARGET=aarch64 tests/device/build.sh ...   Jetson, glibc 2.31 (cargo-zigbuild)
set -euo pipefail
cd "$(dirname "$0")/../.."
out=$(realpath -m "${1:-target/device-bin}")
# Two builds: naming an example builds only that target of its package, so
# the hook's cdylib would not be made by one command with `--example`.
build() {
    if [[ "${TARGET:-}" == aarch64 ]]; then
        cargo zigbuild --locked --release "$@" --target aarch64-unknown-linux-gnu.2.31
    else
        cargo build --locked --release "$@"
    fi
}
build -p jetmem -p jetmem-cudahook
build -p jetmem-cudahook --example device_alloc
if [[ "${TARGET:-}" == aarch64 ]]; then
    rel=target/aarch64-unknown-linux-gnu/release
else
    rel=target/release
fi
mkdir -p "$out"
cp "$rel/jetmem" "$rel/libjetmem_cudahook.so" "$rel/examples/device_alloc" tests/device/run.sh "$out/"
ls -l "$out"
