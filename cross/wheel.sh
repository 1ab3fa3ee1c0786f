#!/usr/bin/env bash
# `pip install jetmem` wheels, one command (no docker):
#   cross/wheel.sh
# leaves target/wheels/jetmem-<version>-py3-none-manylinux_2_31_{x86_64,aarch64}.whl,
# each with the `jetmem` CLI (as a script), libjetmem.so inside the `jetmem`
# Python package, and that package (ffi/python/jetmem). Built with maturin and
# zig against glibc 2.31 (JetPack 5), the toolchain of cross/build.sh; the
# aarch64 libjetmem.so is the one cross/build.sh built (cargo does not redo it).
# Checks each wheel's tags and exact file list, both binaries' architecture and
# glibc floor, and `twine check`. cross/check-wheels.sh then runs them.
set -Eeuo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=cross/lib.sh
source cross/lib.sh

GLIBC_FLOOR=2.31
OUT=target/wheels
BUNDLED=ffi/python/jetmem/libjetmem.so
VERSION=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1)

install_wheel_tools() {
    ensure_cross_tools
    ensure_rust x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu
    ensure_pip maturin maturin "$MATURIN_VERSION"
    ensure_pip twine twine "$TWINE_VERSION"
}

# build_wheel TRIPLE: the library first (bundled into the package), then maturin builds the CLI.
build_wheel() {
    local triple=$1 objdump=objdump
    [ "$triple" = aarch64-unknown-linux-gnu ] && objdump=aarch64-linux-gnu-objdump
    cargo zigbuild --locked --release -p jetmem-ffi --target "$triple.$GLIBC_FLOOR"
    OBJDUMP=$objdump assert_glibc_floor "$GLIBC_FLOOR" "target/$triple/release/libjetmem.so"
    cp "target/$triple/release/libjetmem.so" "$BUNDLED"
    # --compatibility makes maturin check the CLI's glibc symbols against manylinux_2_31.
    maturin build --release --locked --zig --target "$triple" \
        --compatibility "manylinux_${GLIBC_FLOOR/./_}" --out "$OUT"
    rm -f "$BUNDLED"
}

# inspect_wheel ARCH ELF_MACHINE: tags, the exact file list, the binaries' machine.
inspect_wheel() {
    local arch=$1 machine=$2 whl files expected dir
    whl=$OUT/jetmem-$VERSION-py3-none-manylinux_2_31_$arch.whl
    [ -f "$whl" ] || { echo "$whl was not built" >&2; return 1; }
    dir=target/wheel-contents/$arch
    rm -rf "$dir" && mkdir -p "$dir"
    python3 -m zipfile -e "$whl" "$dir"
    # zipfile drops the mode bits that pip would set from the wheel.
    chmod +x "$dir/jetmem-$VERSION.data/scripts/jetmem"
    files=$(cd "$dir" && find . -type f | sed 's|^\./||' | grep -v '/sboms/' | sort)
    expected=$(printf '%s\n' jetmem/__init__.py jetmem/_libpath.py jetmem/libjetmem.so \
        "jetmem-$VERSION.data/scripts/jetmem" "jetmem-$VERSION.dist-info/METADATA" \
        "jetmem-$VERSION.dist-info/RECORD" "jetmem-$VERSION.dist-info/WHEEL" | sort)
    if ! diff <(echo "$expected") <(echo "$files"); then
        echo "$whl: files differ from the expected list (< expected, > packaged)" >&2
        return 1
    fi
    grep -qx "Tag: py3-none-manylinux_2_31_$arch" "$dir/jetmem-$VERSION.dist-info/WHEEL" || {
        echo "$whl: WHEEL has no 'Tag: py3-none-manylinux_2_31_$arch'" >&2
        cat "$dir/jetmem-$VERSION.dist-info/WHEEL" >&2
        return 1
    }
    local f
    for f in jetmem/libjetmem.so "jetmem-$VERSION.data/scripts/jetmem"; do
        readelf -h "$dir/$f" | grep -Eq "Machine: .*$machine$" || {
            echo "$whl: $f is not a $machine binary" >&2
            return 1
        }
    done
    grep -qx 'Requires-Python: >=3.8' "$dir/jetmem-$VERSION.dist-info/METADATA"
    # JetPack 5 ships Python 3.8: the package must parse with 3.8's grammar.
    python3 - "$dir/jetmem" <<'PY'
import ast, pathlib, sys
for p in sorted(pathlib.Path(sys.argv[1]).glob("*.py")):
    ast.parse(p.read_text(), str(p), feature_version=(3, 8))
    print(f"{p.name}: parses as Python 3.8")
PY
    echo "$whl: tags, files and $machine binaries ok"
}

step "install wheel tools (cross tools, maturin $MATURIN_VERSION, twine $TWINE_VERSION)" install_wheel_tools
step "wheel x86_64 (maturin --zig, manylinux_2_31)" build_wheel x86_64-unknown-linux-gnu
step "wheel aarch64 (maturin --zig, manylinux_2_31)" build_wheel aarch64-unknown-linux-gnu
step "inspect the x86_64 wheel" inspect_wheel x86_64 X86-64
step "inspect the aarch64 wheel" inspect_wheel aarch64 AArch64
step "twine check" twine check --strict "$OUT/jetmem-$VERSION-py3-none-manylinux_2_31_x86_64.whl" \
    "$OUT/jetmem-$VERSION-py3-none-manylinux_2_31_aarch64.whl"
step_summary
