#!/usr/bin/env bash
# The whole suite (tests/run-all.sh) on a loaded machine: a CPU-bound process pinned to one
# core (taskset) for the suite's whole duration, killed by its pid when the suite ends (or
# this script is stopped). Runs the suite RUNS times in a row (2 by default), stops at the
# first failure, and prints each run's time per step (from run-all.sh's step lines) and the
# total. Logs go to LOG_DIR (default: a new temporary directory).
# Usage: bash tests/run-under-load.sh [RUNS]
#   (environment passes to run-all.sh, e.g. MEDIASOUP_PY_SKIP_SETUP=1; LOAD_CPU picks the
#   core the load holds, 0 by default)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runs=${1:-2}
cpu=${LOAD_CPU:-0}
logs=${LOG_DIR:-$(mktemp -d -t run-under-load.XXXXXX)}
mkdir -p "$logs"
load_pid=""

stop_load() {
    if [ -n "$load_pid" ]; then
        kill "$load_pid" 2>/dev/null || true
        wait "$load_pid" 2>/dev/null || true
        load_pid=""
    fi
}
trap stop_load EXIT INT TERM

# Each step's duration: run-all.sh prints "==== STEP (Ns)" with N the seconds since it began;
# the last step (the one that failed, or "done") lasted until the run's end, $2 seconds in.
step_times() {
    awk -v total="$2" '/^==== .* \([0-9]+s\)$/ {
        seconds = $NF; gsub(/[()s]/, "", seconds)
        name = $0; sub(/^==== /, "", name); sub(/ \([0-9]+s\)$/, "", name)
        if (previous != "") printf "  %5ds  %s\n", seconds - started, previous
        previous = name; started = seconds
    }
    END { if (previous != "" && previous != "done") printf "  %5ds  %s\n", total - started, previous }' "$1"
}

for run in $(seq 1 "$runs"); do
    taskset -c "$cpu" sh -c 'while :; do :; done' &
    load_pid=$!
    log="$logs/run-$run.log"
    began=$(date +%s)
    status=0
    (cd "$repo" && bash tests/run-all.sh) >"$log" 2>&1 || status=$?
    stop_load
    took=$(($(date +%s) - began))
    echo "run $run of $runs: exit $status, $took s, one core held by a busy loop (cpu $cpu), load average $(cut -d' ' -f1-3 /proc/loadavg) at the end; log $log"
    step_times "$log" "$took"
    grep -E '^(=+ .*(passed|failed).* in .*=+)$' "$log" || true
    if [ "$status" != 0 ]; then
        grep -E '^(FAILED|ERROR) ' "$log" || tail -20 "$log"
        exit "$status"
    fi
done
