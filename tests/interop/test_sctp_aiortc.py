"""Our SCTP association (mediasoup_py.sctp, the one the transports run) against aiortc's
SCTP, a separate implementation: in-band channels (DCEP OPEN answered with ACK), negotiated
channels as mediasoup-client opens them, the four message PPIDs, a message of 60,000 bytes,
unordered partial reliability, and a channel closed by stream reset.

Between the two stands what DTLS would carry (its records are tested with aiortc, Chromium and
libsrtp elsewhere): each side's SCTP packets go to the other as they are, in real time, with
aiortc's timers on asyncio and ours driven from the same clock.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import pytest
from aiortc import RTCDataChannel, RTCDataChannelParameters, RTCSctpTransport
from aiortc.rtcsctptransport import RTCSctpCapabilities

from mediasoup_py.errors import MediasoupTypeError
from mediasoup_py.sctp import SctpAssociation


class _DtlsStandIn:
    """What aiortc's SCTP uses of its DTLS transport: its state, its role, and a way to send
    and receive SCTP packets; packets go to and come from our association unchanged."""

    state = "connected"
    _role = "server"  # aiortc is the DTLS server, so ours is the SCTP client (it connects).

    def __init__(self) -> None:
        self.to_ours: deque[bytes] = deque()
        self.receivers: list[Any] = []

    def _register_data_receiver(self, receiver: Any) -> None:
        self.receivers.append(receiver)

    def _unregister_data_receiver(self, receiver: Any) -> None:
        self.receivers.remove(receiver)

    async def _send_data(self, data: bytes) -> None:
        self.to_ours.append(data)


class _Link:
    """Our association and aiortc's, connected."""

    def __init__(self) -> None:
        self.ours = SctpAssociation()
        self.created = time.monotonic()
        self.dtls = _DtlsStandIn()
        self.theirs = RTCSctpTransport(self.dtls)  # type: ignore[arg-type]
        self.events: list[dict[str, Any]] = []

    def now(self) -> float:
        return time.monotonic() - self.created

    async def start(self) -> None:
        self.ours.start("client")
        await self.theirs.start(RTCSctpCapabilities(maxMessageSize=262144), 5000)
        await self.run_until(lambda: self.ours.state == "connected", "association established")

    async def step(self) -> None:
        now = self.now()
        while self.dtls.to_ours:
            self.ours.handle_packet(self.dtls.to_ours.popleft(), now)
        deadline = self.ours.poll_timeout()
        if deadline is not None and deadline <= now:
            self.ours.handle_timeout(now)
        while (packet := self.ours.poll_transmit(now)) is not None:
            await self.theirs._handle_data(packet)
        while (event := self.ours.poll_event()) is not None:
            self.events.append(event)
        await asyncio.sleep(0.002)

    async def run_until(
        self, condition: Callable[[], bool], what: str, seconds: float = 10
    ) -> None:
        end = time.monotonic() + seconds
        while not condition():
            assert time.monotonic() < end, f"timed out waiting for: {what}"
            await self.step()

    def messages(self, stream_id: int) -> list[tuple[int, bytes]]:
        return [
            (event["ppid"], event["payload"])
            for event in self.events
            if event["type"] == "message" and event["stream_id"] == stream_id
        ]

    async def close(self) -> None:
        await self.theirs.stop()
        self.ours.close()
        assert self.ours.is_released()


def test_in_band_channel_messages_both_ways_and_close() -> None:
    async def scenario() -> None:
        link = _Link()
        await link.start()
        channel = RTCDataChannel(
            link.theirs, RTCDataChannelParameters(label="chat", protocol="json", ordered=True)
        )
        received: list[str | bytes] = []
        channel.on("message", received.append)
        await link.run_until(lambda: channel.readyState == "open", "our DCEP ACK opens it")
        opened = [e for e in link.events if e["type"] == "channel_opened"]
        assert opened == [
            {
                "type": "channel_opened",
                "stream_id": channel.id,
                "label": "chat",
                "protocol": "json",
                "ordered": True,
            }
        ]
        stream_id = channel.id
        assert stream_id is not None

        channel.send("hello")
        channel.send(b"\x00\x01\x02")
        channel.send("")
        channel.send(b"")
        await link.run_until(lambda: len(link.messages(stream_id)) == 4, "four messages")
        assert link.messages(stream_id) == [
            (51, b"hello"),
            (53, b"\x00\x01\x02"),
            (56, b""),
            (57, b""),
        ]

        link.ours.open_stream(stream_id)
        big = bytes(range(256)) * 234 + b"end"  # 59,907 bytes: many DATA chunks
        link.ours.send(stream_id, 51, b"welcome")
        link.ours.send(stream_id, 53, big)
        await link.run_until(lambda: len(received) == 2, "aiortc receives ours")
        assert received == ["welcome", big]

        channel.close()
        await link.run_until(
            lambda: {"type": "stream_closed", "stream_id": stream_id} in link.events,
            "the stream reset reaches us",
        )
        # aiortc initiates too (RFC 8841 §9.3): its INIT is the one refused; nothing else is.
        drops = link.ours.drops()
        assert drops.pop("extra_init") <= 1
        assert set(drops.values()) == {0}
        await link.close()

    asyncio.run(scenario())


def test_negotiated_unreliable_channel_as_mediasoup_client_opens_it() -> None:
    """Also: a message over maxSctpMessageSize is refused with an error naming it, and the
    channel keeps working."""

    async def scenario() -> None:
        link = _Link()
        await link.start()
        channel = RTCDataChannel(
            link.theirs,
            RTCDataChannelParameters(
                label="bot", negotiated=True, id=7, ordered=False, maxRetransmits=0
            ),
        )
        received: list[str | bytes] = []
        channel.on("message", received.append)
        await link.run_until(lambda: channel.readyState == "open", "negotiated channel open")
        for index in range(50):
            channel.send(f"message {index}")
        await link.run_until(lambda: len(link.messages(7)) == 50, "50 messages (no loss here)")
        assert sorted(link.messages(7)) == sorted((51, f"message {i}".encode()) for i in range(50))
        assert not [e for e in link.events if e["type"] == "channel_opened"], "no DCEP"

        link.ours.open_stream(7, ordered=False, max_retransmits=0)
        with pytest.raises(MediasoupTypeError) as refused:
            link.ours.send(7, 53, bytes(262_145))
        assert refused.value.field == "payload"
        link.ours.send(7, 53, b"\xff" * 1000)
        await link.run_until(lambda: received == [b"\xff" * 1000], "aiortc receives ours")
        await link.close()

    asyncio.run(scenario())
