"""A simulcast Chromium sender recorded through PlainTransport consumers into ffmpeg while the
video consumer is switched between its streams: headless Chromium runs mediasoup-client v3
(npm) and produces its fake 720p camera as three VP8 encodings and its fake microphone as
opus; a PlainTransport consumer of each sends to an ffmpeg recorder (an SDP file, stream copy
into WebM, as mediasoup's recording FAQ does); the server moves the video consumer from the
top stream to the bottom one, the middle one and back while ffmpeg records. The result, as
JSON: each switch, and what ffmpeg made of the timestamps (fixed while recording, complaints
reading the file back, in the file's time base and on the frame-rate grid) and of the
frames.

Run inside a network namespace that has only ``lo`` (the pytest test does that):

    python -m tests.interop.chromium_simulcast_recording
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from playwright.async_api import async_playwright

import mediasoup_py
from benches.av_sync import analyse, free_udp_port, recording
from mediasoup_py import ffmpeg
from tests.interop.chromium_mediasoup_client import (
    PAGE,
    Signaling,
    browser_context,
    open_participant,
    page_server,
)
from tests.interop.chromium_webrtc import wait_until
from tests.interop.ffmpeg_peer import probe

# The camera as three VP8 simulcast encodings, as mediasoup-demo sends it, and the microphone.
PRODUCE_SIMULCAST_WITH_AUDIO = """
window.produceSimulcastWithAudio = async () => {
  const transport = await transportFor('send');
  window.sendTransport = transport;
  transport.on('produce', ({kind, rtpParameters}, callback, errback) => {
    window.signal('produce', {transportId: transport.id, kind, rtpParameters})
      .then(callback, errback);
  });
  const stream = await navigator.mediaDevices.getUserMedia(
    {video: {width: 1280, height: 720}, audio: true});
  const video = await transport.produce({
    track: stream.getVideoTracks()[0],
    encodings: [
      {rid: 'r0', scaleResolutionDownBy: 4, maxBitrate: 150000},
      {rid: 'r1', scaleResolutionDownBy: 2, maxBitrate: 500000},
      {rid: 'r2', scaleResolutionDownBy: 1, maxBitrate: 1500000},
    ],
    codecOptions: {videoGoogleStartBitrate: 1000},
  });
  const audio = await transport.produce({track: stream.getAudioTracks()[0]});
  return [video.id, audio.id];
};
"""
SENDER_PAGE = PAGE[: PAGE.rindex("</script>")] + PRODUCE_SIMULCAST_WITH_AUDIO + "</script>\n"
LOOPBACK = {"protocol": "udp", "ip": "127.0.0.1"}
# The streams the video consumer goes through while recording, 2.5 s on each.
SWITCHES = (2, 0, 1, 2)
SECONDS_PER_STREAM = 2.5
RECORD_SECONDS = SECONDS_PER_STREAM * len(SWITCHES) + 1


async def recording_scenario() -> dict[str, Any]:
    worker = await mediasoup_py.create_worker(rtc_min_port=47200, rtc_max_port=47299)
    try:
        router = await worker.create_router(
            media_codecs=[
                {"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2},
                {"kind": "video", "mimeType": "video/VP8", "clockRate": 90000},
            ]
        )
        signaling = Signaling(router)
        async with async_playwright() as playwright, browser_context(playwright) as browser:
            with page_server(SENDER_PAGE) as url:
                sender = await open_participant(browser, url, signaling)
                await sender.evaluate("window.produceSimulcastWithAudio()")
                producers = {producer.kind: producer for producer in signaling.producers}

                # Chromium sends its top stream once its bandwidth estimate allows.
                async def top_stream_flows() -> bool:
                    stats = await producers["video"].get_stats()
                    return len(stats) == 3 and all(entry["bitrate"] > 0 for entry in stats)

                await wait_until(top_stream_flows, "all three streams", timeout=60)
                streams = []
                consumers = {}
                for kind in ("video", "audio"):
                    transport = await router.create_plain_transport(listen_info=LOOPBACK)  # type: ignore[arg-type]
                    port = free_udp_port()
                    await transport.connect(ip="127.0.0.1", port=port)
                    consumers[kind] = await transport.consume(
                        producer_id=producers[kind].id,
                        rtp_capabilities=router.rtp_capabilities,
                        paused=True,
                        preferred_layers={"spatialLayer": SWITCHES[0], "temporalLayer": 2},
                    )
                    streams.append((kind, port, dict(consumers[kind].rtp_parameters)))
                video = consumers["video"]
                switches = []
                with tempfile.TemporaryDirectory() as directory:
                    sdp = ffmpeg.recorder_sdp(streams)
                    async with recording(
                        sdp, Path(directory), "out.webm", RECORD_SECONDS
                    ) as output:
                        for consumer in consumers.values():
                            await consumer.resume()
                        for spatial in SWITCHES:
                            await video.set_preferred_layers(
                                {"spatialLayer": spatial, "temporalLayer": 2}
                            )

                            async def on_it(spatial: int = spatial) -> bool:
                                layers = video.current_layers
                                return layers is not None and layers["spatialLayer"] == spatial

                            started = asyncio.get_running_loop().time()
                            await wait_until(on_it, f"spatial layer {spatial}", timeout=20)
                            switches.append(
                                {
                                    "spatialLayer": spatial,
                                    "seconds": asyncio.get_running_loop().time() - started,
                                }
                            )
                            await asyncio.sleep(SECONDS_PER_STREAM)
                    analysis = await analyse(output.path)
                    streams_found = await probe(output.path)
                fixed = [line for line in output.warnings if "DTS" in line or "PTS" in line]
                return {
                    "switches": switches,
                    "recorderFixes": fixed,
                    "readingComplaints": analysis.timestamp_complaints,
                    "frameRateComplaints": analysis.frame_rate_complaints,
                    "decodeErrors": analysis.decode_errors,
                    "streams": streams_found,
                    "consumerStats": (await video.get_stats())[0],
                }
    finally:
        worker.close()


def main() -> int:
    result = asyncio.run(asyncio.wait_for(recording_scenario(), 180))
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
