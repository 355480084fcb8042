"""consumer.explain(): a simulcast consumer that prefers the top layer while the producer
sends only its lowest is told so; a paused one is told it is paused; an audio consumer has
no layers to choose."""

from __future__ import annotations

import asyncio
from typing import Any

import mediasoup_py
from mediasoup_py import _core

VP8: Any = {"kind": "video", "mimeType": "video/VP8", "clockRate": 90000}
OPUS: Any = {"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2}


async def explanations() -> dict[str, Any]:
    worker = await mediasoup_py.create_worker()
    try:
        router = await worker.create_router(media_codecs=[VP8, OPUS])
        source = await router.create_direct_transport()
        producer = await source.produce(
            kind="video",
            rtp_parameters={
                "codecs": [{"mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000}],
                "encodings": [{"ssrc": 1001}, {"ssrc": 1002}, {"ssrc": 1003}],
            },
        )
        audio = await source.produce(
            kind="audio",
            rtp_parameters={
                "codecs": [
                    {
                        "mimeType": "audio/opus",
                        "payloadType": 100,
                        "clockRate": 48000,
                        "channels": 2,
                    }
                ],
                "encodings": [{"ssrc": 2001}],
            },
        )
        tap = await router.create_direct_transport()
        consumer = await tap.consume(
            producer_id=producer.id, rtp_capabilities=router.rtp_capabilities
        )
        audio_consumer = await tap.consume(
            producer_id=audio.id, rtp_capabilities=router.rtp_capabilities
        )
        # Only the lowest simulcast stream is sent: keyframes (P bit clear) at 30 fps.
        lowest = _core.FramePacketizer("video/VP8", 96, 1001, 0)
        for index in range(45):
            for packet in lowest.packetize(bytes(800), index * 3000, True):
                producer.send(packet)
            await asyncio.sleep(1 / 30)
        result = {"layers": await consumer.explain(), "audio": await audio_consumer.explain()}
        await consumer.pause()
        result["paused"] = await consumer.explain()
        return result
    finally:
        worker.close()


def test_explain_says_why_a_consumer_is_on_its_layers() -> None:
    result = asyncio.run(explanations())
    layers = result["layers"]
    assert layers["reason"] == "producer_layer_inactive", layers
    assert layers["currentLayers"]["spatialLayer"] == 0
    assert layers["producerActiveSpatialLayers"] == [0]
    assert "not sending spatial layer 2" in layers["sentence"]
    assert result["paused"]["reason"] == "paused"
    assert result["paused"]["sentence"] == "It sends nothing: the consumer is paused."
    assert result["audio"]["reason"] == "single_stream"
