#!/usr/bin/env bash
# The raw cost of the ciphers SRTP uses on this machine, from OpenSSL's own benchmark, as ns
# per 1200-byte block: the floor for SRTP protect of a 1200-byte payload (compare with
# `cargo bench -p mediasoup-py-core --bench srtp`, run at the same time of day).
# Usage: bash benches/openssl_speed.sh [seconds per algorithm, default 3]
set -euo pipefail
seconds="${1:-3}"
bytes=1200
printf '%-14s %12s\n' algorithm "ns/${bytes}B"
for algorithm in aes-128-gcm aes-256-gcm aes-128-ctr sha1; do
  # The last line is "<NAME> <rate>k": thousands of bytes per second.
  rate_k=$(openssl speed -evp "$algorithm" -bytes "$bytes" -seconds "$seconds" 2>/dev/null \
    | tail -n 1 | awk '{ sub(/k$/, "", $NF); print $NF }')
  awk -v name="$algorithm" -v rate="$rate_k" -v bytes="$bytes" \
    'BEGIN { printf "%-14s %12.1f\n", name, bytes / (rate * 1000) * 1e9 }'
done
