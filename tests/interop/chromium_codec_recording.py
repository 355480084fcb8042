"""mediasoup_py's recorder with a Chromium sender in VP9 or AV1: headless Chromium runs
mediasoup-client v3 (npm) and produces its fake camera in the codec asked for (one stream, or
``--layers svc``: three spatial layers, as mediasoup-demo sends VP9 and AV1) and its fake
microphone as opus; ``mediasoup_py.record`` writes both into WebM for ``--seconds``; ffprobe
reads the file while it grows and after, and every frame is decoded (VP9 with spatial layers
by libvpx, as browsers decode it). The result is JSON.

Run inside a network namespace that has only ``lo`` (the pytest test does that):

    python -m tests.interop.chromium_codec_recording --codec video/VP9 --seconds 10
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

from playwright.async_api import async_playwright

import mediasoup_py
from tests.interop.chromium_mediasoup_client import (
    PAGE,
    Signaling,
    browser_context,
    open_participant,
    page_server,
)
from tests.interop.chromium_webrtc import wait_until
from tests.interop.chromium_whep_recorder import ffprobe
from tests.interop.ffmpeg_peer import decode_errors

OPUS: Any = {"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2}
# The camera in the codec asked for (the device's capability of it, so mediasoup-client
# sends that one), one stream or three spatial layers, and the microphone.
PRODUCE_WITH_CODEC = """
window.produceWithCodec = async (mimeType, svc) => {
  const transport = await transportFor('send');
  window.sendTransport = transport;
  transport.on('produce', ({kind, rtpParameters}, callback, errback) => {
    window.signal('produce', {transportId: transport.id, kind, rtpParameters})
      .then(callback, errback);
  });
  const codec = window.device.rtpCapabilities.codecs.find(
    (candidate) => candidate.mimeType.toLowerCase() === mimeType.toLowerCase());
  const stream = await navigator.mediaDevices.getUserMedia(
    {video: {width: 640, height: 480}, audio: true});
  const video = await transport.produce({
    track: stream.getVideoTracks()[0],
    codec,
    encodings: svc ? [{scalabilityMode: 'L3T3_KEY'}] : undefined,
  });
  const audio = await transport.produce({track: stream.getAudioTracks()[0]});
  return [video.id, audio.id];
};
"""
SENDER_PAGE = PAGE[: PAGE.rindex("</script>")] + PRODUCE_WITH_CODEC + "</script>\n"


async def scenario(codec: str, svc: bool, seconds: float) -> dict[str, Any]:
    worker = await mediasoup_py.create_worker(rtc_min_port=47300, rtc_max_port=47399)
    try:
        router = await worker.create_router(
            media_codecs=[OPUS, {"kind": "video", "mimeType": codec, "clockRate": 90000}]
        )
        signaling = Signaling(router)
        async with async_playwright() as playwright, browser_context(playwright) as browser:
            with page_server(SENDER_PAGE) as url:
                sender = await open_participant(browser, url, signaling)
                await sender.evaluate(
                    "([codec, svc]) => window.produceWithCodec(codec, svc)", [codec, svc]
                )
                producers = {producer.kind: producer for producer in signaling.producers}
                sent = producers["video"].rtp_parameters["codecs"][0]["mimeType"]

                async def video_flows() -> bool:
                    stats = await producers["video"].get_stats()
                    return bool(stats) and stats[0]["packetCount"] > 30

                await wait_until(video_flows, "Chromium's video", timeout=30)
                with tempfile.TemporaryDirectory() as directory:
                    path = Path(directory) / "chromium.webm"
                    started = time.monotonic()
                    recorder = await mediasoup_py.record(
                        router, [producers["video"], producers["audio"]], path
                    )
                    await asyncio.sleep(seconds / 2)
                    while_writing = await ffprobe(path)
                    await asyncio.sleep(max(0.0, started + seconds - time.monotonic()))
                    await recorder.stop()
                    recorded = time.monotonic() - started
                    stats = recorder.stats()
                    after = await ffprobe(path)
                    # Spatial layers (VP9's superframes) decoded as a browser does.
                    decoder = "libvpx-vp9" if codec == "video/VP9" and svc else None
                    errors = (
                        await decode_errors(path, decoder) if path.exists() else "no file written"
                    )
        return {
            "sent": sent,
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
    parser.add_argument("--codec", choices=["video/VP9", "video/AV1"], required=True)
    parser.add_argument("--layers", choices=["single", "svc"], default="single")
    parser.add_argument("--seconds", type=float, default=10)
    arguments = parser.parse_args()
    run = scenario(arguments.codec, arguments.layers == "svc", arguments.seconds)
    result = asyncio.run(asyncio.wait_for(run, arguments.seconds + 90))
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
