#!/usr/bin/env bash
# The project's test command (README, .ci/run): every Rust test, then the
# C / Python tests of the FFI against the freshly built libjetmem.so.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --locked --workspace
if [ -f tests/ffi/run.sh ]; then
    # `cargo test` does not leave the cdylib in target/debug; build it first.
    cargo build --locked -p jetmem-ffi
    bash tests/ffi/run.sh
fi
