"""What the handles of the object model share: an object the worker holds, with an id,
``app_data``, an ``observer``, and a closed state (:class:`Handle`: routers, transports, RTP
observers); and, for what a transport makes (producers, consumers, data producers, data
consumers), the same close on the transport's close (:class:`TransportChild`)."""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any, ClassVar

from mediasoup_py import errors
from mediasoup_py.events import EventEmitter

if TYPE_CHECKING:
    from mediasoup_py.router import Router
    from mediasoup_py.transport import Transport
    from mediasoup_py.worker import Worker

__all__ = ["Handle", "TransportChild"]


class Handle(EventEmitter):
    """The base of routers, transports, RTP observers, and what transports make."""

    # What the handle is, in "... closed" errors.
    _noun: ClassVar[str]

    def __init__(self, handle_id: str, app_data: dict[str, Any]) -> None:
        super().__init__()
        self._id = handle_id
        self._closed = False
        self.app_data = app_data
        self.observer = EventEmitter()

    @property
    def id(self) -> str:
        """Its id (a UUID; a producer or data producer may be given its own)."""
        return self._id

    @property
    def closed(self) -> bool:
        """Whether it is closed."""
        return self._closed

    def _check_open(self) -> None:
        if self._closed:
            raise errors.InvalidStateError(f"{self._noun} closed")


class TransportChild(Handle, abc.ABC):
    """The base of the handles made by a transport."""

    def __init__(self, transport: Transport, handle_id: str, app_data: dict[str, Any]) -> None:
        super().__init__(handle_id, app_data)
        self._transport = transport

    @property
    def transport(self) -> Transport:
        """The transport it was made on."""
        return self._transport

    @property
    def _router(self) -> Router:
        return self._transport.router

    @property
    def _worker(self) -> Worker:
        return self._transport.router.worker

    @abc.abstractmethod
    def _close(self) -> None:
        """Marks it closed and forgets it (the worker has closed it or is told apart)."""

    def _on_transport_closed(self) -> None:
        if self._closed:
            return
        self._close()
        self.emit("transportclose")
