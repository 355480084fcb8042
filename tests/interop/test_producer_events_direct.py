"""A producer's own events: ``trace`` (what ``enable_trace_event`` asked for),
``videoorientationchange`` (the 3GPP video orientation extension) and the pacing of keyframe
requests by ``key_frame_request_delay``; and a consumer's traces. The media is aiortc's VP8
encoder output fed through a DirectTransport, so the packets and keyframes are real and the
RTCP between the router and the two ends is visible to the test."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any, Protocol

from aiortc.codecs.vpx import Vp8Encoder
from aiortc.mediastreams import VideoStreamTrack

import mediasoup_py
from mediasoup_py.rtcp import parse as parse_rtcp
from mediasoup_py.rtcp import serialize as serialize_rtcp
from mediasoup_py.rtp import RtpPacket
from tests.interop.test_routing_pymediasoup import MEDIA_CODECS

SSRC = 0x0CE0
PAYLOAD_TYPE = 96
ORIENTATION_ID = 4
ORIENTATION_URI = "urn:3gpp:video-orientation"


class PacketSink(Protocol):
    """Where a :class:`Sender` puts its packets: a producer on a DirectTransport, or a UDP
    socket's way to a PlainTransport."""

    def send(self, packet: bytes) -> None: ...


class Sender:
    """aiortc's test video, VP8-encoded, as RTP into a producer (the video orientation
    extension on the last packet of each frame, as WebRTC senders place it)."""

    def __init__(self, producer: PacketSink) -> None:
        self.producer = producer
        self.source = VideoStreamTrack()
        self.encoder = Vp8Encoder()
        self.sequence = 0
        self.orientation = 0

    async def frame(self, keyframe: bool) -> None:
        picture = await self.source.recv()
        payloads, timestamp = self.encoder.encode(picture, force_keyframe=keyframe)
        for position, payload in enumerate(payloads):
            last = position == len(payloads) - 1
            packet = RtpPacket(
                payload_type=PAYLOAD_TYPE,
                sequence_number=self.sequence & 0xFFFF,
                timestamp=timestamp,
                ssrc=SSRC,
                marker=last,
                extensions={ORIENTATION_ID: bytes([self.orientation])} if last else None,
                payload=payload,
            )
            self.producer.send(bytes(packet))
            self.sequence += 1


def vp8_rtp_parameters(*ssrcs: int) -> dict[str, Any]:
    """A producer's parameters for what :class:`Sender` sends: VP8 that takes PLIs, one
    encoding per SSRC (simulcast with more than one)."""
    return {
        "codecs": [
            {
                "mimeType": "video/VP8",
                "payloadType": PAYLOAD_TYPE,
                "clockRate": 90000,
                "rtcpFeedback": [{"type": "nack", "parameter": "pli"}],
            }
        ],
        "encodings": [{"ssrc": ssrc} for ssrc in ssrcs],
    }


async def stop(task: asyncio.Task[None] | None) -> None:
    """Cancels a sender's loop and waits for it to end."""
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def direct_vp8_producer(
    router: mediasoup_py.Router, *, key_frame_request_delay: int = 0, orientation: bool = False
) -> tuple[mediasoup_py.DirectTransport, mediasoup_py.Producer]:
    """A DirectTransport and on it a producer of what :class:`Sender` sends (VP8 that takes
    PLIs, with the video orientation extension when asked)."""
    source = await router.create_direct_transport()
    parameters = vp8_rtp_parameters(SSRC)
    if orientation:
        parameters["headerExtensions"] = [{"uri": ORIENTATION_URI, "id": ORIENTATION_ID}]
    producer = await source.produce(
        kind="video",
        key_frame_request_delay=key_frame_request_delay,
        rtp_parameters=parameters,  # type: ignore[arg-type]
    )
    return source, producer


async def scenario() -> dict[str, Any]:
    worker = await mediasoup_py.create_worker(rtc_min_port=47300, rtc_max_port=47399)
    try:
        router = await worker.create_router(media_codecs=MEDIA_CODECS[:2])  # type: ignore[arg-type]
        source, producer = await direct_vp8_producer(
            router, key_frame_request_delay=1000, orientation=True
        )
        sink = await router.create_direct_transport()
        consumer = await sink.consume(
            producer_id=producer.id, rtp_capabilities=router.rtp_capabilities
        )
        traces: list[dict[str, Any]] = []
        orientations: list[dict[str, Any]] = []
        plis: list[float] = []
        producer.on("trace", traces.append)
        producer.on("videoorientationchange", orientations.append)

        def on_rtcp(packet: bytes) -> None:
            if any(item["type"] == "pli" for item in parse_rtcp(packet)):
                plis.append(time.monotonic())

        source.on("rtcp", on_rtcp)
        await producer.enable_trace_event(["keyframe", "pli"])
        sender = Sender(producer)
        sender.orientation = 0b0001  # front camera, 90 degrees
        await sender.frame(keyframe=True)
        await sender.frame(keyframe=False)
        sender.orientation = 0b1110  # back camera, flipped, 180 degrees
        await sender.frame(keyframe=False)
        # A consumer asks for a keyframe: one PLI at once. The keyframe answers it; a new
        # request right after waits out the 1 s delay, and later ones merge into it.
        await consumer.request_key_frame()
        await asyncio.sleep(0.1)
        await sender.frame(keyframe=True)
        await asyncio.sleep(0.05)
        for _ in range(3):
            await consumer.request_key_frame()
            await sender.frame(keyframe=False)
        await asyncio.sleep(1.5)
        await producer.enable_trace_event([])
        await sender.frame(keyframe=True)
        await asyncio.sleep(0.1)
        return {
            "traces": traces,
            "orientations": orientations,
            "plis": plis,
            "stats": (await producer.get_stats())[0],
        }
    finally:
        worker.close()


def test_traces_orientation_changes_and_delayed_key_frame_requests() -> None:
    result = asyncio.run(asyncio.wait_for(scenario(), 30))
    assert result["orientations"] == [
        {"camera": False, "flip": False, "rotation": 90},
        {"camera": True, "flip": True, "rotation": 180},
    ]
    plis = result["plis"]
    assert len(plis) == 2, plis
    assert 0.9 <= plis[1] - plis[0] <= 1.3, "the second waited out key_frame_request_delay"
    assert result["stats"]["pliCount"] == 2
    kinds = [(trace["type"], trace["direction"]) for trace in result["traces"]]
    # Two keyframes while tracing (the third came after tracing stopped), two PLIs.
    assert sorted(kinds) == sorted([("keyframe", "in")] * 2 + [("pli", "out")] * 2), kinds
    keyframe = next(trace for trace in result["traces"] if trace["type"] == "keyframe")
    packet = keyframe["info"]["rtpPacket"]
    assert packet["isKeyFrame"]
    assert packet["ssrc"] == SSRC
    pli = next(trace for trace in result["traces"] if trace["type"] == "pli")
    assert pli["info"] == {"ssrc": SSRC}


async def consumer_traces() -> list[tuple[str, str]]:
    worker = await mediasoup_py.create_worker(rtc_min_port=47300, rtc_max_port=47399)
    try:
        router = await worker.create_router(media_codecs=MEDIA_CODECS[:2])  # type: ignore[arg-type]
        _, producer = await direct_vp8_producer(router)
        sink = await router.create_direct_transport()
        consumer = await sink.consume(
            producer_id=producer.id, rtp_capabilities=router.rtp_capabilities
        )
        traces: list[dict[str, Any]] = []
        consumer.on("trace", traces.append)
        await consumer.enable_trace_event(["rtp", "keyframe", "nack", "pli"])
        sender = Sender(producer)
        await sender.frame(keyframe=True)
        await sender.frame(keyframe=False)
        await asyncio.sleep(0.1)
        ssrc = consumer.rtp_parameters["encodings"][0]["ssrc"]
        feedback = [
            {"type": "pli", "sender_ssrc": 7, "media_ssrc": ssrc},
            {
                "type": "nack",
                "sender_ssrc": 7,
                "media_ssrc": ssrc,
                "items": [{"pid": 0, "blp": 0}],
            },
        ]
        sink.send_rtcp(serialize_rtcp(feedback))  # type: ignore[arg-type]
        await asyncio.sleep(0.1)
        return [(trace["type"], trace["direction"]) for trace in traces]
    finally:
        worker.close()


def test_consumer_traces_report_what_it_sends_and_what_its_endpoint_asks() -> None:
    kinds = asyncio.run(asyncio.wait_for(consumer_traces(), 30))
    assert ("keyframe", "out") in kinds
    assert kinds.count(("rtp", "out")) >= 2, kinds
    assert kinds.count(("pli", "in")) == 1, kinds
    assert kinds.count(("nack", "in")) == 1, kinds
