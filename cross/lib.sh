# shellcheck shell=bash
# Shared by cross/*.sh and .ci/run: step banners with times, and installers
# that skip whatever is already present. Source it after `set -Eeuo pipefail`.

# Tool versions that were tried on the project machine (docs/toolchain-notes.md).
CARGO_ZIGBUILD_VERSION=0.24.1
CARGO_DEB_VERSION=3.8.0
CBINDGEN_VERSION=0.29.4
ZIGLANG_VERSION=0.17.1
MATURIN_VERSION=1.16.0
TWINE_VERSION=7.0.0
CROSS_APT_PACKAGES=(gcc libc6-dev gcc-aarch64-linux-gnu libc6-dev-arm64-cross
    binutils-aarch64-linux-gnu qemu-user)

STEP_NAME=""
STEP_T0=$SECONDS
STEP_TIMES=()

# step NAME COMMAND...: runs COMMAND between banners and records its time.
step() {
    STEP_NAME=$1
    shift
    STEP_T0=$SECONDS
    printf '\n==== [%s] %s\n' "$(date +%T)" "$STEP_NAME"
    "$@"
    local took=$((SECONDS - STEP_T0))
    STEP_TIMES+=("$(printf '%5ds  %s' "$took" "$STEP_NAME")")
    printf '==== ok (%ds): %s\n' "$took" "$STEP_NAME"
}

step_summary() {
    printf '\n==== step times\n'
    printf '%s\n' "${STEP_TIMES[@]}"
}

on_error() {
    printf '\n==== FAILED after %ds: %s\n' "$((SECONDS - STEP_T0))" "${STEP_NAME:-setup}" >&2
}
trap on_error ERR

# skipped WHAT WHY: a loud notice for a check that could not run.
skipped() {
    printf '\n!!!! SKIPPED: %s\n!!!! reason:  %s\n\n' "$1" "$2" >&2
}

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# ensure_apt PACKAGE...: installs the Debian packages that are missing.
ensure_apt() {
    local missing=() p
    for p in "$@"; do
        [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" = "install ok installed" ] ||
            missing+=("$p")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        echo "apt: all present (${*})"
        return
    fi
    command -v apt-get >/dev/null || {
        echo "missing packages ${missing[*]} and no apt-get: install them by hand" >&2
        return 1
    }
    echo "apt: installing ${missing[*]}"
    as_root apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        "${missing[@]}" </dev/null
}

# ensure_rust TARGET...: rustup targets plus rustfmt and clippy.
ensure_rust() {
    local have t c
    have=$(rustup target list --installed)
    for t in "$@"; do
        grep -qx "$t" <<<"$have" || rustup target add "$t"
    done
    have=$(rustup component list --installed)
    for c in rustfmt clippy; do
        grep -q "^$c" <<<"$have" || rustup component add "$c"
    done
    echo "rustup: targets and components present"
}

# ensure_zig: cargo-zigbuild finds zig on PATH or as `python3 -m ziglang`.
ensure_zig() {
    if command -v zig >/dev/null || python3 -c 'import ziglang' 2>/dev/null; then
        echo "zig: present"
        return
    fi
    command -v python3 >/dev/null || ensure_apt python3 python3-pip
    python3 -m pip install -q "ziglang==$ZIGLANG_VERSION" ||
        python3 -m pip install -q --break-system-packages "ziglang==$ZIGLANG_VERSION"
}

# ensure_cargo_tool BINARY CRATE VERSION
ensure_cargo_tool() {
    if command -v "$1" >/dev/null; then
        echo "$1: present ($("$1" --version 2>/dev/null | head -n1 || true))"
        return
    fi
    cargo install --locked "$2" --version "$3"
}

# ensure_pip MODULE PACKAGE VERSION: `python3 -m MODULE` works, else pip installs PACKAGE==VERSION.
ensure_pip() {
    if python3 -c "import $1" 2>/dev/null; then
        echo "$2: present"
        return
    fi
    python3 -m pip install -q "$2==$3" || python3 -m pip install -q --break-system-packages "$2==$3"
}

ensure_cross_tools() {
    ensure_apt "${CROSS_APT_PACKAGES[@]}"
    ensure_rust aarch64-unknown-linux-gnu
    ensure_zig
    ensure_cargo_tool cargo-zigbuild cargo-zigbuild "$CARGO_ZIGBUILD_VERSION"
    ensure_cargo_tool cargo-deb cargo-deb "$CARGO_DEB_VERSION"
}

# max_glibc FILE: the highest GLIBC_x.y symbol version FILE needs ("none" if none).
# OBJDUMP picks the objdump (default: aarch64's; `objdump` for x86-64 files).
max_glibc() {
    local v
    v=$("${OBJDUMP:-aarch64-linux-gnu-objdump}" -T "$1" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' |
        sort -uV | tail -n1)
    echo "${v:-none}"
}

# assert_glibc_floor FLOOR FILE...: fails if any FILE needs a newer glibc.
assert_glibc_floor() {
    local floor=$1 f v
    shift
    for f in "$@"; do
        v=$(max_glibc "$f")
        if [ "$v" = none ]; then
            echo "glibc: $f needs no versioned glibc symbol"
        elif [ "$(printf '%s\n%s\n' "$v" "$floor" | sort -V | tail -n1)" != "$floor" ]; then
            echo "glibc: $f needs GLIBC_$v, newer than the floor $floor:" >&2
            "${OBJDUMP:-aarch64-linux-gnu-objdump}" -T "$f" | grep "GLIBC_$v" >&2
            return 1
        else
            echo "glibc: $f needs at most GLIBC_$v (floor $floor): ok"
        fi
    done
}
