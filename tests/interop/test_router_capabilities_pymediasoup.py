"""pymediasoup (a Python port of mediasoup-client we did not write) loads a router's RTP
capabilities and can then produce audio and video with them."""

from __future__ import annotations

import asyncio

from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack
from pymediasoup import Device
from pymediasoup.handlers.aiortc_handler import AiortcHandler
from pymediasoup.rtp_parameters import RtpCapabilities

import mediasoup_py

MEDIA_CODECS = [
    {"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2},
    {"kind": "video", "mimeType": "video/VP8", "clockRate": 90000},
    {
        "kind": "video",
        "mimeType": "video/H264",
        "clockRate": 90000,
        "parameters": {"packetization-mode": 1, "profile-level-id": "42e01f"},
    },
]


async def load_device() -> dict[str, object]:
    worker = await mediasoup_py.create_worker(rtc_min_port=45100, rtc_max_port=45199)
    try:
        router = await worker.create_router(media_codecs=MEDIA_CODECS)  # type: ignore[arg-type]
        device = Device(
            handlerFactory=AiortcHandler.createFactory(
                tracks=[AudioStreamTrack(), VideoStreamTrack()]
            )
        )
        await device.load(RtpCapabilities(**router.rtp_capabilities))
        receive = device.rtpCapabilities
        assert receive is not None
        return {
            "audio": device.canProduce("audio"),
            "video": device.canProduce("video"),
            "receive_codecs": [(c.mimeType, c.preferredPayloadType) for c in receive.codecs or []],
        }
    finally:
        worker.close()


def test_pymediasoup_loads_the_router_capabilities() -> None:
    result = asyncio.run(load_device())
    assert result["audio"] is True
    assert result["video"] is True
    # The client keeps the router's payload types, which is what lets consumers reuse them.
    assert ("audio/opus", 100) in result["receive_codecs"]  # type: ignore[operator]
    assert ("video/VP8", 101) in result["receive_codecs"]  # type: ignore[operator]
