"""``pipe_to_router`` with real clients: a pymediasoup peer produces on a router of one
worker, the producers are piped to a router of another worker (PipeTransports over
loopback, with SRTP), and a second pymediasoup peer consumes them there and decodes. Pause
and close follow the original producer across the pipe."""

from __future__ import annotations

import asyncio
from typing import Any

import aioice.ice
import pytest
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

import mediasoup_py
from tests.interop.pymediasoup_peer import Peer
from tests.interop.test_routing_pymediasoup import MEDIA_CODECS, decoded_frames


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    # aioice drops exactly "127.0.0.1" from host candidates; tests must stay on loopback.
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])


async def piped() -> dict[str, Any]:
    first = await mediasoup_py.create_worker(rtc_min_port=46500, rtc_max_port=46549)
    second = await mediasoup_py.create_worker(rtc_min_port=46550, rtc_max_port=46599)
    peers: list[Peer] = []
    try:
        origin = await first.create_router(media_codecs=MEDIA_CODECS[:2])  # type: ignore[arg-type]
        elsewhere = await second.create_router(media_codecs=MEDIA_CODECS[:2])  # type: ignore[arg-type]
        video, audio = VideoStreamTrack(), AudioStreamTrack()
        sender = await Peer.join(origin, [video, audio])
        peers.append(sender)
        producers = await sender.produce([video, audio])
        pipes = [
            await origin.pipe_to_router(producer_id=p.id, router=elsewhere, enable_srtp=True)
            for p in producers
        ]
        receiver = await Peer.join(elsewhere)
        peers.append(receiver)
        # The piped producers have the original ids on the other router.
        pairs = await receiver.consume([pipe.pipe_producer for pipe in pipes])
        sizes = await asyncio.wait_for(
            asyncio.gather(*(decoded_frames(client.track, 30) for _, client in pairs)), 30
        )
        events: list[str] = []
        video_consumer = pairs[0][0]
        for name in ("producerpause", "producerresume", "producerclose"):
            video_consumer.on(name, lambda name=name: events.append(name))
        await producers[0].pause()
        for _ in range(50):
            if events:
                break
            await asyncio.sleep(0.02)
        await producers[0].resume()
        for _ in range(50):
            if len(events) > 1:
                break
            await asyncio.sleep(0.02)
        producers[0].close()
        return {
            "ids": [
                (p.id, pipe.pipe_producer.id) for p, pipe in zip(producers, pipes, strict=True)
            ],
            "pair_shared": pipes[0].pipe_consumer._transport is pipes[1].pipe_consumer._transport,
            "sizes": sizes,
            "events": events,
            "pipe_producer_closed": pipes[0].pipe_producer.closed,
            "video_consumer_closed": video_consumer.closed,
        }
    finally:
        for peer in peers:
            await peer.close()
        first.close()
        second.close()


def test_a_producer_piped_to_another_workers_router_is_decoded_there() -> None:
    result = asyncio.run(asyncio.wait_for(piped(), 60))
    assert all(original == piped_id for original, piped_id in result["ids"])
    assert result["pair_shared"], "one PipeTransport pair per pair of routers"
    video_sizes, audio_sizes = result["sizes"]
    assert set(video_sizes) == {(640, 480)}
    assert len(video_sizes) == len(audio_sizes) == 30
    assert result["events"] == ["producerpause", "producerresume", "producerclose"]
    assert result["pipe_producer_closed"]
    assert result["video_consumer_closed"]


def test_pipe_to_router_checks_its_arguments() -> None:
    async def scenario() -> None:
        worker = await mediasoup_py.create_worker(rtc_min_port=46600, rtc_max_port=46649)
        try:
            router = await worker.create_router(media_codecs=MEDIA_CODECS[:2])  # type: ignore[arg-type]
            with pytest.raises(mediasoup_py.errors.MediasoupTypeError) as raised:
                await router.pipe_to_router(producer_id="nope", router=router)
            assert raised.value.field == "producer_id"
        finally:
            worker.close()

    asyncio.run(scenario())
