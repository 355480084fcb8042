"""Feedback storms from an authenticated endpoint. A NACK storm (asking again and again for
every packet it got): the consumer resends within its budget (a burst of 250, then 500 a
second) and refuses the rest, so the SFU cannot be made to resend without bound. A PLI storm:
the producer's sender hears a handful of keyframe requests, not a thousand.
The media is aiortc's VP8 encoder output fed through a DirectTransport, and the storm comes in
as real RTCP through a DirectTransport consumer's transport."""

from __future__ import annotations

import asyncio
from typing import Any

import mediasoup_py
from mediasoup_py.rtcp import parse as parse_rtcp
from mediasoup_py.rtcp import serialize as serialize_rtcp
from tests.interop.test_producer_events_direct import Sender, direct_vp8_producer
from tests.interop.test_routing_pymediasoup import MEDIA_CODECS

STORM_NACKS = 200  # each asking for 17 packets: 3400 requests


async def storm() -> dict[str, Any]:
    worker = await mediasoup_py.create_worker(rtc_min_port=48500, rtc_max_port=48549)
    try:
        router = await worker.create_router(media_codecs=MEDIA_CODECS[:2])  # type: ignore[arg-type]
        _, producer = await direct_vp8_producer(router)
        sink = await router.create_direct_transport()
        consumer = await sink.consume(
            producer_id=producer.id, rtp_capabilities=router.rtp_capabilities
        )
        received: list[bytes] = []
        consumer.on("rtp", received.append)
        sender = Sender(producer)
        for index in range(60):
            await sender.frame(keyframe=index == 0)
        await asyncio.sleep(0.2)
        sent = list(received)
        first = int.from_bytes(sent[0][2:4], "big")
        media_ssrc = consumer.rtp_parameters["encodings"][0]["ssrc"]
        # Every packet sent so far, 17 at a time, over and over.
        items = [
            {"pid": (first + offset) % 65536, "blp": 0xFFFF}
            for offset in range(0, len(sent) - 17, 17)
        ]
        for index in range(STORM_NACKS):
            nack = {
                "type": "nack",
                "sender_ssrc": 7,
                "media_ssrc": media_ssrc,
                "items": [items[index % len(items)]],
            }
            sink.send_rtcp(serialize_rtcp([nack]))  # type: ignore[list-item]
        await asyncio.sleep(0.5)
        retransmissions = len(received) - len(sent)
        stats = (await consumer.get_stats())[0]
        return {
            "sent": len(sent),
            "requested": STORM_NACKS * 17,
            "retransmissions": retransmissions,
            "stats": stats,
        }
    finally:
        worker.close()


def test_a_nack_storm_is_answered_within_the_consumers_budget() -> None:
    result = asyncio.run(asyncio.wait_for(storm(), 30))
    assert result["sent"] >= 60, result
    # The burst (250) plus what 0.5 s at 500/s refills, at most.
    assert 200 <= result["retransmissions"] <= 250 + 300, result
    stats = result["stats"]
    # The rest of what could be answered was refused (some asked-for numbers were never sent).
    refused = stats["retransmissionRefusedCount"]
    assert refused > 2000, stats
    assert refused + result["retransmissions"] <= result["requested"]
    assert stats["packetsRetransmitted"] == result["retransmissions"]


async def pli_storm() -> dict[str, Any]:
    worker = await mediasoup_py.create_worker(rtc_min_port=48550, rtc_max_port=48599)
    try:
        router = await worker.create_router(media_codecs=MEDIA_CODECS[:2])  # type: ignore[arg-type]
        source, producer = await direct_vp8_producer(router)
        plis_to_sender: list[bytes] = []
        source.on("rtcp", lambda packet: plis_to_sender.append(packet))
        sink = await router.create_direct_transport()
        consumer = await sink.consume(
            producer_id=producer.id, rtp_capabilities=router.rtp_capabilities
        )
        sender = Sender(producer)
        await sender.frame(keyframe=True)
        media_ssrc = consumer.rtp_parameters["encodings"][0]["ssrc"]
        pli = serialize_rtcp([{"type": "pli", "sender_ssrc": 7, "media_ssrc": media_ssrc}])  # type: ignore[list-item]
        # A thousand PLIs in two seconds, while the sender keeps sending delta frames.
        for index in range(1000):
            sink.send_rtcp(pli)
            if index % 50 == 0:
                await sender.frame(keyframe=False)
                await asyncio.sleep(0.1)
        await asyncio.sleep(0.2)
        stats = (await consumer.get_stats())[0]
        return {
            "plisToSender": sum(
                1
                for packet in plis_to_sender
                if any(item["type"] == "pli" for item in parse_rtcp(packet))
            ),
            "consumerPliCount": stats["pliCount"],
        }
    finally:
        worker.close()


def test_a_pli_storm_reaches_the_sender_as_a_few_requests() -> None:
    result = asyncio.run(asyncio.wait_for(pli_storm(), 30))
    # Every PLI is counted on the consumer...
    assert result["consumerPliCount"] == 1000, result
    # ...but the sender, who never answers with a keyframe here, is asked once, retried once
    # a second later, and then again only after that request lapsed: a handful in 2 s.
    assert 1 <= result["plisToSender"] <= 3, result
