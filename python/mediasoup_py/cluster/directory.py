"""The room directory: which peers of each room are on which node, and the producers they
have, as signed entries in two Redis hashes per room. A room exists in the directory while
it has peers (Redis drops an emptied hash), so it is created by its first join on any node
and leaves no key behind after its last leave.

A node writes only its own peers and producers; what it reads back it trusts only if the
entry's signature holds and its node is registered (the caller filters by the registry).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mediasoup_py.cluster.signing import SignatureError, Signer

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from mediasoup_py.cluster.keys import Keys

__all__ = ["PeerEntry", "ProducerEntry", "RoomDirectory", "RoomView"]

_logger = logging.getLogger("mediasoup_py.cluster")


def _text(payload: dict[str, Any], key: str) -> str:
    value = payload.get(key)
    if not isinstance(value, str):
        raise SignatureError(f"directory entry: {key} must be a string")
    return value


def _object(payload: dict[str, Any], key: str) -> dict[str, Any]:
    value = payload.get(key)
    if not isinstance(value, dict):
        raise SignatureError(f"directory entry: {key} must be an object")
    return value


@dataclass(frozen=True)
class PeerEntry:
    """A peer as the other nodes see it."""

    peer_id: str
    node_id: str
    display_name: str = ""
    device: dict[str, Any] = field(default_factory=dict)

    def to_payload(self) -> dict[str, Any]:
        return {
            "peerId": self.peer_id,
            "nodeId": self.node_id,
            "displayName": self.display_name,
            "device": self.device,
        }

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> PeerEntry:
        return cls(
            _text(payload, "peerId"),
            _text(payload, "nodeId"),
            _text(payload, "displayName"),
            _object(payload, "device"),
        )


@dataclass(frozen=True)
class ProducerEntry:
    """A producer as the other nodes see it: enough to decide whether their peers can
    consume it, before anything is piped."""

    producer_id: str
    node_id: str
    peer_id: str
    kind: str
    consumable_rtp_parameters: dict[str, Any]
    app_data: dict[str, Any] = field(default_factory=dict)
    paused: bool = False
    # The router of its node it is on (where that node's end of a pipe of it goes).
    router_id: str = ""

    def to_payload(self) -> dict[str, Any]:
        return {
            "producerId": self.producer_id,
            "routerId": self.router_id,
            "nodeId": self.node_id,
            "peerId": self.peer_id,
            "kind": self.kind,
            "consumableRtpParameters": self.consumable_rtp_parameters,
            "appData": self.app_data,
            "paused": self.paused,
        }

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> ProducerEntry:
        kind = _text(payload, "kind")
        if kind not in ("audio", "video"):
            raise SignatureError("directory entry: kind must be audio or video")
        return cls(
            _text(payload, "producerId"),
            _text(payload, "nodeId"),
            _text(payload, "peerId"),
            kind,
            _object(payload, "consumableRtpParameters"),
            _object(payload, "appData"),
            bool(payload.get("paused", False)),
            _text(payload, "routerId"),
        )


@dataclass(frozen=True)
class RoomView:
    """A room's directory as read at one moment."""

    peers: dict[str, PeerEntry]
    producers: dict[str, ProducerEntry]


def _decoded(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class RoomDirectory:
    """Reads and writes the room directory."""

    def __init__(self, redis: Redis, keys: Keys, signer: Signer) -> None:
        self._redis = redis
        self._keys = keys
        self._signer = signer

    async def add_peer(self, room_id: str, entry: PeerEntry) -> None:
        """Files a peer (and its node as holding the room)."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(
                self._keys.room_peers(room_id),
                entry.peer_id,
                self._signer.seal(entry.to_payload()),
            )
            pipe.sadd(self._keys.node_rooms(entry.node_id), room_id)
            await pipe.execute()

    async def remove_peer(
        self, room_id: str, peer_id: str, node_id: str, *, node_leaves: bool
    ) -> None:
        """Removes a peer; ``node_leaves``: it was the node's last in the room."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hdel(self._keys.room_peers(room_id), peer_id)
            if node_leaves:
                pipe.srem(self._keys.node_rooms(node_id), room_id)
            await pipe.execute()

    async def add_producer(self, room_id: str, entry: ProducerEntry) -> None:
        """Files (or refiles, e.g. paused) a producer."""
        await self._redis.hset(
            self._keys.room_producers(room_id),
            entry.producer_id,
            self._signer.seal(entry.to_payload()),
        )

    async def remove_producer(self, room_id: str, producer_id: str) -> None:
        """Removes a producer."""
        await self._redis.hdel(self._keys.room_producers(room_id), producer_id)

    async def room(self, room_id: str) -> RoomView:
        """The room's signed peers and producers (entries that do not open are left out)."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(self._keys.room_peers(room_id))
            pipe.hgetall(self._keys.room_producers(room_id))
            peers_raw, producers_raw = await pipe.execute()
        peers: dict[str, PeerEntry] = {}
        for key, record in peers_raw.items():
            try:
                entry = PeerEntry.from_payload(self._signer.open(record))
            except SignatureError as error:
                _logger.debug("room %r: peer entry refused: %s", room_id, error)
                continue
            if entry.peer_id == _decoded(key):
                peers[entry.peer_id] = entry
        producers: dict[str, ProducerEntry] = {}
        for key, record in producers_raw.items():
            try:
                producer = ProducerEntry.from_payload(self._signer.open(record))
            except SignatureError as error:
                _logger.debug("room %r: producer entry refused: %s", room_id, error)
                continue
            if producer.producer_id == _decoded(key):
                producers[producer.producer_id] = producer
        return RoomView(peers, producers)

    async def rewrite_node(
        self, node_id: str, rooms: dict[str, tuple[list[PeerEntry], list[ProducerEntry]]]
    ) -> None:
        """Writes again everything a node holds (after Redis lost it): its peers and
        producers in each of its rooms."""
        async with self._redis.pipeline(transaction=True) as pipe:
            for room_id, (peers, producers) in rooms.items():
                for peer in peers:
                    pipe.hset(
                        self._keys.room_peers(room_id),
                        peer.peer_id,
                        self._signer.seal(peer.to_payload()),
                    )
                for producer in producers:
                    pipe.hset(
                        self._keys.room_producers(room_id),
                        producer.producer_id,
                        self._signer.seal(producer.to_payload()),
                    )
                if peers:
                    pipe.sadd(self._keys.node_rooms(node_id), room_id)
            await pipe.execute()

    async def prune_node(self, node_id: str, keep: dict[str, set[str]]) -> None:
        """Removes what a node filed and no longer holds: entries naming it whose ids are
        not in ``keep`` (room id -> its peer and producer ids there). A Redis that persists
        its data can come back from a restart with entries older than the node's state."""
        filed = {
            _decoded(room) for room in await self._redis.smembers(self._keys.node_rooms(node_id))
        }
        for room_id in sorted(filed | set(keep)):
            held = keep.get(room_id, set())
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.hgetall(self._keys.room_peers(room_id))
                pipe.hgetall(self._keys.room_producers(room_id))
                peers_raw, producers_raw = await pipe.execute()
            async with self._redis.pipeline(transaction=True) as pipe:
                for key_name, raw in (
                    (self._keys.room_peers(room_id), peers_raw),
                    (self._keys.room_producers(room_id), producers_raw),
                ):
                    for key, record in raw.items():
                        if self._filed_by(record) == node_id and _decoded(key) not in held:
                            pipe.hdel(key_name, key)
                if room_id not in keep:
                    pipe.srem(self._keys.node_rooms(node_id), room_id)
                await pipe.execute()

    async def reap(self, node_id: str) -> list[str]:
        """Removes what a gone node filed (its peers and producers in every room it held);
        returns those rooms."""
        rooms = sorted(
            _decoded(room) for room in await self._redis.smembers(self._keys.node_rooms(node_id))
        )
        for room_id in rooms:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.hgetall(self._keys.room_peers(room_id))
                pipe.hgetall(self._keys.room_producers(room_id))
                peers_raw, producers_raw = await pipe.execute()
            async with self._redis.pipeline(transaction=True) as pipe:
                for key_name, raw in (
                    (self._keys.room_peers(room_id), peers_raw),
                    (self._keys.room_producers(room_id), producers_raw),
                ):
                    for key, record in raw.items():
                        if self._filed_by(record) == node_id:
                            pipe.hdel(key_name, key)
                await pipe.execute()
        await self._redis.delete(self._keys.node_rooms(node_id))
        return rooms

    def _filed_by(self, record: bytes | str) -> str | None:
        """The node an entry names, read even without a valid signature (a gone node's
        entries are cleaned up whoever signed them)."""
        try:
            payload = Signer(None).open(record)
        except SignatureError:
            return None
        node_id = payload.get("nodeId")
        return node_id if isinstance(node_id, str) else None
