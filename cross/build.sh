#!/usr/bin/env bash
# The JetPack 5 / 6 artefacts in one command (no docker needed):
#   cross/build.sh
# installs what is missing (Debian cross binutils and qemu-user, the rustup
# target, zig, cargo-zigbuild, cargo-deb), then leaves
#   target/aarch64-unknown-linux-gnu/release/jetmem
#   target/aarch64-unknown-linux-gnu/release/libjetmem.so
#   target/aarch64-unknown-linux-gnu/release/libjetmem_cudahook.so
#   target/debian/jetmem_<version>-1_arm64.deb
# built against glibc 2.31 (JetPack 5; JetPack 6 has 2.35), and checks that
# neither file needs a newer glibc symbol and that the .deb holds what it should.
# cross/check-jetpack5.sh then runs them under qemu against a real glibc 2.31.
set -Eeuo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=cross/lib.sh
source cross/lib.sh

GLIBC_FLOOR=2.31
TRIPLE=aarch64-unknown-linux-gnu
REL=target/$TRIPLE/release
ASSETS=target/assets
HOST_JETMEM=target/debug/jetmem

zigbuild_release() {
    # Output lands in target/aarch64-unknown-linux-gnu/ (no .2.31 suffix).
    cargo zigbuild --locked --release -p jetmem -p jetmem-ffi -p jetmem-cudahook \
        --target "$TRIPLE.$GLIBC_FLOOR"
    ls -l "$REL/jetmem" "$REL/libjetmem.so" "$REL/libjetmem_cudahook.so"
}

must_match() { # FILE REGEX
    grep -Eq "$2" "$1" || { echo "$1 does not look right (no line matching '$2')" >&2; return 1; }
}

# The man page and completions come from the CLI itself (hidden commands
# `jetmem man` and `jetmem completions <shell>`), run from the x86-64 build.
# Sets CLI_ASSETS=yes when they were generated, no when the CLI lacks them.
generate_cli_assets() {
    cargo build --locked -p jetmem
    rm -rf "$ASSETS/man" "$ASSETS/completions"
    mkdir -p "$ASSETS/man" "$ASSETS/completions"
    local help
    help=$("$HOST_JETMEM" --help 2>&1 || true)
    if ! grep -q '^Usage:' <<<"$help"; then
        echo "jetmem --help prints no usage: the man page and completions cannot be generated" >&2
        return 1
    fi
    "$HOST_JETMEM" man >"$ASSETS/man/jetmem.1"
    "$HOST_JETMEM" completions bash >"$ASSETS/completions/jetmem.bash"
    "$HOST_JETMEM" completions zsh >"$ASSETS/completions/_jetmem"
    "$HOST_JETMEM" completions fish >"$ASSETS/completions/jetmem.fish"
    must_match "$ASSETS/man/jetmem.1" '^\.TH jetmem 1'
    must_match "$ASSETS/completions/jetmem.bash" '^ *complete -F _jetmem .*jetmem$'
    must_match "$ASSETS/completions/_jetmem" '^#compdef jetmem'
    must_match "$ASSETS/completions/jetmem.fish" '^complete -c jetmem'
    gzip -9nf "$ASSETS/man/jetmem.1"
    CLI_ASSETS=yes
    ls -l "$ASSETS/man" "$ASSETS/completions"
}

# Files the full package needs besides the two binaries.
FULL_ONLY_SOURCES=(ffi/include/jetmem.h ffi/python/jetmem/__init__.py ffi/python/jetmem/_libpath.py
    contrib/systemd/jetmem-serve.service)
FULL_ONLY_PATHS=(./usr/include/jetmem.h ./usr/lib/python3/dist-packages/jetmem/__init__.py
    ./usr/lib/python3/dist-packages/jetmem/_libpath.py
    ./usr/share/man/man1/jetmem.1.gz ./usr/share/bash-completion/completions/jetmem
    ./usr/share/zsh/vendor-completions/_jetmem ./usr/share/fish/vendor_completions.d/jetmem.fish
    ./lib/systemd/system/jetmem-serve.service)
ALWAYS_PATHS=(./usr/bin/jetmem ./usr/lib/libjetmem.so ./usr/lib/jetmem/libjetmem_cudahook.so)

build_deb() {
    local missing=() f
    for f in "${FULL_ONLY_SOURCES[@]}"; do [ -e "$f" ] || missing+=("$f"); done
    [ "$CLI_ASSETS" = yes ] || missing+=("man page and completions from the CLI")
    rm -f target/debian/jetmem_*_arm64.deb
    if [ ${#missing[@]} -ne 0 ]; then
        echo "the .deb needs files that are missing: ${missing[*]}" >&2
        return 1
    fi
    cargo deb --locked -p jetmem --target "$TRIPLE" --no-build
    DEB=$(ls target/debian/jetmem_*_arm64.deb)
    echo "built $DEB"
}

# Asserts the control fields and the exact list of regular files.
inspect_deb() {
    local info listing files expected
    info=$(dpkg-deb -I "$DEB")
    echo "$info"
    grep -qx ' Package: jetmem' <<<"$info"
    grep -qx ' Architecture: arm64' <<<"$info"
    grep -qx ' Depends: libc6 (>= 2.31)' <<<"$info" || {
        echo "Depends must be exactly 'libc6 (>= 2.31)' (JetPack 5 has glibc 2.31)" >&2
        return 1
    }
    listing=$(dpkg-deb -c "$DEB")
    echo "$listing"
    files=$(awk '$1 ~ /^-/ { print $NF }' <<<"$listing" | grep -v '^./usr/share/doc/jetmem/' | sort)
    expected=("${ALWAYS_PATHS[@]}")
    expected+=("${FULL_ONLY_PATHS[@]}")
    if ! diff <(printf '%s\n' "${expected[@]}" | sort) <(echo "$files"); then
        echo "the .deb's files differ from the expected list (< expected, > packaged)" >&2
        return 1
    fi
    # The systemd unit is installed, not enabled: no maintainer script may run systemctl.
    if dpkg-deb -I "$DEB" | grep -Eq '^ +[0-9]+ bytes, +[0-9]+ lines +\*? *(postinst|prerm|postrm)'; then
        echo "the .deb has maintainer scripts: jetmem-serve.service must not be enabled" >&2
        return 1
    fi
    grep -Eq '^-rwxr-xr-x .* \./usr/bin/jetmem$' <<<"$listing" || {
        echo "/usr/bin/jetmem is not mode 755 in the .deb" >&2
        return 1
    }
}

# systemd's own checker on the unit the .deb installs (ExecStart pointed at the
# x86-64 build, which must exist for `verify`).
verify_unit() {
    if ! command -v systemd-analyze >/dev/null; then
        skipped "systemd-analyze verify contrib/systemd/jetmem-serve.service" "no systemd-analyze here"
        return 0
    fi
    local dir=target/unit-check
    rm -rf "$dir" && mkdir -p "$dir"
    sed "s|/usr/bin/jetmem|$PWD/$HOST_JETMEM|" contrib/systemd/jetmem-serve.service >"$dir/jetmem-serve.service"
    systemd-analyze verify --man=no "$dir/jetmem-serve.service"
    echo "jetmem-serve.service: systemd-analyze verify ok"
}

step "install cross tools" ensure_cross_tools
step "cargo zigbuild --release --target $TRIPLE.$GLIBC_FLOOR" zigbuild_release
step "glibc floor $GLIBC_FLOOR: jetmem, libjetmem.so and libjetmem_cudahook.so" \
    assert_glibc_floor "$GLIBC_FLOOR" "$REL/jetmem" "$REL/libjetmem.so" "$REL/libjetmem_cudahook.so"
step "man page and completions from the x86-64 build" generate_cli_assets
step "cargo deb (arm64)" build_deb
step "inspect the .deb" inspect_deb
step "systemd-analyze verify jetmem-serve.service" verify_unit
step_summary
