"""Every video codec through send_frame and frames() with real encoders (PyAV: libvpx VP8,
libvpx-vp9 VP9, libx264 H.264, SVT-AV1 AV1): a bot publishes 40 encoded frames from a
DirectTransport producer, a tap reads them back in order with their keyframe flags, and
every one decodes (libvpx, libvpx-vp9, h264, libdav1d)."""

from __future__ import annotations

import asyncio
import fractions
from typing import Any

import pytest

import mediasoup_py
from mediasoup_py.frames import EncodedFrame

FRAMES = 40
ENCODERS = {
    "video/VP8": ("libvpx", {"deadline": "realtime", "cpu-used": "8"}),
    "video/VP9": ("libvpx-vp9", {"deadline": "realtime", "cpu-used": "8"}),
    "video/H264": ("libx264", {"tune": "zerolatency", "preset": "ultrafast"}),
    "video/AV1": ("libsvtav1", {"preset": "12"}),
}


def encode(mime_type: str) -> list[tuple[bytes, bool]]:
    import av
    import numpy as np

    name, options = ENCODERS[mime_type]
    encoder = av.CodecContext.create(name, "w")
    encoder.width, encoder.height, encoder.pix_fmt = 320, 240, "yuv420p"
    encoder.time_base = fractions.Fraction(1, 30)
    encoder.framerate = fractions.Fraction(30, 1)
    encoder.gop_size = 20
    encoder.options = options
    packets: list[tuple[bytes, bool]] = []
    for index in range(FRAMES):
        picture = np.zeros((240, 320, 3), dtype=np.uint8)
        picture[:, (index * 8) % 320 :] = 200
        frame = av.VideoFrame.from_ndarray(picture, format="rgb24").reformat(format="yuv420p")
        frame.pts = index
        packets += [(bytes(p), bool(p.is_keyframe)) for p in encoder.encode(frame)]
    packets += [(bytes(p), bool(p.is_keyframe)) for p in encoder.encode(None)]
    return packets


async def round_trip(mime_type: str) -> dict[str, Any]:
    encoded = encode(mime_type)
    codec: dict[str, Any] = {"kind": "video", "mimeType": mime_type, "clockRate": 90000}
    parameters: dict[str, Any] = {}
    if mime_type == "video/H264":
        parameters = {"packetization-mode": 1, "profile-level-id": "42e01f"}
        codec["parameters"] = parameters
    worker = await mediasoup_py.create_worker()
    try:
        router = await worker.create_router(media_codecs=[codec])
        source = await router.create_direct_transport()
        producer = await source.produce(
            kind="video",
            rtp_parameters={
                "codecs": [
                    {
                        "mimeType": mime_type,
                        "payloadType": 101,
                        "clockRate": 90000,
                        "parameters": parameters,
                    }
                ],
                "encodings": [{"ssrc": 31}],
            },
        )
        tap = await router.create_direct_transport()
        consumer = await tap.consume(
            producer_id=producer.id, rtp_capabilities=router.rtp_capabilities
        )
        stream = consumer.frames(max_queue=1000)
        received: list[EncodedFrame] = []

        async def read() -> None:
            async for frame in stream:
                received.append(frame)

        reader = asyncio.ensure_future(read())
        for index, (data, keyframe) in enumerate(encoded):
            await producer.send_frame(data, index * 3000, keyframe=keyframe)
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.3)
        stream.close()
        await reader
        decoded = sum(len(frame.decode()) for frame in received)
        return {"encoded": encoded, "received": received, "decoded": decoded}
    finally:
        worker.close()


@pytest.mark.parametrize("mime_type", list(ENCODERS))
def test_real_encoders_frames_go_out_and_come_back(mime_type: str) -> None:
    result = asyncio.run(round_trip(mime_type))
    encoded, received = result["encoded"], result["received"]
    assert len(received) == len(encoded)
    assert [f.keyframe for f in received] == [keyframe for _, keyframe in encoded]
    if mime_type in ("video/VP8", "video/VP9"):
        assert [f.data for f in received] == [data for data, _ in encoded]
    # Decoders buffer a frame or two: all but those come out.
    assert result["decoded"] >= len(encoded) - 2
