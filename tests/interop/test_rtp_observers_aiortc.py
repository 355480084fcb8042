"""RTP observers with real senders: pymediasoup peers send opus from aiortc, whose sender puts
the RFC 6464 level of every frame it encodes in the ssrc-audio-level extension. One peer
plays a loud tone and the other a quiet one (or silence), so the observers' reports can be
checked against levels aiortc itself computed, and the dominant speaker against who is
actually talking."""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

import aioice.ice
import pytest

import mediasoup_py
from mediasoup_py.demo.bot import Tone
from tests.interop.pymediasoup_peer import Peer

OPUS: list[dict[str, Any]] = [
    {"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2}
]


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    # aioice drops exactly "127.0.0.1" from host candidates; tests must stay on loopback.
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])


def sine_dbov(amplitude: float) -> float:
    """The RMS level of a sine of this amplitude, as RFC 6464 measures it."""
    return 20 * math.log10(amplitude / math.sqrt(2))


async def next_event(emitter: Any, name: str, timeout: float) -> Any:
    future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    def handler(*args: Any) -> None:
        if not future.done():
            future.set_result(args[0] if args else None)

    emitter.once(name, handler)
    return await asyncio.wait_for(future, timeout)


async def audio_level_observer() -> dict[str, Any]:
    worker = await mediasoup_py.create_worker(rtc_min_port=47200, rtc_max_port=47299)
    peers: list[Peer] = []
    try:
        router = await worker.create_router(media_codecs=OPUS)  # type: ignore[arg-type]
        loud, quiet = Tone(0.5), Tone(0.01)
        producers = []
        for tone in (loud, quiet):
            peer = await Peer.join(router, [tone])
            peers.append(peer)
            producers += await peer.produce([tone])
        observer = await router.create_audio_level_observer(
            max_entries=2, threshold=-70, interval=500
        )
        for producer in producers:
            await observer.add_producer(producer_id=producer.id)
        # The first report may cover the start of the streams; take a later one.
        await next_event(observer, "volumes", timeout=10)
        volumes = await next_event(observer, "volumes", timeout=5)
        loud.amplitude = quiet.amplitude = 0.0
        silence_started = time.monotonic()
        await next_event(observer, "silence", timeout=5)
        silence_after = time.monotonic() - silence_started
        await observer.pause()
        await observer.remove_producer(producer_id=producers[1].id)
        await observer.resume()
        return {
            "producers": [producer.id for producer in producers],
            "volumes": [(entry["producer"].id, entry["volume"]) for entry in volumes],
            "silence_after": silence_after,
        }
    finally:
        for peer in peers:
            await peer.close()
        worker.close()


def test_audio_level_observer_reports_the_loudest_first_then_silence() -> None:
    result = asyncio.run(audio_level_observer())
    loud_id, quiet_id = result["producers"]
    assert [producer for producer, _ in result["volumes"]] == [loud_id, quiet_id]
    (_, loud_volume), (_, quiet_volume) = result["volumes"]
    # aiortc computes the level per 20 ms frame; the average lands within a few dB.
    assert abs(loud_volume - sine_dbov(0.5)) <= 3, result
    assert abs(quiet_volume - sine_dbov(0.01)) <= 3, result
    assert result["silence_after"] < 3, result


async def active_speaker_observer() -> list[tuple[str, float]]:
    """Two peers take turns: the floor must follow, once per turn."""
    worker = await mediasoup_py.create_worker(rtc_min_port=47200, rtc_max_port=47299)
    peers: list[Peer] = []
    try:
        router = await worker.create_router(media_codecs=OPUS)  # type: ignore[arg-type]
        first, second = Tone(0.3), Tone(0.0)
        names = {}
        for name, tone in (("first", first), ("second", second)):
            peer = await Peer.join(router, [tone])
            peers.append(peer)
            (producer,) = await peer.produce([tone])
            names[producer.id] = name
        observer = await router.create_active_speaker_observer(interval=300)
        for producer_id in names:
            await observer.add_producer(producer_id=producer_id)
        loop = asyncio.get_running_loop()
        changes: list[tuple[str, float]] = []
        started = loop.time()
        observer.on(
            "dominantspeaker",
            lambda event: changes.append((names[event["producer"].id], loop.time() - started)),
        )
        await asyncio.sleep(3)
        first.amplitude, second.amplitude = 0.0, 0.3
        started = loop.time()
        await asyncio.sleep(4)
        return changes
    finally:
        for peer in peers:
            await peer.close()
        worker.close()


def test_active_speaker_observer_follows_the_talker() -> None:
    changes = asyncio.run(active_speaker_observer())
    assert [name for name, _ in changes] == ["first", "second"], changes
    # Each turn is recognised within a couple of seconds (the long scale needs ~1 s).
    assert all(seconds < 3 for _, seconds in changes), changes


async def bad_observer_input() -> list[str]:
    worker = await mediasoup_py.create_worker(rtc_min_port=47200, rtc_max_port=47299)
    fields = []
    try:
        router = await worker.create_router(media_codecs=OPUS)  # type: ignore[arg-type]
        for kwargs in ({"max_entries": 0}, {"threshold": 5}, {"interval": "fast"}):
            try:
                await router.create_audio_level_observer(**kwargs)  # type: ignore[arg-type]
            except mediasoup_py.errors.MediasoupTypeError as error:
                fields.append(error.field)
        observer = await router.create_audio_level_observer()
        try:
            await observer.add_producer(producer_id="no-such-producer")
        except mediasoup_py.errors.MediasoupTypeError as error:
            fields.append(error.field)
        router.close()
        fields.append(str(observer.closed))
    finally:
        worker.close()
    return fields


def test_bad_observer_input_gets_typed_errors_and_observers_close_with_their_router() -> None:
    fields = asyncio.run(bad_observer_input())
    assert fields == ["max_entries", "threshold", "interval", "producer_id", "True"]
