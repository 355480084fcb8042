"""A PlainTransport's SCTP against aiortc's SCTP, a separate implementation, over a real UDP
socket: SCTP as mediasoup's plain and pipe transports carry it (UDP payloads on the
transport's tuple, no DTLS). aiortc's association runs on its own socket; what it sends
goes to the transport's port and what arrives on its socket goes to it. Negotiated channels
both ways (a DataProducer on the stream aiortc sends on, a DataConsumer on the stream the
transport chose), messages of each PPID and one of 100 KB, ``sctpstatechange``, stats, and
garbage from a third socket counted; ``bufferedamountlow`` reaches Python for the data
consumer that listens for it and never leaves the worker for the one that does not."""

from __future__ import annotations

import asyncio
import socket
from typing import Any, cast

from aiortc import RTCDataChannel, RTCDataChannelParameters, RTCSctpTransport
from aiortc.rtcsctptransport import RTCSctpCapabilities

import mediasoup_py
from tests.interop.test_sctp_aiortc import _DtlsStandIn


class _UdpStandIn(_DtlsStandIn, asyncio.DatagramProtocol):
    """What aiortc's SCTP uses of its DTLS transport, over a UDP socket connected to the
    PlainTransport: its packets leave as datagrams, datagrams that arrive go to it."""

    def __init__(self, role: str) -> None:
        super().__init__()
        self._role = role
        self.udp: asyncio.DatagramTransport | None = None
        self.sctp: RTCSctpTransport | None = None
        # Packets being handed to aiortc, kept until it has them.
        self.handling: set[asyncio.Task[None]] = set()
        # Packets that arrived before aiortc started (it has no ports until then).
        self.early: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.udp = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        if self.sctp is None:
            self.early.append(data)
            return
        task = asyncio.ensure_future(self.sctp._handle_data(data))
        self.handling.add(task)
        task.add_done_callback(self.handling.discard)

    def started(self, sctp: RTCSctpTransport) -> None:
        """aiortc's association has its ports: it gets what arrived before."""
        self.sctp = sctp
        for data in self.early:
            self.datagram_received(data, ("127.0.0.1", 0))
        self.early.clear()

    async def _send_data(self, data: bytes) -> None:
        assert self.udp is not None
        self.udp.sendto(data)


def test_plain_transport_sctp_with_aiortc_over_udp() -> None:
    async def scenario() -> dict[str, Any]:
        worker = await mediasoup_py.create_worker(rtc_min_port=46900, rtc_max_port=46919)
        stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            router = await worker.create_router(media_codecs=[])
            plain = await router.create_plain_transport(
                listen_info={"protocol": "udp", "ip": "127.0.0.1"}, enable_sctp=True
            )
            states: list[str] = []
            plain.on("sctpstatechange", states.append)
            port = plain.tuple["localPort"]
            loop = asyncio.get_running_loop()
            # The end whose address sorts lower sends the INIT: the port decides here.
            probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            probe.bind(("127.0.0.1", 0))
            probe.connect(("127.0.0.1", port))
            ours_initiates = port < probe.getsockname()[1]
            stand_in = _UdpStandIn("server" if ours_initiates else "client")
            await loop.create_datagram_endpoint(lambda: stand_in, sock=probe)
            theirs = RTCSctpTransport(stand_in)  # type: ignore[arg-type]
            # aiortc sends an INIT whatever its role (RFC 8841 §9.3): the transport is
            # connected first, so that INIT finds its tuple known.
            await plain.connect(ip="127.0.0.1", port=probe.getsockname()[1])
            await theirs.start(RTCSctpCapabilities(maxMessageSize=262144), 5000)
            stand_in.started(theirs)
            # mediasoup-client's way: negotiated channels, the stream ids from signaling.
            inbound = RTCDataChannel(
                theirs, RTCDataChannelParameters(label="chat", negotiated=True, id=3)
            )
            direct = await router.create_direct_transport()
            producer = await plain.produce_data(
                sctp_stream_parameters={"streamId": 3, "ordered": True}, label="chat"
            )
            heard: list[tuple[bytes, int | None]] = []
            (await direct.consume_data(data_producer_id=producer.id)).on(
                "message", lambda message, ppid: heard.append((message, ppid))
            )
            source = await direct.produce_data(label="bot")
            consumer = await plain.consume_data(data_producer_id=source.id)
            stream = (consumer.sctp_stream_parameters or {})["streamId"]
            outbound = RTCDataChannel(
                theirs, RTCDataChannelParameters(label="bot", negotiated=True, id=stream)
            )
            received: list[str | bytes] = []
            outbound.on("message", received.append)
            lows: list[int] = []
            consumer.on("bufferedamountlow", lows.append)
            quiet = await plain.consume_data(data_producer_id=source.id)
            quiet_stream = (quiet.sctp_stream_parameters or {})["streamId"]
            quiet_received: list[str | bytes] = []
            RTCDataChannel(
                theirs, RTCDataChannelParameters(label="bot", negotiated=True, id=quiet_stream)
            ).on("message", quiet_received.append)
            # Every event the worker hands to Python, to see which consumers it woke it for.
            events: list[Any] = []
            dispatch = worker._dispatch
            worker._dispatch = lambda event: (events.append(event), dispatch(event))  # type: ignore[method-assign]
            for _ in range(500):
                if plain.sctp_state == "connected" and inbound.readyState == "open":
                    break
                await asyncio.sleep(0.01)
            big = bytes(range(256)) * 400
            inbound.send("hello")
            inbound.send(b"\x00\x01")
            inbound.send("")
            inbound.send(big)
            source.send("welcome")
            source.send(big)
            for _ in range(500):
                if len(heard) == 4 and len(received) == 2 and len(quiet_received) == 2 and lows:
                    break
                await asyncio.sleep(0.01)
            # Garbage with SCTP's ports from a stranger: the transport counts it.
            stranger.sendto(b"\x13\x88\x13\x88" + bytes(60), ("127.0.0.1", port))
            await asyncio.sleep(0.1)
            result = {
                "ourInit": ours_initiates,
                "states": states,
                "heard": heard,
                "received": received,
                "stats": (await plain.get_stats())[0],
                "consumer": (await consumer.get_stats())[0],
                "stream": stream,
                "lows": lows,
                "quiet_received": quiet_received,
                "low_events_for": [
                    event["dataConsumerId"]
                    for event in events
                    if event.get("event") == "bufferedamountlow"
                ],
                "ids": (consumer.id, quiet.id),
            }
            await theirs.stop()
            return result
        finally:
            stranger.close()
            worker.close()

    result = asyncio.run(asyncio.wait_for(scenario(), 30))
    assert result["states"] == ["connecting", "connected"]
    big = bytes(range(256)) * 400
    assert result["heard"] == [(b"hello", 51), (b"\x00\x01", 53), (b"", 56), (big, 53)]
    assert result["received"] == ["welcome", big]
    assert result["stream"] == 0
    stats = result["stats"]
    assert stats["type"] == "plain-rtp-transport"
    assert stats["sctpState"] == "connected"
    assert stats["droppedDatagrams"]["sctpUnexpected"] == 1
    incoming = dict(stats["sctpDroppedMessages"]["incoming"])
    # aiortc sends its own INIT too when it is the client: refused, at most once.
    assert incoming.pop("extraInit") <= 1
    assert set(incoming.values()) == {0}
    assert result["consumer"]["messagesSent"] == 2
    assert result["quiet_received"] == ["welcome", big]
    # Once the messages are acknowledged, the listening consumer hears its buffer is empty;
    # the other's acknowledgements never reach the control plane.
    listening, quiet = result["ids"]
    assert result["lows"]
    assert result["lows"][-1] == 0
    assert listening in result["low_events_for"]
    assert quiet not in result["low_events_for"]
