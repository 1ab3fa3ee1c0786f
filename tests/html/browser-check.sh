#!/usr/bin/env bash
# The HTML report in a real browser (run by .ci/run; needs Debian's chromium):
# pages of the synthetic unified, discrete and CPU-only traces (and their
# comparison) and of a run recorded here, each loaded from disk by headless
# Chromium with the network cut off (no DNS, a dead proxy; the page's own
# Content-Security-Policy forbids every request, and a blocked request is a
# console message). Each page must finish drawing (body data-ready="1"), draw
# timeline lines (data-timelines > 0), raise no script error (no
# data-errors), log nothing to the console, and pass its own interaction
# self-test (page.html#selftest: wheel zoom, hover values, double-click
# reset). Screenshots are kept in target/html-check/ as CI artefacts.
#   usage: bash tests/html/browser-check.sh [path/to/jetmem]
set -Eeuo pipefail
cd "$(dirname "$0")/../.."
jetmem=${1:-target/debug/jetmem}
out=target/html-check
rm -rf "$out"
mkdir -p "$out"
[ -x "$jetmem" ] || cargo build --locked -p jetmem
# The synthetic traces of the CLI tests (built on captured fixtures), which
# the HTML tests write into target/tmp/report-html-many/.
cargo test --locked -q -p jetmem --test cli report_html >/dev/null
cp target/tmp/report-html-many/{nano,rtx,cpu}.jetmem "$out/"
"$jetmem" record --no-report --force -o "$out/here.jetmem" --label recorded-here -- \
    sh -c 'x=$(head -c 30000000 /dev/zero | tr "\0" a); sleep 0.3; echo ${#x} >/dev/null'
"$jetmem" report --format html --force -o "$out/unified.html" "$out/nano.jetmem"
"$jetmem" report --format html --force -o "$out/discrete.html" "$out/rtx.jetmem"
"$jetmem" report --format html --force -o "$out/recorded.html" "$out/here.jetmem"
"$jetmem" report --format html --force -o "$out/comparison.html" \
    "$out/nano.jetmem" "$out/rtx.jetmem" "$out/cpu.jetmem" "$out/here.jetmem"

browser() {
    local profile
    profile=$(mktemp -d)
    timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
        --disable-component-update --disable-sync --no-first-run --user-data-dir="$profile" \
        --host-resolver-rules="MAP * ~NOTFOUND" --proxy-server=127.0.0.1:9 \
        --enable-logging=stderr --v=0 --window-size=1300,2400 "$@"
    rm -rf "$profile"
}

fail=0
for page in unified discrete recorded comparison; do
    url="file://$PWD/$out/$page.html"
    browser --dump-dom "$url" >"$out/$page.dom" 2>"$out/$page.log" || true
    browser --screenshot="$out/$page.png" "$url" >/dev/null 2>>"$out/$page.log" || true
    # The page's self-test: a wheel zooms, hovering shows values, double-click resets.
    browser --dump-dom "$url#selftest" >"$out/$page.selftest.dom" 2>>"$out/$page.log" || true
    selftest=$(grep -o 'data-selftest="[^"]*"' "$out/$page.selftest.dom" || true)
    body=$(grep -o '<body[^>]*>' "$out/$page.dom" || true)
    lines=$(sed -n 's/.*data-timelines="\([0-9]*\)".*/\1/p' <<<"$body")
    console=$(grep 'CONSOLE' "$out/$page.log" || true)
    if [[ $body != *'data-ready="1"'* || $body == *data-errors* || ${lines:-0} -eq 0 || -n $console ||
        $selftest != 'data-selftest="pass"' ||
        ! -s $out/$page.png ]]; then
        echo "browser check FAILED for $page.html: ${body:-no body} ${selftest:-no self-test} ${console}" >&2
        fail=1
    else
        echo "browser check ok: $page.html ($lines timeline lines drawn, zoom/hover/reset pass, screenshot $out/$page.png)"
    fi
done
# tegrastats/jtop's "used" is shown beside ours where the trace has its counters (the Nano's).
if ! grep -q 'Peak used, tegrastats/jtop definition' "$out/unified.dom"; then
    echo "browser check FAILED: unified.html does not show the tegrastats/jtop used beside ours" >&2
    fail=1
fi
exit "$fail"
