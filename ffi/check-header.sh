#!/usr/bin/env bash
# Regenerates ffi/include/jetmem.h with the pinned cbindgen into a temporary
# file and fails on any difference with the committed header (CI runs this).
#   ffi/check-header.sh          check
#   ffi/check-header.sh --write  regenerate the committed header
set -euo pipefail

pinned=0.29.4 # point releases change the output: pin it (as rustls-ffi does)
ffi="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
header="$ffi/include/jetmem.h"

have="$(cbindgen --version 2>/dev/null | awk '{print $2}')" || true
if [[ "$have" != "$pinned" ]]; then
  echo "cbindgen $pinned is needed (found: ${have:-none});" \
    "install it with: cargo install --locked cbindgen --version $pinned" >&2
  exit 2
fi

tmp="$(mktemp "${TMPDIR:-/tmp}/jetmem.h.XXXXXX")"
trap 'rm -f "$tmp"' EXIT
(cd "$ffi" && cbindgen --quiet --config cbindgen.toml --crate jetmem-ffi --output "$tmp")

if [[ "${1:-}" == "--write" ]]; then
  cp "$tmp" "$header"
  echo "wrote $header"
elif ! diff -u "$header" "$tmp"; then
  echo "ffi/include/jetmem.h is out of date: run ffi/check-header.sh --write and commit it" >&2
  exit 1
else
  echo "ffi/include/jetmem.h is up to date (cbindgen $pinned)"
fi
