#!/usr/bin/env bash
# The whole test suite, as CI runs it: set-up (idempotent), Rust formatting, lints and tests,
# the fuzz targets (built and replayed over their committed corpora), the Python package build,
# Python lints/types and pytest, the packet path's instruction count against its baseline, and
# a brief run of the benchmark tools.
# Fails on the first failure.
# Usage: bash tests/run-all.sh   (MEDIASOUP_PY_SKIP_SETUP=1 skips the set-up step)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
started=$(date +%s)
step() { printf '\n==== %s (%ss)\n' "$1" "$(($(date +%s) - started))"; }

step "set-up"
# MEDIASOUP_PY_SKIP_SETUP=1 skips it, for a run inside a network namespace (which has no route
# to the package registries) on a machine already set up.
if [ "${MEDIASOUP_PY_SKIP_SETUP:-0}" != 1 ]; then bash .ci/setup.sh; fi
export PATH="$repo/.venv/bin:$PATH"

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test"
cargo test --workspace --locked

step "instruction count of the packet path (regression guard)"
bash benches/instruction_count.sh

step "fuzz targets: build, replay the corpora, short random runs"
bash fuzz/run.sh ci

step "python: ruff, mypy --strict"
ruff check python tests benches examples
ruff format --check python tests benches examples
mypy --strict python/mediasoup_py

step "pytest"
pytest tests

# The benchmark tools themselves, briefly (mediasoup_py alone and the bare forwarder, a few
# seconds each; benchmark loops run once): the figures come from `python -m benches.run`.
step "benches smoke"
pytest benches --benchmark-disable

step "done"
