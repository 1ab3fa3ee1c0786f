#!/usr/bin/env bash
# Runs the artefacts of cross/build.sh under qemu-aarch64 against a real
# glibc 2.31 (Debian 11's libc6, the glibc of JetPack 5):
#   - jetmem starts;
#   - libjetmem.so and libjetmem_cudahook.so load with every symbol bound
#     (dlopen RTLD_NOW from a program built by zig for glibc 2.31; the hook's
#     constructor then finds dlsym through its GLIBC_2.17 version);
#   - `jetmem info --root <fixture> --json` prints the same as the x86-64 build.
# If bullseye cannot be fetched, the first two are SKIPPED (said loudly) and
# the comparison runs against the cross glibc in /usr/aarch64-linux-gnu.
set -Eeuo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=cross/lib.sh
source cross/lib.sh

REL=target/aarch64-unknown-linux-gnu/release
HOST_JETMEM=target/debug/jetmem
WORK=target/cross-check
for f in "$REL/jetmem" "$REL/libjetmem.so" "$REL/libjetmem_cudahook.so"; do
    [ -e "$f" ] || { echo "$f is missing: run cross/build.sh first" >&2; exit 1; }
done
mkdir -p "$WORK"

fetch_root() {
    local rc=0
    bash cross/bullseye-root.sh target/bullseye-arm64 || rc=$?
    if [ "$rc" -eq 0 ]; then
        QEMU_ROOT=target/bullseye-arm64/root
    elif [ "$rc" -eq 3 ]; then
        QEMU_ROOT=""
        skipped "the runs against a real glibc 2.31 (Debian 11 arm64 libc6)" \
            "bullseye could not be fetched through this machine's apt configuration (see above)"
    else
        return "$rc"
    fi
}

zig_cc() {
    if command -v zig >/dev/null; then zig cc "$@"; else python3 -m ziglang cc "$@"; fi
}

run_on_glibc_231() {
    local out
    out=$(qemu-aarch64 -L "$QEMU_ROOT" "$REL/jetmem" --help 2>&1) || {
        echo "$out" >&2
        echo "jetmem does not start on glibc 2.31" >&2
        return 1
    }
    echo "jetmem --help on glibc 2.31: ok"
    zig_cc -target aarch64-linux-gnu.2.31 -O2 -o "$WORK/dlopen_check" cross/dlopen_check.c -ldl
    qemu-aarch64 -L "$QEMU_ROOT" "$WORK/dlopen_check" "$PWD/$REL/libjetmem.so"
    qemu-aarch64 -L "$QEMU_ROOT" "$WORK/dlopen_check" "$PWD/$REL/libjetmem_cudahook.so"
}

# The fixture roots: tests/fixtures/<name>/ folders that hold a proc/meminfo.
compare_info() {
    local root=${QEMU_ROOT:-/usr/aarch64-linux-gnu} fixture n=0
    cargo build --locked -p jetmem
    local help
    help=$("$HOST_JETMEM" --help 2>&1 || true)
    if ! grep -Eq '^ +info( |$)' <<<"$help"; then
        echo "jetmem --help lists no 'info' subcommand" >&2
        return 1
    fi
    for fixture in tests/fixtures/*/proc/meminfo; do
        [ -e "$fixture" ] || continue
        fixture=${fixture%/proc/meminfo}
        env -u LD_LIBRARY_PATH "$HOST_JETMEM" info --root "$fixture" --json >"$WORK/info-x86_64.json"
        env -u LD_LIBRARY_PATH qemu-aarch64 -L "$root" "$REL/jetmem" info --root "$fixture" --json \
            >"$WORK/info-aarch64.json"
        if ! diff -u "$WORK/info-x86_64.json" "$WORK/info-aarch64.json"; then
            echo "jetmem info differs between x86-64 and aarch64 on $fixture" >&2
            return 1
        fi
        echo "jetmem info --root $fixture --json: same on x86-64 and aarch64 (root $root)"
        n=$((n + 1))
    done
    [ "$n" -gt 0 ] || { echo "no fixture root with proc/meminfo under tests/fixtures/" >&2; return 1; }
}

step "fetch a glibc 2.31 arm64 root (Debian 11)" fetch_root
if [ -n "$QEMU_ROOT" ]; then
    step "jetmem and libjetmem.so on glibc 2.31 under qemu" run_on_glibc_231
fi
step "jetmem info: aarch64 vs x86-64" compare_info
step_summary
