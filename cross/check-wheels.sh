#!/usr/bin/env bash
# Runs the wheels of cross/wheel.sh as a user would:
#   - x86-64: `pip install` into a fresh venv (no network: the wheel has no
#     dependencies), then, from outside the repository, `jetmem --version`,
#     `jetmem info`, a short `jetmem record` read back by `jetmem report`,
#     `jetmem man` / `completions`, and a Python trace with no JETMEM_LIB that
#     must load the library bundled in the package;
#   - aarch64: its CLI and library under qemu-aarch64 against Debian 11's real
#     glibc 2.31 (as cross/check-jetpack5.sh), and `jetmem info --root` on each
#     fixture equal to the x86-64 wheel's.
set -Eeuo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=cross/lib.sh
source cross/lib.sh

VERSION=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1)
OUT=target/wheels
REPO=$PWD
VENV=$REPO/target/wheel-venv
WORK=$REPO/target/wheel-check
ARM=$REPO/target/wheel-contents/aarch64
ARM_JETMEM=$ARM/jetmem-$VERSION.data/scripts/jetmem

fresh_venv() {
    rm -rf "$VENV" "$WORK"
    mkdir -p "$WORK"
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --no-index --no-deps \
        "$OUT/jetmem-$VERSION-py3-none-manylinux_2_31_x86_64.whl"
    "$VENV/bin/python" -m pip show -f jetmem
}

cli_from_venv() {
    cd "$WORK"
    local v
    v=$("$VENV/bin/jetmem" --version)
    [ "$v" = "jetmem $VERSION" ] || { echo "jetmem --version says '$v', not 'jetmem $VERSION'" >&2; return 1; }
    echo "$v"
    "$VENV/bin/jetmem" info | tee info.txt
    grep -q 'MemTotal - MemAvailable' info.txt
    "$VENV/bin/jetmem" record --system --duration 1s -i 10ms --no-cuda --no-report -o system.jmt
    "$VENV/bin/jetmem" report system.jmt --format json >system.json
    python3 - <<'PY'
import json
r = json.load(open("system.json"))
n = r["samples"]
assert n >= 50, f"a 1 s system record at 10 ms has only {n} samples"
print(f"jetmem record --system 1s: {n} samples")
PY
    "$VENV/bin/jetmem" man | grep -q '^\.TH jetmem 1'
    "$VENV/bin/jetmem" completions bash | grep -Eq '^ *complete -F _jetmem .*jetmem$'
    echo "jetmem man / completions: ok"
    cd "$REPO"
}

python_from_venv() {
    cd "$WORK"
    env -u JETMEM_LIB -u PYTHONPATH "$VENV/bin/python" - "$VENV" <<'PY'
import os, sys
import jetmem
venv = sys.argv[1]
assert jetmem.__file__.startswith(venv), f"jetmem imported from {jetmem.__file__}, not the venv"
with jetmem.trace("py.jmt", interval="5ms", cuda=False) as t:
    with t.phase("load"):
        block = bytearray(64 << 20)
        block[::4096] = b"x" * len(block[::4096])
    t.mark("frame")
bundled = jetmem._libpath.bundled()
maps = open("/proc/self/maps").read()
assert bundled in maps, f"{bundled} is not the library loaded"
print(f"python trace: ok, library {bundled}")
PY
    "$VENV/bin/jetmem" report --phases py.jmt | tee py.report
    grep -Eq '^ +load +[0-9]' py.report
    cd "$REPO"
}

aarch64_under_qemu() {
    local rc=0 root
    bash cross/bullseye-root.sh target/bullseye-arm64 || rc=$?
    if [ "$rc" -eq 0 ]; then
        root=target/bullseye-arm64/root
        local v
        v=$(qemu-aarch64 -L "$root" "$ARM_JETMEM" --version)
        [ "$v" = "jetmem $VERSION" ] || { echo "aarch64 wheel: --version says '$v'" >&2; return 1; }
        echo "aarch64 wheel CLI on glibc 2.31: $v"
        if command -v zig >/dev/null; then zig cc -target aarch64-linux-gnu.2.31 -O2 -o "$WORK/dlopen_check" cross/dlopen_check.c -ldl
        else python3 -m ziglang cc -target aarch64-linux-gnu.2.31 -O2 -o "$WORK/dlopen_check" cross/dlopen_check.c -ldl; fi
        qemu-aarch64 -L "$root" "$WORK/dlopen_check" "$ARM/jetmem/libjetmem.so"
    elif [ "$rc" -eq 3 ]; then
        root=/usr/aarch64-linux-gnu
        skipped "the aarch64 wheel on a real glibc 2.31 (Debian 11 arm64 libc6)" \
            "bullseye could not be fetched through this machine's apt configuration (see above)"
    else
        return "$rc"
    fi
    local fixture n=0
    for fixture in tests/fixtures/*/proc/meminfo; do
        fixture=${fixture%/proc/meminfo}
        env -u LD_LIBRARY_PATH "$VENV/bin/jetmem" info --root "$fixture" --json >"$WORK/info-x86_64.json"
        env -u LD_LIBRARY_PATH qemu-aarch64 -L "$root" "$ARM_JETMEM" info --root "$fixture" --json \
            >"$WORK/info-aarch64.json"
        diff -u "$WORK/info-x86_64.json" "$WORK/info-aarch64.json"
        n=$((n + 1))
    done
    [ "$n" -gt 0 ]
    echo "aarch64 wheel: jetmem info --root on $n fixtures equals the x86-64 wheel's"
}

[ -x "$ARM_JETMEM" ] || { echo "run cross/wheel.sh first ($ARM_JETMEM is missing)" >&2; exit 1; }
step "fresh venv, pip install the x86-64 wheel" fresh_venv
step "x86-64 wheel: jetmem --version, info, record, report, man, completions" cli_from_venv
step "x86-64 wheel: Python trace with no JETMEM_LIB" python_from_venv
step "aarch64 wheel under qemu (glibc 2.31)" aarch64_under_qemu
step_summary
