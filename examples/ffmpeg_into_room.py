"""Streams a media file (or a test pattern and a tone) into a demo room with ffmpeg, as a
broadcaster: the demo's HTTP API creates two plain RTP transports and their producers, and
everyone in the room sees and hears it. The room must have someone in it (the HTTP API
creates no rooms).

    python -m mediasoup_py.demo &                         # the demo, on :8080
    python examples/ffmpeg_into_room.py --room demo --file movie.mp4 --seconds 60

Without --file it sends ffmpeg's test pattern and a 440 Hz tone. It leaves the room when
ffmpeg ends. A demo started with a token secret wants a broadcaster token:
``--token $(mediasoup-py token --secret-file S --room demo --peer ID --kind broadcaster)``
with ``--id ID``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid
from typing import Any

import aiohttp

from mediasoup_py import ffmpeg


async def post(session: aiohttp.ClientSession, url: str, body: dict[str, Any]) -> Any:
    async with session.post(url, json=body) as response:
        if response.status != 200:
            raise RuntimeError(f"{url}: {response.status} {await response.text()}")
        return await response.json()


async def broadcast(
    url: str,
    room: str,
    file: str | None,
    seconds: float,
    broadcaster: str | None = None,
    token: str | None = None,
) -> int:
    broadcaster = broadcaster or f"ffmpeg-{uuid.uuid4().hex[:8]}"
    base = f"{url.rstrip('/')}/rooms/{room}/broadcasters"
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession(headers=headers) as session:
        await post(session, base, {"id": broadcaster, "displayName": "ffmpeg"})
        try:
            outputs = {}
            for kind in ("video", "audio"):
                # Its own RTCP port: ffmpeg sends RTCP from another port than RTP, and its
                # sender reports are what lets receivers align video and audio.
                transport = await post(
                    session,
                    f"{base}/{broadcaster}/transports",
                    {"comedia": True, "rtcpMux": False},
                )
                await post(
                    session,
                    f"{base}/{broadcaster}/transports/{transport['id']}/producers",
                    {"kind": kind, "rtpParameters": ffmpeg.producer_parameters(kind)},
                )
                outputs[kind] = ffmpeg.rtp_output(
                    transport["ip"], transport["port"], rtcp_port=transport["rtcpPort"]
                )
            command = ffmpeg.sender_command(
                outputs["video"], outputs["audio"], file=file, seconds=seconds
            )
            print(f"streaming into room {room!r} as {broadcaster}", flush=True)
            process = await asyncio.create_subprocess_exec(
                *command, stdout=asyncio.subprocess.DEVNULL
            )
            return await process.wait()
        finally:
            async with session.delete(f"{base}/{broadcaster}"):
                pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080", help="the demo's URL")
    parser.add_argument("--room", default="demo")
    parser.add_argument("--file", help="a media file with video and audio (looped)")
    parser.add_argument("--seconds", type=float, default=3600, help="how long to stream")
    parser.add_argument("--id", help="the broadcaster id (default: ffmpeg-<random>)")
    parser.add_argument("--token", help="a broadcaster join token for that id")
    arguments = parser.parse_args()
    return asyncio.run(
        broadcast(
            arguments.url,
            arguments.room,
            arguments.file,
            arguments.seconds,
            arguments.id,
            arguments.token,
        )
    )


if __name__ == "__main__":
    sys.exit(main())
