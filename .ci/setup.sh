#!/usr/bin/env bash
# Installs everything mediasoup_py needs to build, run and test, idempotently, on a fresh
# Debian 12 machine with Rust and Python 3.11 (root or sudo for apt-get):
#   - Debian packages: OpenSSL headers for the openssl crate, pkg-config, a C++ compiler for
#     the fuzz targets' libFuzzer, ffmpeg (a plain RTP client the tests send media with),
#     chromium (the browser the WebRTC tests drive through Playwright), firefox-esr (driven
#     over WebDriver BiDi by puppeteer-core from npm) and iproute2 (the tests put the
#     browsers in a loopback-only network namespace), valgrind (the packet path's
#     instruction count is a regression guard), redis-server (the cluster tests start their
#     own Redis, the engine nodes of one room share across machines), curl (those tests
#     ask each node on its host what it holds), and Node.js with npm when
#     missing (mediasoup-client from npm is bundled for the demo and the browser tests);
#   - mediasoup-client and esbuild from npm (python/mediasoup_py/demo/client, locked), bundled
#     into one script that the demo page and the test pages load (built before the package is
#     installed, so the installed demo serves it), and mediasoup-client 2.x likewise for the
#     v2 protocol example (examples/v2_room/client);
#   - a virtualenv in .venv with maturin, the test tools and the interop clients (pylibsrtp,
#     aiortc, Playwright for Python, which drives Debian's chromium);
#   - the package itself, built in release mode (`pip install .`).
# Usage: bash .ci/setup.sh        (from the repository root or anywhere)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

apt_packages=(libssl-dev pkg-config g++ make ffmpeg chromium firefox-esr iproute2 valgrind redis-server curl)
missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! command -v npm >/dev/null; then
  echo "setup: installing Node.js and npm"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends nodejs npm
fi
client=python/mediasoup_py/demo/client
bundle=python/mediasoup_py/demo/static/mediasoup-client.js
if [ ! -f "$bundle" ] || [ "$client/package-lock.json" -nt "$bundle" ]; then
  echo "setup: bundling mediasoup-client for the demo and the browser tests"
  (cd "$client" && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build)
fi

firefox_driver=tests/interop/firefox
if [ ! -d "$firefox_driver/node_modules/puppeteer-core" ] || [ "$firefox_driver/package-lock.json" -nt "$firefox_driver/node_modules" ]; then
  echo "setup: installing puppeteer-core, which drives Firefox ESR in the browser tests"
  (cd "$firefox_driver" && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi

v2_client=examples/v2_room/client
v2_bundle=examples/v2_room/static/mediasoup-client-v2.js
if [ ! -f "$v2_bundle" ] || [ "$v2_client/package-lock.json" -nt "$v2_bundle" ]; then
  echo "setup: bundling mediasoup-client 2.x for the v2 example and its browser test"
  (cd "$v2_client" && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build)
fi

command -v cargo >/dev/null || { echo "setup: cargo (Rust) is required" >&2; exit 1; }
rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt clippy

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  python3 -m venv .venv
fi
export PATH="$repo/.venv/bin:$PATH"
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q "maturin>=1.8,<2"
echo "setup: building and installing mediasoup_py (release) with its test extras"
.venv/bin/python -m pip install -q --no-build-isolation "$repo[test,demo,cluster]"
.venv/bin/python -c "import mediasoup_py; print('setup: mediasoup_py', mediasoup_py.__version__, 'installed')"
