"""What producers, consumers, data producers and data consumers share: each is a handle
on an object the worker holds for one transport of a router, with an id, ``app_data``, an
``observer``, a closed state, and the same close on its transport's close."""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any, ClassVar

from mediasoup_py import errors
from mediasoup_py.events import EventEmitter

if TYPE_CHECKING:
    from mediasoup_py.router import Router
    from mediasoup_py.transport import Transport
    from mediasoup_py.worker import Worker

__all__ = ["TransportChild"]


class TransportChild(EventEmitter, abc.ABC):
    """The base of the handles made by a transport."""

    # What the handle is, in "... closed" errors.
    _noun: ClassVar[str]

    def __init__(self, transport: Transport, handle_id: str, app_data: dict[str, Any]) -> None:
        super().__init__()
        self._transport = transport
        self._id = handle_id
        self._closed = False
        self.app_data = app_data
        self.observer = EventEmitter()

    @property
    def id(self) -> str:
        """Its id (a UUID unless the caller chose one)."""
        return self._id

    @property
    def closed(self) -> bool:
        """Whether it is closed."""
        return self._closed

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

    def _check_open(self) -> None:
        if self._closed:
            raise errors.InvalidStateError(f"{self._noun} closed")

    @abc.abstractmethod
    def _close(self) -> None:
        """Marks it closed and forgets it (the worker has closed it or is told apart)."""

    def _on_transport_closed(self) -> None:
        if self._closed:
            return
        self._close()
        self.emit("transportclose")
