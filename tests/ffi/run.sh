#!/usr/bin/env bash
# The FFI end to end: builds libjetmem, runs the C test (plain and under
# valgrind), runs the Python ctypes test, then checks that the traces they
# wrote show their phases and allocator peaks.
#
# Usage: tests/ffi/run.sh            (from anywhere; needs cargo, gcc, python3)
# Env:   VALGRIND=0 skips valgrind (then the C test runs under AddressSanitizer).
#        JETMEM_BIN=path uses that jetmem binary for `jetmem report` (default: the one built).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
target="${CARGO_TARGET_DIR:-$repo/target}"
work="$(mktemp -d "${TMPDIR:-/tmp}/jetmem-ffi.XXXXXX")"
trap 'rm -rf "$work"' EXIT

step() { printf '\n== %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

step "cargo build -p jetmem-ffi -p jetmem"
cargo build -q -p jetmem-ffi -p jetmem
lib="$target/debug/libjetmem.so"
[[ -f "$lib" ]] || fail "$lib was not built"

step "header compiles as C99 and C++11 (-pedantic -Werror)"
printf '#include "jetmem.h"\nint main(void) { jetmem_config c; jetmem_config_default(&c);\n  return jetmem_version() == 0; }\n' >"$work/header.c"
gcc -std=c99 -Wall -Wextra -Werror -pedantic -I ffi/include -c "$work/header.c" -o "$work/h.o"
if command -v g++ >/dev/null; then
  g++ -std=c++11 -Wall -Wextra -Werror -pedantic -I ffi/include -x c++ -c "$work/header.c" -o "$work/h.o"
fi

step "C test (gcc)"
cflags=(-std=c11 -D_DEFAULT_SOURCE -Wall -Wextra -Werror -g -I ffi/include)
gcc "${cflags[@]}" tests/ffi/test_c.c -o "$work/test_c" \
  -L "$target/debug" -Wl,-rpath,"$target/debug" -ljetmem -lpthread
mkdir -p "$work/c-scratch"
"$work/test_c" "$work/c.jmt" "$work/c-scratch"

step "C test linked against the static library"
gcc "${cflags[@]}" tests/ffi/test_c.c -o "$work/test_c_static" "$target/debug/libjetmem.a" \
  -lpthread -ldl -lm
rm -rf "$work/c-scratch" && mkdir -p "$work/c-scratch"
"$work/test_c_static" "$work/c-static.jmt" "$work/c-scratch"

if [[ "${VALGRIND:-1}" != 0 ]] && command -v valgrind >/dev/null; then
  step "C test under valgrind"
  rm -rf "$work/c-scratch" && mkdir -p "$work/c-scratch"
  valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
    "$work/test_c" "$work/c-valgrind.jmt" "$work/c-scratch"
else
  step "C test under AddressSanitizer"
  gcc "${cflags[@]}" -fsanitize=address -fno-omit-frame-pointer tests/ffi/test_c.c \
    -o "$work/test_c_asan" -L "$target/debug" -Wl,-rpath,"$target/debug" -ljetmem -lpthread
  rm -rf "$work/c-scratch" && mkdir -p "$work/c-scratch"
  ASAN_OPTIONS=detect_leaks=1 "$work/test_c_asan" "$work/c-asan.jmt" "$work/c-scratch"
fi

step "Python ctypes test"
JETMEM_LIB="$lib" JETMEM_BIN="${JETMEM_BIN:-$target/debug/jetmem}" \
  python3 tests/ffi/test_ctypes.py "$work/py.jmt"

# What each trace must show: its phases, and the allocator peaks pushed
# (C: 300+2 MiB and 400 MiB; Python: 150+2 MiB and 256 MiB).
declare -A peak_alloc=([c]=$((302 << 20)) [py]=$((152 << 20)))
declare -A peak_resv=([c]=$((400 << 20)) [py]=$((256 << 20)))

check_summary() { # name file
  local name="$1" out="$2"
  # Both programs run >= 30 ms at a 5 ms interval: the in-process sampler took samples.
  grep -Eq '^trace .* samples=[1-9][0-9]* clean_end=true$' "$out" \
    || fail "$name: no samples or no clean end"
  grep -q '^phase "load": begin=1 end=1' "$out" || fail "$name: phase load missing"
  grep -q '^phase "inference": begin=3 end=3' "$out" || fail "$name: phase inference missing"
  grep -q '^phase "frame": begin=0 end=0 instant=3' "$out" || fail "$name: frame marks missing"
  grep -q "^allocator device=0: .*peak_allocated=${peak_alloc[$name]} peak_reserved=${peak_resv[$name]}\$" "$out" \
    || fail "$name: allocator peaks ${peak_alloc[$name]}/${peak_resv[$name]} missing"
}

# `jetmem report --phases all` (host/src/report): the phase tables name each phase, and the
# allocator peak is the largest of allocated/peak_allocated (reserved likewise) over all
# devices, printed as "302.0 MiB".
check_report() { # name file: `jetmem report --phases` output must show the phases and peaks
  local name="$1" out="$2"
  grep -Eq '^ +load +[0-9]' "$out" || fail "$name: jetmem report has no row for phase load"
  # --phases all: the summary (one row per label, its count) then every occurrence.
  grep -Eq '^ +inference +3 ' "$out" || fail "$name: the phase summary does not count 3 inference"
  [[ $(sed -n '/^Phases:/,$p' "$out" | grep -Ec '^ +inference +[0-9]') == 3 ]] \
    || fail "$name: jetmem report does not show 3 inference phases"
  local mib_a=$((peak_alloc[$name] >> 20)) mib_r=$((peak_resv[$name] >> 20))
  grep -Eq "allocated ${mib_a}\.0 MiB" "$out" \
    || fail "$name: jetmem report does not show the allocator peak ${mib_a} MiB"
  grep -Eq "reserved ${mib_r}\.0 MiB" "$out" \
    || fail "$name: jetmem report does not show the reserved peak ${mib_r} MiB"
}

jetmem="${JETMEM_BIN:-$target/debug/jetmem}"
# `jetmem report` is used once the CLI lists it (clap's help names its subcommands).
has_report=0
if "$jetmem" --help 2>/dev/null | grep -Eq '^ +report( |$)'; then
  has_report=1
else
  echo "note: this jetmem has no report command yet; decoding with trace_summary only"
fi
for name in c py; do
  trace="$work/$name.jmt"
  if [[ $has_report == 1 ]]; then
    step "jetmem report $name.jmt"
    "$jetmem" report --phases all "$trace" | tee "$work/$name.report"
    check_report "$name" "$work/$name.report"
  fi
  # The decoder check runs either way: it pins the exact values.
  step "trace_summary $name.jmt"
  cargo run -q -p jetmem-ffi --example trace_summary -- "$trace" | tee "$work/$name.summary"
  check_summary "$name" "$work/$name.summary"
done
# jetmem.torch_allocator() with a stand-in torch on device 1: 11/22/33/44 MiB in order.
grep -q "^allocator device=1: max_allocated=$((11 << 20)) max_reserved=$((22 << 20)) peak_allocated=$((33 << 20)) peak_reserved=$((44 << 20))\$" \
  "$work/py.summary" || fail "py: torch_allocator figures missing or out of order"

step "marker channel: jetmem record of Python (spawn + fork workers) and C (jetmem_attach)"
gcc "${cflags[@]}" tests/ffi/channel/attach.c -o "$work/attach" \
  -L "$target/debug" -Wl,-rpath,"$target/debug" -ljetmem
mkdir -p "$work/channel"
JETMEM_LIB="$lib" python3 tests/ffi/channel/test_channel.py "$jetmem" "$work/attach" "$work/channel"

step "cuda hook: jetmem record --cuda-hook of a C loader (dlsym, cuGetProcAddress_v2) and Python ctypes"
cargo build -q -p jetmem-cudahook
fake="${JETMEM_FAKECUDA_DIR:-}"
if [[ -z "$fake" ]]; then
  fake="$work/fakecuda" && mkdir -p "$fake"
  gcc "${cflags[@]}" -shared -fPIC -Wl,-soname,libcuda.so.1 -Wl,-Bsymbolic -o "$fake/libcuda.so.1" \
    tests/fakecuda/fakecuda.c tests/fakecuda/fakecuda_mem.c
fi
gcc "${cflags[@]}" tests/cudahook/loader.c -o "$work/cudahook_loader" -ldl
python3 tests/cudahook/test_cudahook.py "$jetmem" "$work/cudahook_loader" "$fake" "$work"

step "Python: a tracer left running is finished at interpreter exit"
JETMEM_LIB="$lib" PYTHONPATH=ffi/python python3 -c \
  'import jetmem; t = jetmem.trace("'"$work/atexit.jmt"'", cuda=False); t.mark("left running")'
cargo run -q -p jetmem-ffi --example trace_summary -- "$work/atexit.jmt" | tee "$work/atexit.summary"
grep -q 'clean_end=true' "$work/atexit.summary" || fail "atexit: the trace has no end record"
grep -q '^phase "left running": begin=0 end=0 instant=1' "$work/atexit.summary" \
  || fail "atexit: the mark is missing"

step "ffi: all passed"
