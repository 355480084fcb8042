"""The demo's WHIP and WHEP mounts and its /metrics: an aiortc publisher POSTs to the
demo's /whip/{room}, an aiortc viewer POSTs to /whep/{room} and decodes it, and /metrics
shows the room's traffic under its name."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import aioice.ice
import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import VideoStreamTrack

from tests.interop.aiortc_client import wait_for
from tests.interop.demo_browsers import start_demo
from tests.interop.test_metrics import sample


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])


async def negotiate(http: aiohttp.ClientSession, url: str, pc: RTCPeerConnection) -> str:
    await pc.setLocalDescription(await pc.createOffer())
    async with http.post(
        url, data=pc.localDescription.sdp, headers={"Content-Type": "application/sdp"}
    ) as response:
        assert response.status == 201, await response.text()
        await pc.setRemoteDescription(RTCSessionDescription(await response.text(), "answer"))
        return response.headers["Location"]


async def whip_whep_and_metrics() -> dict[str, Any]:
    server, runner, url = await start_demo()
    base = url.rstrip("/")
    publisher = RTCPeerConnection()
    publisher.addTransceiver(VideoStreamTrack(), direction="sendonly")
    viewer = RTCPeerConnection()
    viewer.addTransceiver("video", direction="recvonly")
    tracks: list[Any] = []
    viewer.on("track", tracks.append)
    try:
        async with aiohttp.ClientSession() as http:
            await negotiate(http, f"{base}/whip/lobby", publisher)
            await negotiate(http, f"{base}/whep/lobby", viewer)

            async def playing() -> bool:
                return viewer.connectionState == "connected" and bool(tracks)

            await wait_for(playing, "the WHEP viewer")
            frames = [await asyncio.wait_for(tracks[0].recv(), 10) for _ in range(5)]
            async with http.get(f"{base}/metrics") as response:
                metrics = await response.text()
        return {"frames": frames, "metrics": metrics}
    finally:
        await publisher.close()
        await viewer.close()
        await runner.cleanup()
        await server.close()


def test_the_demo_serves_whip_whep_and_metrics() -> None:
    result = asyncio.run(whip_whep_and_metrics())
    assert all(frame.width == 640 for frame in result["frames"])
    text = result["metrics"]
    assert sample(text, "mediasoup_py_transport_bytes_total", room="lobby", direction="in") > 0
    assert sample(text, "mediasoup_py_transport_bytes_total", room="lobby", direction="out") > 0
