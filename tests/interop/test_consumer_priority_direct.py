"""Consumer priority decides the worker's bandwidth allocation: two simulcast consumers of
one producer on one transport whose outgoing bitrate is capped at enough for one high stream
and one low stream. The consumer with the higher priority climbs first and gets the high
stream throughout; the other stays on the low one (the allocator's trials of more never go
above the application's maximum), so it is sent clearly less; swap the priorities and the
streams swap. What each consumer sends is read from the worker's
byte counters, not from Python. The media is two aiortc VP8
encoders (aiortc's test picture at 160x120, and 192x144 of random noise at several hundred kbit/s,
so that the streams' rates differ severalfold) fed through a DirectTransport, each answering
keyframe requests for its stream."""

from __future__ import annotations

import asyncio
from typing import Any

import av
import numpy
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.mediastreams import VideoStreamTrack

import mediasoup_py
from mediasoup_py.rtcp import parse as parse_rtcp
from mediasoup_py.rtp import RtpPacket
from tests.interop.test_producer_events_direct import PAYLOAD_TYPE, stop, vp8_rtp_parameters
from tests.interop.test_routing_pymediasoup import MEDIA_CODECS

# Each allocation is measured over four of the allocator's turns (one a second).
MEASURED_SECONDS = 4.0
STREAMS = (  # ssrc, width, height, target bitrate
    (0x5100, 160, 120, 100_000),
    (0x5200, 192, 144, 600_000),
)


class SimulcastSender:
    """aiortc's test video as two VP8 simulcast streams into a producer, 30 frames a second;
    a stream sends a keyframe when the SFU asks for one."""

    def __init__(self, producer: mediasoup_py.Producer, source: mediasoup_py.DirectTransport):
        self.producer = producer
        self.track = VideoStreamTrack()
        self.encoders = []
        for _, _, _, bitrate in STREAMS:
            encoder = Vp8Encoder()
            encoder.target_bitrate = bitrate
            self.encoders.append(encoder)
        self.sequence = [0, 0]
        self.random = numpy.random.default_rng(1)
        self.wanted = {ssrc for ssrc, *_ in STREAMS}
        source.on("rtcp", self._on_rtcp)

    def _on_rtcp(self, packet: bytes) -> None:
        for item in parse_rtcp(packet):
            if item["type"] in ("pli", "fir"):
                self.wanted.add(item.get("media_ssrc", 0))
                for entry in item.get("entries", []):
                    self.wanted.add(entry["ssrc"])

    async def run(self) -> None:
        while True:
            frame = await self.track.recv()
            # A keyframe every 2 s besides those asked for, as real senders do.
            periodic = frame.pts % (60 * 3000) == 0
            for index, (ssrc, width, height, _) in enumerate(STREAMS):
                keyframe = periodic or ssrc in self.wanted
                self.wanted.discard(ssrc)
                if index == 0:
                    picture = frame.reformat(width=width, height=height)
                else:
                    noise = self.random.integers(0, 256, (height, width, 3), dtype=numpy.uint8)
                    picture = av.VideoFrame.from_ndarray(noise, format="rgb24")
                picture.pts, picture.time_base = frame.pts, frame.time_base
                payloads, timestamp = self.encoders[index].encode(picture, keyframe)
                for position, payload in enumerate(payloads):
                    packet = RtpPacket(
                        payload_type=PAYLOAD_TYPE,
                        sequence_number=self.sequence[index] & 0xFFFF,
                        timestamp=timestamp,
                        ssrc=ssrc,
                        marker=position == len(payloads) - 1,
                        payload=payload,
                    )
                    self.producer.send(bytes(packet))
                    self.sequence[index] += 1


async def sent_bytes(consumers: list[mediasoup_py.Consumer], seconds: float) -> list[int]:
    """What the worker sent for each consumer over ``seconds`` (its byte counters)."""
    before = [(await consumer.get_stats())[0]["byteCount"] for consumer in consumers]
    await asyncio.sleep(seconds)
    after = [(await consumer.get_stats())[0]["byteCount"] for consumer in consumers]
    return [end - start for start, end in zip(before, after, strict=True)]


async def scenario() -> dict[str, Any]:
    worker = await mediasoup_py.create_worker(rtc_min_port=44550, rtc_max_port=44599)
    sending: asyncio.Task[None] | None = None
    try:
        router = await worker.create_router(media_codecs=MEDIA_CODECS[:2])  # type: ignore[arg-type]
        source = await router.create_direct_transport()
        producer = await source.produce(
            kind="video",
            rtp_parameters=vp8_rtp_parameters(*(ssrc for ssrc, *_ in STREAMS)),  # type: ignore[arg-type]
        )
        sender = SimulcastSender(producer, source)
        sending = asyncio.ensure_future(sender.run())
        # Both streams measured by the worker, then the cap: one high and one low stream.
        await asyncio.sleep(2.5)
        rates = [entry["bitrate"] for entry in await producer.get_stats()]
        low, high = rates
        sink = await router.create_direct_transport()
        await sink.set_max_outgoing_bitrate(int(1.4 * high + 2 * low))
        consumers = [
            await sink.consume(producer_id=producer.id, rtp_capabilities=router.rtp_capabilities)
            for _ in range(2)
        ]
        await consumers[0].set_priority(10)
        await asyncio.sleep(3)
        first = await sent_bytes(consumers, MEASURED_SECONDS)
        await consumers[0].set_priority(1)
        await consumers[1].set_priority(10)
        await asyncio.sleep(3)
        swapped = await sent_bytes(consumers, MEASURED_SECONDS)
        return {"rates": rates, "first": first, "swapped": swapped}
    finally:
        await stop(sending)
        worker.close()


def test_consumer_priority_changes_the_workers_allocation() -> None:
    result = asyncio.run(asyncio.wait_for(scenario(), 60))
    low, high = result["rates"]
    assert high > 10 * low > 0, result
    # The favoured consumer is sent the high stream throughout; the other the low one, so it
    # is sent less...
    favoured, other = result["first"]
    assert favoured > other > 0, result
    # ...and swapping the priorities swaps the streams.
    other_after, favoured_after = result["swapped"]
    assert favoured_after > other_after > 0, result
    assert favoured + favoured_after > 1.2 * (other + other_after), result
    # No trial lifted the other above the maximum: it was on the low stream throughout.
    assert favoured > 5 * other, result
    assert favoured_after > 5 * other_after, result
