#!/usr/bin/env bash
# Builds a minimal arm64 root with a real glibc 2.31 (JetPack 5's), from
# Debian 11 "bullseye" libc6 and libgcc-s1, for `qemu-aarch64 -L ROOT`.
#   cross/bullseye-root.sh DIR     → DIR/root (reused when already there)
# Uses this machine's own apt configuration (proxies, keyrings) with a private
# sources list that names the Debian mirror apt already uses, with suite
# bullseye and architecture arm64; no mirror address is written down here.
# Exit status 3: bullseye could not be fetched (the caller skips, loudly).
set -euo pipefail
dir=$(realpath -m "${1:?usage: $0 DIR}")
root=$dir/root

if [ -e "$root/lib/aarch64-linux-gnu/libc-2.31.so" ]; then
    echo "bullseye root: reusing $root"
    exit 0
fi
command -v apt-get >/dev/null || { echo "bullseye root: no apt-get here" >&2; exit 3; }

# The Debian archive apt already uses: the Release whose Origin and Label are
# both "Debian" (not -Security), else the first source whose path ends in /debian/.
targets=$(apt-get indextargets --format '$(ORIGIN)|$(LABEL)|$(REPO_URI)' 2>/dev/null || true)
mirror=$(awk -F'|' '$1 == "Debian" && $2 == "Debian" { print $3; exit }' <<<"$targets")
if [ -z "$mirror" ]; then
    mirror=$(awk -F'|' '$3 ~ /\/debian\/?$/ { print $3; exit }' <<<"$targets")
fi
if [ -z "$mirror" ]; then
    echo "bullseye root: no Debian archive among this machine's apt sources" >&2
    exit 3
fi

rm -rf "$dir"
mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial" "$dir/debs" "$root"
signed_by=""
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -r "$keyring" ] && signed_by=" signed-by=$keyring"
echo "deb [arch=arm64$signed_by] $mirror bullseye main" >"$dir/sources.list"

apt_private=(-q -o "Dir::Etc::SourceList=$dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$dir/lists" -o "Dir::Cache=$dir/cache"
    -o APT::Architecture=arm64 -o APT::Architectures=arm64 -o APT::Sandbox::User=root)
if ! apt-get "${apt_private[@]}" update; then
    echo "bullseye root: 'apt-get update' for bullseye/arm64 failed" >&2
    exit 3
fi
if ! (cd "$dir/debs" && apt-get "${apt_private[@]}" download libc6 libgcc-s1); then
    echo "bullseye root: 'apt-get download libc6 libgcc-s1' failed" >&2
    exit 3
fi
for deb in "$dir"/debs/*.deb; do
    dpkg-deb -x "$deb" "$root"
    dpkg-deb -f "$deb" Package Version Architecture | paste -sd' '
done
test -e "$root/lib/aarch64-linux-gnu/libc-2.31.so" || {
    echo "bullseye root: libc6 from bullseye is not glibc 2.31" >&2
    exit 1
}
echo "bullseye root: ready at $root"
