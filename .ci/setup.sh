#!/usr/bin/env bash
# Sets a clone up, idempotently, on a Debian 12 machine with Rust and Python >= 3.11 (root or
# sudo for apt-get), one line per step (each step's output goes to target/setup-logs/; a failing
# step prints the end of its log).
#
#   bash .ci/setup.sh demo   what the demo needs: the build tools from Debian (Node.js and npm
#                            when missing, make, perl), the wheel (scripts/build-wheel.sh
#                            target/wheels: the mediasoup-client bundle, OpenSSL built in,
#                            manylinux_2_28) and .venv with that wheel and its [demo] extra.
#   bash .ci/setup.sh test   (the default) that, and what the tests need: Debian's OpenSSL
#                            headers and pkg-config (cargo test links the system OpenSSL), a C++
#                            compiler (the fuzz targets' libFuzzer), ffmpeg, chromium (driven by
#                            Playwright), firefox-esr (driven by puppeteer-core from npm),
#                            iproute2 (network namespaces), valgrind (instruction counts),
#                            redis-server (the cluster tests start their own) and curl (they
#                            ask each node what it holds); Janus (benches/test_run.py runs a
#                            WebRTC fan-out through it); GStreamer's WebRTC, VP8, H.264 and
#                            opus plugins, Debian's simple-whip-client (Meetecho's GStreamer
#                            WHIP client) and Debian's libnice built again without UPnP for it
#                            (see libnice_without_upnp below; deb-src lines for bookworm in
#                            /etc/apt/sources.list.d/mediasoup-py-deb-src.sources, meson,
#                            ninja); rustfmt and clippy;
#                            mediasoup-client 2.x bundled for the v2 example; protoo-client and
#                            mediasoup-client bundled for the protoo tests; the [test] and
#                            [cluster] extras in .venv; and the wheel's dependencies
#                            in target/wheels/deps, so the wheel test installs it offline.
#
# apt-get waits up to 10 minutes for the package manager's lock (another apt or dpkg running,
# first-boot upgrades) instead of failing (scripts/apt-install.sh). A second run changes
# nothing and reaches no network.
set -euo pipefail

mode=${1:-test}
case "$mode" in
  demo | test) ;;
  *)
    echo "usage: bash .ci/setup.sh [demo|test]" >&2
    exit 2
    ;;
esac

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
logs=$repo/target/setup-logs
mkdir -p "$logs"

# step NAME COMMAND...: runs COMMAND with its output in target/setup-logs/NAME.log and prints
# one line saying what happened (COMMAND's last line of output to fd 3, if any, or "done").
step() {
  local name=$1 log=$logs/$1.log started=$SECONDS note
  shift
  printf 'setup: %s ... ' "$name"
  # In a subshell of its own, not in an `if`, so that errexit applies inside the step.
  set +e
  (
    set -e
    "$@"
  ) >"$log" 2>&1 3>"$log.note"
  local status=$?
  set -e
  if [ "$status" -ne 0 ]; then
    printf 'FAILED; the end of %s:\n' "$log"
    tail -n 40 "$log" >&2
    exit 1
  fi
  note=$(tail -n 1 "$log.note")
  printf '%s (%ss)\n' "${note:-done}" "$((SECONDS - started))"
}
say() { echo "$*" >&3; }

debian_packages() {
  local output
  output=$(bash scripts/apt-install.sh "$@")
  echo "$output"
  say "${output##*$'\n'}"
}

build_packages=(make perl)
command -v npm >/dev/null || build_packages+=(nodejs npm)
python=${PYTHON:-python3}
"$python" -c 'import ensurepip' 2>/dev/null || build_packages+=(python3-venv)
test_packages=(libssl-dev pkg-config g++ ffmpeg chromium firefox-esr iproute2 valgrind redis-server curl
  gstreamer1.0-nice gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly simple-whip-client dpkg-dev meson ninja-build libglib2.0-dev
  libgnutls28-dev nftables janus)
# Debian's source packages for bookworm (libnice_without_upnp below builds one), written before
# the packages step so that a fresh machine's one `apt-get update` fetches their lists too.
deb_src_list=/etc/apt/sources.list.d/mediasoup-py-deb-src.sources
debian_sources() {
  if [ -f "$deb_src_list" ]; then
    say "$deb_src_list present"
    return 0
  fi
  printf '%s\n' "Types: deb-src" "URIs: http://deb.debian.org/debian" "Suites: bookworm" \
    "Components: main" "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg" |
    "${sudo_cmd[@]}" tee "$deb_src_list"
  say "added $deb_src_list"
}
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

if [ "$mode" = test ]; then
  step "debian-sources" debian_sources
  step "debian-packages" debian_packages "${build_packages[@]}" "${test_packages[@]}"
else
  step "debian-packages" debian_packages "${build_packages[@]}"
fi

command -v cargo >/dev/null || {
  echo "setup: cargo (Rust) is required: https://rustup.rs" >&2
  exit 1
}

wheel_dir=target/wheels
build_wheel() {
  local wheel
  wheel=$(bash scripts/build-wheel.sh "$wheel_dir" | tail -n 1)
  say "$wheel"
}
step "wheel" build_wheel
wheel=$(ls "$wheel_dir"/mediasoup_py-*.whl)

python_environment() {
  if [ -x .venv/bin/python ]; then
    say "exists"
    return 0
  fi
  "$python" -m venv .venv
  say "created"
}
step "venv" python_environment

# The wheel goes into .venv again only when what it carries changed (same version, new build):
# its RECORD lists every file's digest (the archive itself differs in timestamps, and so does
# the SBOM maturin writes, which is left out).
install_wheel() {
  local extras=$1 stamp=.venv/mediasoup_py-wheel.sha256 digest note="up to date"
  digest=$("$python" -c 'import sys, zipfile, hashlib
archive = zipfile.ZipFile(sys.argv[1])
record = next(name for name in archive.namelist() if name.endswith(".dist-info/RECORD"))
lines = [line for line in archive.read(record).splitlines() if b"/sboms/" not in line]
print(hashlib.sha256(b"\n".join(lines)).hexdigest())' "$wheel")
  if [ "$(cat "$stamp" 2>/dev/null)" != "$digest" ]; then
    .venv/bin/python -m pip install -q --disable-pip-version-check --force-reinstall \
      --no-deps "$wheel"
    echo "$digest" >"$stamp"
    note="installed $(basename "$wheel")"
  fi
  # Its dependencies and the extras' (nothing to do, and no network, when they are there).
  .venv/bin/python -m pip install -q --disable-pip-version-check "$wheel[$extras]"
  say "$note [$extras]"
}

if [ "$mode" = demo ]; then
  step "install" install_wheel demo
  exit 0
fi

rust_components() {
  if rustup component list --installed 2>/dev/null | grep -q '^clippy'; then
    if rustup component list --installed 2>/dev/null | grep -q '^rustfmt'; then
      say "rustfmt and clippy present"
      return 0
    fi
  fi
  rustup component add rustfmt clippy
}
step "rust-components" rust_components

# npm projects the tests use: DIR, then a file or directory that is stale when older than the
# lock file, then the command that builds it.
npm_project() {
  local dir=$1 product=$2
  shift 2
  if [ -e "$product" ] && [ "$product" -nt "$dir/package-lock.json" ]; then
    say "up to date"
    return 0
  fi
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error && "$@")
  touch "$product"
}
step "firefox-driver" npm_project tests/interop/firefox \
  tests/interop/firefox/node_modules/puppeteer-core env PUPPETEER_SKIP_DOWNLOAD=1 true
step "v2-client-bundle" npm_project examples/v2_room/client \
  examples/v2_room/static/mediasoup-client-v2.js npm run --silent build
step "protoo-client-bundle" npm_project tests/interop/protoo \
  tests/interop/protoo/bundle.js npm run --silent build

step "install" install_wheel "test,demo,cluster"

# Debian 12's simple-whip-client, which the WHIP interop test publishes with, links libsoup2,
# while Debian's libnice links libsoup3 (UPnP through gupnp-igd and gupnp): a process with both
# aborts ("libsoup2 symbols detected") as soon as webrtcbin loads libnice. So Debian's libnice
# source package, the version of the installed libnice10 (ABI of GStreamer's nice plugin), is
# built again with UPnP disabled into a directory of its own; the test runs the client alone
# with LD_LIBRARY_PATH there. Rebuilt only when Debian's libnice10 version changes.
libnice_without_upnp=/usr/local/lib/mediasoup-py-test/libnice-noupnp
libnice_without_upnp_build() {
  local version work
  version=$(dpkg-query -W -f='${Version}' libnice10)
  if [ "$(cat "$libnice_without_upnp/debian-version" 2>/dev/null)" = "$version" ]; then
    say "libnice $version without UPnP present"
    return 0
  fi
  # The source lists come with the first `apt-get update` after debian-sources added them.
  apt-cache showsrc libnice 2>/dev/null | grep -x "Version: $version" >/dev/null ||
    bash scripts/apt-install.sh --update
  work=$(mktemp -d)
  chmod 755 "$work" # apt-get source downloads as _apt
  (cd "$work" && apt-get source -q "libnice=$version")
  meson setup "$work/build" "$work"/libnice-*/ --buildtype=release \
    --prefix="$libnice_without_upnp" --libdir=lib -Dgupnp=disabled -Dgstreamer=disabled \
    -Dintrospection=disabled -Dtests=disabled -Dexamples=disabled -Dcrypto-library=gnutls
  ninja -C "$work/build"
  "${sudo_cmd[@]}" rm -rf "$libnice_without_upnp"
  "${sudo_cmd[@]}" meson install -C "$work/build"
  echo "$version" | "${sudo_cmd[@]}" tee "$libnice_without_upnp/debian-version"
  rm -rf "$work"
  say "built libnice $version without UPnP"
}
step "libnice-without-upnp" libnice_without_upnp_build

# maturin in .venv, for `maturin develop` while working on the Rust code.
dev_tools() {
  .venv/bin/python -m pip install -q --disable-pip-version-check "maturin>=1.8,<2"
  say "maturin $(.venv/bin/maturin --version | cut -d' ' -f2)"
}
step "dev-tools" dev_tools

# What the wheel pulls from PyPI, kept here so that the wheel test installs it into a fresh
# venv as a user would (`pip install mediasoup_py-*.whl`, with its [demo] extra) without a
# network: the tests run in network namespaces.
wheel_dependencies() {
  local deps=$wheel_dir/deps
  if [ -f "$deps/complete" ] && [ "$deps/complete" -nt pyproject.toml ]; then
    say "up to date"
    return 0
  fi
  rm -rf "$deps"
  .venv/bin/python -m pip download -q --disable-pip-version-check --only-binary=:all: \
    --dest "$deps" "$wheel[demo]"
  rm -f "$deps"/mediasoup_py-*.whl
  touch "$deps/complete"
  say "$(find "$deps" -name '*.whl' | wc -l) wheels"
}
step "wheel-dependencies" wheel_dependencies
