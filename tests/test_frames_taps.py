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
        # (frame index, capture time) of the first tap's frames, and when the test handed
        # each of the first producer's frames to send_frame (the wall clock the sender
        # reports pair with its RTP timestamps).
        clocks: list[tuple[int, float | None]] = []
        sent_at: list[float] = []

        async def read(index: int) -> None:
            async for frame in streams[index]:
                received[index].append(frame.data)
                if index == 0:
                    clocks.append((len(received[index]) - 1, frame.capture_time))
                if len(received[index]) == FRAMES:
                    return

        readers = asyncio.gather(*(read(i) for i in range(len(streams))))
        for index in range(FRAMES):
            sent_at.append(time.time())
            for producer in producers:
                await producer.send_frame(opus_packet(index), index * 960)
            await asyncio.sleep(0.02)
        await asyncio.wait_for(readers, 10)
        return {
            "received": received,
            "idle": idle.stats(),
            "taps": len(streams),
            "clocks": clocks,
            "sent_at": sent_at,
        }
    finally:
        worker.close()


def test_100_opus_taps_in_one_process_get_every_frame() -> None:
    result = asyncio.run(taps())
    assert result["taps"] == 100
    expected = [opus_packet(i) for i in range(FRAMES)]
    assert all(frames == expected for frames in result["received"])
    # Once the sender's reports arrive, frames carry their capture time on the wall clock:
    # the time a sender report paired with an earlier frame's timestamp, plus the RTP time
    # since (20 ms a frame). Compared with the send times the test recorded rather than with
    # arrival, because a loaded machine delays both the sender's 20 ms steps (which the RTP
    # timestamps do not follow) and the delivery to Python.
    sent_at = result["sent_at"]
    stamped = [(index, capture) for index, capture in result["clocks"] if capture is not None]
    assert stamped
    assert stamped[-1][0] == FRAMES - 1
    for index, capture in stamped:
        assert any(
            abs(capture - (sent_at[anchor] + (index - anchor) * 0.02)) < 0.01
            for anchor in range(index + 1)
        ), (index, capture)
    # The unread tap kept its newest 8 frames and counted the rest as dropped.
    assert result["idle"]["framesQueued"] == 8
    assert result["idle"]["framesDroppedQueue"] == FRAMES - 8
