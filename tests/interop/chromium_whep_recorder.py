"""A Chromium sender (mediasoup-client: the fake camera as three VP8 simulcast encodings, and
the fake microphone) watched over WHEP by an aiortc viewer that decodes it, and recorded by
mediasoup_py's recorder for ``--seconds``: ffprobe reads the file while it grows and after.
The result is JSON.

Run inside a network namespace that has only ``lo`` (the pytest test does that):

    python -m tests.interop.chromium_whep_recorder --seconds 30
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import aioice.ice
from aiohttp import web
from aiortc import RTCPeerConnection, RTCSessionDescription
from playwright.async_api import async_playwright

import mediasoup_py
from mediasoup_py.whip import WhipEndpoint, add_aiohttp_routes
from tests.interop.chromium_mediasoup_client import (
    Signaling,
    browser_context,
    open_participant,
    page_server,
)
from tests.interop.ffmpeg_peer import decode_errors

OPUS: Any = {"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2}
VP8: Any = {"kind": "video", "mimeType": "video/VP8", "clockRate": 90000}


async def ffprobe(path: Path) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(
        *["ffprobe", "-v", "error", "-of", "json"],
        *["-show_entries", "stream=codec_name,start_time,width,height:format=duration"],
        str(path),
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await process.communicate()
    result: dict[str, Any] = json.loads(out or b"{}")
    return result


async def watch_over_whep(base: str) -> dict[str, Any]:
    """An aiortc viewer of the room: the size of the frames it decodes."""
    viewer = RTCPeerConnection()
    viewer.addTransceiver("video", direction="recvonly")
    viewer.addTransceiver("audio", direction="recvonly")
    tracks: dict[str, Any] = {}
    viewer.on("track", lambda track: tracks.setdefault(track.kind, track))
    try:
        await viewer.setLocalDescription(await viewer.createOffer())
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"{base}/whep/room",
                data=viewer.localDescription.sdp,
                headers={"Content-Type": "application/sdp"},
            ) as response,
        ):
            assert response.status == 201, await response.text()
            answer = await response.text()
        await viewer.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        for _ in range(200):
            if len(tracks) == 2:
                break
            await asyncio.sleep(0.05)
        video = [await asyncio.wait_for(tracks["video"].recv(), 15) for _ in range(30)]
        audio = [await asyncio.wait_for(tracks["audio"].recv(), 15) for _ in range(30)]
        return {
            "videoFrames": len(video),
            "videoSize": [video[-1].width, video[-1].height],
            "audioFrames": len(audio),
            "audioRate": audio[-1].sample_rate,
        }
    finally:
        await viewer.close()


async def scenario(seconds: float) -> dict[str, Any]:
    # aioice drops exactly "127.0.0.1" from host candidates; the namespace has only lo.
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]
    worker = await mediasoup_py.create_worker(rtc_min_port=47700, rtc_max_port=47799)
    try:
        router = await worker.create_router(media_codecs=[OPUS, VP8])
        signaling = Signaling(router)
        room_producers: list[Any] = []

        async def router_for(room: str) -> mediasoup_py.Router:
            return router

        endpoint = WhipEndpoint(
            router_for=router_for,
            listen_infos=[{"protocol": "udp", "ip": "127.0.0.1"}],
            producers_for=lambda room: room_producers,
        )
        app = web.Application()
        add_aiohttp_routes(app, endpoint)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        base = f"http://127.0.0.1:{port}"
        async with async_playwright() as playwright, browser_context(playwright) as browser:
            with page_server() as url:
                sender = await open_participant(browser, url, signaling)
                [video_id] = await sender.evaluate("() => window.produceLayered('simulcast')")
                [_, audio_id] = await sender.evaluate("() => window.produce()")
                video = router._objects.producers.get(video_id)
                audio = router._objects.producers.get(audio_id)
                assert video is not None
                assert audio is not None
                room_producers += [video, audio]
                whep = await watch_over_whep(base)
                with tempfile.TemporaryDirectory() as directory:
                    path = Path(directory) / "chromium.webm"
                    started = time.monotonic()
                    recorder = await mediasoup_py.record(router, [video, audio], path)
                    await asyncio.sleep(seconds / 2)
                    while_writing = await ffprobe(path)
                    await asyncio.sleep(max(0.0, started + seconds - time.monotonic()))
                    await recorder.stop()
                    recorded = time.monotonic() - started
                    after = await ffprobe(path)
                    errors = await decode_errors(path)
                    stats = recorder.stats()
        endpoint.close()
        await runner.cleanup()
        return {
            "whep": whep,
            "whileWriting": while_writing,
            "after": after,
            "recorded": recorded,
            "decodeErrors": errors,
            "recorder": stats,
        }
    finally:
        worker.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30)
    arguments = parser.parse_args()
    result = asyncio.run(asyncio.wait_for(scenario(arguments.seconds), arguments.seconds + 90))
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
