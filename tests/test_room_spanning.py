"""A room over two workers through the v3 protocol, with real sockets and no browser: the
publisher's and the subscriber's transports land on different workers, the producers reach
the subscriber's worker through one pipe each, pause and resume reach the subscriber through
the pipe (``consumerPaused``/``consumerResumed``), the publisher's audio levels (RFC 6464,
sent over UDP to its plain transport) are heard by the room's observer on the other worker
(``activeSpeaker``), and a pipe closes once nothing on its worker uses it any more."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import mediasoup_py
from mediasoup_py import protocol
from mediasoup_py.rtp import RtpPacket

CODECS: list[dict[str, Any]] = [
    {"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2},
    {"kind": "video", "mimeType": "video/VP8", "clockRate": 90000},
]
AUDIO_LEVEL_ID = 1


class RecordingChannel:
    """A client that accepts every consumer and keeps what it is told."""

    def __init__(self) -> None:
        self.notifications: list[protocol.Notification] = []

    async def request(self, message: protocol.Request) -> protocol.Response:
        return protocol.ok_response(message["id"], {})

    def notify(self, message: protocol.Notification) -> None:
        self.notifications.append(message)

    def methods(self) -> list[str]:
        return [message["method"] for message in self.notifications]


async def call(peer: mediasoup_py.Peer, method: str, data: dict[str, Any]) -> dict[str, Any]:
    response = await peer.receive_request(protocol.request(method, data))
    assert response["ok"], response
    result: dict[str, Any] = response["data"]
    return result


async def until(condition: Any, timeout: float = 10) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


def parameters(caps: dict[str, Any], mime_type: str, ssrc: int) -> dict[str, Any]:
    codec = next(c for c in caps["codecs"] if c["mimeType"] == mime_type)
    entry = {key: codec[key] for key in ("mimeType", "clockRate", "channels") if key in codec}
    extensions = []
    if mime_type.startswith("audio"):
        extensions = [{"uri": "urn:ietf:params:rtp-hdrext:ssrc-audio-level", "id": AUDIO_LEVEL_ID}]
    return {
        "codecs": [{**entry, "payloadType": codec["preferredPayloadType"]}],
        "headerExtensions": extensions,
        "encodings": [{"ssrc": ssrc}],
        "rtcp": {"cname": "publisher"},
    }


async def scenario() -> dict[str, Any]:
    server = await mediasoup_py.Server.create(num_workers=2, rtc_min_port=47600, rtc_max_port=47699)
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        room = await server.create_room(CODECS)  # type: ignore[arg-type]
        caps = room.router.rtp_capabilities
        pub_channel, sub_channel = RecordingChannel(), RecordingChannel()
        pub = room.create_peer("pub", pub_channel)
        sub = room.create_peer("sub", sub_channel)
        plain = await call(pub, "createPlainTransport", {"comedia": True, "rtcpMux": True})
        await call(sub, "createWebRtcTransport", {"consuming": True})
        for peer in (pub, sub):
            await call(peer, "join", {"displayName": peer.id, "rtpCapabilities": caps})
        audio = await call(
            pub,
            "produce",
            {
                "transportId": plain["id"],
                "kind": "audio",
                "rtpParameters": parameters(caps, "audio/opus", 1111),
            },
        )
        video = await call(
            pub,
            "produce",
            {
                "transportId": plain["id"],
                "kind": "video",
                "rtpParameters": parameters(caps, "video/VP8", 2222),
            },
        )
        await until(lambda: len(sub.consumers) == 2)
        workers = {
            name: sorted(
                {room.router_of(t).worker.id for t in peer.transports.values()}  # type: ignore[union-attr]
            )
            for name, peer in (("pub", pub), ("sub", sub))
        }
        pipes_when_consumed = sorted(pipe["producerId"] for pipe in room.dump()["pipes"])

        levels: list[Any] = []
        room.on("audiolevels", levels.append)
        for sequence in range(100):
            packet = RtpPacket(
                payload_type=parameters(caps, "audio/opus", 1)["codecs"][0]["payloadType"],
                sequence_number=sequence,
                timestamp=sequence * 960,
                ssrc=1111,
                extensions={AUDIO_LEVEL_ID: bytes([0x80 | 20])},  # voice, -20 dBov
                payload=b"\xfc" + bytes(40),
            )
            sender.sendto(packet.to_bytes(), (plain["ip"], plain["port"]))
            await asyncio.sleep(0.02)
            if any(levels) and "activeSpeaker" in sub_channel.methods():
                break
        speakers = [
            message["data"].get("peerId")
            for message in sub_channel.notifications
            if message["method"] == "activeSpeaker"
        ]

        await call(pub, "pauseProducer", {"producerId": video["id"]})
        await until(lambda: "consumerPaused" in sub_channel.methods())
        await call(pub, "resumeProducer", {"producerId": video["id"]})
        await until(lambda: "consumerResumed" in sub_channel.methods())

        # The subscriber goes: the video pipe has nobody left on its worker; the audio pipe
        # still feeds the room's audio observer there.
        sub.close()
        await asyncio.sleep(0.2)
        pipes_after_leave = sorted(pipe["producerId"] for pipe in room.dump()["pipes"])
        await call(pub, "closeProducer", {"producerId": audio["id"]})
        await asyncio.sleep(0.2)
        return {
            "workers": workers,
            "homeWorker": room.router.worker.id,
            "pipesWhenConsumed": pipes_when_consumed,
            "producers": sorted([audio["id"], video["id"]]),
            "audio": audio["id"],
            "heard": [[entry["producer"].id for entry in batch] for batch in levels if batch][:1],
            "speakers": speakers,
            "pipesAfterLeave": pipes_after_leave,
            "pipesAtEnd": room.dump()["pipes"],
        }
    finally:
        sender.close()
        server.close()


def test_a_room_over_two_workers_pipes_pauses_hears_and_unpipes() -> None:
    result = asyncio.run(asyncio.wait_for(scenario(), 30))
    pub_workers, sub_workers = result["workers"]["pub"], result["workers"]["sub"]
    assert len(pub_workers) == len(sub_workers) == 1
    assert pub_workers != sub_workers
    # Both producers piped once, to the subscriber's worker (also the room's home).
    assert result["pipesWhenConsumed"] == result["producers"]
    assert result["homeWorker"] == sub_workers[0]
    # The observer on the other worker heard the publisher's audio level.
    assert result["heard"] == [[result["audio"]]]
    assert "pub" in result["speakers"]
    assert result["pipesAfterLeave"] == [result["audio"]]
    assert result["pipesAtEnd"] == []
