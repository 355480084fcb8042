"""Recordings through mediasoup_py and through mediasoup, side by side: the same ffmpeg sender
(a flash and a beep at the same instants, benches/av_sync.py) into PlainTransport producers,
PlainTransport consumers into the same ffmpeg recorder, and for each file the timestamps
ffmpeg had to fix while recording, its complaints when reading the file back, and the offset
of each beep from its flash. ``direct`` is the sender recorded by the recorder with no SFU in
between: what the chain itself shows. Each recipe runs with the sender's reports reaching the
producers (an RTCP port per producer transport, as mediasoup's broadcaster example does) and
without (rtcp-mux: ffmpeg's RTCP, sent from another port, is dropped). Runs alternate
A B A B; writes benches/results/av-sync-<date>.json and .md and prints the table.

    .venv/bin/python -m benches.av_sync_check --peers mediasoup --repeats 3
    .venv/bin/python -m benches.av_sync_check            # mediasoup_py (and direct) alone

mediasoup's side is benches/peers/mediasoup_recording_peer.mjs with the mediasoup that
benches/setup_peers.sh builds (cached; MEDIASOUP_WORKER_BIN and MS_APP_DIR point at another).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import statistics
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from benches.av_sync import (
    MarkedRecording,
    Session,
    free_udp_port,
    mediasoup_py_session,
    record_marks,
)
from benches.io_bench import REPOSITORY
from benches.run import OURS, RESULTS, set_up_peers
from mediasoup_py import ffmpeg

NODE_SCRIPT = REPOSITORY / "benches" / "peers" / "mediasoup_recording_peer.mjs"
RECIPES = ("sender-reports", "rtcp-mux")
# mediasoup's comedia PlainTransport with rtcp-mux takes the source of the first datagram,
# RTP or RTCP, as its tuple (PlainTransport.cpp, OnRtcpDataReceived); ffmpeg sends a sender
# report from its RTCP port before its first RTP packet, so mediasoup drops all its media
# and the recorder never gets any: that recipe is not run through mediasoup.
NOT_RUN = {("mediasoup", "rtcp-mux")}
MAX_REPEATS = 20
READY_TIMEOUT_S = 60


@dataclass
class DirectSession:
    """No SFU: the sender sends to the recorder (RTCP too, on the same ports)."""

    streams: list[tuple[str, int, dict[str, Any]]]
    outputs: dict[str, list[str]]

    async def resume(self) -> None:
        pass

    async def close(self) -> None:
        pass


def direct_session(ports: dict[str, int]) -> DirectSession:
    return DirectSession(
        streams=[(kind, port, ffmpeg.producer_parameters(kind)) for kind, port in ports.items()],
        outputs={kind: ffmpeg.rtp_output("127.0.0.1", port) for kind, port in ports.items()},
    )


class MediasoupSession:
    """mediasoup's C++ worker through benches/peers/mediasoup_recording_peer.mjs."""

    def __init__(self, process: asyncio.subprocess.Process, ready: dict[str, Any]) -> None:
        self.process = process
        self.version = ready["mediasoupVersion"]
        self.streams = [(kind, 0, ready[kind]["rtpParameters"]) for kind in ("video", "audio")]
        self.outputs = {
            kind: ffmpeg.rtp_output(
                "127.0.0.1", ready[kind]["port"], rtcp_port=ready[kind]["rtcpPort"]
            )
            for kind in ("video", "audio")
        }

    @classmethod
    async def start(
        cls, ports: dict[str, int], sender_reports: bool, paths: dict[str, str]
    ) -> MediasoupSession:
        command = ["node", str(NODE_SCRIPT), "--max-seconds", "600"]
        for kind, port in ports.items():
            parameters = json.dumps(ffmpeg.producer_parameters(kind))
            command += [f"--{kind}-port", str(port), f"--{kind}-parameters", parameters]
        if not sender_reports:
            command.append("--rtcp-mux")
        process = await asyncio.create_subprocess_exec(
            *command,
            cwd=paths["MS_APP_DIR"],
            env={**os.environ, "MEDIASOUP_WORKER_BIN": paths["MEDIASOUP_WORKER_BIN"]},
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), READY_TIMEOUT_S)
        session = cls(process, json.loads(line))
        session.streams = [
            (kind, ports[kind], parameters) for kind, _, parameters in session.streams
        ]
        return session

    async def resume(self) -> None:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(b"resume\n")
        await self.process.stdin.drain()
        await asyncio.wait_for(self.process.stdout.readline(), READY_TIMEOUT_S)

    async def close(self) -> None:
        if self.process.returncode is None:
            self.process.terminate()
            await self.process.wait()


async def run_once(
    sfu: str, recipe: str, seconds: float, paths: dict[str, str] | None
) -> dict[str, Any]:
    """One recording through ``sfu`` with ``recipe``: its figures."""
    ports = {"video": free_udp_port(), "audio": free_udp_port()}
    sender_reports = recipe == "sender-reports"
    session: Session
    if sfu == OURS:
        session = await mediasoup_py_session(ports, sender_reports)
    elif sfu == "mediasoup":
        assert paths is not None
        session = await MediasoupSession.start(ports, sender_reports, paths)
    else:
        session = direct_session(ports)
    try:
        with tempfile.TemporaryDirectory() as directory:
            marked = await record_marks(session, Path(directory), seconds)
    finally:
        await session.close()
    version = session.version if isinstance(session, MediasoupSession) else None
    return {**figures(marked), "version": version}


def figures(marked: MarkedRecording) -> dict[str, Any]:
    analysis = marked.analysis
    return {
        "recorderFixes": len(marked.fixed_timestamps),
        "readingComplaints": len(analysis.timestamp_complaints),
        "frameRateComplaints": len(analysis.frame_rate_complaints),
        "decodeErrors": len(analysis.decode_errors),
        "marks": len(analysis.flashes),
        "offsetsMs": analysis.offsets_ms,
        "videoFrames": analysis.video_frames,
        "audioFrames": analysis.audio_frames,
        "messages": [
            *marked.fixed_timestamps,
            *analysis.timestamp_complaints,
            *analysis.frame_rate_complaints,
        ],
    }


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    offsets = [offset for run in runs for offset in run["offsetsMs"]]
    return {
        "runs": len(runs),
        "runsWithTimestampComplaints": sum(
            1
            for run in runs
            if run["recorderFixes"] or run["readingComplaints"] or run["frameRateComplaints"]
        ),
        "recorderFixes": sum(run["recorderFixes"] for run in runs),
        "readingComplaints": sum(run["readingComplaints"] for run in runs),
        "frameRateComplaints": sum(run["frameRateComplaints"] for run in runs),
        "decodeErrors": sum(run["decodeErrors"] for run in runs),
        "marksFound": sum(len(run["offsetsMs"]) for run in runs),
        "marksSent": sum(run["marks"] for run in runs),
        "offsetMsMedian": statistics.median(offsets) if offsets else None,
        "offsetMsMin": min(offsets, default=None),
        "offsetMsMax": max(offsets, default=None),
    }


def markdown(report: dict[str, Any]) -> str:
    lines = [
        f"# Recordings through the SFU: timestamps and A/V offset, {report['date']}",
        "",
        f"{report['seconds']} s recordings of ffmpeg's marked sender (a flash and a beep at the "
        f"same instants every 2 s), {report['repeats']} per SFU and recipe, alternating; "
        f"load average {report['loadAverage']} on {report['cpus']} CPUs. Complaints: "
        "timestamps ffmpeg fixed while recording (Non-monotonous DTS), timestamps out of order "
        "reading the file back in its own time base, and what `ffmpeg -i FILE -f null -` "
        "says (non monotonically increasing dts, video on its 30 fps grid). Offset: beep minus "
        "flash; 6.5 ms of it is opus's encoder delay, which the RTP recording does not tell the "
        "decoder to skip (`direct`: ffmpeg recording the sender with no SFU in between). "
        "mediasoup is not run with rtcp-mux: its comedia transport takes ffmpeg's first "
        "datagram, a sender report from ffmpeg's RTCP port, as the media's source, and drops "
        "the RTP that follows from the other port (nothing reaches the recorder).",
        "",
        "| SFU | sender reports | runs with complaints | fixed while recording | "
        "out of order reading | `-f null` complaints | marks found | "
        "offset ms median (min..max) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for entry in report["results"]:
        total = entry["summary"]
        offset = "-"
        if total["offsetMsMedian"] is not None:
            spread = f"{total['offsetMsMin']:.1f}..{total['offsetMsMax']:.1f}"
            offset = f"{total['offsetMsMedian']:.1f} ({spread})"
        reports = "delivered" if entry["recipe"] == "sender-reports" else "dropped (rtcp-mux)"
        lines.append(
            f"| {entry['sfu']} | {reports} | {total['runsWithTimestampComplaints']}/"
            f"{total['runs']} | {total['recorderFixes']} | {total['readingComplaints']} | "
            f"{total['frameRateComplaints']} | {total['marksFound']}/{total['marksSent']} | "
            f"{offset} |"
        )
    return "\n".join(lines) + "\n"


def main(arguments: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--peers", default="", help="mediasoup, or nothing for ours alone")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--output-dir", type=Path, default=RESULTS)
    options = parser.parse_args(arguments)
    peers = [peer for peer in options.peers.split(",") if peer]
    if set(peers) - {"mediasoup"}:
        parser.error("the only peer here is mediasoup")
    repeats = min(max(options.repeats, 1), MAX_REPEATS)
    console = Console()
    paths = set_up_peers(peers, console)
    sfus = [OURS, *(["mediasoup"] if paths is not None else [])]
    cells = [
        (sfu, recipe) for recipe in RECIPES for sfu in sfus if (sfu, recipe) not in NOT_RUN
    ] + [("direct", "sender-reports")]
    runs: dict[tuple[str, str], list[dict[str, Any]]] = {cell: [] for cell in cells}
    load_before = os.getloadavg()[0]
    for repeat in range(repeats):
        for sfu, recipe in cells:
            result = asyncio.run(run_once(sfu, recipe, options.seconds, paths))
            runs[(sfu, recipe)].append(result)
            console.print(
                f"{repeat + 1}/{repeats} {sfu} {recipe}: offsets {result['offsetsMs']} ms, "
                f"{result['recorderFixes']} fixed, {result['readingComplaints']} complaints"
            )
    load = f"{load_before:.1f}-{os.getloadavg()[0]:.1f}"
    date = datetime.date.today().isoformat()
    report = {
        "date": date,
        "seconds": options.seconds,
        "repeats": repeats,
        "loadAverage": load,
        "cpus": os.cpu_count(),
        "results": [
            {"sfu": sfu, "recipe": recipe, "summary": summary(cell_runs), "runs": cell_runs}
            for (sfu, recipe), cell_runs in runs.items()
        ],
    }
    options.output_dir.mkdir(parents=True, exist_ok=True)
    stem = options.output_dir / f"av-sync-{date}"
    stem.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    text = markdown(report)
    stem.with_suffix(".md").write_text(text)
    console.print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
