"""Feedback storms over real sockets: the producer's endpoint is a UDP socket sending aiortc's
VP8 into a PlainTransport (comedia), the consumer's endpoint another UDP socket behind a second
PlainTransport, and the storm is RTCP that socket sends. A NACK storm (every packet asked for
again and again) is answered within the consumer's retransmission budget and the rest refused;
a FIR storm (a thousand full intra requests, each a new one by its sequence number) reaches the
producer's endpoint as a handful of keyframe requests."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import mediasoup_py
from mediasoup_py.rtcp import parse as parse_rtcp
from mediasoup_py.rtcp import serialize as serialize_rtcp
from tests.interop.test_producer_events_direct import SSRC, Sender, vp8_rtp_parameters
from tests.interop.test_routing_pymediasoup import MEDIA_CODECS

LOOPBACK: Any = {"protocol": "udp", "ip": "127.0.0.1"}
STORM_NACKS = 200  # each asking for 17 packets: 3400 requests
STORM_FIRS = 1000


class Endpoint:
    """A UDP socket on 127.0.0.1 talking to one PlainTransport port, read as datagrams come,
    with a buffer that holds a whole burst of retransmissions (the default holds ~90)."""

    def __init__(self) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.setblocking(False)
        self.peer: tuple[str, int] | None = None
        self.received: list[bytes] = []
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self.socket.fileno(), self._read)

    @property
    def port(self) -> int:
        port: int = self.socket.getsockname()[1]
        return port

    def send(self, packet: bytes) -> None:
        assert self.peer is not None
        self.socket.sendto(packet, self.peer)

    def _read(self) -> None:
        while True:
            try:
                self.received.append(self.socket.recv(2048))
            except BlockingIOError:
                return

    def drain(self) -> list[bytes]:
        """What came since the last drain."""
        self._read()
        datagrams, self.received = self.received, []
        return datagrams

    def close(self) -> None:
        self._loop.remove_reader(self.socket.fileno())
        self.socket.close()


def is_rtcp(datagram: bytes) -> bool:
    return len(datagram) > 1 and 192 <= datagram[1] <= 223


async def plain_call(
    router: mediasoup_py.Router,
) -> tuple[Endpoint, Endpoint, mediasoup_py.Consumer, Sender]:
    """A camera socket producing VP8 into one PlainTransport and a viewer socket consuming it
    from another, the first frame (a keyframe) delivered."""
    ingress = await router.create_plain_transport(listen_info=LOOPBACK, comedia=True)
    camera = Endpoint()
    camera.peer = ("127.0.0.1", ingress.tuple["localPort"])
    producer = await ingress.produce(
        kind="video",
        rtp_parameters=vp8_rtp_parameters(SSRC),  # type: ignore[arg-type]
    )
    egress = await router.create_plain_transport(listen_info=LOOPBACK)
    viewer = Endpoint()
    viewer.peer = ("127.0.0.1", egress.tuple["localPort"])
    await egress.connect(ip="127.0.0.1", port=viewer.port)
    consumer = await egress.consume(
        producer_id=producer.id, rtp_capabilities=router.rtp_capabilities
    )
    sender = Sender(camera)
    await sender.frame(keyframe=True)
    return camera, viewer, consumer, sender


async def nack_storm() -> dict[str, Any]:
    worker = await mediasoup_py.create_worker(rtc_min_port=44400, rtc_max_port=44449)
    camera = viewer = None
    try:
        router = await worker.create_router(media_codecs=MEDIA_CODECS[:2])  # type: ignore[arg-type]
        camera, viewer, consumer, sender = await plain_call(router)
        for _ in range(59):
            await sender.frame(keyframe=False)
        await asyncio.sleep(0.3)
        sent = [datagram for datagram in viewer.drain() if not is_rtcp(datagram)]
        media_ssrc = consumer.rtp_parameters["encodings"][0]["ssrc"]
        media = [packet for packet in sent if int.from_bytes(packet[8:12], "big") == media_ssrc]
        first = int.from_bytes(media[0][2:4], "big")
        # Every packet sent so far, 17 at a time, over and over.
        items = [
            {"pid": (first + offset) % 65536, "blp": 0xFFFF}
            for offset in range(0, len(media) - 17, 17)
        ]
        for index in range(STORM_NACKS):
            nack = {
                "type": "nack",
                "sender_ssrc": 7,
                "media_ssrc": media_ssrc,
                "items": [items[index % len(items)]],
            }
            viewer.send(serialize_rtcp([nack]))  # type: ignore[list-item]
        await asyncio.sleep(0.5)
        resent = [datagram for datagram in viewer.drain() if not is_rtcp(datagram)]
        stats = (await consumer.get_stats())[0]
        return {
            "sent": len(media),
            "requested": STORM_NACKS * 17,
            "retransmissions": len(resent),
            "stats": stats,
        }
    finally:
        for endpoint in (camera, viewer):
            if endpoint is not None:
                endpoint.close()
        worker.close()


def test_a_nack_storm_over_udp_is_answered_within_the_consumers_budget() -> None:
    result = asyncio.run(asyncio.wait_for(nack_storm(), 30))
    assert result["sent"] >= 60, result
    # The burst (250) plus what 0.5 s at 500/s refills, at most; each one a datagram.
    assert 200 <= result["retransmissions"] <= 250 + 300, result
    stats = result["stats"]
    refused = stats["retransmissionRefusedCount"]
    assert refused > 2000, stats
    assert refused + result["retransmissions"] <= result["requested"]
    assert stats["packetsRetransmitted"] == result["retransmissions"]


async def fir_storm() -> dict[str, Any]:
    worker = await mediasoup_py.create_worker(rtc_min_port=44450, rtc_max_port=44499)
    camera = viewer = None
    try:
        router = await worker.create_router(media_codecs=MEDIA_CODECS[:2])  # type: ignore[arg-type]
        camera, viewer, consumer, sender = await plain_call(router)
        await asyncio.sleep(0.2)
        camera.drain()
        media_ssrc = consumer.rtp_parameters["encodings"][0]["ssrc"]
        # A thousand FIRs in two seconds, each a new request (its own sequence number),
        # while the camera keeps sending delta frames and never a keyframe.
        for index in range(STORM_FIRS):
            fir = {
                "type": "fir",
                "sender_ssrc": 7,
                "media_ssrc": 0,
                "entries": [{"ssrc": media_ssrc, "sequence_number": index % 256}],
            }
            viewer.send(serialize_rtcp([fir]))  # type: ignore[list-item]
            if index % 50 == 0:
                await sender.frame(keyframe=False)
                await asyncio.sleep(0.1)
        await asyncio.sleep(0.2)
        to_camera = [datagram for datagram in camera.drain() if is_rtcp(datagram)]
        stats = (await consumer.get_stats())[0]
        return {
            "keyFrameRequestsToCamera": sum(
                1
                for packet in to_camera
                for item in parse_rtcp(packet)
                if item["type"] in ("pli", "fir")
            ),
            "consumerPliCount": stats["pliCount"],
            "consumerFirCount": stats["firCount"],
        }
    finally:
        for endpoint in (camera, viewer):
            if endpoint is not None:
                endpoint.close()
        worker.close()


def test_a_fir_storm_over_udp_reaches_the_camera_as_a_few_requests() -> None:
    result = asyncio.run(asyncio.wait_for(fir_storm(), 30))
    # Every FIR is a keyframe request on the consumer, counted as a FIR (mediasoup's
    # firCount; pliCount counts PLIs only)...
    assert (result["consumerFirCount"], result["consumerPliCount"]) == (STORM_FIRS, 0), result
    # ...but the camera, which never answers with a keyframe here, is asked once, again a
    # second later, and then only after that request lapsed: a handful in 2 s.
    assert 1 <= result["keyFrameRequestsToCamera"] <= 3, result
