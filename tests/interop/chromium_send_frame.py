"""A Python bot between ffmpeg and headless Chromium: ffmpeg streams VP8 into a
PlainTransport, a DirectTransport consumer's ``frames()`` hands the bot each frame, and the
bot publishes it again with ``send_frame`` from a DirectTransport producer; a Chromium page
running mediasoup-client consumes the bot's producer and decodes it. The result is the
page's decoder stats and the bot's counts, as JSON.

Run inside a network namespace that has only ``lo`` (the pytest test does that):

    python -m tests.interop.chromium_send_frame
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from playwright.async_api import async_playwright

import mediasoup_py
from tests.interop.chromium_mediasoup_client import (
    Signaling,
    browser_context,
    open_participant,
    page_server,
)
from tests.interop.chromium_webrtc import wait_until
from tests.interop.ffmpeg_peer import producer_parameters, rtp_output, send_test_media

VP8: Any = {"kind": "video", "mimeType": "video/VP8", "clockRate": 90000}
OPUS: Any = {"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2}


async def bot_scenario() -> dict[str, Any]:
    worker = await mediasoup_py.create_worker(rtc_min_port=47600, rtc_max_port=47699)
    sender = None
    try:
        router = await worker.create_router(media_codecs=[OPUS, VP8])
        signaling = Signaling(router)
        source = await router.create_plain_transport(
            listen_info={"protocol": "udp", "ip": "127.0.0.1"}, comedia=True
        )
        ffmpeg_producer = await source.produce(
            kind="video",
            rtp_parameters=producer_parameters("video"),  # type: ignore[arg-type]
        )
        tap = await router.create_direct_transport()
        consumer = await tap.consume(
            producer_id=ffmpeg_producer.id, rtp_capabilities=router.rtp_capabilities
        )
        outlet = await router.create_direct_transport()
        bot = await outlet.produce(
            kind="video",
            rtp_parameters={
                "codecs": [{"mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000}],
                "encodings": [{"ssrc": 424242}],
            },
        )
        relayed = 0

        async def relay() -> None:
            nonlocal relayed
            async for frame in consumer.frames():
                await bot.send_frame(frame.data, frame.rtp_timestamp, keyframe=frame.keyframe)
                relayed += 1

        relaying = asyncio.ensure_future(relay())
        sender = await send_test_media(
            rtp_output(source), ["-f", "null", "-"], seconds=30, size="320x240"
        )
        async with async_playwright() as playwright, browser_context(playwright) as browser:
            with page_server() as url:
                page = await open_participant(browser, url, signaling)
                await page.evaluate("(ids) => window.consume(ids)", [bot.id])

                async def decoding() -> bool:
                    video = (await page.evaluate("window.inbound()")).get("video", {})
                    return bool(video.get("framesDecoded", 0) >= 60)

                await wait_until(decoding, "the page to decode the bot's frames")
                video = (await page.evaluate("window.inbound()"))["video"]
        relaying.cancel()
        return {
            "video": {
                key: video.get(key)
                for key in ("framesDecoded", "frameWidth", "frameHeight", "framesDropped")
            },
            "relayed": relayed,
        }
    finally:
        if sender is not None and sender.returncode is None:
            sender.terminate()
            await sender.wait()
        worker.close()


def main() -> int:
    result = asyncio.run(asyncio.wait_for(bot_scenario(), 90))
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
