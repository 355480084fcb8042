"""A NACK storm from an authenticated endpoint: it asks again and again for every packet it
got. The consumer resends within its budget (a burst of 250, then 500 a second) and refuses
the rest, so the SFU cannot be made to resend without bound; honest repair stays untouched.
The media is aiortc's VP8 encoder output fed through a DirectTransport, and the storm comes in
as real RTCP through a DirectTransport consumer's transport."""

from __future__ import annotations

import asyncio
from typing import Any

import mediasoup_py
from mediasoup_py.rtcp import serialize as serialize_rtcp
from tests.interop.test_producer_events_direct import PAYLOAD_TYPE, SSRC, Sender
from tests.interop.test_routing_pymediasoup import MEDIA_CODECS

STORM_NACKS = 200  # each asking for 17 packets: 3400 requests


async def storm() -> dict[str, Any]:
    worker = await mediasoup_py.create_worker(rtc_min_port=48500, rtc_max_port=48549)
    try:
        router = await worker.create_router(media_codecs=MEDIA_CODECS[:2])  # type: ignore[arg-type]
        source = await router.create_direct_transport()
        producer = await source.produce(
            kind="video",
            rtp_parameters={  # type: ignore[typeddict-item]
                "codecs": [
                    {"mimeType": "video/VP8", "payloadType": PAYLOAD_TYPE, "clockRate": 90000}
                ],
                "encodings": [{"ssrc": SSRC}],
            },
        )
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
