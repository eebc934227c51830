#!/usr/bin/env bash
# Renders a proposal HTML page the way a reader sees it, with headless Chromium:
#
#   scripts/render_proposal.sh FILE.html [OUT.png]
#
# writes a full-page screenshot OUT.png (default: FILE.png beside the page) and the A4 printout OUT.pdf
# beside it, with the same browser flags as crates/essaim-core/tests/proposal_html.rs.
# Environment: ESSAIM_CHROMIUM (the browser; else chromium / chromium-browser / google-chrome from the
# PATH), WIDTH (viewport width in px, default 1240), HEIGHT (skip measuring the page; e.g. 1754 for the
# first screen only).
set -euo pipefail

usage() { echo "usage: $0 FILE.html [OUT.png]" >&2; exit 2; }
[ $# -ge 1 ] && [ $# -le 2 ] || usage
html=$1
[ -f "$html" ] || { echo "$0: no such file: $html" >&2; exit 2; }
out=${2:-${html%.*}.png}
pdf=${out%.*}.pdf
width=${WIDTH:-1240}

browser=${ESSAIM_CHROMIUM:-}
if [ -z "$browser" ]; then
  for b in chromium chromium-browser google-chrome; do
    if command -v "$b" >/dev/null 2>&1; then browser=$(command -v "$b"); break; fi
  done
fi
[ -n "$browser" ] || { echo "$0: no Chromium found (install chromium or set ESSAIM_CHROMIUM)" >&2; exit 1; }

abs() { (cd "$(dirname "$1")" && printf '%s/%s\n' "$(pwd -P)" "$(basename "$1")"); }
mkdir -p "$(dirname "$out")"
page=$(abs "$html")
out=$(abs "$out")
pdf=$(abs "$pdf")
work=$(mktemp -d "${TMPDIR:-/tmp}/essaim-render.XXXXXX")
trap 'rm -rf "$work"' EXIT

browse() {
  timeout --kill-after=5 60 "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run \
    --disable-background-networking --disable-extensions --mute-audio --user-data-dir="$work/profile" "$@"
}

# The page's full height at this width: load it in a frame of that width and read its scroll height
# (the page itself has no script; this wrapper is ours and stays in the temporary directory).
height=${HEIGHT:-}
if [ -z "$height" ]; then
  cat > "$work/measure.html" <<HTML
<!DOCTYPE html><body style="margin:0"><iframe id="f" style="border:0;width:${width}px;height:800px" src="file://$page"></iframe>
<script>document.getElementById('f').onload = function () {
  document.body.setAttribute('data-height', this.contentDocument.documentElement.scrollHeight);
};</script>
HTML
  height=$(browse --allow-file-access-from-files --window-size="$width,800" --virtual-time-budget=5000 \
    --dump-dom "file://$work/measure.html" 2>/dev/null | sed -n 's/.*data-height="\([0-9]*\)".*/\1/p' | head -n 1)
  if [ -z "$height" ]; then
    echo "$0: could not measure the page; capturing 1240 x 3600" >&2
    height=3600
  fi
fi

browse --window-size="$width,$height" --screenshot="$out" "file://$page" 2> "$work/stderr.log" \
  || { cat "$work/stderr.log" >&2; echo "$0: screenshot failed" >&2; exit 1; }
browse --print-to-pdf="$pdf" --no-pdf-header-footer "file://$page" 2> "$work/stderr.log" \
  || { cat "$work/stderr.log" >&2; echo "$0: PDF failed" >&2; exit 1; }
echo "$out (${width} x ${height})"
echo "$pdf"
