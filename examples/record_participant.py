"""Records a participant of a demo room to a WebM file, through PlainTransports and ffmpeg, as
mediasoup's recording FAQ describes: the demo's HTTP API makes a recorder (a broadcaster that
only consumes), plain RTP transports that send to ffmpeg, and paused consumers of the
participant's producers; ffmpeg listens as an SDP file tells it, then the consumers resume
(starting on a keyframe) and ffmpeg writes the streams without re-encoding, aligned by the
sender reports each consumer sends ahead of its first packet.

    python -m mediasoup_py.demo &
    python examples/record_participant.py --room demo --output alice.webm --seconds 30

By default it records the first participant that sends video; --peer picks one by id.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import socket
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

import aiohttp

from mediasoup_py import ffmpeg


async def call(session: aiohttp.ClientSession, method: str, url: str, body: Any = None) -> Any:
    async with session.request(method, url, json=body) as response:
        if response.status != 200:
            raise RuntimeError(f"{url}: {response.status} {await response.text()}")
        return await response.json()


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def record(url: str, room: str, peer_id: str | None, output: str, seconds: float) -> int:
    rooms = f"{url.rstrip('/')}/rooms/{room}"
    recorder = f"recorder-{uuid.uuid4().hex[:8]}"
    base = f"{rooms}/broadcasters/{recorder}"
    async with aiohttp.ClientSession() as session:
        peers = (await call(session, "GET", rooms))["peers"]
        target = next(
            (
                peer
                for peer in peers
                if (
                    peer["id"] == peer_id
                    if peer_id
                    else any(producer["kind"] == "video" for producer in peer["producers"])
                )
            ),
            None,
        )
        if target is None:
            print("nobody to record", file=sys.stderr)
            return 1
        await call(session, "POST", f"{rooms}/broadcasters", {"id": recorder})
        try:
            streams = []
            consumers = []
            for producer in target["producers"]:
                transport = await call(session, "POST", f"{base}/transports", {"rtcpMux": True})
                port = free_udp_port()
                await call(
                    session,
                    "POST",
                    f"{base}/transports/{transport['id']}/connect",
                    {"ip": "127.0.0.1", "port": port},
                )
                consumer = await call(
                    session,
                    "POST",
                    f"{base}/transports/{transport['id']}/consume?producerId={producer['id']}",
                )
                consumers.append(consumer["id"])
                streams.append((consumer["kind"], port, consumer["rtpParameters"]))
            with tempfile.TemporaryDirectory() as directory:
                sdp = Path(directory) / "input.sdp"
                sdp.write_text(ffmpeg.recorder_sdp(streams))
                process = await asyncio.create_subprocess_exec(
                    *ffmpeg.recorder_command(str(sdp), output, seconds)
                )
                # ffmpeg binds its ports after reading the SDP; the consumers resume (and
                # ask for a keyframe) once it listens.
                ports = {port for _, port, _ in streams}
                while not ports <= ffmpeg.udp_ports_of(process.pid):
                    if process.returncode is not None:
                        return process.returncode
                    await asyncio.sleep(0.05)
                for consumer_id in consumers:
                    await call(session, "POST", f"{base}/consumers/{consumer_id}/resume")
                print(f"recording {target['displayName']!r} to {output}", flush=True)
                try:
                    return await asyncio.wait_for(process.wait(), seconds + 15)
                except TimeoutError:
                    process.send_signal(signal.SIGINT)
                    return await process.wait()
        finally:
            await call(session, "DELETE", base)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080", help="the demo's URL")
    parser.add_argument("--room", default="demo")
    parser.add_argument("--peer", help="the participant's peer id (default: the first with video)")
    parser.add_argument("--output", default="recording.webm")
    parser.add_argument("--seconds", type=float, default=30)
    arguments = parser.parse_args()
    return asyncio.run(
        record(arguments.url, arguments.room, arguments.peer, arguments.output, arguments.seconds)
    )


if __name__ == "__main__":
    sys.exit(main())
