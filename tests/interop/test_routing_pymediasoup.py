"""The SFU itself with real clients: a pymediasoup peer produces video and audio, two other
pymediasoup peers consume both through their own transports, and their aiortc decoders turn
what we forwarded into frames. The producer's send transport has the server as DTLS client
and the receivers' transports have it as DTLS server, so both roles carry media. Loss on
either side is repaired; a receiver whose network goes away stops getting media once its
consent expires, and gets it again at its next consent check."""

from __future__ import annotations

import asyncio
from typing import Any

import aioice.ice
import pytest
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, VideoStreamTrack

import mediasoup_py
from tests.interop.pymediasoup_peer import Peer

MEDIA_CODECS: list[dict[str, Any]] = [
    {"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2},
    {"kind": "video", "mimeType": "video/VP8", "clockRate": 90000},
    {
        "kind": "video",
        "mimeType": "video/H264",
        "clockRate": 90000,
        "parameters": {"packetization-mode": 1, "profile-level-id": "42e01f"},
    },
]

FRAMES_WANTED = 30


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    # aioice drops exactly "127.0.0.1" from host candidates; tests must stay on loopback.
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])


async def decoded_frames(track: Any, count: int) -> list[tuple[int, int]]:
    """Sizes of the first ``count`` frames the client decodes ((samples, 0) for audio)."""
    sizes = []
    while len(sizes) < count:
        try:
            frame = await track.recv()
        except MediaStreamError:
            break
        if hasattr(frame, "width"):
            sizes.append((frame.width, frame.height))
        else:
            sizes.append((frame.samples, 0))
    return sizes


async def fan_out(video_codec: str) -> dict[str, Any]:
    worker = await mediasoup_py.create_worker(rtc_min_port=46000, rtc_max_port=46199)
    codecs = [c for c in MEDIA_CODECS if c["kind"] == "audio" or c["mimeType"] == video_codec]
    peers: list[Peer] = []
    try:
        router = await worker.create_router(media_codecs=codecs)  # type: ignore[arg-type]
        video, audio = VideoStreamTrack(), AudioStreamTrack()
        sender = await Peer.join(router, [video, audio])
        peers.append(sender)
        producers = await sender.produce([video, audio])
        results: dict[str, Any] = {"producers": [(p.kind, p.type) for p in producers]}
        for name in ("B", "C"):
            receiver = await Peer.join(router)
            peers.append(receiver)
            pairs = await receiver.consume(producers)
            received = await asyncio.wait_for(
                asyncio.gather(
                    *(decoded_frames(client.track, FRAMES_WANTED) for _, client in pairs)
                ),
                timeout=30,
            )
            results[name] = {
                consumer.kind: {"sizes": sizes, "mid": consumer.rtp_parameters.get("mid")}
                for (consumer, _), sizes in zip(pairs, received, strict=True)
            }
            results[name]["stats"] = {
                consumer.kind: (await consumer.get_stats())[0] for consumer, _ in pairs
            }
        results["producer_stats"] = {p.kind: (await p.get_stats())[0] for p in producers}
        return results
    finally:
        for peer in peers:
            await peer.close()
        worker.close()


@pytest.mark.parametrize("video_codec", ["video/VP8", "video/H264"])
def test_two_receivers_decode_what_one_peer_produces(video_codec: str) -> None:
    results = asyncio.run(asyncio.wait_for(fan_out(video_codec), 90))
    assert results["producers"] == [("video", "simple"), ("audio", "simple")]
    for name in ("B", "C"):
        video = results[name]["video"]
        audio = results[name]["audio"]
        assert len(video["sizes"]) == FRAMES_WANTED, results[name]
        # aiortc's VideoStreamTrack sends 640x480 frames; the receiver decodes them intact.
        assert set(video["sizes"]) == {(640, 480)}
        assert len(audio["sizes"]) == FRAMES_WANTED
        # Consumers of one transport get MIDs "0", "1", ... as mediasoup numbers them.
        assert (video["mid"], audio["mid"]) == ("0", "1")
        stats = results[name]["stats"]
        assert stats["video"]["type"] == "outbound-rtp"
        assert stats["video"]["packetCount"] > 0
        assert stats["video"]["mimeType"] == video_codec
    produced = results["producer_stats"]["video"]
    assert produced["type"] == "inbound-rtp"
    assert produced["packetCount"] > 0


async def consume_through_loss(loss: float, frames: int) -> dict[str, Any]:
    worker = await mediasoup_py.create_worker(rtc_min_port=46200, rtc_max_port=46299)
    peers: list[Peer] = []
    try:
        router = await worker.create_router(media_codecs=MEDIA_CODECS[:2])  # type: ignore[arg-type]
        video = VideoStreamTrack()
        sender = await Peer.join(router, [video])
        peers.append(sender)
        (producer,) = await sender.produce([video])
        receiver = await Peer.join(router)
        peers.append(receiver)
        ((consumer, client),) = await receiver.consume([producer], loss=loss)
        scores: list[int] = []
        consumer.on("score", lambda score: scores.append(score["score"]))
        loop = asyncio.get_running_loop()
        started = loop.time()
        sizes = await asyncio.wait_for(decoded_frames(client.track, frames), timeout=60)
        elapsed = loop.time() - started
        stats = (await consumer.get_stats())[0]
        # The network heals: the next receiver reports show no loss and the score recovers.
        receiver.relays[0].loss = 0.0
        recovered_after = len(scores)
        deadline = loop.time() + 10
        # mediasoup's score is a weighted average of the last intervals': it climbs back.
        while max(scores[recovered_after + 1 :], default=0) < 9 and loop.time() < deadline:
            await asyncio.wait_for(decoded_frames(client.track, 10), timeout=10)
        return {
            "sizes": sizes,
            "fps": len(sizes) / elapsed,
            "consumer": stats,
            "dropped": receiver.relays[0].dropped,
            "scores_during_loss": scores[:recovered_after],
            "scores_after": scores[recovered_after:],
        }
    finally:
        for peer in peers:
            await peer.close()
        worker.close()


def test_a_receiver_behind_loss_keeps_decoding_through_retransmissions() -> None:
    results = asyncio.run(asyncio.wait_for(consume_through_loss(0.05, 150), 90))
    stats = results["consumer"]
    assert results["dropped"] > 10, results
    # aiortc NACKs what the relay dropped; the consumer resends it on its RTX stream.
    assert stats["nackCount"] > 0, stats
    assert stats["packetsRetransmitted"] > 0, stats
    assert set(results["sizes"]) == {(640, 480)}
    # The sender makes 30 frames a second; repaired losses keep the decoder close to it.
    assert results["fps"] > 20, results
    # The endpoint's receiver reports show the loss in the score, which then climbs back.
    assert min(results["scores_during_loss"]) < 10, results
    assert max(results["scores_after"]) >= 9, results
    assert max(results["scores_after"]) > min(results["scores_during_loss"]), results


async def produce_through_loss(loss: float, frames: int) -> dict[str, Any]:
    worker = await mediasoup_py.create_worker(rtc_min_port=46300, rtc_max_port=46399)
    peers: list[Peer] = []
    try:
        router = await worker.create_router(media_codecs=MEDIA_CODECS[:2])  # type: ignore[arg-type]
        video = VideoStreamTrack()
        sender = await Peer.join(router, [video])
        peers.append(sender)
        (producer,) = await sender.produce([video], loss=loss)
        receiver = await Peer.join(router)
        peers.append(receiver)
        ((_, client),) = await receiver.consume([producer])
        loop = asyncio.get_running_loop()
        started = loop.time()
        sizes = await asyncio.wait_for(decoded_frames(client.track, frames), timeout=60)
        return {
            "sizes": sizes,
            "fps": len(sizes) / (loop.time() - started),
            "producer": (await producer.get_stats())[0],
            "dropped": sender.relays[0].dropped,
        }
    finally:
        for peer in peers:
            await peer.close()
        worker.close()


def test_loss_from_the_producer_is_repaired_by_nacking_its_sender() -> None:
    results = asyncio.run(asyncio.wait_for(produce_through_loss(0.05, 150), 90))
    stats = results["producer"]
    assert results["dropped"] > 10, results
    # We NACK what the relay dropped; aiortc resends it on its RTX stream, which the
    # producer turns back into the original packets.
    assert stats["nackCount"] > 0, stats
    assert stats["packetsRepaired"] > 0, stats
    assert set(results["sizes"]) == {(640, 480)}
    assert results["fps"] > 20, results


async def consent_expiry() -> dict[str, Any]:
    """A receiver (aiortc) whose network goes away: nothing of it reaches the server, which
    stops sending once consent expires (10 s, the shortest mediasoup allows); its network
    comes back: its next consent check resumes the media."""
    worker = await mediasoup_py.create_worker(rtc_min_port=46200, rtc_max_port=46299)
    peers: list[Peer] = []
    try:
        router = await worker.create_router(media_codecs=MEDIA_CODECS[:2])  # type: ignore[arg-type]
        audio = AudioStreamTrack()
        sender = await Peer.join(router, [audio])
        peers.append(sender)
        (producer,) = await sender.produce([audio])
        receiver = await Peer.join(router)
        peers.append(receiver)
        ((_, client),) = await receiver.consume([producer], relayed=True, ice_consent_timeout=10)
        transport, relay = receiver.receiving, receiver.relays[0]
        assert transport is not None
        await asyncio.wait_for(client.track.recv(), timeout=20)
        loop = asyncio.get_running_loop()
        relay.client_cut_off = True
        cut_at = loop.time()
        while (await transport.get_stats())[0]["iceState"] != "disconnected":
            assert loop.time() - cut_at < 20, "consent never expired"
            await asyncio.sleep(0.2)
        expired_after = loop.time() - cut_at
        forwarded = relay.forwarded
        await asyncio.sleep(2)
        sent_while_expired = relay.forwarded - forwarded
        relay.client_cut_off = False
        restored_at = loop.time()
        # A check without nomination: connected again (RFC 7675 consent, ICE-lite).
        while (await transport.get_stats())[0]["iceState"] not in ("connected", "completed"):
            assert loop.time() - restored_at < 20, "consent never came back"
            await asyncio.sleep(0.2)
        back_after = loop.time() - restored_at
        forwarded = relay.forwarded
        await asyncio.sleep(1)
        return {
            "expiredAfter": expired_after,
            "sentWhileExpired": sent_while_expired,
            "backAfter": back_after,
            "sentOnceBack": relay.forwarded - forwarded,
        }
    finally:
        for peer in peers:
            await peer.close()
        worker.close()


def test_consent_expiry_stops_media_to_a_receiver_and_a_new_check_resumes_it() -> None:
    result = asyncio.run(asyncio.wait_for(consent_expiry(), 90))
    assert 9 <= result["expiredAfter"] <= 13, result
    # Not a datagram to an address that stopped consenting (RFC 7675).
    assert result["sentWhileExpired"] == 0, result
    # aioice checks consent every 5 s or so: the next one brings the media back.
    assert result["backAfter"] < 12, result
    assert result["sentOnceBack"] > 20, result
