"""WebRtcServers: one UDP port and/or one TCP port shared by many WebRtcTransports of a
worker (mediasoup 3.10+), for hosts that can open only a port or two. The worker routes each
client's packets to its transport by ICE username fragment, then by validated tuple."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from mediasoup_py import errors
from mediasoup_py.events import EventEmitter
from mediasoup_py.transport import ListenInfo, parse_listen_infos, port_range_of

if TYPE_CHECKING:
    from mediasoup_py.webrtc_transport import WebRtcTransport
    from mediasoup_py.worker import Worker

__all__ = ["WebRtcServer"]


def _listen_infos(value: object) -> list[ListenInfo]:
    infos = parse_listen_infos(value)
    protocols = [info["protocol"] for info in infos]
    if len(set(protocols)) != len(protocols) or len({info["ip"] for info in infos}) != 1:
        raise errors.UnsupportedError(
            "a WebRtcServer supports one IP with at most one UDP and one TCP listen info"
        )
    return infos


class WebRtcServer(EventEmitter):
    """Shared ports for WebRtcTransports. Events: ``workerclose``. Observer events:
    ``close``, ``webrtctransporthandled``, ``webrtctransportunhandled``."""

    def __init__(
        self,
        worker: Worker,
        server_id: str,
        infos: list[ListenInfo],
        data: dict[str, Any],
        app_data: dict[str, Any],
    ) -> None:
        super().__init__()
        self._worker = worker
        self._id = server_id
        self._transports: dict[str, WebRtcTransport] = {}
        self._closed = False
        self.app_data = app_data
        self.observer = EventEmitter()
        announced = {info["protocol"]: info.get("announcedAddress") for info in infos}
        self._listening: list[dict[str, Any]] = [
            {**entry, "announcedAddress": announced.get(entry["protocol"])}
            for entry in data["listening"]
        ]

    @classmethod
    async def create(
        cls, worker: Worker, listen_infos: object, app_data: dict[str, Any]
    ) -> WebRtcServer:
        """Binds the server's ports; use ``Worker.create_webrtc_server``."""
        infos = _listen_infos(listen_infos)
        by_protocol = {info["protocol"]: info for info in infos}
        server_id = str(uuid.uuid4())
        native = worker._native

        udp, tcp = by_protocol.get("udp"), by_protocol.get("tcp")
        data = await worker._request(
            lambda request_id: native.create_webrtc_server(
                request_id,
                server_id=server_id,
                listen_ip=infos[0]["ip"],
                udp=None if udp is None else port_range_of(udp),
                tcp=None if tcp is None else port_range_of(tcp),
            )
        )
        return cls(worker, server_id, infos, data, app_data)

    @property
    def id(self) -> str:
        """The server's id (a UUID)."""
        return self._id

    @property
    def closed(self) -> bool:
        """Whether the server is closed."""
        return self._closed

    @property
    def listening(self) -> list[dict[str, Any]]:
        """The bound ports: ``[{"protocol", "ip", "port", "announcedAddress"}]``."""
        return [dict(entry) for entry in self._listening]

    def __repr__(self) -> str:
        return f"<WebRtcServer id={self._id} listening={self._listening}>"

    async def dump(self) -> dict[str, Any]:
        """The server's state, for debugging (mediasoup's ``dump()``): where it listens, its
        transports, and the datagrams it dropped because no transport claimed them (an
        unknown ICE username fragment, an address ICE never validated), by kind."""
        if self._closed:
            raise errors.InvalidStateError("WebRtcServer closed")
        native = self._worker._native
        data = await self._worker._request(
            lambda request_id: native.dump_webrtc_server(request_id, self._id)
        )
        return {
            "id": self._id,
            "listenInfos": self.listening,
            "webRtcTransportIds": list(self._transports),
            "unroutedDatagrams": data["unroutedDatagrams"],
        }

    def close(self) -> None:
        """Closes the server and every transport on it."""
        if self._closed:
            return
        self._closed = True
        for transport in list(self._transports.values()):
            transport._on_listen_server_closed()
            self.observer.emit("webrtctransportunhandled", transport)
        self._transports.clear()
        if not self._worker.closed:
            native = self._worker._native
            self._worker._send(lambda request_id: native.close_webrtc_server(request_id, self._id))
        self._worker._forget_webrtc_server(self._id)
        self.observer.emit("close")

    def _add_transport(self, transport: WebRtcTransport) -> None:
        self._transports[transport.id] = transport
        self.observer.emit("webrtctransporthandled", transport)

    def _remove_transport(self, transport: WebRtcTransport) -> None:
        if self._transports.pop(transport.id, None) is not None:
            self.observer.emit("webrtctransportunhandled", transport)

    def _on_worker_closed(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._transports.clear()
        self.emit("workerclose")
        self.observer.emit("close")
