#!/usr/bin/env bash
# Builds mediasoup_py's wheel and source distribution into DIR:
#   - one abi3 wheel (CPython >= 3.11) tagged manylinux_2_28, which `pip install` puts on any
#     x86_64 Linux with glibc 2.28 or newer and nothing else: OpenSSL is built from source and
#     linked statically (the binding's `vendored-openssl` feature, on in pyproject.toml), zig
#     compiles and links against glibc 2.28's symbols, and the demo's mediasoup-client bundle is
#     inside (Node.js builds it here; installing or running the wheel never needs Node.js);
#   - the sdist, which carries the bundle too, so `pip install mediasoup_py-*.tar.gz` builds the
#     same package wherever Rust, a C compiler, perl and make are present.
# Needs: cargo, Node.js with npm, Python >= 3.11 with venv, a C compiler, perl, make. The build
# tools (scripts/wheel-build-requirements.txt) come from PyPI into target/wheel-tools.
# Usage: bash scripts/build-wheel.sh DIR     (prints the wheel's path last)
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: bash scripts/build-wheel.sh DIR" >&2
  exit 2
fi
mkdir -p "$1"
out=$(cd "$1" && pwd)
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

bash scripts/bundle-demo-client.sh

tools=target/wheel-tools
requirements=scripts/wheel-build-requirements.txt
if [ ! -x "$tools/bin/maturin" ] || [ "$requirements" -nt "$tools/bin/maturin" ]; then
  "${PYTHON:-python3}" -m venv "$tools"
  "$tools/bin/python" -m pip install -q --disable-pip-version-check -r "$requirements"
  touch "$tools/bin/maturin"
fi

# maturin finds zig as `python3 -m ziglang`: the tools' python first.
export PATH="$repo/$tools/bin:$PATH"
# The wheel's name is fixed by its version and tags: replace a previous build of it.
rm -f "$out"/mediasoup_py-*.whl "$out"/mediasoup_py-*.tar.gz
"$tools/bin/maturin" build --release --locked --zig --compatibility manylinux_2_28 \
  --out "$out" --quiet
"$tools/bin/maturin" sdist --out "$out"
ls "$out"/mediasoup_py-*.whl
