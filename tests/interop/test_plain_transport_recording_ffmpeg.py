"""Recording through PlainTransports, as mediasoup's recording examples do: ffmpeg streams a
VP8 test pattern and an opus tone into PlainTransport producers, PlainTransport consumers send
them on to a second ffmpeg that writes them to a WebM file without re-encoding; ffprobe counts
the file's frames and ffmpeg then decodes all of them without an error."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

import mediasoup_py
from tests.interop.ffmpeg_peer import (
    decode_errors,
    free_udp_port,
    probe,
    producer_parameters,
    recorder_sdp,
    recording,
    rtp_output,
    send_test_media,
)

MEDIA_CODECS: list[dict[str, Any]] = [
    {"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2},
    {"kind": "video", "mimeType": "video/VP8", "clockRate": 90000},
]
SECONDS = 4
LOOPBACK = {"protocol": "udp", "ip": "127.0.0.1"}


async def record() -> dict[str, Any]:
    worker = await mediasoup_py.create_worker(rtc_min_port=47400, rtc_max_port=47499)
    try:
        router = await worker.create_router(media_codecs=MEDIA_CODECS)  # type: ignore[arg-type]
        inputs: dict[str, Any] = {}
        consumers: dict[str, mediasoup_py.Consumer] = {}
        streams = []
        for kind in ("video", "audio"):
            source = await router.create_plain_transport(listen_info=LOOPBACK, comedia=True)  # type: ignore[arg-type]
            producer = await source.produce(kind=kind, rtp_parameters=producer_parameters(kind))  # type: ignore[arg-type]
            inputs[kind] = source
            sink = await router.create_plain_transport(listen_info=LOOPBACK)  # type: ignore[arg-type]
            port = free_udp_port()
            await sink.connect(ip="127.0.0.1", port=port)
            consumer = await sink.consume(
                producer_id=producer.id, rtp_capabilities=router.rtp_capabilities, paused=True
            )
            consumers[kind] = consumer
            streams.append((kind, port, consumer.rtp_parameters))
        with tempfile.TemporaryDirectory() as directory:
            sdp = recorder_sdp(streams)  # type: ignore[arg-type]
            async with recording(sdp, Path(directory), "out.webm", SECONDS) as output:
                for consumer in consumers.values():
                    await consumer.resume()
                sender = await send_test_media(
                    rtp_output(inputs["video"]),
                    rtp_output(inputs["audio"]),
                    seconds=SECONDS + 2,
                    size="640x360",
                )
                try:
                    await asyncio.wait_for(sender.wait(), timeout=SECONDS + 20)
                finally:
                    if sender.returncode is None:
                        sender.terminate()
                        await sender.wait()
            streams_found = await probe(output)
            errors = await decode_errors(output)
            size = output.stat().st_size
        return {
            "streams": streams_found,
            "decodeErrors": errors,
            "size": size,
            "consumers": {kind: (await c.get_stats())[0] for kind, c in consumers.items()},
        }
    finally:
        worker.close()


def test_plain_transport_consumers_feed_an_ffmpeg_recording() -> None:
    result = asyncio.run(asyncio.wait_for(record(), 60))
    streams = {stream["codec_type"]: stream for stream in result["streams"]}
    video, audio = streams["video"], streams["audio"]
    assert (video["codec_name"], video["width"], video["height"]) == ("vp8", 640, 360)
    # About SECONDS of 30 fps video, every frame decodable from the first keyframe on.
    assert int(video["nb_read_frames"]) >= 25 * (SECONDS - 1), result
    assert audio["codec_name"] == "opus"
    assert int(audio["nb_read_frames"]) >= 40 * (SECONDS - 1), result
    assert result["decodeErrors"] == "", result["decodeErrors"]
    assert result["consumers"]["video"]["packetCount"] > 0
