"""WHIP into a demo room that a Chromium tab watches: an aiortc publisher (a test pattern
and a tone) POSTs its offer to the demo's /whip/{room}; the demo makes it a participant of
the room, and a Chromium tab that joined the room (the demo page, mediasoup-client) shows
its tile and decodes its video. The result is JSON.

Run inside a network namespace that has only ``lo`` (the pytest test does that):

    python -m tests.interop.demo_whip_chromium
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import aiohttp
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack
from playwright.async_api import async_playwright

from mediasoup_py.demo.bot import include_loopback_candidates
from tests.interop.chromium_mediasoup_client import browser_context
from tests.interop.chromium_webrtc import wait_until
from tests.interop.demo_browsers import REMOTE_VIDEO, join, start_demo


async def scenario() -> dict[str, Any]:
    include_loopback_candidates()
    server, runner, url = await start_demo()
    publisher = RTCPeerConnection()
    publisher.addTransceiver(VideoStreamTrack(), direction="sendonly")
    publisher.addTransceiver(AudioStreamTrack(), direction="sendonly")
    try:
        async with async_playwright() as playwright, browser_context(playwright) as browser:
            page = await browser.new_page()
            await join(page, url, "viewer")
            await publisher.setLocalDescription(await publisher.createOffer())
            async with (
                aiohttp.ClientSession() as http,
                http.post(
                    f"{url.rstrip('/')}/whip/demo",
                    data=publisher.localDescription.sdp,
                    headers={"Content-Type": "application/sdp"},
                ) as response,
            ):
                assert response.status == 201, await response.text()
                answer = await response.text()
                location = response.headers["Location"]
            await publisher.setRemoteDescription(RTCSessionDescription(answer, "answer"))
            seen: dict[str, Any] = {}

            async def decoding() -> bool:
                remote = await page.evaluate(REMOTE_VIDEO)
                seen["remote"] = remote
                return bool(remote and remote["framesDecoded"] >= 30)

            await wait_until(decoding, "the tab to decode the WHIP publisher")
            status_while_publishing = server.status()
            async with (
                aiohttp.ClientSession() as http,
                http.delete(f"{url.rstrip('/')}{location}") as response,
            ):
                deleted = response.status

            async def tile_gone() -> bool:
                return bool(await page.evaluate("document.querySelectorAll('.tile').length") == 1)

            await wait_until(tile_gone, "the publisher's tile to go")
            status_after = server.status()
        return {
            "remote": seen["remote"],
            "status": status_while_publishing,
            "deleted": deleted,
            "statusAfter": status_after,
        }
    finally:
        await publisher.close()
        await runner.cleanup()
        await server.close()


def main() -> int:
    json.dump(asyncio.run(asyncio.wait_for(scenario(), 80)), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
