#!/usr/bin/env bash
# Runs mediasoup-demo's own web app, unchanged, against this package's demo server, to try it
# by hand: builds the app from a mediasoup-demo checkout you provide (its `app/`, with npm and
# its gulpfile), starts `python -m mediasoup_py.demo` with TLS on port 4443 (where the app's
# urlFactory.js connects: wss://<the page's host>:4443/?roomId=R&peerId=P), serves the built
# app over https, and prints the URL to open in two tabs. Ctrl-C stops both servers.
# A tool, not a test: nothing in CI runs it, and nothing of mediasoup-demo enters this repo.
#
# Usage: bash scripts/try-mediasoup-demo-app.sh MEDIASOUP_DEMO_CHECKOUT
# Environment:
#   HOST=127.0.0.1            address of both servers (and of the media)
#   APP_PORT=3443             port of the app's page
#   WORK=$TMPDIR/try-mediasoup-demo-app   where the app is copied and built (the checkout is
#                             not written to)
#   MEDIASOUP_CLIENT=3.7.17   an npm version of mediasoup-client to build with, in place of
#                             the app's `github:versatica/mediasoup-client#v3` (for a machine
#                             that cannot reach GitHub; newer versions than the app's
#                             browserify can parse fail to bundle)
#   CERT=... KEY=...          a PEM certificate and key for HOST (default: a self-signed one,
#                             made here with openssl; the browser must accept it for both
#                             https://HOST:APP_PORT and https://HOST:4443)
#   PYTHON=.venv/bin/python   the Python that has mediasoup_py installed
set -euo pipefail
checkout=${1:?usage: bash scripts/try-mediasoup-demo-app.sh MEDIASOUP_DEMO_CHECKOUT}
[ -f "$checkout/app/lib/urlFactory.js" ] || {
  echo "try-mediasoup-demo-app: $checkout is not a mediasoup-demo checkout (no app/lib/urlFactory.js)" >&2
  exit 1
}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
host=${HOST:-127.0.0.1}
app_port=${APP_PORT:-3443}
work=${WORK:-${TMPDIR:-/tmp}/try-mediasoup-demo-app}
python=${PYTHON:-$repo/.venv/bin/python}
[ -x "$python" ] || python=python3
"$python" -c "import mediasoup_py" || {
  echo "try-mediasoup-demo-app: $python cannot import mediasoup_py (set PYTHON)" >&2
  exit 1
}

# The app's gulpfile writes its build to ../server/public: build a copy, not the checkout.
mkdir -p "$work"
rm -rf "$work/app" "$work/server"
cp -R "$checkout/app" "$work/app"
mkdir -p "$work/server"
cd "$work/app"
if [ -n "${MEDIASOUP_CLIENT:-}" ]; then
  npm pkg set "dependencies.mediasoup-client=$MEDIASOUP_CLIENT"
fi
# --legacy-peer-deps: one of the app's dependencies declares a peer range npm 11 refuses.
npm install --prefer-offline --no-audit --no-fund --loglevel=error --legacy-peer-deps
NODE_ENV=development npx gulp dist
public=$work/server/public
echo "try-mediasoup-demo-app: built the app with mediasoup-client" \
  "$(node -p "require('mediasoup-client/package.json').version")"

if [ -z "${CERT:-}" ]; then
  CERT=$work/cert.pem KEY=$work/key.pem
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 7 \
    -subj "/CN=$host" -addext "subjectAltName=IP:$host" \
    -keyout "$KEY" -out "$CERT" 2>/dev/null ||
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 7 \
      -subj "/CN=$host" -addext "subjectAltName=DNS:$host" \
      -keyout "$KEY" -out "$CERT" 2>/dev/null
fi

pids=()
stop() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop EXIT
trap 'exit 130' INT TERM

"$python" -m mediasoup_py.demo --host "$host" --port 4443 --rtc-ip "$host" \
  --cert "$CERT" --key "$KEY" --allowed-origin "https://$host:$app_port" &
pids+=($!)
"$python" - "$public" "$host" "$app_port" "$CERT" "$KEY" <<'EOF' &
import functools, http.server, ssl, sys
public, host, port, cert, key = sys.argv[1:]
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=public)
server = http.server.ThreadingHTTPServer((host, int(port)), handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
EOF
pids+=($!)
cat <<EOF
try-mediasoup-demo-app: open https://$host:$app_port/?roomId=try&info=true in two tabs
  (with a self-signed certificate, first accept it at https://$host:4443/ and at the page)
EOF
wait -n
