#!/usr/bin/env bash
# Bundles mediasoup-client (from npm, locked by package-lock.json) into the one script the
# demo page and the browser tests load, python/mediasoup_py/demo/static/mediasoup-client.js,
# when it is missing or older than the lock file. The wheel and the sdist carry the bundle;
# only this step needs Node.js.
# Usage: bash scripts/bundle-demo-client.sh
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
client=$repo/python/mediasoup_py/demo/client
bundle=$repo/python/mediasoup_py/demo/static/mediasoup-client.js
if [ -f "$bundle" ] && [ "$bundle" -nt "$client/package-lock.json" ]; then
  exit 0
fi
command -v npm >/dev/null || {
  echo "bundle-demo-client: npm (Node.js) is needed to bundle mediasoup-client" >&2
  exit 1
}
cd "$client"
npm ci --no-audit --no-fund --loglevel=error
npm run --silent build
