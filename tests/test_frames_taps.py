"""100 audio taps in one process: frames() on 100 DirectTransport consumers of ten opus
producers that a Python bot feeds with send_frame; every tap gets every frame, in order,
with its capture time once sender reports arrive, and the bounded queue drops (and counts)
the oldest frames of a tap nobody reads."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import mediasoup_py

OPUS: Any = {"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2}
FRAMES = 100


def opus_packet(index: int) -> bytes:
    # TOC: config 15 (hybrid, 20 ms), stereo, one frame; then the frame's bytes.
    return bytes([15 << 3 | 0x04]) + index.to_bytes(2, "big") + bytes(60)


async def taps() -> dict[str, Any]:
    worker = await mediasoup_py.create_worker()
    try:
        router = await worker.create_router(media_codecs=[OPUS])
        producers = []
        for index in range(10):
            transport = await router.create_direct_transport()
            producers.append(
                await transport.produce(
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
                        "encodings": [{"ssrc": 7000 + index}],
                    },
                )
            )
        tap_transport = await router.create_direct_transport()
        streams = []
        for producer in producers:
            for _ in range(10):
                consumer = await tap_transport.consume(
                    producer_id=producer.id, rtp_capabilities=router.rtp_capabilities
                )
                streams.append(consumer.frames(max_queue=FRAMES))
        # One more tap that nobody reads, with a small queue.
        idle_consumer = await tap_transport.consume(
            producer_id=producers[0].id, rtp_capabilities=router.rtp_capabilities
        )
        idle = idle_consumer.frames(max_queue=8)
        received: list[list[bytes]] = [[] for _ in streams]
        # (capture time, arrival) of the first tap's frames.
        clocks: list[tuple[float | None, float]] = []

        async def read(index: int) -> None:
            async for frame in streams[index]:
                received[index].append(frame.data)
                if index == 0:
                    clocks.append((frame.capture_time, time.time()))
                if len(received[index]) == FRAMES:
                    return

        readers = asyncio.gather(*(read(i) for i in range(len(streams))))
        for index in range(FRAMES):
            for producer in producers:
                await producer.send_frame(opus_packet(index), index * 960)
            await asyncio.sleep(0.02)
        await asyncio.wait_for(readers, 10)
        return {
            "received": received,
            "idle": idle.stats(),
            "taps": len(streams),
            "clocks": clocks,
        }
    finally:
        worker.close()


def test_100_opus_taps_in_one_process_get_every_frame() -> None:
    result = asyncio.run(taps())
    assert result["taps"] == 100
    expected = [opus_packet(i) for i in range(FRAMES)]
    assert all(frames == expected for frames in result["received"])
    # Once the sender's reports arrive, frames carry their capture time on the wall clock.
    capture_time, arrival = result["clocks"][-1]
    assert capture_time is not None
    assert abs(arrival - capture_time) < 0.1
    # The unread tap kept its newest 8 frames and counted the rest as dropped.
    assert result["idle"]["framesQueued"] == 8
    assert result["idle"]["framesDroppedQueue"] == FRAMES - 8
