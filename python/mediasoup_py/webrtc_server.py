"""WebRtcServers: one UDP port and/or one TCP port shared by many WebRtcTransports (mediasoup
3.10+), for hosts that can open only a port or two, and here shared by several workers of the
process: the whole process listens on the one port. The worker that created the server reads
its ports and routes each client's packets by ICE username fragment, then by validated tuple,
handing those of another worker's transports to that worker; once ICE validates a client's
UDP tuple, its worker reads that client's datagrams directly (a socket connected to it on the
same port), and an ICE-TCP connection moves whole to the worker of its transport."""

from __future__ import annotations

import asyncio
import functools
import logging
import uuid
from typing import TYPE_CHECKING, Any

from mediasoup_py import errors
from mediasoup_py.events import EventEmitter
from mediasoup_py.transport import parse_listen_infos
from mediasoup_py.webrtc_transport import (
    ResolvedListen,
    announce,
    group_listen_infos,
    native_listens,
)

if TYPE_CHECKING:
    from mediasoup_py.webrtc_transport import WebRtcTransport
    from mediasoup_py.worker import Worker

__all__ = ["WebRtcServer"]

_logger = logging.getLogger("mediasoup_py.webrtc_server")


class WebRtcServer(EventEmitter):
    """Shared ports for WebRtcTransports. Events: ``workerclose``. Observer events:
    ``close``, ``webrtctransporthandled``, ``webrtctransportunhandled``."""

    def __init__(
        self,
        worker: Worker,
        server_id: str,
        resolved: list[ResolvedListen],
        data: dict[str, Any],
        app_data: dict[str, Any],
    ) -> None:
        super().__init__()
        self._worker = worker
        # The workers whose routers may use it, the creating one first.
        self._members: list[Worker] = [worker]
        self._id = server_id
        self._transports: dict[str, WebRtcTransport] = {}
        self._closed = False
        self._rehoming: asyncio.Future[None] | None = None
        self.app_data = app_data
        self.observer = EventEmitter()
        self._listening = announce(data["listening"], resolved)

    @classmethod
    async def create(
        cls, worker: Worker, listen_infos: object, app_data: dict[str, Any]
    ) -> WebRtcServer:
        """Binds the server's ports; use ``Worker.create_webrtc_server``."""
        resolved = group_listen_infos(parse_listen_infos(listen_infos))
        server_id = str(uuid.uuid4())
        native = worker._native
        data = await worker._request(
            lambda request_id: native.create_webrtc_server(
                request_id, server_id=server_id, listens=native_listens(resolved)
            )
        )
        return cls(worker, server_id, resolved, data, app_data)

    async def add_worker(self, worker: Worker) -> None:
        """Lets ``worker``'s routers create WebRtcTransports on this server too (its ports
        stay the creating worker's: the process listens on them once). Use the
        ``share_with`` argument of ``Worker.create_webrtc_server`` at creation."""
        from mediasoup_py.worker import Worker

        if not isinstance(worker, Worker):
            raise errors.MediasoupTypeError("share_with: must be Workers", "share_with")
        if self._closed:
            raise errors.InvalidStateError("WebRtcServer closed")
        if worker in self._members:
            return
        worker._check_open()
        native = worker._native
        await worker._request(lambda request_id: native.join_webrtc_server(request_id, self._id))
        self._members.append(worker)
        worker._adopt_webrtc_server(self)

    @property
    def id(self) -> str:
        """The server's id (a UUID)."""
        return self._id

    @property
    def workers(self) -> list[Worker]:
        """The workers whose routers may use it, the one that reads its ports first (the one
        that created it, or the next if that one closed or died)."""
        return list(self._members)

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
        unknown ICE username fragment, an address ICE never validated), by kind, summed over
        its workers; per worker (``workers``, in ``self.workers`` order) also what that
        worker handed to another (``handedOver``: datagrams and ICE-TCP connections) and its
        sockets connected to single clients (``tupleSockets``)."""
        if self._closed:
            raise errors.InvalidStateError("WebRtcServer closed")
        members = [
            await worker._request(
                functools.partial(worker._native.dump_webrtc_server, server_id=self._id)
            )
            for worker in self._members
        ]
        unrouted = {
            kind: sum(member["unroutedDatagrams"][kind] for member in members)
            for kind in members[0]["unroutedDatagrams"]
        }
        return {
            "id": self._id,
            "listenInfos": self.listening,
            "webRtcTransportIds": list(self._transports),
            "unroutedDatagrams": unrouted,
            "workers": [
                {
                    "handedOver": member["handedOver"],
                    "tupleSockets": member["tupleSockets"],
                    "unroutedDatagrams": member["unroutedDatagrams"],
                }
                for member in members
            ],
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
        for worker in self._members:
            if not worker.closed:
                worker._send_unawaited(
                    functools.partial(worker._native.close_webrtc_server, server_id=self._id)
                )
            worker._forget_webrtc_server(self._id)
        self.observer.emit("close")

    def _add_transport(self, transport: WebRtcTransport) -> None:
        self._transports[transport.id] = transport
        self.observer.emit("webrtctransporthandled", transport)

    def _remove_transport(self, transport: WebRtcTransport) -> None:
        if self._transports.pop(transport.id, None) is not None:
            self.observer.emit("webrtctransportunhandled", transport)

    def _on_worker_closed(self, worker: Worker) -> None:
        if self._closed:
            return
        if worker in self._members:
            self._members.remove(worker)
        if worker is not self._worker:
            # Another member: its transports closed with its routers; the ports stay.
            return
        survivors = [member for member in self._members if not member.closed]
        if not survivors:
            self._closed = True
            self._transports.clear()
            self.emit("workerclose")
            self.observer.emit("close")
            return
        # The worker reading the ports is gone: the next member reads them from now on (the
        # other members' transports go on meanwhile, on their clients' connected sockets).
        self._worker = survivors[0]
        self._rehoming = asyncio.ensure_future(self._rehome(survivors[0]))

    async def _rehome(self, worker: Worker) -> None:
        try:
            await worker._request(
                functools.partial(worker._native.rehome_webrtc_server, server_id=self._id)
            )
        except errors.MediasoupError:
            if worker.closed:
                # Closing too (the process shutting down, say): nothing to take over.
                return
            _logger.exception("WebRtcServer %s: its port could not be opened again", self._id)
            self.close()
