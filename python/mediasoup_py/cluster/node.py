"""This process as a node of a cluster: its registration, the room directory, the bus, and
the rooms it links (:class:`~mediasoup_py.cluster.link.RoomLink`).

    node = await ClusterNode.start("redis://10.0.0.5:6379/0", pipe_ip="10.0.0.1",
                                   secret=os.environ["CLUSTER_SECRET"])
    link = node.link("room-1", room)      # the room now spans every node that has it

``mediasoup_py.Server.create(redis=...)`` does this for the rooms it creates.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import deque
from typing import TYPE_CHECKING, Any

from mediasoup_py import errors
from mediasoup_py.cluster.bus import Bus
from mediasoup_py.cluster.directory import RoomDirectory
from mediasoup_py.cluster.keys import Keys
from mediasoup_py.cluster.link import RoomLink
from mediasoup_py.cluster.registry import NodeInfo, NodeRegistry
from mediasoup_py.cluster.signing import Signer

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from mediasoup_py.room import Room
    from mediasoup_py.transport import ListenInfo

__all__ = ["ClusterNode"]

_logger = logging.getLogger("mediasoup_py.cluster")


class ClusterNode:
    """One node's membership of the cluster."""

    def __init__(
        self,
        redis: Redis,
        info: NodeInfo,
        signer: Signer,
        keys: Keys,
        registry_options: dict[str, float],
    ) -> None:
        self._redis = redis
        self.info = info
        self.keys = keys
        self.registry = NodeRegistry(redis, keys, signer, info, **registry_options)
        self.directory = RoomDirectory(redis, keys, signer)
        self.bus = Bus(redis, keys, signer, info.node_id)
        self._links: dict[str, RoomLink] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        # Room messages held, in order, while a sender unknown to our last sweep is looked
        # up (with every message after them, so none overtakes another).
        self._held: deque[tuple[str, dict[str, Any]]] = deque()
        self.registry.on("nodedown", self._on_node_down)
        self.registry.on("resync", lambda: self._spawn(self._resync()))
        self.bus.on("reconnect", lambda: self._spawn(self._reconcile_all()))
        self.bus.on("room", self._on_room_message)
        self.bus.set_request_handler(self._on_request)

    @classmethod
    async def start(
        cls,
        redis_url: str,
        *,
        pipe_ip: str,
        pipe_announced_ip: str | None = None,
        node_id: str | None = None,
        secret: str | bytes | None = None,
        namespace: str = "msp",
        heartbeat_interval: float = 1.0,
        ttl: float = 3.0,
        confirm: float = 2.0,
    ) -> ClusterNode:
        """Connects to Redis at ``redis_url``, registers, and starts listening. Other nodes
        send this node's pipes media to ``pipe_announced_ip`` (or ``pipe_ip``, where they
        listen). With ``secret``, every record is signed and records of nodes without it
        are refused."""
        try:
            from redis.asyncio import Redis
        except ImportError as error:  # pragma: no cover - the cluster extra is missing
            raise errors.UnsupportedError(
                "rooms across nodes need the redis package (pip install mediasoup_py[cluster])"
            ) from error
        if not isinstance(pipe_ip, str) or not pipe_ip:
            raise errors.MediasoupTypeError("pipe_ip: must be an address", "pipe_ip")
        redis = Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=5)
        info = NodeInfo(node_id or uuid.uuid4().hex[:12], pipe_ip, pipe_announced_ip)
        node = cls(
            redis,
            info,
            Signer(secret),
            Keys(namespace),
            {"heartbeat_interval": heartbeat_interval, "ttl": ttl, "confirm": confirm},
        )
        try:
            await node.bus.start()
            await node.registry.start()
        except BaseException:
            await node.stop()
            raise
        return node

    @property
    def node_id(self) -> str:
        return self.info.node_id

    @property
    def pipe_listen_info(self) -> ListenInfo:
        """Where this node's ends of pipes listen."""
        listen: dict[str, Any] = {"protocol": "udp", "ip": self.info.pipe_ip}
        if self.info.pipe_announced_ip:
            listen["announcedAddress"] = self.info.pipe_announced_ip
        return listen  # type: ignore[return-value]

    @property
    def links(self) -> dict[str, RoomLink]:
        return dict(self._links)

    def link(self, room_id: str, room: Room) -> RoomLink:
        """Links a room of this node to the cluster's room ``room_id``: its peers meet the
        peers of every other node that links a room of that id."""
        if room_id in self._links:
            raise errors.InvalidStateError(f"room {room_id!r} is already linked")
        link = RoomLink(self, room_id, room)
        self._links[room_id] = link
        self._spawn(self._join_room(link))
        return link

    async def _join_room(self, link: RoomLink) -> None:
        await self.bus.join_room(link.room_id)
        await link.reconcile()

    def _forget_link(self, link: RoomLink) -> None:
        if self._links.get(link.room_id) is link:
            del self._links[link.room_id]
            self._spawn(self.bus.leave_room(link.room_id))

    def _on_room_message(self, room_id: str, message: dict[str, Any]) -> None:
        if self._held or message.get("from") not in self.registry.live:
            self._held.append((room_id, message))
            if len(self._held) == 1:
                self._spawn(self._release_held())
            return
        self._deliver(room_id, message)

    async def _release_held(self) -> None:
        while self._held:
            room_id, message = self._held[0]
            with contextlib.suppress(Exception):  # Redis out of reach: the link drops it
                await self.registry.trusts(str(message.get("from")))
            self._held.popleft()
            self._deliver(room_id, message)

    def _deliver(self, room_id: str, message: dict[str, Any]) -> None:
        link = self._links.get(room_id)
        if link is not None:
            link.on_message(message)

    async def _on_request(self, sender: str, method: str, data: dict[str, Any]) -> dict[str, Any]:
        # Pipes only between registered nodes (whose signed registration we trust).
        if not await self.registry.trusts(sender):
            raise errors.InvalidStateError(f"node {sender!r} is not registered")
        link = self._links.get(str(data.get("roomId")))
        if link is None:
            raise errors.InvalidStateError("this node does not hold that room")
        if method == "pipeopen":
            return await link.open_outgoing(sender, data)
        if method == "pipeproducer":
            return await link.pipe_producer(sender, data)
        if method == "unpipe":
            link.unpipe(sender, data)
            return {}
        raise errors.MediasoupTypeError(f"method: unknown {method!r}", "method")

    def _on_node_down(self, node_id: str, reaper: bool) -> None:
        _logger.info("node %s: node %s is gone", self.node_id, node_id)
        for link in list(self._links.values()):
            link.node_gone(node_id)
        if reaper:
            self._spawn(self.directory.reap(node_id))

    async def _resync(self) -> None:
        """Our registration was lost (Redis restarted, or we were cut off long enough to be
        taken as gone): everything we hold is filed again, what we filed and no longer hold
        (a Redis that persists can bring it back) is removed, then each room is compared
        with the directory."""
        rooms = {room_id: link.local_state() for room_id, link in self._links.items()}
        await self.directory.rewrite_node(self.node_id, rooms)
        held = {
            room_id: {peer.peer_id for peer in peers} | {p.producer_id for p in producers}
            for room_id, (peers, producers) in rooms.items()
        }
        await self.directory.prune_node(self.node_id, held)
        for link in self._links.values():
            link.forget_missing()
        await self._reconcile_all()

    async def _reconcile_all(self) -> None:
        for link in list(self._links.values()):
            await link.reconcile()

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)

        def done(finished: asyncio.Task[Any]) -> None:
            self._tasks.discard(finished)
            if not finished.cancelled() and finished.exception() is not None:
                _logger.warning("node %s: %r", self.node_id, finished.exception())

        task.add_done_callback(done)

    async def stop(self) -> None:
        """Leaves the cluster: the rooms' links close (their peers' entries go with the
        rooms' closing), then the registration."""
        for link in list(self._links.values()):
            link.room.close()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(asyncio.shield(task), 2)
        await self.registry.stop()
        await self.bus.stop()
        with contextlib.suppress(Exception):
            await self._redis.srem(self.keys.nodes, self.node_id)
        await self._redis.aclose()
