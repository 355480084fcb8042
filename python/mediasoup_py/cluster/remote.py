"""Peers and producers of other nodes as a room on this node sees them: stand-ins that the
room announces (``newPeer``, ``peerClosed``) and consumes from like its own, while the
media itself comes over the cascade (:mod:`mediasoup_py.cluster.link`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mediasoup_py.events import EventEmitter
from mediasoup_py.room import RoomPeer

if TYPE_CHECKING:
    from mediasoup_py.cluster.directory import PeerEntry, ProducerEntry
    from mediasoup_py.producer import Producer
    from mediasoup_py.room import Room
    from mediasoup_py.transport import Transport

__all__ = ["RemotePeer", "RemoteProducer"]


class RemoteProducer:
    """A producer of another node: what a consumer's negotiation needs (its kind and
    consumable parameters) before anything is piped. Observer events: ``close``,
    ``pause``, ``resume``."""

    def __init__(self, entry: ProducerEntry) -> None:
        self.entry = entry
        self._paused = entry.paused
        self._closed = False
        self.observer = EventEmitter()

    @property
    def id(self) -> str:
        return self.entry.producer_id

    @property
    def kind(self) -> str:
        return self.entry.kind

    @property
    def node_id(self) -> str:
        return self.entry.node_id

    @property
    def type(self) -> str:
        encodings = self.entry.consumable_rtp_parameters.get("encodings") or []
        return "simulcast" if len(encodings) > 1 else "simple"

    @property
    def consumable_rtp_parameters(self) -> dict[str, Any]:
        return self.entry.consumable_rtp_parameters

    @property
    def rtp_parameters(self) -> dict[str, Any]:
        return self.entry.consumable_rtp_parameters

    @property
    def app_data(self) -> dict[str, Any]:
        return self.entry.app_data

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def closed(self) -> bool:
        return self._closed

    def set_paused(self, paused: bool) -> None:
        if paused != self._paused and not self._closed:
            self._paused = paused
            self.observer.emit("pause" if paused else "resume")

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.observer.emit("close")


class RemotePeer(RoomPeer):
    """A peer joined through another node. Its node tells its client everything; here it
    only has to be seen (joined, named) and to own its producers."""

    def __init__(self, room: Room, entry: PeerEntry) -> None:
        super().__init__(room, entry.peer_id)
        self.node_id = entry.node_id
        self.display_name = entry.display_name
        self.device = dict(entry.device)
        self.transports: dict[str, Transport] = {}
        self.producers: dict[str, Producer] = {}
        self.consumers: dict[str, object] = {}
        self._joined = True

    def __repr__(self) -> str:
        return f"<RemotePeer id={self._id} node={self.node_id}>"

    def add_producer(self, producer: RemoteProducer) -> None:
        self.producers[producer.id] = producer  # type: ignore[assignment]
        producer.observer.once("close", lambda: self.producers.pop(producer.id, None))

    def close(self) -> None:
        """It left (or its node went): its producers close, the room forgets it."""
        if self._closed:
            return
        self._closed = True
        for producer in list(self.producers.values()):
            producer.close()
        self._cancel_tasks()
        self._room._forget_peer(self)
        self.emit("close")

    def dump(self) -> dict[str, Any]:
        return {
            "id": self._id,
            "node": self.node_id,
            "displayName": self.display_name,
            "producerIds": list(self.producers),
        }

    def _announce_peer_joined(self, other: RoomPeer) -> None:
        """Its own node tells its client."""

    def _announce_peer_closed(self, other: RoomPeer) -> None:
        """Its own node tells its client."""

    def _announce_active_speaker(self, speaker: RoomPeer | None, volume: int | None) -> None:
        """Its own node tells its client."""

    async def _room_consume(self, owner: RoomPeer, producer: Producer) -> None:
        """Its own node consumes for it, over the cascade."""
