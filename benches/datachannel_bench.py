"""DataChannel fan-out benchmark: one DataProducer to N DataConsumers over SCTP, mediasoup_py
against mediasoup's C++ worker in one run, under the same load.

Each implementation runs its benchmark peer in the ``datachannels`` scenario
(benches/rtpload_peer.py, benches/peers/mediasoup_peer.mjs): one WebRtcTransport with a
DataProducer on SCTP stream 0 (ordered, reliable) and N WebRtcTransports, each with a
DataConsumer of it. The load tool (rust/loadgen, ``mediasoup-datachannel-load``) connects to
every transport as a browser would (ICE, DTLS client, an SCTP association over DTLS from
sctp-proto, sending the INIT), sends ``--size``-byte binary messages at each offered rate on
the producer's stream, and counts what reaches each consumer's stream: delivery, reordering,
send-to-receive latency percentiles, the SFU process's CPU and the load tool's own threads'
CPU over the measured window (the first second is warm-up).

Points run rate by rate, each implementation in turn (A B A B). A rate is sustained when
every message reached every receiver (<= 0.1% lost) and the load tool's own SCTP never had
to refuse a send (its send buffer full: the SFU not acknowledging in time). The report gives
per implementation the highest sustained rate, the messages delivered per second there and
per core of the SFU process, CPU per delivered message at each rate, and the latency.

    .venv/bin/python -m benches.datachannel_bench --peers mediasoup
    .venv/bin/python -m benches.datachannel_bench --peers mediasoup --rates 1000,4000 --seconds 6
    .venv/bin/python -m benches.datachannel_bench --quick     # seconds, mediasoup_py alone

``--peers mediasoup`` sets mediasoup 3.27.1 up first (benches/setup_peers.sh, cached), or uses
MEDIASOUP_WORKER_BIN and MS_APP_DIR when both are set; without it mediasoup_py is measured
alone and the report says so. Writes benches/results/datachannels-<date>.json and .md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console

from benches.io_bench import LOADGEN, build_loadgen
from benches.run import (
    OURS,
    PAUSE_SECONDS,
    READY_TIMEOUT_SECONDS,
    RESULTS,
    WARMUP_SECONDS,
    Implementation,
    WebRtcClient,
    implementations,
    make_webrtc_client,
    number,
    read_ready_line,
    set_up_peers,
    stop,
)

DATACHANNEL_LOAD = LOADGEN.parent / "mediasoup-datachannel-load"
RATES = (500, 1000, 2000, 3000, 4000, 6000)
QUICK_RATES = (500,)
CONSUMERS = 10
MESSAGE_SIZE = 1024
# A run is sustained at <= 0.1% loss, no send refused by the load tool's SCTP, and a p99
# latency under the load tool's histogram top (200 ms; at it, a queue is growing).
MAX_LOSS_PERCENT = 0.1
UNBOUNDED_LATENCY_US = 200_000
# The load tool's own bounds on connecting and associating every transport.
CONNECT_SECONDS = 80
LONGEST_RUN_SECONDS = 600
# How mediasoup_py's worker threads are named (the kernel keeps 15 characters).
WORKER_THREAD_PREFIX = "mediasoup_py-wo"


def cpu_arguments(peer_pid: int, ready: dict[str, Any]) -> list[str]:
    """The load tool's CPU accounting, the same for both servers: the whole server (every
    process of it: mediasoup's worker and its Node process, which handles the worker's
    notifications as mediasoup_py's Python thread does), and apart its data plane
    (mediasoup's worker process, mediasoup_py's worker threads)."""
    server_pid = ready["cpuPid"]
    if "workerPid" in ready:
        pids, parts = {server_pid, peer_pid}, [str(ready["workerPid"])]
    else:
        pids, parts = {server_pid}, worker_threads(server_pid)
    arguments = [argument for pid in sorted(pids) for argument in ("--cpu-pid", str(pid))]
    return arguments + [argument for part in parts for argument in ("--cpu-part", str(part))]


def worker_threads(pid: int) -> list[str]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        if (task / "comm").read_text().startswith(WORKER_THREAD_PREFIX):
            found.append(f"{pid}/{task.name}")
    return sorted(found)


def peer_arguments(client: WebRtcClient, consumers: int, seconds: float) -> list[str]:
    fingerprint = f"{client.fingerprint['algorithm']}:{client.fingerprint['value']}"
    longest = READY_TIMEOUT_SECONDS + CONNECT_SECONDS + seconds + 30
    return [
        *("--scenario", "datachannels", "--webrtc", "--client-fingerprint", fingerprint),
        *("--consumers", str(consumers), "--max-seconds", str(longest)),
    ]


def write_peers_file(ready: dict[str, Any], client: WebRtcClient) -> Path:
    """The load tool's ``--peers`` file from the peer's ready line."""

    def transport(entry: dict[str, Any], stream_id: int) -> dict[str, Any]:
        return {
            "address": f"127.0.0.1:{entry['port']}",
            "usernameFragment": entry["usernameFragment"],
            "password": entry["password"],
            "fingerprint": entry["fingerprint"],
            "streamId": stream_id,
        }

    transports = ready["webrtcTransports"]
    [producer] = transports["producers"]
    peers = {
        "sender": transport(producer, ready["dataProducerStreamId"]),
        "receivers": [
            transport(entry, stream_id)
            for entry, stream_id in zip(
                transports["consumers"], ready["dataConsumerStreamIds"], strict=True
            )
        ],
    }
    path = client.directory / "datachannel-peers.json"
    path.write_text(json.dumps(peers))
    return path


def run_once(
    implementation: Implementation,
    rate: int,
    options: argparse.Namespace,
    client: WebRtcClient,
) -> dict[str, Any]:
    """One run: the peer set up, the load tool against it, the peer stopped; the load tool's
    report with the figures compared added."""
    peer = subprocess.Popen(
        [*implementation.command, *peer_arguments(client, options.consumers, options.seconds)],
        cwd=implementation.cwd,
        env=implementation.env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        ready = read_ready_line(peer, READY_TIMEOUT_SECONDS)
        command = [
            str(DATACHANNEL_LOAD),
            *("--webrtc-cert", str(client.certificate), "--webrtc-key", str(client.private_key)),
            *("--peers", str(write_peers_file(ready, client)), "--rate", str(rate)),
            *("--size", str(options.size), "--seconds", str(options.seconds)),
            *("--warmup", str(WARMUP_SECONDS), *cpu_arguments(peer.pid, ready)),
            *("--receiver-threads", str(options.receiver_threads)),
        ]
        load = subprocess.run(
            command, capture_output=True, text=True, timeout=options.seconds + CONNECT_SECONDS + 30
        )
        if load.returncode != 0:
            raise RuntimeError(
                f"the load tool failed at {rate}/s against {implementation.name}:"
                f" {load.stderr.strip()}"
            )
    finally:
        stop(peer)
    report: dict[str, Any] = json.loads(load.stdout)
    return {"implementation": implementation.name, "rate": rate, **figures(report), "load": report}


def figures(load: dict[str, Any]) -> dict[str, Any]:
    """The figures compared, from one load-tool report."""
    expected = load["sent_measured"] * load["receivers"]
    delivered = load["received_measured"]
    window = load["window_seconds"]
    cpu_seconds = load.get("cpu_seconds")
    data_plane_seconds = load.get("cpu_part_seconds")
    offered_measured = load["sent_measured"] + load["refused_measured"]
    loss_percent = 100 * (1 - delivered / expected) if expected else None
    refused_percent = 100 * load["refused_measured"] / offered_measured if offered_measured else 0
    latency = load["latency_us"]
    tool_threads = [load["sender_thread_cpu_seconds"], *load["receiver_threads_cpu_seconds"]]
    return {
        "delivered_per_second": load["received_per_second"],
        "loss_percent": loss_percent,
        "refused_percent": refused_percent,
        "sustained": loss_percent is not None
        and loss_percent <= MAX_LOSS_PERCENT
        and load["refused_measured"] == 0
        and latency["p99"] is not None
        and latency["p99"] < UNBOUNDED_LATENCY_US,
        "latency_p50_us": latency["p50"],
        "latency_p99_us": latency["p99"],
        "latency_p999_us": latency["p999"],
        "cpu_percent": load.get("cpu_percent"),
        "cpu_us_per_message": 1e6 * cpu_seconds / delivered if cpu_seconds and delivered else None,
        "data_plane_us_per_message": (
            1e6 * data_plane_seconds / delivered if data_plane_seconds and delivered else None
        ),
        "delivered_per_core_second": delivered / cpu_seconds if cpu_seconds else None,
        # The busiest of the load tool's threads: near 100 % it, not the SFU, is the limit.
        "load_tool_busiest_thread_percent": max(
            (100 * seconds / window for seconds in tool_threads if seconds is not None),
            default=None,
        ),
    }


MEDIAN_FIELDS = (
    "delivered_per_second",
    "loss_percent",
    "refused_percent",
    "latency_p50_us",
    "latency_p99_us",
    "latency_p999_us",
    "cpu_percent",
    "cpu_us_per_message",
    "data_plane_us_per_message",
    "delivered_per_core_second",
    "load_tool_busiest_thread_percent",
)


def summarize(runs: Sequence[dict[str, Any]], names: Sequence[str]) -> list[dict[str, Any]]:
    """Per rate and implementation: each figure's median over the repeats; sustained only if
    every repeat was."""
    rows = []
    for rate in sorted({run["rate"] for run in runs}):
        for name in names:
            mine = [run for run in runs if run["rate"] == rate and run["implementation"] == name]
            if not mine:
                continue
            row: dict[str, Any] = {"rate": rate, "implementation": name, "repeats": len(mine)}
            for key in MEDIAN_FIELDS:
                values = [run[key] for run in mine if run[key] is not None]
                row[key] = statistics.median(values) if values else None
            row["sustained"] = all(run["sustained"] for run in mine)
            rows.append(row)
    return rows


def saturation(rows: Sequence[dict[str, Any]], names: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Per implementation, its row at the highest rate it sustained (every lower rate too)."""
    found = {}
    for name in names:
        best = None
        for row in (row for row in rows if row["implementation"] == name):
            if not row["sustained"]:
                break
            best = row
        if best is not None:
            found[name] = best
    return found


def machine() -> dict[str, Any]:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cpu": f"{model} ({os.cpu_count()} cores)",
        "kernel": platform.release(),
        "loadavg": Path("/proc/loadavg").read_text().split()[:3],
    }


COLUMNS = (
    ("rate", "offered msg/s", 0),
    ("implementation", "implementation", None),
    ("delivered_per_second", "delivered msg/s", 0),
    ("loss_percent", "lost %", 3),
    ("refused_percent", "refused %", 2),
    ("latency_p50_us", "p50 µs", 0),
    ("latency_p99_us", "p99 µs", 0),
    ("latency_p999_us", "p99.9 µs", 0),
    ("cpu_percent", "SFU CPU %", 1),
    ("cpu_us_per_message", "CPU µs/msg", 2),
    ("data_plane_us_per_message", "data plane µs/msg", 2),
    ("delivered_per_core_second", "msg/s per core", 0),
    ("load_tool_busiest_thread_percent", "tool busiest thread %", 0),
    ("sustained", "sustained", None),
)


def markdown(report: dict[str, Any]) -> str:
    rows, names = report["summary"], [OURS, *report["peers_measured"]]
    lines = [
        f"# DataChannels: 1 DataProducer to {report['consumers']} DataConsumers over SCTP,"
        f" {report['size']}-byte messages ({report['date']})",
        "",
        f"- Machine: {report['machine']['cpu']}, Linux {report['machine']['kernel']};"
        f" load average {' '.join(report['load_before'])} before,"
        f" {' '.join(report['load_after'])} after (other sessions share the machine).",
        f"- Command: `{report['command']}`",
        f"- {report['seconds']:.0f} s per run (the first {WARMUP_SECONDS:.0f} s not measured),"
        f" {report['repeats']} repeats per rate and implementation, in turn; medians below.",
        "- Sustained: <= 0.1% of messages lost, no send refused by the load tool's SCTP"
        " (its send buffer, 16 MiB as a browser's, full) and p99 under 200 ms (the top of the"
        " load tool's latency histogram: at it, a queue is growing). SFU CPU is the whole"
        " server's over the measured window (mediasoup: its worker process and its Node process;"
        " mediasoup_py: its Python process, worker threads included), per message delivered"
        " to one receiver; data plane is mediasoup's worker process alone and mediasoup_py's"
        " worker threads alone.",
    ]
    if not report["peers_measured"]:
        lines.append("- mediasoup was not measured (run with `--peers mediasoup`): no ratios.")
    for failure in report["failures"]:
        lines.append(
            f"- FAILED: {failure['implementation']} at {failure['rate']}/s: {failure['error']}"
        )
    lines += ["", "| " + " | ".join(title for _, title, _ in COLUMNS) + " |"]
    lines.append("|" + "---|" * len(COLUMNS))
    for row in rows:
        cells = [
            str(row[key]) if digits is None else number(row[key], digits)
            for key, _, digits in COLUMNS
        ]
        lines.append("| " + " | ".join(cells) + " |")
    best = saturation(rows, names)
    lines += ["", "## Highest sustained rate", ""]
    for name in names:
        row = best.get(name)
        if row is None:
            lines.append(f"- {name}: no rate sustained")
            continue
        lines.append(
            f"- {name}: {row['rate']:,} msg/s offered, {number(row['delivered_per_second'])}"
            f" delivered/s, SFU CPU {number(row['cpu_percent'], 1)} %,"
            f" {number(row['delivered_per_core_second'])} delivered/s per core,"
            f" p50 {number(row['latency_p50_us'])} µs, p99 {number(row['latency_p99_us'])} µs"
        )
    ratio_lines = ratios(rows, report["peers_measured"])
    if ratio_lines:
        lines += ["", "## mediasoup_py / mediasoup at each rate both ran", "", *ratio_lines]
    return "\n".join(lines) + "\n"


def ratios(rows: Sequence[dict[str, Any]], peers: Sequence[str]) -> list[str]:
    by_key = {(row["rate"], row["implementation"]): row for row in rows}
    lines = []
    for peer in peers:
        lines += [
            "| offered msg/s | CPU µs/msg | data plane µs/msg | msg/s per core | p50 | p99 |",
            "|---|---|---|---|---|---|",
        ]
        for (rate, name), ours in by_key.items():
            theirs = by_key.get((rate, peer))
            if name != OURS or theirs is None:
                continue

            def ratio(
                key: str, ours: dict[str, Any] = ours, theirs: dict[str, Any] = theirs
            ) -> str:
                if not ours[key] or not theirs[key]:
                    return "-"
                return f"{ours[key] / theirs[key]:.2f}"

            lines.append(
                f"| {rate:,} | {ratio('cpu_us_per_message')} |"
                f" {ratio('data_plane_us_per_message')} |"
                f" {ratio('delivered_per_core_second')} | {ratio('latency_p50_us')} |"
                f" {ratio('latency_p99_us')} |"
            )
    return lines


def main(arguments: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--peers", default="", help="mediasoup, or nothing (mediasoup_py alone)")
    parser.add_argument("--rates", help="offered messages/s, comma-separated")
    parser.add_argument("--consumers", type=int, default=CONSUMERS)
    parser.add_argument("--size", type=int, default=MESSAGE_SIZE, help="message bytes")
    parser.add_argument("--seconds", type=float, help="per run (default 6; 2 with --quick)")
    parser.add_argument("--repeats", type=int, help="runs per rate and implementation")
    parser.add_argument("--receiver-threads", type=int, default=1, help="the load tool's")
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--output-dir", type=Path, default=RESULTS)
    options = parser.parse_args(arguments)
    peers = [peer for peer in options.peers.split(",") if peer]
    if set(peers) - {"mediasoup"}:
        parser.error("--peers takes mediasoup only")
    rates = [int(rate) for rate in options.rates.split(",")] if options.rates else None
    rates = rates or list(QUICK_RATES if options.quick else RATES)
    options.seconds = min(options.seconds or (2.0 if options.quick else 6.0), LONGEST_RUN_SECONDS)
    if options.seconds <= WARMUP_SECONDS:
        parser.error(f"--seconds must be above the {WARMUP_SECONDS:.0f} s warm-up")
    repeats = options.repeats or (1 if options.quick else 2)
    console = Console(width=None if sys.stdout.isatty() else 180)

    build_loadgen()
    chosen = [
        implementation
        for implementation in implementations(peers, set_up_peers(peers, console))
        if "webrtc" in implementation.modes
    ]
    names = [implementation.name for implementation in chosen]
    if len(chosen) == 1:
        console.print("[bold]No peers: measuring mediasoup_py alone (no ratios).[/bold]")
    load_before = machine()["loadavg"]
    runs: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="benches-datachannels-") as directory:
        client = make_webrtc_client(Path(directory))
        for rate in rates:
            for _ in range(repeats):
                for implementation in chosen:
                    try:
                        run = run_once(implementation, rate, options, client)
                    except (RuntimeError, subprocess.SubprocessError) as error:
                        if implementation.name == OURS:
                            raise
                        failures.append(
                            {
                                "implementation": implementation.name,
                                "rate": rate,
                                "error": str(error),
                            }
                        )
                        console.print(f"{rate:>7}/s {implementation.name:<13} FAILED: {error}")
                        continue
                    runs.append(run)
                    console.print(
                        f"{rate:>7}/s {implementation.name:<13}"
                        f" delivered {number(run['delivered_per_second']):>9}/s"
                        f"  lost {number(run['loss_percent'], 3):>7} %"
                        f"  refused {number(run['refused_percent'], 2):>6} %"
                        f"  p50 {number(run['latency_p50_us']):>6} µs"
                        f"  p99 {number(run['latency_p99_us']):>6} µs"
                        f"  CPU {number(run['cpu_percent'], 1):>5} %"
                        f"  {number(run['cpu_us_per_message'], 2):>6} µs/msg"
                        f" (data plane {number(run['data_plane_us_per_message'], 2)})"
                        f"  tool {number(run['load_tool_busiest_thread_percent'])} %"
                    )
                    time.sleep(PAUSE_SECONDS)
    date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")
    report = {
        "date": date,
        "machine": machine(),
        "load_before": load_before,
        "load_after": machine()["loadavg"],
        "command": " ".join(
            [".venv/bin/python -m benches.datachannel_bench", *(arguments or sys.argv[1:])]
        ),
        "consumers": options.consumers,
        "size": options.size,
        "seconds": options.seconds,
        "repeats": repeats,
        "peers_measured": names[1:],
        "summary": summarize(runs, names),
        "failures": failures,
        "runs": runs,
    }
    options.output_dir.mkdir(parents=True, exist_ok=True)
    stem = options.output_dir / f"datachannels-{date}"
    stem.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n")
    stem.with_suffix(".md").write_text(markdown(report))
    console.print(markdown(report))
    console.print(f"wrote {stem.with_suffix('.json')}, {stem.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
