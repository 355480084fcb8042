#!/usr/bin/env bash
# Forwarding, mediasoup_py against mediasoup's C++ worker, in the same run on this machine:
# each load point runs mediasoup then mediasoup_py (benches/rtpload_peer.py, set up as
# mediasoup's peer is: plain RTP, one producer, N consumers with header extensions) under the
# same load tool, and prints delivered packets per second, loss, latency and the forwarding
# process's CPU.
#
# The peer harness (a load tool that sends paced VP8-shaped RTP and receives on N ports, and
# the driver that starts a peer and runs it) and the mediasoup worker build are not part of
# this repository; point at them:
#   RUN_BENCH=<run_bench.sh of the peers harness> MEDIASOUP_WORKER_BIN=<mediasoup-worker> \
#   MS_APP_DIR=<dir with node_modules/mediasoup> RTPLOAD=<rtpload binary> \
#   bash benches/compare_mediasoup.sh ["10 5000" "50 2000" ...]
# Every run is bounded (6 s of load each).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
: "${RUN_BENCH:?path to the peers harness run_bench.sh}" "${MEDIASOUP_WORKER_BIN:?}" "${MS_APP_DIR:?}" "${RTPLOAD:?}"
export MEDIASOUP_WORKER_BIN MS_APP_DIR RTPLOAD
points=("$@")
[ "${#points[@]}" -gt 0 ] || points=("10 5000" "10 20000" "50 2000" "50 6000")
cd "$repo"
for point in "${points[@]}"; do
  read -r consumers pps <<<"$point"
  for peer in mediasoup mediasoup_py; do
    echo "=== $peer: $consumers consumers x $pps pps in"
    if [ "$peer" = mediasoup ]; then
      timeout 120 bash "$RUN_BENCH" mediasoup "$consumers" "$pps" 6
    else
      PEER_CMD="$repo/.venv/bin/python -m benches.rtpload_peer" \
        timeout 120 bash "$RUN_BENCH" cmd "$consumers" "$pps" 6
    fi | grep -E "recv_pps|lat_us|cpu_pct|seq_gaps"
  done
done
