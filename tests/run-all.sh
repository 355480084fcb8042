#!/usr/bin/env bash
# The whole test suite, as CI runs it: set-up (idempotent; it builds the wheel once, with
# scripts/build-wheel.sh, and installs that wheel into .venv for everything after it), the wheel
# as a user gets it, Rust formatting, lints and tests, the fuzz targets (built and replayed over
# their committed corpora), Python lints/types and pytest, the packet path's instruction count
# against its baseline, and a brief run of the benchmark tools.
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

# The wheel the set-up built: its tags and contents, and in a fresh venv whose PATH has no
# cargo and no node, `pip install` of it and `mediasoup-py demo` called by two Chromium tabs;
# and the set-up itself run again (a no-op) and with apt's lock held.
step "the wheel in a fresh venv; the set-up again"
pytest tests/interop/test_wheel.py tests/test_setup_script.py

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
# The 25 slowest tests are listed at the end: where the suite's time goes.
pytest tests --ignore=tests/interop/test_wheel.py --ignore=tests/test_setup_script.py --durations=25

# The benchmark tools themselves, briefly (mediasoup_py alone and the bare forwarder, a few
# seconds each; benchmark loops run once): the figures come from `python -m benches.run`.
step "benches smoke"
pytest benches --benchmark-disable

step "done"
