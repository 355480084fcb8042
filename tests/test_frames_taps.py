"""100 audio taps in one process: frames() on 100 DirectTransport consumers of ten opus
producers that a Python bot feeds with send_frame; every tap gets every frame, in order,
with its capture time once sender reports arrive, and the bounded queue drops (and counts)
the oldest frames of a tap nobody reads."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import mediasoup_py
from tests.opus_direct import OPUS, opus_rtp_parameters

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
                    rtp_parameters=opus_rtp_parameters(7000 + index),
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


VP8: Any = {"kind": "video", "mimeType": "video/VP8", "clockRate": 90000}
# Frames sent to a video tap nobody reads, by index: keyframes at 0, 10 and 14.
KEYFRAMES = {0, 10, 14}
VIDEO_FRAMES = 16


async def unread_video_tap() -> dict[str, Any]:
    worker = await mediasoup_py.create_worker()
    try:
        router = await worker.create_router(media_codecs=[VP8])
        source = await router.create_direct_transport()
        producer = await source.produce(
            kind="video",
            rtp_parameters={
                "codecs": [{"mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000}],
                "encodings": [{"ssrc": 5100}],
            },
        )
        feedback: list[bytes] = []
        source.on("rtcp", feedback.append)
        tap = await router.create_direct_transport()
        consumer = await tap.consume(
            producer_id=producer.id, rtp_capabilities=router.rtp_capabilities
        )
        frames = consumer.frames(max_queue=4)
        for index in range(VIDEO_FRAMES):
            keyframe = index in KEYFRAMES
            # A VP8 frame's first byte has the P bit clear on keyframes.
            data = bytes([0x00 if keyframe else 0x01]) + index.to_bytes(2, "big") + bytes(300)
            await producer.send_frame(data, index * 3000, keyframe=keyframe)
            await asyncio.sleep(0.01)
        deadline = time.monotonic() + 10
        while (
            frames.stats()["framesQueued"] + frames.stats()["framesDroppedQueue"] < (VIDEO_FRAMES)
            and time.monotonic() < deadline
        ):
            await asyncio.sleep(0.01)
        queued = frames.stats()
        frames.close()
        kept = [frame async for frame in frames]
        # Let the keyframe request reach the producer's side.
        await asyncio.sleep(0.2)
        return {
            "kept": [(int.from_bytes(f.data[1:3], "big"), f.keyframe) for f in kept],
            "stats": queued,
            "plis": sum(1 for packet in feedback if packet[0] & 0x1F == 1 and packet[1] == 206),
        }
    finally:
        worker.close()


def test_an_unread_video_tap_keeps_only_frames_that_decode() -> None:
    result = asyncio.run(unread_video_tap())
    # Frame 4 overflowed the queue of 4: frames 0-3 went (0 is the keyframe 1-3 need), and
    # 4-9 were skipped until keyframe 10, with a keyframe asked for. Keyframe 14 overflowed
    # 10-13, and needs nothing before it.
    assert result["kept"] == [(14, True), (15, False)]
    assert result["stats"]["framesDroppedQueue"] == 14
    assert result["plis"] >= 1
