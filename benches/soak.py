"""A bounded soak: a conference of 20 participants, each sending VP8 video and opus audio at
real bitrates and receiving everyone else's, held for 10 minutes on one worker (plain RTP
through the load tool, as benches/run.py's conference points). Every 30 s it samples the
process's memory, descriptors and threads; at the end it prints their drift from the first
sample after warm-up, and the load tool's delivery and latency over the whole run, as JSON.

    .venv/bin/python -m benches.soak                       # 20 participants, 600 s
    .venv/bin/python -m benches.soak --participants 4 --seconds 60

A benchmark, not a test: it runs for minutes. Everything is on 127.0.0.1 and bounded.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Any

from benches.io_bench import LOADGEN, build_loadgen
from benches.run import (
    READY_TIMEOUT_SECONDS,
    Point,
    implementations,
    loadgen_arguments,
    read_ready_line,
    rss_bytes,
    start_peer,
    stop,
)

SAMPLE_SECONDS = 30.0
# Video: 60 packets/s of ~1200 bytes (about 600 kbps), with opus at 50/s.
VIDEO_PPS = 60


def sample(pid: int) -> dict[str, int | None]:
    def count(directory: str) -> int | None:
        try:
            return len(os.listdir(f"/proc/{pid}/{directory}"))
        except OSError:
            return None

    return {"rss": rss_bytes(pid), "descriptors": count("fd"), "threads": count("task")}


def soak(participants: int, seconds: float) -> dict[str, Any]:
    build_loadgen()
    point = Point("conference", participants, VIDEO_PPS)
    (ours, *_) = implementations((), None)
    peer = start_peer(ours, point, seconds)
    try:
        ready = read_ready_line(peer, READY_TIMEOUT_SECONDS)
        load = subprocess.Popen(
            [str(LOADGEN), *loadgen_arguments(point, ready, seconds)],
            stdout=subprocess.PIPE,
            text=True,
        )
        started = time.monotonic()
        deadline = started + seconds
        samples = [{"t": 0, **sample(ready["cpuPid"])}]
        while load.poll() is None and time.monotonic() < deadline:
            time.sleep(min(SAMPLE_SECONDS, max(0.0, deadline - time.monotonic())))
            elapsed = round(time.monotonic() - started)
            samples.append({"t": elapsed, **sample(ready["cpuPid"])})
        output, _ = load.communicate(timeout=60)
        report: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    finally:
        stop(peer)
    # The first sample after warm-up is the baseline the drift is measured from.
    baseline = samples[1] if len(samples) > 2 else samples[0]
    last = samples[-1]
    drift = {
        key: None if last[key] is None or baseline[key] is None else last[key] - baseline[key]
        for key in ("rss", "descriptors", "threads")
    }
    return {
        "participants": participants,
        "seconds": seconds,
        "forwardedPerSecond": report.get("received_pps"),
        "delivered": report.get("received_measured"),
        "sent": report.get("sent_measured"),
        "lost": report.get("lost"),
        "latencyMicros": report.get("latency_us"),
        "cpuPercent": report.get("cpu_percent"),
        "samples": samples,
        "drift": drift,
        "rssGrowthPercent": (
            None
            if drift["rss"] is None or not baseline["rss"]
            else round(100 * drift["rss"] / baseline["rss"], 2)
        ),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--participants", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=600)
    arguments = parser.parse_args()
    if not 0 < arguments.seconds <= 600:
        parser.error("--seconds: at most 600")
    print(json.dumps(soak(arguments.participants, arguments.seconds)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
