"""DirectTransports: media to and from Python itself, without a network peer. A producer on
one takes RTP from ``producer.send(packet)``; a consumer on one hands its RTP to its ``rtp``
event. For bots, recorders and tests."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from mediasoup_py import errors
from mediasoup_py.transport import Transport

if TYPE_CHECKING:
    from mediasoup_py.router import Router

__all__ = ["DirectTransport"]

# mediasoup's default and ceiling for DirectTransport messages.
DEFAULT_MAX_MESSAGE_SIZE = 262_144


class DirectTransport(Transport):
    """A DirectTransport. Events: ``rtcp`` (bytes the router sends this transport: sender
    reports of its consumers, keyframe requests to its producers), ``routerclose``. Its
    consumers emit ``rtp`` with each packet they send; its data producers send the
    application's messages (``DataProducer.send``) and its data consumers emit ``message``."""

    _data_direct = True

    def __init__(
        self, router: Router, transport_id: str, max_message_size: int, app_data: dict[str, Any]
    ) -> None:
        super().__init__(router, transport_id, app_data)
        self._max_message_size = max_message_size

    @classmethod
    async def create(
        cls, router: Router, max_message_size: int, app_data: dict[str, Any]
    ) -> DirectTransport:
        """Asks the router's worker for a transport; use ``Router.create_direct_transport``."""
        if (
            isinstance(max_message_size, bool)
            or not isinstance(max_message_size, int)
            or max_message_size <= 0
        ):
            raise errors.MediasoupTypeError(
                "max_message_size: must be a positive int", "max_message_size"
            )
        transport = cls(router, str(uuid.uuid4()), max_message_size, app_data)
        worker = router.worker
        native = worker._native
        await worker._request(
            lambda request_id: native.create_direct_transport(request_id, router.id, transport.id)
        )
        worker._register_transport(transport)
        return transport

    def __repr__(self) -> str:
        return f"<DirectTransport id={self._id} closed={self._closed}>"

    def send_rtcp(self, packet: bytes) -> None:
        """Hands the router an RTCP compound as if an endpoint on this transport sent it
        (e.g. a PLI for one of its consumers)."""
        self._send_packet(packet, rtcp=True)

    def _send_packet(self, packet: bytes, *, rtcp: bool) -> None:
        self._check_open()
        if not isinstance(packet, bytes | bytearray | memoryview):
            raise errors.MediasoupTypeError("packet: must be bytes", "packet")
        if len(packet) > self._max_message_size:
            raise errors.MediasoupTypeError(
                f"packet: {len(packet)} bytes exceeds max_message_size", "packet"
            )
        native = self._worker._native
        data = bytes(packet)
        self._worker._send_unawaited(
            lambda request_id: native.send_direct_packet(request_id, self._id, rtcp, data)
        )

    async def get_stats(self) -> list[dict[str, Any]]:
        """mediasoup-style statistics (one ``direct-transport`` entry), with
        ``packetsDroppedOwnerBehind``: packets for this process dropped because the asyncio
        loop fell too far behind to take them (the worker holds a bounded backlog, never
        waits)."""
        stats, entry = await self._native_stats("direct-transport")
        entry["packetsDroppedOwnerBehind"] = stats["packetsDroppedOwnerBehind"]
        return [entry]

    def _on_direct_packet(self, rtcp: bool, packet: bytes) -> None:
        if rtcp:
            self.emit("rtcp", packet)
            return
        ssrc = int.from_bytes(packet[8:12], "big") if len(packet) >= 12 else None
        for consumer in self._consumers():
            encoding = consumer.rtp_parameters["encodings"][0]
            if ssrc in (encoding.get("ssrc"), encoding.get("rtx", {}).get("ssrc")):
                consumer.emit("rtp", packet)
                return
