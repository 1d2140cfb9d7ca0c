#!/usr/bin/env bash
# A screenshot of an HTML file in a real browser: Debian's Chromium, headless.
# Usage: scripts/screenshot.sh <html> <png> [width height]     (default 1280 x 2400)
# Installs the `chromium` package when it is missing and we are root with apt-get.
# Set CHROMIUM=/path/to/browser to use another Chromium-based browser.
# Exit codes: 0 ok; 2 bad usage; 3 no Chromium and it cannot be installed; 1 the browser failed.
set -euo pipefail
source "$(dirname "$0")/env.sh"

if [ $# -ne 2 ] && [ $# -ne 4 ]; then
  echo "usage: $0 <html> <png> [width height]" >&2
  exit 2
fi
html="$1" png="$2" width="${3:-1280}" height="${4:-2400}"
if [ ! -f "$html" ]; then
  echo "screenshot: $html: no such file" >&2
  exit 2
fi
case "$width$height" in *[!0-9]*|"") echo "screenshot: width and height must be integers" >&2; exit 2;; esac

find_browser() {
  if [ -n "${CHROMIUM:-}" ] && command -v "$CHROMIUM" >/dev/null; then command -v "$CHROMIUM"; return 0; fi
  local b
  for b in chromium chromium-browser google-chrome google-chrome-stable; do
    if command -v "$b" >/dev/null; then command -v "$b"; return 0; fi
  done
  return 1
}

browser="$(find_browser)" || { ensure_deb chromium >/dev/null && browser="$(find_browser)"; } || {
  echo "screenshot: no Chromium (install Debian's chromium package, or set CHROMIUM)" >&2
  exit 3
}

abs() { (cd "$(dirname "$1")" && printf '%s/%s\n' "$(pwd)" "$(basename "$1")"); }
mkdir -p "$(dirname "$png")"
html_abs="$(abs "$html")"
png_abs="$(abs "$png")"
profile="$(mktemp -d "${TMPDIR:-/tmp}/sparktrain-chromium.XXXXXX")"
trap 'rm -rf "$profile"' EXIT
rm -f "$png_abs"

log="$profile/chromium.log"
if ! timeout 180 "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile/user-data" --hide-scrollbars --window-size="$width,$height" \
    --screenshot="$png_abs" "file://$html_abs" >"$log" 2>&1 || [ ! -s "$png_abs" ]; then
  echo "screenshot: $browser failed; its output:" >&2
  tail -n 20 "$log" >&2
  exit 1
fi
echo "$png_abs"
