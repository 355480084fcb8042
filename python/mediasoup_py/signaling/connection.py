"""One client's WebSocket within bounds: what waits to be sent to it (messages and bytes),
each message's size and depth, and (for the v3 protocol, :meth:`WebSocketConnection.serve`)
the requests of its being answered at once. A client that stops reading is closed with 1008
instead of being buffered for; a disconnect while it is being answered is not an error.
Other protocols (mediasoup v2's, examples/v2_room) use :meth:`~WebSocketConnection.messages`
and :meth:`~WebSocketConnection.send` alone."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from aiohttp import WSCloseCode, WSMsgType, web

from mediasoup_py import errors, protocol
from mediasoup_py.limits import Limits
from mediasoup_py.signaling.messages import decode

if TYPE_CHECKING:
    from mediasoup_py.room import Peer

__all__ = ["WebSocketConnection"]

_logger = logging.getLogger("mediasoup_py.signaling")

# How long a closing client has to answer our close frame before its socket is dropped.
CLOSE_TIMEOUT_S = 0.5
# The close code of a client that broke a limit (RFC 6455 7.4.1 "policy violation").
POLICY_VIOLATION = 1008


class WebSocketConnection:
    """A client's signaling: the :class:`~mediasoup_py.room.PeerChannel` of its peer (requests
    to it wait for its response of the same id; notifications are queued), and the loop that
    hands its requests to the peer."""

    def __init__(self, socket: web.WebSocketResponse, request: web.Request, limits: Limits) -> None:
        self._socket = socket
        self._request = request
        self._limits = limits
        self._queue: collections.deque[str] = collections.deque()
        self._queued_bytes = 0
        self._ready = asyncio.Event()
        self._writer = asyncio.ensure_future(self._write())
        self._pending: dict[int, asyncio.Future[protocol.Response]] = {}
        self._answering: set[asyncio.Task[None]] = set()
        self._closing: asyncio.Task[None] | None = None
        self.close_code: int | None = None
        self.close_reason = ""

    @property
    def closed(self) -> bool:
        """Whether it is closed or closing."""
        return self.close_code is not None or self._socket.closed

    # The peer's channel.

    async def request(self, message: protocol.Request) -> protocol.Response:
        """Sends a request; returns the client's response (the room bounds the wait)."""
        if self.closed:
            raise ConnectionError("the client went away")
        future: asyncio.Future[protocol.Response] = asyncio.get_running_loop().create_future()
        self._pending[message["id"]] = future
        try:
            self.send(message)
            return await future
        finally:
            self._pending.pop(message["id"], None)

    def notify(self, message: protocol.Notification) -> None:
        """Queues a notification."""
        self.send(message)

    def send(self, message: Any) -> None:
        """Queues a message; past the send queue's bounds, the client is closed (1008)."""
        if self.closed:
            return
        text = json.dumps(message)
        self._queue.append(text)
        self._queued_bytes += len(text)
        limits = self._limits
        if len(self._queue) > limits.send_queue_messages:
            self.close(POLICY_VIOLATION, "send_queue_messages: the client does not read")
        elif self._queued_bytes > limits.send_queue_bytes:
            self.close(POLICY_VIOLATION, "send_queue_bytes: the client does not read")
        else:
            self._ready.set()

    async def _write(self) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            while True:
                await self._ready.wait()
                self._ready.clear()
                while self._queue:
                    text = self._queue.popleft()
                    self._queued_bytes -= len(text)
                    await self._socket.send_str(text)

    # Reading.

    async def messages(self) -> AsyncIterator[dict[str, Any]]:
        """The client's JSON objects, one per loop turn (a client that pipelines thousands
        does not hold up the others), each checked against ``message_bytes`` and
        ``json_depth`` (past either, the connection is closed with 1008); what is not a JSON
        object is skipped, and binary frames carry nothing. Ends when the client goes."""
        async for message in self._socket:
            if self.closed:
                return
            if message.type == WSMsgType.TEXT:
                try:
                    decoded = decode(message.data, self._limits)
                except errors.LimitExceededError as error:
                    self.close(POLICY_VIOLATION, str(error))
                    return
                except errors.MediasoupTypeError:
                    decoded = None
                if isinstance(decoded, dict):
                    yield decoded
            await asyncio.sleep(0)

    async def serve(self, peer: Peer) -> None:
        """Hands the client's messages to ``peer`` until it goes; then closes."""
        try:
            async for message in self.messages():
                self._receive(peer, message)
        finally:
            for task in list(self._answering):
                task.cancel()
            self.close(WSCloseCode.GOING_AWAY, "")
            if self._closing is not None:
                await self._closing

    def _receive(self, peer: Peer, message: dict[str, Any]) -> None:
        if message.get("response") is True:
            self._on_response(message)
        elif message.get("request") is True:
            request_id = message.get("id")
            if len(self._answering) >= self._limits.pending_requests_per_connection:
                # Pipelined past the bound: refused, not queued.
                if isinstance(request_id, int) and not isinstance(request_id, bool):
                    limit = self._limits.pending_requests_per_connection
                    refusal = errors.LimitExceededError("pending_requests_per_connection", limit)
                    self.send(protocol.error_response(request_id, refusal))
                return
            task = asyncio.ensure_future(self._answer(peer, message))
            self._answering.add(task)
            task.add_done_callback(self._answering.discard)

    async def _answer(self, peer: Peer, message: dict[str, Any]) -> None:
        response = await peer.receive_request(message)
        # A client that went meanwhile is not answered; that is all.
        self.send(response)

    def _on_response(self, message: dict[str, Any]) -> None:
        request_id = message.get("id")
        if isinstance(request_id, bool) or not isinstance(request_id, int):
            return
        future = self._pending.get(request_id)
        if future is not None and not future.done():
            future.set_result(message)  # type: ignore[arg-type]

    # Closing.

    def close(self, code: int = WSCloseCode.GOING_AWAY, reason: str = "") -> None:
        """Closes the connection with ``code`` (1001 going away by default), dropping what is
        queued; a client that does not answer the close frame within
        ``CLOSE_TIMEOUT_S`` is cut."""
        if self._closing is not None:
            return
        if code != WSCloseCode.GOING_AWAY or reason:
            _logger.info("closing a connection from %s: %d %s", self._request.remote, code, reason)
        self.close_code = code
        self.close_reason = reason
        self._queue.clear()
        self._queued_bytes = 0
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionError("the client went away"))
        self._writer.cancel()
        self._closing = asyncio.ensure_future(self._close_socket(code, reason))

    async def _close_socket(self, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                self._socket.close(code=code, message=reason.encode()[:120], drain=False),
                CLOSE_TIMEOUT_S,
            )
        transport = self._request.transport
        # What a client that does not read left unsent is dropped with its socket.
        if transport is not None and (
            not transport.is_closing() or transport.get_write_buffer_size()
        ):
            transport.abort()

    async def wait_closed(self) -> None:
        """Waits until the connection is closed."""
        if self._closing is not None:
            await asyncio.shield(self._closing)
