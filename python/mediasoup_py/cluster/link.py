"""A room of this node linked to the cluster: what its local peers do is filed in the
directory and told to the room's other nodes; what the other nodes' peers do appears here as
:class:`~mediasoup_py.cluster.remote.RemotePeer` s and their producers, consumed through
PipeTransports from their node (the cascade: once per producer and node, SRTP, RTX and
NACK on, then fanned out here).

A pipe between two nodes is a pair of PipeTransports, one on the producer's router there
and one on the landing router here, shared by every producer piped between those two
routers and closed with the last of them. The node that needs a producer asks the
producer's node (``pipe``: here is my end; reply with yours and the producer's
parameters), and says when it needs it no more (``unpipe``).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mediasoup_py import errors
from mediasoup_py.cluster.bus import ClusterRequestError
from mediasoup_py.cluster.directory import PeerEntry, ProducerEntry, RoomView
from mediasoup_py.cluster.remote import RemotePeer, RemoteProducer

if TYPE_CHECKING:
    from mediasoup_py.cluster.cascade import Hop
    from mediasoup_py.cluster.node import ClusterNode
    from mediasoup_py.consumer import Consumer
    from mediasoup_py.pipe_transport import PipeTransport
    from mediasoup_py.producer import Producer
    from mediasoup_py.room import Room, RoomPeer
    from mediasoup_py.router import Router

__all__ = ["RoomLink"]

_logger = logging.getLogger("mediasoup_py.cluster")

# How often a linked room compares itself with the directory (for messages lost while a
# node was cut off from Redis), and how long a remote peer may be missing from it before
# it is taken as gone.
RECONCILE_INTERVAL_S = 5.0
MISSING_GRACE_S = 8.0


@dataclass
class _PipeEnd:
    """Our end of a pipe between one of our routers and one of another node's."""

    pipe_id: str
    node_id: str
    router: Router
    transport: PipeTransport
    producers: set[str] = field(default_factory=set)
    # Incoming ends: the copy of each producer made here.
    copies: dict[str, Producer] = field(default_factory=dict)
    # Outgoing ends (the producer is ours): the pipe consumer of each producer.
    consumers: dict[str, Consumer] = field(default_factory=dict)


class RoomLink:
    """One room's side of the cluster on this node."""

    def __init__(self, node: ClusterNode, room_id: str, room: Room) -> None:
        self._node = node
        self.room_id = room_id
        self.room = room
        self._remote_peers: dict[str, RemotePeer] = {}
        self._missing_since: dict[str, float] = {}
        # Incoming pipes by (their node, their router id, our router id); outgoing by id.
        self._incoming: dict[tuple[str, str, str], _PipeEnd] = {}
        self._outgoing: dict[str, _PipeEnd] = {}
        self._opening: dict[tuple[str, str, str], asyncio.Future[_PipeEnd]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        # What this node files and tells of its peers and producers goes out in the order it
        # happened: concurrent writes on the Redis client's pool of connections can land in
        # any order, and a producer filed after its removal (the churn of a loaded machine)
        # would stay in the directory for good. Tasks take it in the order they were made.
        self._announcing = asyncio.Lock()
        self._closed = False
        room._media.set_crossing_opener(self._open_crossing)
        room.on("peerjoined", self._on_local_peer_joined)
        room.on("peerleft", self._on_local_peer_left)
        room.on("newproducer", self._on_local_producer)
        room.on("close", self.close)
        self._reconciler = self._spawn(self._reconcile_periodically())

    # Local -> cluster.

    def _local(self, peer: RoomPeer) -> bool:
        return not isinstance(peer, RemotePeer) and not peer.spy

    def _peer_entry(self, peer: RoomPeer) -> PeerEntry:
        return PeerEntry(peer.id, self._node.node_id, peer.display_name, dict(peer.device))

    def _producer_entry(self, peer: RoomPeer, producer: Producer) -> ProducerEntry:
        return ProducerEntry(
            producer.id,
            self._node.node_id,
            peer.id,
            producer.kind,
            dict(producer.consumable_rtp_parameters),
            dict(producer.app_data),
            producer.paused,
            self.room._media.origin_router_id(producer.id) or "",
        )

    def _on_local_peer_joined(self, peer: RoomPeer) -> None:
        if self._local(peer):
            self._spawn(self._announce_join(peer))

    async def _announce_join(self, peer: RoomPeer) -> None:
        entry = self._peer_entry(peer)
        async with self._announcing:
            await self._node.bus.join_room(self.room_id)
            await self._node.directory.add_peer(self.room_id, entry)
            await self._node.bus.publish_room(
                self.room_id, {"type": "peerjoined", "peer": entry.to_payload()}
            )

    def _on_local_peer_left(self, peer: RoomPeer) -> None:
        if isinstance(peer, RemotePeer):
            return
        last = not any(not isinstance(other, RemotePeer) for other in self.room.peers)
        if peer.joined and not peer.spy:
            self._spawn(self._announce_leave(peer.id, last))
        if last:
            # Nobody here any more: the room goes from this node (its pipes with it).
            asyncio.get_running_loop().call_soon(self.room.close)

    async def _announce_leave(self, peer_id: str, last: bool) -> None:
        async with self._announcing:
            await self._node.directory.remove_peer(
                self.room_id, peer_id, self._node.node_id, node_leaves=last
            )
            await self._node.bus.publish_room(self.room_id, {"type": "peerleft", "peerId": peer_id})

    def _on_local_producer(self, peer: RoomPeer, producer: Producer) -> None:
        if not self._local(peer):
            return
        entry = self._producer_entry(peer, producer)
        self._spawn(self._announce_producer(entry))
        producer.observer.once("close", lambda: self._spawn(self._announce_close(producer.id)))
        for event in ("pause", "resume"):
            producer.observer.on(
                event,
                lambda: self._spawn(self._announce_producer(self._producer_entry(peer, producer))),
            )

    async def _announce_producer(self, entry: ProducerEntry) -> None:
        async with self._announcing:
            await self._node.directory.add_producer(self.room_id, entry)
            await self._node.bus.publish_room(
                self.room_id, {"type": "producer", "producer": entry.to_payload()}
            )

    async def _announce_close(self, producer_id: str) -> None:
        async with self._announcing:
            await self._node.directory.remove_producer(self.room_id, producer_id)
            await self._node.bus.publish_room(
                self.room_id, {"type": "producerclosed", "producerId": producer_id}
            )

    def local_state(self) -> tuple[list[PeerEntry], list[ProducerEntry]]:
        """What this node files for the room (written again after Redis lost it)."""
        peers: list[PeerEntry] = []
        producers: list[ProducerEntry] = []
        for peer in self.room._joined():
            if self._local(peer):
                peers.append(self._peer_entry(peer))
                producers.extend(
                    self._producer_entry(peer, producer) for producer in peer._live_producers()
                )
        return peers, producers

    # Cluster -> local.

    def on_message(self, message: dict[str, Any]) -> None:
        """A message of another node of the room."""
        sender = message.get("from")
        if not isinstance(sender, str) or sender not in self._node.registry.live:
            return
        kind = message.get("type")
        try:
            if kind == "peerjoined":
                self._add_remote_peer(PeerEntry.from_payload(message["peer"]), sender)
            elif kind == "peerleft":
                self._remove_remote_peer(str(message.get("peerId")), sender)
            elif kind == "producer":
                self._set_remote_producer(ProducerEntry.from_payload(message["producer"]), sender)
            elif kind == "producerclosed":
                self._remove_remote_producer(str(message.get("producerId")), sender)
        except (errors.MediasoupError, KeyError, TypeError) as error:
            _logger.warning("room %r: message from %s refused: %s", self.room_id, sender, error)

    def _add_remote_peer(self, entry: PeerEntry, sender: str) -> RemotePeer | None:
        if entry.node_id != sender or self._closed:
            return None
        existing = self._remote_peers.get(entry.peer_id)
        if existing is not None:
            return existing
        if self.room.get_peer(entry.peer_id) is not None:
            _logger.warning("room %r: peer id %r on two nodes", self.room_id, entry.peer_id)
            return None
        peer = RemotePeer(self.room, entry)
        self._remote_peers[entry.peer_id] = peer
        peer.once("close", lambda: self._remote_peers.pop(entry.peer_id, None))
        self.room._add_remote_peer(peer)
        return peer

    def _remove_remote_peer(self, peer_id: str, sender: str) -> None:
        peer = self._remote_peers.get(peer_id)
        if peer is not None and peer.node_id == sender:
            peer.close()

    def _set_remote_producer(self, entry: ProducerEntry, sender: str) -> None:
        peer = self._remote_peers.get(entry.peer_id)
        if entry.node_id != sender or peer is None or peer.node_id != sender:
            return
        existing = peer.producers.get(entry.producer_id)
        if isinstance(existing, RemoteProducer):
            existing.entry = entry
            if existing.paused != entry.paused:
                existing.set_paused(entry.paused)
                self._follow_pause(entry.producer_id, entry.paused)
            return
        if self.room._media.has_producer(entry.producer_id):
            return
        producer = RemoteProducer(entry)
        peer.add_producer(producer)
        self.room._media.add_remote_producer(entry.producer_id, sender)
        producer.observer.once(
            "close", lambda: self.room._media.remove_remote_producer(entry.producer_id)
        )
        self.room._producer_added(peer, producer)  # type: ignore[arg-type]

    def _follow_pause(self, producer_id: str, paused: bool) -> None:
        """The copies of a remote producer pause and resume with it (their consumers are
        told ``consumerPaused``/``consumerResumed``)."""
        for end in self._incoming.values():
            copy = end.copies.get(producer_id)
            if copy is not None and not copy.closed:
                self._spawn(copy.pause() if paused else copy.resume())

    def _remove_remote_producer(self, producer_id: str, sender: str) -> None:
        for peer in self._remote_peers.values():
            producer = peer.producers.get(producer_id)
            if isinstance(producer, RemoteProducer) and producer.node_id == sender:
                producer.close()
                return

    def node_gone(self, node_id: str) -> None:
        """Another node went: its peers leave the room (with their producers, whose
        consumers here close), and the pipes to it close."""
        for peer in [p for p in self._remote_peers.values() if p.node_id == node_id]:
            peer.close()
        self.room._media.remove_node(node_id)
        for key, end in list(self._incoming.items()):
            if end.node_id == node_id:
                self._close_end(end)
                self._incoming.pop(key, None)
        for pipe_id, end in list(self._outgoing.items()):
            if end.node_id == node_id:
                self._close_end(end)
                self._outgoing.pop(pipe_id, None)

    async def reconcile(self) -> None:
        """Compares the room with the directory: peers and producers that messages did not
        bring are added; remote peers missing from it for long are taken as gone."""
        view: RoomView = await self._node.directory.room(self.room_id)
        live = self._node.registry.live
        now = time.monotonic()
        for entry in view.peers.values():
            if entry.node_id != self._node.node_id and entry.node_id in live:
                self._add_remote_peer(entry, entry.node_id)
        for producer in view.producers.values():
            if producer.node_id != self._node.node_id and producer.node_id in live:
                self._set_remote_producer(producer, producer.node_id)
        for peer_id, peer in list(self._remote_peers.items()):
            if peer_id in view.peers:
                self._missing_since.pop(peer_id, None)
                for producer_id in [pid for pid in peer.producers if pid not in view.producers]:
                    self._missing_since.setdefault(producer_id, now)
                continue
            since = self._missing_since.setdefault(peer_id, now)
            if now - since >= MISSING_GRACE_S:
                self._missing_since.pop(peer_id, None)
                peer.close()

    def forget_missing(self) -> None:
        """Redis lost everything: what is missing from the directory now says nothing."""
        self._missing_since.clear()

    async def _reconcile_periodically(self) -> None:
        while not self._closed:
            await asyncio.sleep(RECONCILE_INTERVAL_S)
            if self._node.registry.reachable:
                try:
                    await self.reconcile()
                except Exception as error:
                    _logger.debug("room %r: reconcile failed: %s", self.room_id, error)

    # Pipes, the side that needs a producer of another node.

    async def _open_crossing(self, hop: Hop, router: Router) -> Producer:
        producer = self._remote_producer(hop.producer_id)
        if producer is None:
            raise errors.InvalidStateError(f"producer {hop.producer_id!r} is gone")
        end = await self._incoming_end(hop.source_node, producer.entry.router_id, router)
        # Held for this producer from now: the pipe's last other producer, released
        # meanwhile, must not close it under the crossing.
        end.producers.add(hop.producer_id)
        try:
            reply = await self._node.bus.request(
                hop.source_node,
                "pipeproducer",
                {"roomId": self.room_id, "pipeId": end.pipe_id, "producerId": hop.producer_id},
            )
            copy = await end.transport.produce(
                id=hop.producer_id,
                kind=reply["kind"],
                rtp_parameters=reply["rtpParameters"],
                paused=bool(reply["paused"]),
                app_data=producer.app_data,
            )
        except BaseException:
            self._release_producer(end, hop.producer_id)
            raise
        end.copies[hop.producer_id] = copy
        copy.observer.once("close", lambda: self._release_producer(end, hop.producer_id))
        return copy

    def _remote_producer(self, producer_id: str) -> RemoteProducer | None:
        for peer in self._remote_peers.values():
            producer = peer.producers.get(producer_id)
            if isinstance(producer, RemoteProducer):
                return producer
        return None

    async def _incoming_end(self, node_id: str, their_router: str, router: Router) -> _PipeEnd:
        key = (node_id, their_router, router.id)
        end = self._incoming.get(key)
        if end is not None:
            return end
        pending = self._opening.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[_PipeEnd] = asyncio.get_running_loop().create_future()
        self._opening[key] = future
        try:
            end = await self._open_incoming(node_id, their_router, router)
            self._incoming[key] = end
            end.transport.observer.once("close", lambda: self._incoming.pop(key, None))
            future.set_result(end)
            return end
        except BaseException as error:
            future.set_exception(error)
            future.exception()
            raise
        finally:
            del self._opening[key]

    async def _open_incoming(self, node_id: str, their_router: str, router: Router) -> _PipeEnd:
        transport = await router.create_pipe_transport(
            listen_info=self._node.pipe_listen_info, enable_srtp=True
        )
        try:
            reply = await self._node.bus.request(
                node_id,
                "pipeopen",
                {
                    "roomId": self.room_id,
                    "routerId": their_router,
                    "port": transport.tuple["localPort"],
                    "srtpParameters": transport.srtp_parameters,
                },
            )
            address = self._node.registry.live[node_id].pipe_address
            await transport.connect(
                ip=address, port=int(reply["port"]), srtp_parameters=reply["srtpParameters"]
            )
        except BaseException:
            transport.close()
            raise
        return _PipeEnd(str(reply["pipeId"]), node_id, router, transport)

    def _release_producer(self, end: _PipeEnd, producer_id: str) -> None:
        if producer_id not in end.producers:
            return
        end.producers.discard(producer_id)
        end.copies.pop(producer_id, None)
        last = not end.producers
        self._spawn(self._unpipe(end, producer_id, last))
        if last:
            self._close_end(end)

    async def _unpipe(self, end: _PipeEnd, producer_id: str, last: bool) -> None:
        if end.node_id not in self._node.registry.live:
            return
        try:
            await self._node.bus.request(
                end.node_id,
                "unpipe",
                {
                    "roomId": self.room_id,
                    "pipeId": end.pipe_id,
                    "producerId": producer_id,
                    "last": last,
                },
            )
        except ClusterRequestError as error:
            # Its room went first (its last peer left): its end closed with it.
            _logger.debug("room %r: unpipe: %s", self.room_id, error)

    def _close_end(self, end: _PipeEnd) -> None:
        for consumer in list(end.consumers.values()):
            consumer.close()
        end.consumers.clear()
        end.transport.close()

    # Pipes, the side whose producer is needed elsewhere.

    async def open_outgoing(self, sender: str, data: dict[str, Any]) -> dict[str, Any]:
        """``pipeopen``: another node's end of a new pipe to one of our routers."""
        router_id = data.get("routerId")
        router = next((r for r in self.room.routers if r.id == router_id), None)
        if router is None:
            raise errors.InvalidStateError("no such router in the room")
        transport = await router.create_pipe_transport(
            listen_info=self._node.pipe_listen_info, enable_srtp=True
        )
        try:
            address = self._node.registry.live[sender].pipe_address
            await transport.connect(
                ip=address, port=int(data["port"]), srtp_parameters=data["srtpParameters"]
            )
        except BaseException:
            transport.close()
            raise
        end = _PipeEnd(uuid.uuid4().hex, sender, router, transport)
        self._outgoing[end.pipe_id] = end
        transport.observer.once("close", lambda: self._outgoing.pop(end.pipe_id, None))
        return {
            "pipeId": end.pipe_id,
            "port": transport.tuple["localPort"],
            "srtpParameters": transport.srtp_parameters,
        }

    async def pipe_producer(self, sender: str, data: dict[str, Any]) -> dict[str, Any]:
        """``pipeproducer``: a consumer of one of our producers on a pipe's end here."""
        end = self._outgoing.get(str(data.get("pipeId")))
        if end is None or end.node_id != sender:
            raise errors.InvalidStateError("no such pipe")
        producer_id = str(data.get("producerId"))
        if producer_id in end.consumers:
            consumer = end.consumers[producer_id]
        else:
            consumer = await end.transport.consume(
                producer_id=producer_id,
                rtp_capabilities=end.router.rtp_capabilities,
                enable_rtx=True,
            )
            end.consumers[producer_id] = consumer
            consumer.observer.once("close", lambda: end.consumers.pop(producer_id, None))
        return {
            "kind": consumer.kind,
            "rtpParameters": consumer.rtp_parameters,
            "paused": consumer.producer_paused,
        }

    def unpipe(self, sender: str, data: dict[str, Any]) -> None:
        """``unpipe``: the other node needs the producer no more; the pipe closes when
        that node says it was the last it needed (it may be piping another one over it
        already, whose consumer here is not made yet)."""
        end = self._outgoing.get(str(data.get("pipeId")))
        if end is None or end.node_id != sender:
            return
        consumer = end.consumers.pop(str(data.get("producerId")), None)
        if consumer is not None:
            consumer.close()
        if data.get("last", not end.consumers):
            self._close_end(end)

    # Housekeeping.

    def _spawn(self, coroutine: Any) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.ensure_future(coroutine)
        self._tasks.add(task)

        def done(finished: asyncio.Task[Any]) -> None:
            self._tasks.discard(finished)
            if not finished.cancelled() and finished.exception() is not None:
                _logger.warning("room %r: %r", self.room_id, finished.exception())

        task.add_done_callback(done)
        return task

    def dump(self) -> dict[str, Any]:
        return {
            "remotePeers": sorted(self._remote_peers),
            "incomingPipes": len(self._incoming),
            "outgoingPipes": len(self._outgoing),
        }

    def close(self) -> None:
        """The room closed (its last local peer left): the room's entries of this node
        are already gone; stop hearing it."""
        if self._closed:
            return
        self._closed = True
        self._reconciler.cancel()
        for end in [*self._incoming.values(), *self._outgoing.values()]:
            self._close_end(end)
        self._incoming.clear()
        self._outgoing.clear()
        self._node._forget_link(self)
