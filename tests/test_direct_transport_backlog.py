"""A DirectTransport whose owner stops reading: the worker holds a bounded backlog of its
packets (8192), drops and counts the rest instead of growing without bound or waiting, and
delivers again as soon as the asyncio loop takes the backlog."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import mediasoup_py
from tests.opus_direct import OPUS, opus_rtp_parameters

SSRC = 4242
SENT = 10_000
BACKLOG_LIMIT = 8192


def opus_rtp(sequence: int) -> bytes:
    header = bytes([0x80, 100]) + sequence.to_bytes(2, "big")
    return header + (sequence * 960).to_bytes(4, "big") + SSRC.to_bytes(4, "big") + bytes(80)


def wait_without_the_loop(worker: mediasoup_py.Worker) -> int:
    """Blocks the asyncio loop (as a stalled application would) until the worker's backlog
    stops growing, and returns its size."""
    deadline = time.monotonic() + 20
    queued, steady_since = worker.queued_events, time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - steady_since < 0.3:
        time.sleep(0.01)
        if worker.queued_events != queued:
            queued, steady_since = worker.queued_events, time.monotonic()
    return queued


async def stalled_owner() -> dict[str, Any]:
    worker = await mediasoup_py.create_worker()
    try:
        router = await worker.create_router(media_codecs=[OPUS])
        source = await router.create_direct_transport()
        producer = await source.produce(
            kind="audio",
            rtp_parameters=opus_rtp_parameters(SSRC),
        )
        tap = await router.create_direct_transport()
        consumer = await tap.consume(
            producer_id=producer.id, rtp_capabilities=router.rtp_capabilities
        )
        received: list[bytes] = []
        rtcp: list[bytes] = []
        consumer.on("rtp", received.append)
        tap.on("rtcp", rtcp.append)
        # Every packet is sent without yielding to the loop, so nothing is drained meanwhile.
        for sequence in range(SENT):
            producer.send(opus_rtp(sequence))
        backlog = wait_without_the_loop(worker)
        await asyncio.sleep(0.2)
        (stalled,) = await tap.get_stats()
        delivered_while_stalled = len(received)
        # The loop reads again: new packets flow at once.
        for sequence in range(SENT, SENT + 10):
            producer.send(opus_rtp(sequence))
        deadline = time.monotonic() + 10
        while len(received) < delivered_while_stalled + 10 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        (after,) = await tap.get_stats()
        return {
            "backlog": backlog,
            "queued_after": worker.queued_events,
            "stalled": stalled,
            "after": after,
            "delivered_while_stalled": delivered_while_stalled,
            "received": len(received),
            "rtcp": len(rtcp),
        }
    finally:
        worker.close()


def test_a_stalled_owner_costs_a_bounded_backlog_and_counted_drops() -> None:
    result = asyncio.run(stalled_owner())
    dropped = result["stalled"]["packetsDroppedOwnerBehind"]
    # The backlog held the bound's worth of packets (plus the send requests' answers) ...
    assert result["backlog"] >= BACKLOG_LIMIT
    assert result["delivered_while_stalled"] <= BACKLOG_LIMIT
    # ... and every packet was either delivered or counted as dropped.
    assert dropped >= SENT - BACKLOG_LIMIT
    assert result["delivered_while_stalled"] + dropped >= SENT
    # Once the loop reads again, delivery resumes and nothing more is dropped.
    assert result["received"] == result["delivered_while_stalled"] + 10
    assert result["after"]["packetsDroppedOwnerBehind"] == dropped
    # (RTCP the tap got after the stats were read is counted in "rtcp" only.)
    assert result["received"] <= result["after"]["datagramsSent"]
    assert result["after"]["datagramsSent"] <= result["received"] + result["rtcp"]
    assert result["queued_after"] < 100
