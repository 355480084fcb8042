"""What the Python API costs a service per call, against what mediasoup's costs a Node
service, in one run: creating and closing a WebRtcTransport, producing and consuming VP8 on
one (then closing both), and a transport's stats. Both sides run the same operations on a
real worker, ``--calls`` calls per round, alternating A B A B for ``--repeats`` rounds;
the figure is the median of the rounds' per-call times. Writes
benches/results/api-costs-<date>.json and .md and prints the table.

    .venv/bin/python -m benches.api_costs --peers mediasoup
    .venv/bin/python -m benches.api_costs            # mediasoup_py alone

mediasoup's side is benches/peers/mediasoup_api_costs.mjs, run with the mediasoup that
benches/setup_peers.sh builds (cached). benches/test_api_costs.py times the same operations
with pytest-benchmark, to follow our own costs between changes.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

import mediasoup_py
from benches import rtpload_peer
from benches.io_bench import REPOSITORY
from benches.run import OURS, RESULTS, json_output, set_up_peers

# The forwarding benchmark's listen address and codecs.
LOOPBACK: Any = [rtpload_peer.LOOPBACK]
MEDIA_CODECS: Any = rtpload_peer.MEDIA_CODECS
VP8: Any = {
    "codecs": [{"mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000}],
    "encodings": [{"ssrc": 1111}],
}
NODE_SCRIPT = REPOSITORY / "benches" / "peers" / "mediasoup_api_costs.mjs"
# Bounds whatever the arguments say (the Node side has the same).
MAX_CALLS = 10_000
MAX_REPEATS = 100

Operation = Callable[[], Awaitable[Any]]


async def create_and_close_a_webrtc_transport(router: mediasoup_py.Router) -> None:
    transport = await router.create_webrtc_transport(listen_infos=LOOPBACK)
    transport.close()


async def produce_and_consume_vp8(
    router: mediasoup_py.Router, transport: mediasoup_py.WebRtcTransport
) -> None:
    producer = await transport.produce(kind="video", rtp_parameters=VP8)
    consumer = await transport.consume(
        producer_id=producer.id, rtp_capabilities=router.rtp_capabilities
    )
    consumer.close()
    producer.close()


async def transport_stats(transport: mediasoup_py.WebRtcTransport) -> None:
    await transport.get_stats()


async def operations(router: mediasoup_py.Router) -> dict[str, Operation]:
    """The operations compared, by the names both sides report, on ``router``."""
    transport = await router.create_webrtc_transport(listen_infos=LOOPBACK)
    return {
        "create and close a WebRtcTransport": lambda: create_and_close_a_webrtc_transport(router),
        "produce and consume VP8, close both": lambda: produce_and_consume_vp8(router, transport),
        "get a transport's stats": lambda: transport_stats(transport),
    }


async def measure_ours(calls: int) -> dict[str, float]:
    """Microseconds per call of each operation, one round, on a fresh worker."""
    worker = await mediasoup_py.create_worker(rtc_min_port=49500, rtc_max_port=49999)
    try:
        router = await worker.create_router(media_codecs=MEDIA_CODECS)
        per_call = {}
        for name, operation in (await operations(router)).items():
            start = time.perf_counter()
            for _ in range(calls):
                await operation()
            per_call[name] = 1e6 * (time.perf_counter() - start) / calls
        return per_call
    finally:
        worker.close()


def measure_mediasoup(calls: int, paths: dict[str, str]) -> dict[str, float]:
    """The same, one round, on mediasoup's worker from Node."""
    measured = json_output(
        ["node", str(NODE_SCRIPT), "--calls", str(calls), "--rounds", "1"],
        timeout=300,
        cwd=paths["MS_APP_DIR"],
        env={**os.environ, "MEDIASOUP_WORKER_BIN": paths["MEDIASOUP_WORKER_BIN"]},
    )
    return {name: rounds[0] for name, rounds in measured.items()}


def medians(rounds: Sequence[dict[str, float]]) -> dict[str, float]:
    return {name: statistics.median(one[name] for one in rounds) for name in rounds[0]}


def markdown(report: dict[str, Any]) -> str:
    names = list(report["per_call_us"])
    compared = int(len(names) > 1)
    lines = [
        f"# API costs per call, {report['date']}",
        "",
        f"{report['calls']} calls per round, {report['repeats']} rounds per implementation, "
        "alternating; medians, microseconds per call, on a real worker (127.0.0.1).",
        "",
        "| operation | " + " | ".join(names) + (" | ours / mediasoup |" if compared else " |"),
        "|---|" + "---|" * (len(names) + compared),
    ]
    for operation in report["per_call_us"][OURS]:
        figures = [f"{report['per_call_us'][name][operation]:.0f}" for name in names]
        row = f"| {operation} | " + " | ".join(figures)
        if compared:
            ours, theirs = (report["per_call_us"][name][operation] for name in names[:2])
            row += f" | {ours / theirs:.2f}"
        lines.append(row + " |")
    return "\n".join(lines) + "\n"


def main(arguments: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--peers", default="", help="mediasoup, or nothing for ours alone")
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--output-dir", type=Path, default=RESULTS)
    options = parser.parse_args(arguments)
    peers = [peer for peer in options.peers.split(",") if peer]
    if set(peers) - {"mediasoup"}:
        parser.error("the only peer here is mediasoup")
    calls = min(max(options.calls, 1), MAX_CALLS)
    repeats = min(max(options.repeats, 1), MAX_REPEATS)
    console = Console()
    paths = set_up_peers(peers, console)
    rounds: dict[str, list[dict[str, float]]] = {OURS: []}
    if paths is not None:
        rounds["mediasoup"] = []
    for repeat in range(repeats):
        rounds[OURS].append(asyncio.run(measure_ours(calls)))
        if paths is not None:
            rounds["mediasoup"].append(measure_mediasoup(calls, paths))
        console.print(f"round {repeat + 1}/{repeats} done")
    date = datetime.date.today().isoformat()
    report = {
        "date": date,
        "calls": calls,
        "repeats": repeats,
        "per_call_us": {name: medians(measured) for name, measured in rounds.items()},
        "rounds_us": rounds,
    }
    options.output_dir.mkdir(parents=True, exist_ok=True)
    stem = options.output_dir / f"api-costs-{date}"
    stem.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    text = markdown(report)
    stem.with_suffix(".md").write_text(text)
    table = Table(title="API costs, µs per call (medians)")
    table.add_column("operation")
    for name in report["per_call_us"]:
        table.add_column(name, justify="right")
    for operation in report["per_call_us"][OURS]:
        table.add_row(
            operation,
            *(f"{figures[operation]:.0f}" for figures in report["per_call_us"].values()),
        )
    console.print(table)
    console.print(f"wrote {stem}.json, {stem}.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
