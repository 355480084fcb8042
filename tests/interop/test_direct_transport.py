"""DirectTransport: RTP from Python itself. VP8 from aiortc's encoder (real payloads, real
keyframes) enters through ``producer.send``; a pymediasoup peer consumes it over a
WebRtcTransport and decodes the frames, and a consumer on a second DirectTransport hands
the same stream back to Python through its ``rtp`` event, rewritten for it."""

from __future__ import annotations

import asyncio
import itertools
import struct
from typing import Any

import aioice.ice
import pytest
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.mediastreams import VideoStreamTrack

import mediasoup_py
from tests.interop.pymediasoup_peer import Peer
from tests.interop.test_routing_pymediasoup import MEDIA_CODECS, decoded_frames

SSRC = 0x5151
PAYLOAD_TYPE = 96


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    # aioice drops exactly "127.0.0.1" from host candidates; tests must stay on loopback.
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])


def rtp(sequence: int, timestamp: int, marker: bool, payload: bytes) -> bytes:
    second = (0x80 if marker else 0) | PAYLOAD_TYPE
    return struct.pack("!BBHII", 0x80, second, sequence & 0xFFFF, timestamp, SSRC) + payload


async def feed(producer: mediasoup_py.Producer, frames: int) -> int:
    """Encodes ``frames`` frames of aiortc's test video with its VP8 encoder and sends them
    as RTP at 30 frames a second; returns the number of packets."""
    source = VideoStreamTrack()
    encoder = Vp8Encoder()
    sequence = 0
    for index in range(frames):
        frame = await source.recv()
        payloads, timestamp = encoder.encode(frame, force_keyframe=index % 30 == 0)
        for position, payload in enumerate(payloads):
            producer.send(rtp(sequence, timestamp, position == len(payloads) - 1, payload))
            sequence += 1
    return sequence


async def direct() -> dict[str, Any]:
    worker = await mediasoup_py.create_worker(rtc_min_port=46650, rtc_max_port=46699)
    peers: list[Peer] = []
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
        tap = await sink.consume(producer_id=producer.id, rtp_capabilities=router.rtp_capabilities)
        tapped: list[bytes] = []
        tap.on("rtp", tapped.append)
        receiver = await Peer.join(router)
        peers.append(receiver)
        ((_, client),) = await receiver.consume([producer])
        feeding = asyncio.ensure_future(feed(producer, 150))
        sizes = await asyncio.wait_for(decoded_frames(client.track, 30), 30)
        sent = await feeding
        return {
            "sizes": sizes,
            "sent": sent,
            "tapped": tapped,
            "tap_ssrc": tap.rtp_parameters["encodings"][0]["ssrc"],
            "producer": (await producer.get_stats())[0],
            "source": (await source.get_stats())[0],
        }
    finally:
        for peer in peers:
            await peer.close()
        worker.close()


def test_python_produces_through_a_direct_transport_and_consumes_from_one() -> None:
    result = asyncio.run(asyncio.wait_for(direct(), 60))
    # aiortc's test video is 640x480; its VP8 encoder's frames arrive whole.
    assert set(result["sizes"]) == {(640, 480)}
    assert result["producer"]["packetCount"] == result["sent"]
    assert result["source"]["type"] == "direct-transport"
    tapped = result["tapped"]
    assert len(tapped) == result["sent"], "the tap starts on the first keyframe, packet one"
    ssrcs = {struct.unpack("!I", packet[8:12])[0] for packet in tapped}
    assert ssrcs == {result["tap_ssrc"]}
    sequences = [struct.unpack("!H", packet[2:4])[0] for packet in tapped]
    assert all((b - a) % 65536 == 1 for a, b in itertools.pairwise(sequences))


def test_send_is_only_for_direct_transports() -> None:
    async def scenario() -> None:
        worker = await mediasoup_py.create_worker(rtc_min_port=46700, rtc_max_port=46749)
        try:
            router = await worker.create_router(media_codecs=MEDIA_CODECS[:2])  # type: ignore[arg-type]
            transport = await router.create_webrtc_transport(
                listen_infos=[{"protocol": "udp", "ip": "127.0.0.1"}]  # type: ignore[list-item]
            )
            producer = await transport.produce(
                kind="audio",
                rtp_parameters={  # type: ignore[typeddict-item]
                    "codecs": [
                        {
                            "mimeType": "audio/opus",
                            "payloadType": 111,
                            "clockRate": 48000,
                            "channels": 2,
                        }
                    ],
                    "encodings": [{"ssrc": 1}],
                },
            )
            with pytest.raises(mediasoup_py.errors.InvalidStateError):
                producer.send(b"\x80" * 20)
            direct = await router.create_direct_transport(max_message_size=100)
            with pytest.raises(mediasoup_py.errors.MediasoupTypeError) as raised:
                direct.send_rtcp(b"\x80" * 200)
            assert raised.value.field == "packet"
        finally:
            worker.close()

    asyncio.run(scenario())
