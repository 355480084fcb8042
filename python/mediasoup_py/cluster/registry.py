"""The node registry: which mediasoup_py processes (nodes) serve rooms together.

Each node writes its signed :class:`NodeInfo` under its own key with a time-to-live and
rewrites it every ``heartbeat_interval``; a node that stops beating (killed, cut off) loses
its key after ``ttl``. Every node sweeps the registry on each beat, and takes a node as gone
once its key has been missing for ``confirm`` seconds of Redis being reachable: so a Redis
restart (every key lost at once, every node re-registering on its next beat) does not make
nodes declare each other dead. With the defaults a killed node is gone from every view
within ttl + confirm + one beat = 6 s.

The first node to remove a gone node from the set of registered ids (``SREM`` answers 1 to
exactly one) is its reaper: it cleans up what the gone node left in the directory.

A node whose own key was missing when it beat (first registration, Redis restarted, or it
was taken as gone while cut off) emits ``resync``: everything it wrote may be lost, so it
writes it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mediasoup_py import errors
from mediasoup_py.cluster.signing import SignatureError, Signer
from mediasoup_py.events import EventEmitter

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from mediasoup_py.cluster.keys import Keys

__all__ = ["NodeInfo", "NodeRegistry"]

_logger = logging.getLogger("mediasoup_py.cluster")


@dataclass(frozen=True)
class NodeInfo:
    """What other nodes need to know of a node: its id and where its pipes listen."""

    node_id: str
    pipe_ip: str
    pipe_announced_ip: str | None = None

    @property
    def pipe_address(self) -> str:
        """The address other nodes send its pipes' media to."""
        return self.pipe_announced_ip or self.pipe_ip

    def to_payload(self) -> dict[str, Any]:
        return {
            "nodeId": self.node_id,
            "pipeIp": self.pipe_ip,
            "pipeAnnouncedIp": self.pipe_announced_ip,
        }

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> NodeInfo:
        node_id, pipe_ip = payload.get("nodeId"), payload.get("pipeIp")
        announced = payload.get("pipeAnnouncedIp")
        if not isinstance(node_id, str) or not isinstance(pipe_ip, str):
            raise SignatureError("node record: nodeId and pipeIp must be strings")
        if announced is not None and not isinstance(announced, str):
            raise SignatureError("node record: pipeAnnouncedIp must be a string")
        return cls(node_id, pipe_ip, announced)


class NodeRegistry(EventEmitter):
    """This node's registration and its view of the others. Events: ``nodeup``
    (:class:`NodeInfo`), ``nodedown`` (node id, whether this node is its reaper),
    ``resync`` (this node must write its state again)."""

    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        signer: Signer,
        info: NodeInfo,
        *,
        heartbeat_interval: float = 1.0,
        ttl: float = 3.0,
        confirm: float = 2.0,
    ) -> None:
        super().__init__()
        if not 0 < heartbeat_interval < ttl:
            raise errors.MediasoupTypeError(
                "heartbeat_interval: must be positive and below ttl", "heartbeat_interval"
            )
        self._redis = redis
        self._keys = keys
        self._signer = signer
        self.info = info
        self._interval = heartbeat_interval
        self._ttl_ms = int(ttl * 1000)
        self._confirm = confirm
        self._live: dict[str, NodeInfo] = {}
        # When (monotonic) a node we saw live was first found missing.
        self._missing_since: dict[str, float] = {}
        self._refused: set[str] = set()
        self._reachable = False
        # One sweep at a time: the beat's, or a look-up of a node that asked before our
        # next beat.
        self._sweeping = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    @property
    def live(self) -> dict[str, NodeInfo]:
        """The registered nodes this node trusts, itself included, by id."""
        return dict(self._live)

    async def trusts(self, node_id: str) -> bool:
        """Whether ``node_id`` is a registered node this node trusts. A node unknown to
        our last sweep is looked up now: it may have registered since (a node that just
        started asks for pipes at once, before our next beat would have seen it)."""
        if node_id not in self._live:
            async with self._sweeping:
                if node_id not in self._live:
                    await self._sweep()
        return node_id in self._live

    @property
    def reachable(self) -> bool:
        """Whether the last beat reached Redis."""
        return self._reachable

    async def start(self) -> None:
        """Registers (the first beat, so a failure to reach Redis raises) and keeps
        beating."""
        await self._beat()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Stops beating and deregisters (other nodes see ``nodedown`` on their next
        sweep, without waiting for the key to expire)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        with contextlib.suppress(Exception):
            await self._redis.delete(self._keys.node(self.info.node_id))

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self._beat()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if self._reachable:
                    _logger.warning("node %s: Redis unreachable: %s", self.info.node_id, error)
                self._reachable = False

    async def _beat(self) -> None:
        node_id = self.info.node_id
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(
                self._keys.node(node_id),
                self._signer.seal(self.info.to_payload()),
                px=self._ttl_ms,
                get=True,
            )
            pipe.sadd(self._keys.nodes, node_id)
            previous, _ = await pipe.execute()
        if not self._reachable:
            # Whatever was missing while Redis was out of reach had no chance to beat.
            self._missing_since.clear()
            self._reachable = True
        if previous is None:
            self.emit("resync")
        async with self._sweeping:
            await self._sweep()

    async def _sweep(self) -> None:
        ids = sorted(
            member.decode() if isinstance(member, bytes) else member
            for member in await self._redis.smembers(self._keys.nodes)
        )
        records = (
            await self._redis.mget([self._keys.node(node_id) for node_id in ids]) if ids else []
        )
        now = time.monotonic()
        seen: dict[str, NodeInfo] = {}
        for node_id, record in zip(ids, records, strict=True):
            if record is None:
                continue
            try:
                info = NodeInfo.from_payload(self._signer.open(record))
                if info.node_id != node_id:
                    raise SignatureError("node record: filed under another id")
            except SignatureError as error:
                if node_id not in self._refused:
                    self._refused.add(node_id)
                    _logger.warning("node %r refused: %s", node_id, error)
                continue
            seen[node_id] = info
        for node_id, info in seen.items():
            self._missing_since.pop(node_id, None)
            if node_id not in self._live:
                self._live[node_id] = info
                self.emit("nodeup", info)
        for node_id in [node for node in ids if node not in seen and node != self.info.node_id]:
            missing_since = self._missing_since.setdefault(node_id, now)
            if now - missing_since < self._confirm:
                continue
            # Gone: whoever removes it from the set cleans up after it.
            reaper = bool(await self._redis.srem(self._keys.nodes, node_id))
            self._missing_since.pop(node_id, None)
            self._refused.discard(node_id)
            if self._live.pop(node_id, None) is not None or reaper:
                self.emit("nodedown", node_id, reaper)
        # Nodes that left the set by another node's sweep (or an orderly stop).
        for node_id in [node for node in self._live if node not in ids]:
            if node_id == self.info.node_id:
                continue
            missing_since = self._missing_since.setdefault(node_id, now)
            if now - missing_since >= self._confirm:
                self._missing_since.pop(node_id, None)
                del self._live[node_id]
                self.emit("nodedown", node_id, False)
