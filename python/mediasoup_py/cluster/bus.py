"""The cluster's messages over Redis pub/sub: room events to the nodes holding the room, and
requests with replies between two nodes (a node's inbox). Nodes learn of each other's
arrivals and departures from the registry, not from messages.

Every message is a signed record (:mod:`mediasoup_py.cluster.signing`) naming its sender;
messages that do not open are dropped and counted. Pub/sub forgets what it delivered while a
node was disconnected, so the bus says ``reconnect`` after it subscribes again and the node
reconciles with the directory: messages make the cluster quick, the directory makes it
right.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from mediasoup_py import errors
from mediasoup_py.cluster.signing import SignatureError, Signer
from mediasoup_py.events import EventEmitter

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.client import PubSub

    from mediasoup_py.cluster.keys import Keys

__all__ = ["Bus", "ClusterRequestError"]

_logger = logging.getLogger("mediasoup_py.cluster")

RequestHandler = Callable[[str, str, dict[str, Any]], Awaitable[dict[str, Any]]]

# How long a request waits for its reply.
REQUEST_TIMEOUT_S = 5.0
# How long the reader waits before subscribing again after losing Redis.
RECONNECT_DELAY_S = 0.5


class ClusterRequestError(errors.MediasoupError):
    """A request to another node failed: nobody listens, it timed out, or it said no."""


class Bus(EventEmitter):
    """One node's side of the pub/sub traffic. Events: ``room`` (room id, message),
    ``reconnect``. Messages a node sends itself are not delivered to it."""

    def __init__(self, redis: Redis, keys: Keys, signer: Signer, node_id: str) -> None:
        super().__init__()
        self._redis = redis
        self._keys = keys
        self._signer = signer
        self._node_id = node_id
        self._channels: set[str] = {keys.inbox(node_id)}
        self._pubsub: PubSub | None = None
        self._task: asyncio.Task[None] | None = None
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._handler: RequestHandler | None = None
        self._handling: set[asyncio.Task[None]] = set()
        self.refused = 0

    def set_request_handler(self, handler: RequestHandler) -> None:
        """What answers other nodes' requests: ``handler(sender, method, data)`` returns
        the reply's data or raises a :class:`~mediasoup_py.errors.MediasoupError`."""
        self._handler = handler

    async def start(self) -> None:
        """Subscribes to this node's inbox."""
        self._pubsub = await self._subscribed()
        self._task = asyncio.get_running_loop().create_task(self._read())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for task in list(self._handling):
            task.cancel()
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()
            self._pubsub = None
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ClusterRequestError("the cluster bus stopped"))

    async def join_room(self, room_id: str) -> None:
        """Hears the room's messages."""
        channel = self._keys.room_channel(room_id)
        if channel in self._channels:
            return
        self._channels.add(channel)
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.subscribe(channel)

    async def leave_room(self, room_id: str) -> None:
        """Stops hearing the room's messages."""
        channel = self._keys.room_channel(room_id)
        self._channels.discard(channel)
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.unsubscribe(channel)

    async def publish_room(self, room_id: str, message: dict[str, Any]) -> None:
        """Tells the room's other nodes."""
        await self._publish(self._keys.room_channel(room_id), message)

    async def request(
        self,
        node_id: str,
        method: str,
        data: dict[str, Any],
        timeout: float = REQUEST_TIMEOUT_S,
    ) -> dict[str, Any]:
        """Asks another node; returns its reply's data."""
        request_id = uuid.uuid4().hex
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            listeners = await self._publish(
                self._keys.inbox(node_id),
                {"type": "request", "requestId": request_id, "method": method, "data": data},
            )
            if not listeners:
                raise ClusterRequestError(f"node {node_id!r} does not listen")
            try:
                return await asyncio.wait_for(future, timeout)
            except TimeoutError as error:
                raise ClusterRequestError(f"node {node_id!r} did not answer {method}") from error
        finally:
            self._pending.pop(request_id, None)

    async def _publish(self, channel: str, message: dict[str, Any]) -> int:
        record = self._signer.seal_message({**message, "from": self._node_id})
        return int(await self._redis.publish(channel, record))

    async def _subscribed(self) -> PubSub:
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(*sorted(self._channels))
        return pubsub

    async def _read(self) -> None:
        while True:
            try:
                assert self._pubsub is not None
                message = await self._pubsub.get_message(timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                _logger.warning("node %s: cluster bus lost Redis: %s", self._node_id, error)
                await self._resubscribe()
                continue
            if message is not None and message.get("type") == "message":
                self._deliver(message["channel"], message["data"])

    async def _resubscribe(self) -> None:
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()
            self._pubsub = None
        while self._pubsub is None:
            await asyncio.sleep(RECONNECT_DELAY_S)
            try:
                self._pubsub = await self._subscribed()
            except asyncio.CancelledError:
                raise
            except Exception:
                continue
        self.emit("reconnect")

    def _deliver(self, channel: bytes | str, record: bytes | str) -> None:
        channel = channel.decode() if isinstance(channel, bytes) else channel
        try:
            message = self._signer.open_message(record)
        except SignatureError as error:
            self.refused += 1
            _logger.debug("node %s: message on %s refused: %s", self._node_id, channel, error)
            return
        sender = message.get("from")
        if not isinstance(sender, str) or sender == self._node_id:
            return
        if channel == self._keys.inbox(self._node_id):
            self._on_inbox(sender, message)
        else:
            room_id = self._keys.room_of_channel(channel)
            if room_id is not None:
                self.emit("room", room_id, message)

    def _on_inbox(self, sender: str, message: dict[str, Any]) -> None:
        request_id = message.get("requestId")
        if not isinstance(request_id, str):
            return
        if message.get("type") == "reply":
            future = self._pending.get(request_id)
            if future is None or future.done():
                return
            if message.get("ok"):
                data = message.get("data")
                future.set_result(data if isinstance(data, dict) else {})
            else:
                future.set_exception(ClusterRequestError(str(message.get("error"))))
        elif message.get("type") == "request":
            method, data = message.get("method"), message.get("data")
            if isinstance(method, str) and isinstance(data, dict):
                task = asyncio.get_running_loop().create_task(
                    self._answer(sender, request_id, method, data)
                )
                self._handling.add(task)
                task.add_done_callback(self._handling.discard)

    async def _answer(
        self, sender: str, request_id: str, method: str, data: dict[str, Any]
    ) -> None:
        reply: dict[str, Any] = {"type": "reply", "requestId": request_id}
        try:
            if self._handler is None:
                raise ClusterRequestError("this node takes no requests")
            reply.update(ok=True, data=await self._handler(sender, method, data))
        except errors.MediasoupError as error:
            reply.update(ok=False, error=str(error))
        except Exception as error:
            _logger.exception("node %s: request %s from %s failed", self._node_id, method, sender)
            reply.update(ok=False, error=f"internal error: {error!r}")
        with contextlib.suppress(Exception):
            await self._publish(self._keys.inbox(sender), reply)
