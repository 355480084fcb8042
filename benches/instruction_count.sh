#!/usr/bin/env bash
# The per-packet path's instruction count, as a regression guard that a noisy machine cannot
# fool: callgrind counts the instructions of rust/core/examples/packet_path.rs (2000 SRTP video
# packets in, decrypted, routed by a router, whose transport's RTP listener finds the
# producer stream, and for each of ten consumers copied and encrypted; every 50 packets each
# receiving endpoint's RTCP through the router's RTCP dispatch). The guarded figure is what
# the program's own binary executes, inlined code included (benches/instruction_count.py;
# OpenSSL and libc pick their code paths by CPU, so their share differs between machines,
# ours does not): more than 10% above the committed baseline fails. `--update` writes a new
# baseline.
#   bash benches/instruction_count.sh [--update]
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
baseline_file="$repo/benches/instruction_count_baseline.txt"
copies=20000
cd "$repo"
cargo build -q --release --locked -p mediasoup-py-core --example packet_path
out=$(mktemp)
trap 'rm -f "$out"' EXIT
valgrind --tool=callgrind --callgrind-out-file="$out" target/release/examples/packet_path >/dev/null 2>&1
total=$(awk '/^summary:/ {print $2}' "$out")
own=$(python3 benches/instruction_count.py "$out" examples/packet_path)
echo "packet path: $own instructions in our code ($((own / copies)) per consumer copy), $total in all ($((total / copies)) per copy, OpenSSL and libc included)"
if [ "${1:-}" = "--update" ]; then
  echo "$own" >"$baseline_file"
  echo "baseline updated"
  exit 0
fi
baseline=$(cat "$baseline_file")
limit=$((baseline + baseline / 10))
echo "baseline: $baseline instructions in our code (limit $limit)"
if [ "$own" -gt "$limit" ]; then
  echo "the packet path's own code costs more than 10% above its baseline" >&2
  exit 1
fi
