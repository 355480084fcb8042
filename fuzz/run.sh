#!/usr/bin/env bash
# Builds and runs the fuzz targets.
#   bash fuzz/run.sh ci            stable toolchain: build every target as a plain libFuzzer
#                                  binary, replay its committed corpus, then a short random run
#   bash fuzz/run.sh fuzz T SECS   nightly + cargo-fuzz: coverage-guided run of target T
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
    cargo +nightly fuzz run "$2" "corpus/$2" -- -max_total_time="${3:-60}"
    ;;
  *) echo "usage: $0 ci | fuzz TARGET SECONDS" >&2; exit 2 ;;
esac
