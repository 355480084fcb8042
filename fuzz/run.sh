#!/usr/bin/env bash
# Builds and runs the fuzz targets.
#   bash fuzz/run.sh ci            stable toolchain: build every target as a plain libFuzzer
#                                  binary, replay its committed corpus, then a short random run
#   bash fuzz/run.sh fuzz T SECS   coverage-guided run of target T for SECS seconds; the new
#                                  inputs that reach further are added to the committed corpus
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
case "${1:-ci}" in
  ci)
    cargo build --release --locked
    # Every target declared in Cargo.toml has its source in fuzz_targets/.
    targets=()
    for source in fuzz_targets/*.rs; do targets+=("$(basename "$source" .rs)"); done
    scratch=$(mktemp -d)
    trap 'rm -rf "$scratch"' EXIT
    for target in "${targets[@]}"; do
      mkdir -p "corpus/$target" "$scratch/$target"
      # New inputs go to the scratch directory (libFuzzer writes to the first one); every
      # committed input is executed first, then a bounded number of random mutations.
      if ! ./target/release/"$target" "$scratch/$target" "corpus/$target" -runs=20000 -seed=1 \
          >"$scratch/$target.log" 2>&1; then
        tail -n 30 "$scratch/$target.log" >&2
        echo "fuzz target $target failed" >&2
        exit 1
      fi
      echo "fuzz $target: $(grep -cE '^#' "$scratch/$target.log" || true) status lines, ok"
    done
    ;;
  fuzz)
    target=${2:?target}
    # The SanitizerCoverage instrumentation cargo-fuzz asks for, through rustc options that
    # are stable (no nightly toolchain on these machines; AddressSanitizer needs nightly, and
    # the targets are safe Rust with overflow checks and debug assertions on instead).
    export RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares -Cdebug-assertions -Coverflow-checks"
    # An explicit --target keeps the flags off build scripts, which run uninstrumented.
    host=$(rustc -vV | sed -n 's/^host: //p')
    cargo build --release --locked --target-dir target/coverage --target "$host" --bin "$target"
    binary=target/coverage/$host/release/$target
    scratch=$(mktemp -d)
    trap 'rm -rf "$scratch"' EXIT
    mkdir -p "corpus/$target" artifacts "$scratch/new"
    "$binary" "$scratch/new" "corpus/$target" -max_total_time="${3:-60}" -artifact_prefix=artifacts/ \
      -print_final_stats=1
    # Adds to the corpus the fewest new inputs that cover what the run reached beyond it.
    "$binary" -merge=1 "corpus/$target" "$scratch/new" >/dev/null 2>&1
    echo "fuzz $target: $(ls "corpus/$target" | wc -l) corpus inputs"
    ;;
  *) echo "usage: $0 ci | fuzz TARGET SECONDS" >&2; exit 2 ;;
esac
