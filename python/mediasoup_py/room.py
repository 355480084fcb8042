"""Rooms and peers: a router shared by people who call each other, driven by the messages of
mediasoup-demo's v3 protocol (:mod:`mediasoup_py.protocol`), so a mediasoup-client v3 app talks
to it unchanged, or by mediasoup's v2 protocol (:mod:`mediasoup_py.protocol_v2`, peers of
:class:`~mediasoup_py.peer_v2.V2Peer`) for mediasoup-client 2.x apps. Both kinds of peer meet
in the same room: each consumes what the others produce.

The application owns the signaling. Per connected client it creates a :class:`Peer` with a
:class:`PeerChannel` (how to send that client a request or a notification), hands every
message from the client to :meth:`Peer.receive_request`, sends back the response, and closes
the peer when the client goes. The room does the rest: transports, producers, a consumer in
every other joined peer for each producer (announced with a ``newConsumer`` request), and the
notifications mediasoup-demo clients expect (``newPeer``, ``peerClosed``, ``consumerClosed``,
``consumerPaused``, ``consumerResumed``, ``consumerLayersChanged``, ``consumerScore``,
``producerScore``, ``activeSpeaker``).

Given the process's workers, a room spans them (:mod:`mediasoup_py.room_media`): each new
transport goes to the least loaded worker, and producers are piped to the workers where they
have consumers; its clients cannot tell.

What clients can make a room hold is bounded by its :class:`~mediasoup_py.limits.Limits`
(peers, transports, producers and consumers per peer, id and name lengths, ``appData`` size);
a request past a limit gets an error naming it. A peer's permissions (``produce``,
``consume``, ``data``: from its join token, see :mod:`mediasoup_py.signaling`) say what it
may do. Broadcasters (peers driven over HTTP, :meth:`Room.create_broadcaster`) live in their
own namespace: their room ids are ``broadcaster:<id>``, which no client-chosen id can be.
"""

from __future__ import annotations

import abc
import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from mediasoup_py import errors, ortc, protocol
from mediasoup_py.events import EventEmitter
from mediasoup_py.limits import (
    Limits,
    check_app_data,
    check_count,
    check_display_name,
    check_id,
    quote,
)
from mediasoup_py.room_media import RoomMedia, WorkerLoad
from mediasoup_py.sctp_parameters import SctpCapabilities, validate_sctp_capabilities

if TYPE_CHECKING:
    from mediasoup_py.active_speaker_detector import ActiveSpeakerDetector
    from mediasoup_py.consumer import Consumer, ConsumerLayers
    from mediasoup_py.data_consumer import DataConsumer
    from mediasoup_py.data_producer import DataProducer
    from mediasoup_py.plain_transport import PlainTransport
    from mediasoup_py.producer import Producer
    from mediasoup_py.router import Router
    from mediasoup_py.rtp_observer import AudioLevelObserver, AudioLevelObserverVolume
    from mediasoup_py.rtp_parameters import RtpCapabilities, RtpCodecCapability
    from mediasoup_py.transport import ListenInfo, Transport
    from mediasoup_py.webrtc_server import WebRtcServer
    from mediasoup_py.webrtc_transport import WebRtcTransport
    from mediasoup_py.worker import Worker

__all__ = ["PERMISSIONS", "BroadcasterChannel", "Peer", "PeerChannel", "Room", "RoomPeer"]

_logger = logging.getLogger("mediasoup_py.room")

# What a peer may do: send media, receive media, and (once served) data channels.
PERMISSIONS = frozenset({"produce", "consume", "data"})
BROADCASTER_PREFIX = "broadcaster:"
# How often a peer's downlink estimate is looked at (``downlinkBwe`` when it changed), and how
# much of the desired bitrate's past peak is kept at each look (half-life: 4 looks).
DOWNLINK_BWE_INTERVAL_S = 2.0
# mediasoup-demo's DataChannel to its server-side bot: not given to the other peers.
BOT_LABEL = "bot"
DOWNLINK_BWE_DECAY = 0.5**0.25


class PeerChannel(Protocol):
    """How the room reaches one client: the application implements it over its signaling."""

    async def request(self, message: protocol.Request) -> protocol.Response:
        """Sends the client a request and returns its response."""

    def notify(self, message: protocol.Notification) -> None:
        """Sends the client a notification."""


class BroadcasterChannel:
    """A broadcaster's channel: it has no signaling (it is driven over HTTP), so it is told
    nothing, and the room never asks it to consume (it negotiated no capabilities; it
    consumes explicitly)."""

    async def request(self, message: protocol.Request) -> protocol.Response:
        raise errors.InvalidStateError("broadcasters take no requests")

    def notify(self, message: protocol.Notification) -> None:
        """Dropped."""


def _permissions(permissions: Iterable[str] | None) -> frozenset[str]:
    if permissions is None:
        return PERMISSIONS
    granted = frozenset(permissions)
    unknown = granted - PERMISSIONS
    if unknown:
        raise errors.MediasoupTypeError(
            f"permissions: unknown {sorted(unknown)!r} (known: {sorted(PERMISSIONS)})",
            "permissions",
        )
    return granted


def _device(value: object, limits: Limits) -> dict[str, str]:
    """A client's ``device`` (repeated to every other peer): its string ``name``, ``flag``
    and ``version``, each no longer than a display name."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise errors.MediasoupTypeError("data.device: must be an object", "data.device")
    device = {}
    for key in ("name", "flag", "version"):
        if key in value:
            device[key] = check_display_name(value[key], f"data.device.{key}", limits)
    return device


def _string(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise errors.MediasoupTypeError(f"data.{key}: must be a non-empty string", f"data.{key}")
    return value


class Room(EventEmitter):
    """A call: its routers (one, or one per worker it spans) and the peers in it. Events:
    ``newpeer`` (a :class:`Peer` or a :class:`~mediasoup_py.peer_v2.V2Peer`),
    ``peerjoined`` and ``peerleft`` (a peer), ``newproducer`` (its peer, the producer),
    ``newdataproducer`` (a v3 peer, its data producer),
    ``audiolevels`` (``[{"producer", "audioLevel"}]``, loudest first, in dBov, every 500 ms
    while someone speaks; an empty list once all are silent), ``close``. A room with no
    peers for ``limits.empty_room_grace`` seconds closes."""

    def __init__(
        self,
        router: Router,
        listen_infos: list[ListenInfo],
        audio_levels: AudioLevelObserver,
        limits: Limits | None = None,
        media: RoomMedia | None = None,
        webrtc_server: WebRtcServer | None = None,
    ) -> None:
        super().__init__()
        self._media = media or RoomMedia(router)
        self._listen_infos = listen_infos
        self.webrtc_server = webrtc_server
        self._audio_levels = audio_levels
        self._limits = limits or Limits()
        self._peers: dict[str, RoomPeer] = {}
        self._broadcasters: dict[str, Peer] = {}
        self._empty_timer: asyncio.TimerHandle | None = None
        self._holds = 0
        # Who produced what, for active speaker and v2 notifications (``peerName``).
        self._owners: dict[str, RoomPeer] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # The application's own data producers every peer gets (mediasoup-demo's bot).
        self._room_data_producers: list[DataProducer] = []
        self._closed = False
        self._watch_audio_levels(audio_levels)
        # Its routers go with their workers (closed, or dead): the room with the last.
        self._media.on("close", self.close)
        self._media.on("routerclose", self._on_router_closed)
        self._start_empty_timer()

    @classmethod
    async def create(
        cls,
        router: Router,
        *,
        listen_infos: list[ListenInfo],
        workers: list[Worker] | None = None,
        media_codecs: list[RtpCodecCapability] | None = None,
        load: WorkerLoad | None = None,
        limits: Limits | None = None,
        webrtc_server: WebRtcServer | None = None,
    ) -> Room:
        """A room on ``router`` whose peers' WebRTC transports listen on ``listen_infos``,
        or share the ports of ``webrtc_server`` (which every worker of the room must share;
        the attribute ``webrtc_server`` may be changed later, for new transports), bounded by
        ``limits`` (the defaults of :class:`~mediasoup_py.limits.Limits` if none). With
        ``workers`` and the ``media_codecs`` ``router`` was made with, the room spans those
        workers (a router on each it needs, transports placed by ``load``)."""
        audio_levels = await router.create_audio_level_observer(
            max_entries=16, threshold=-80, interval=500
        )
        media = RoomMedia(router, workers=workers or (), media_codecs=media_codecs, load=load)
        return cls(router, listen_infos, audio_levels, limits, media, webrtc_server)

    @property
    def limits(self) -> Limits:
        """What its peers can make it hold."""
        return self._limits

    @property
    def router(self) -> Router:
        """The room's home router: its capabilities are the room's (every router of a
        spanning room has the same), and it hears every audio producer."""
        return self._media.home

    @property
    def routers(self) -> list[Router]:
        """Every router of the room (one per worker it uses)."""
        return self._media.routers

    def router_of(self, transport: Transport) -> Router | None:
        """The router one of the room's transports is on."""
        return self._media.router_of(transport)

    @property
    def listen_infos(self) -> list[ListenInfo]:
        """Where its peers' WebRTC transports listen (``Room.create``'s ``listen_infos``)."""
        return list(self._listen_infos)

    async def _router_for_transport(self, current: Router | None) -> Router:
        """The router a peer's next transport goes on (its current one, if any)."""
        return await self._media.router_for_transport(current)

    def _room_level_data_producers(self) -> list[DataProducer]:
        """The room's own data producers (not a peer's), which every peer consumes."""
        return list(self._room_data_producers)

    @property
    def rtp_capabilities(self) -> RtpCapabilities:
        """What the room's router can receive and send (its codecs and header extensions)."""
        return self.router.rtp_capabilities

    @property
    def peers(self) -> list[RoomPeer]:
        """Every peer, joined or not."""
        return list(self._peers.values())

    @property
    def closed(self) -> bool:
        """Whether the room is closed."""
        return self._closed

    def get_peer(self, peer_id: str) -> RoomPeer | None:
        """A peer by id (a v2 peer's id is its name; a broadcaster's ``broadcaster:<id>``)."""
        return self._peers.get(peer_id)

    def get_broadcaster(self, broadcaster_id: str) -> Peer | None:
        """A broadcaster by the id it was created with (never a client's peer)."""
        return self._broadcasters.get(broadcaster_id)

    def dump(self) -> dict[str, Any]:
        """What the room holds, for debugging: its routers, the pipes between them and each
        peer's objects."""
        peers = [peer.dump() for peer in self._peers.values()]
        return {"routerId": self.router.id, **self._media.dump(), "peers": peers}

    def add_data_producer(self, data_producer: DataProducer) -> None:
        """Gives every joined peer that can (now and as they join) a DataConsumer of the
        application's ``data_producer`` (on a DirectTransport of :attr:`router`), announced
        with ``newDataConsumer`` and ``peerId`` null, as mediasoup-demo's bot channel is."""
        if self._closed:
            raise errors.InvalidStateError("room closed")
        self._room_data_producers.append(data_producer)
        data_producer.observer.on("close", lambda: self._room_data_producers.remove(data_producer))
        for peer in self._joined():
            if isinstance(peer, Peer):
                peer._spawn(peer._room_consume_data(None, data_producer))

    def create_active_speaker_detector(self) -> ActiveSpeakerDetector:
        """mediasoup v2's active speaker detector over this room's audio levels."""
        from mediasoup_py.active_speaker_detector import ActiveSpeakerDetector

        if self._closed:
            raise errors.InvalidStateError("room closed")
        return ActiveSpeakerDetector(self)

    def create_peer(
        self,
        peer_id: str,
        channel: PeerChannel,
        *,
        display_name: str | None = None,
        permissions: Iterable[str] | None = None,
    ) -> Peer:
        """A new peer for a client that connected; it joins with a ``join`` request.
        ``display_name``, when given (from a join token), is the name it joins with whatever
        its ``join`` says; ``permissions`` (default: all of :data:`PERMISSIONS`) what it may
        do."""
        check_id(peer_id, "peer_id", self._limits)
        return self._add_peer(peer_id, channel, display_name, permissions)

    def create_broadcaster(
        self,
        broadcaster_id: str,
        *,
        display_name: str | None = None,
        permissions: Iterable[str] | None = None,
    ) -> Peer:
        """A peer driven over HTTP (mediasoup-demo's broadcaster API): it joins with a
        ``join`` request like any peer, but lives in its own namespace (room id
        ``broadcaster:<broadcaster_id>``, found with :meth:`get_broadcaster`), so no client
        can take or act on it, and it on no client."""
        check_id(broadcaster_id, "id", self._limits)
        if broadcaster_id in self._broadcasters:
            raise errors.InvalidStateError(f"id: broadcaster {broadcaster_id!r} is already here")
        peer = self._add_peer(
            BROADCASTER_PREFIX + broadcaster_id, BroadcasterChannel(), display_name, permissions
        )
        self._broadcasters[broadcaster_id] = peer
        peer.on("close", lambda: self._broadcasters.pop(broadcaster_id, None))
        return peer

    def _add_peer(
        self,
        peer_id: str,
        channel: PeerChannel,
        display_name: str | None,
        permissions: Iterable[str] | None,
    ) -> Peer:
        self._check_new_peer_id(peer_id, "peer_id")
        if display_name is not None:
            check_display_name(display_name, "display_name", self._limits)
        peer = Peer(self, peer_id, channel, _permissions(permissions), display_name)
        self._peers[peer_id] = peer
        self._stop_empty_timer()
        self.emit("newpeer", peer)
        return peer

    async def receive_request(self, request: object) -> dict[str, Any]:
        """Handles a v2 request whose ``target`` is ``"room"`` (``queryRoom`` and ``join``)
        and returns the response to send back; bad requests raise a typed error naming the
        field. After ``join``, the new :class:`~mediasoup_py.peer_v2.V2Peer` (``newpeer``,
        :meth:`get_peer`) takes the client's other messages, and its ``notify`` event gives
        what the application must deliver to that client."""
        from mediasoup_py import protocol_v2
        from mediasoup_py.peer_v2 import V2Peer

        if self._closed:
            raise errors.InvalidStateError("room closed")
        method, fields = protocol_v2.parse_request(request, "room")
        if method == "queryRoom":
            return {
                "rtpCapabilities": protocol_v2.room_rtp_capabilities(self.router.rtp_capabilities),
                "mandatoryCodecPayloadTypes": [],
            }
        name = check_id(fields.get("peerName"), "peerName", self._limits)
        self._check_new_peer_id(name, "peerName")
        peer = V2Peer.from_join(self, fields)
        self._peers[name] = peer
        self._stop_empty_timer()
        response = peer._join()
        self.emit("newpeer", peer)
        return response

    def _check_new_peer_id(self, peer_id: str, field: str) -> None:
        if self._closed:
            raise errors.InvalidStateError("room closed")
        if peer_id in self._peers:
            raise errors.MediasoupTypeError(f"{field}: {peer_id!r} is already here", field)
        check_count("peers_per_room", len(self._peers), self._limits.peers_per_room)

    async def consume_data(self, transport: Transport, data_producer: DataProducer) -> DataConsumer:
        """A DataConsumer of ``data_producer`` (of any router of the room) on ``transport``
        (on one of them): on another worker, the data producer is piped to the transport's
        router first, and unpiped after its last data consumer there."""
        router = self.router_of(transport)
        if router is None:
            raise errors.InvalidStateError("the transport is not in this room")
        copy = await self._media.acquire_data(data_producer, router)
        try:
            data_consumer = await transport.consume_data(data_producer_id=copy.id)
        except BaseException:
            self._media.release_data(data_producer.id, router)
            raise
        data_consumer.observer.once(
            "close", lambda: self._media.release_data(data_producer.id, router)
        )
        return data_consumer

    def hold(self) -> Callable[[], None]:
        """Keeps the room open without peers (for what uses its routers otherwise, such as
        WHIP sessions) until the returned release is called (once)."""
        self._holds += 1
        self._stop_empty_timer()
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self._holds -= 1
                self._start_empty_timer()

        return release

    def _start_empty_timer(self) -> None:
        """Closes the room if it stays without peers for ``empty_room_grace``."""
        grace = self._limits.empty_room_grace
        idle = not self._peers and not self._holds
        if grace is None or self._closed or not idle or self._empty_timer is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # Made outside a loop: nothing can time it.
        self._empty_timer = loop.call_later(grace, self._close_if_empty)

    def _stop_empty_timer(self) -> None:
        if self._empty_timer is not None:
            self._empty_timer.cancel()
            self._empty_timer = None

    def _close_if_empty(self) -> None:
        self._empty_timer = None
        if not self._peers and not self._holds:
            _logger.info("room of router %s closes: no peers", self.router.id)
            self.close()

    def close(self) -> None:
        """Closes every peer and the router."""
        if self._closed:
            return
        self._closed = True
        self._stop_empty_timer()
        for peer in list(self._peers.values()):
            peer.close()
        self._media.close()
        self.emit("close")

    def _joined(self, excluding: RoomPeer | None = None) -> list[RoomPeer]:
        """Joined peers, spies included (they receive, unseen)."""
        return [peer for peer in self._peers.values() if peer.joined and peer is not excluding]

    def _visible(self, excluding: RoomPeer | None = None) -> list[RoomPeer]:
        """Joined peers the others know about: not spies."""
        return [peer for peer in self._joined(excluding) if not peer.spy]

    def _peer_joined(self, peer: RoomPeer) -> None:
        """``newPeer`` to the others, up to ``announced_peers`` known peers each: past that
        a peer hears of another when it gets a consumer of theirs (:meth:`RoomPeer._meet`),
        so a join in a large room costs O(announced_peers), not O(peers)."""
        for other in [] if peer.spy else self._joined(excluding=peer):
            other._hear_of_join(peer, self._limits.announced_peers)
        self.emit("peerjoined", peer)

    def _listed_on_join(self, peer: RoomPeer) -> list[RoomPeer]:
        """The peers a joining peer is told of in its join response: those that produce
        first, up to ``announced_peers``."""
        visible = self._visible(excluding=peer)
        visible.sort(key=lambda other: not other.producers)
        listed = visible[: self._limits.announced_peers]
        peer._note_known(listed)
        return listed

    def _add_remote_peer(self, peer: RoomPeer) -> None:
        """A peer joined through another node of the cluster (already joined)."""
        self._peers[peer.id] = peer
        self._peer_joined(peer)

    def _producer_added(self, owner: RoomPeer, producer: Producer) -> None:
        """A consumer of ``producer`` in every other joined peer (told of ``owner`` first),
        and its audio level watched."""
        self._owners[producer.id] = owner
        producer.observer.on("close", lambda: self._owners.pop(producer.id, None))
        self.emit("newproducer", owner, producer)
        for other in self._joined(excluding=owner):
            other._meet(owner)
            other._spawn(other._room_consume(owner, producer))
        if producer.kind == "audio":
            owner._spawn(self._hear(producer.id, self._audio_levels))

    async def _hear(self, producer_id: str, audio_levels: AudioLevelObserver) -> None:
        """Adds an audio producer to the audio observer, on the home router (piped there
        if it is on another, for as long as it lives)."""
        home = self._media.home
        try:
            await self._media.acquire(producer_id, home)
            await audio_levels.add_producer(producer_id=producer_id)
        except errors.MediasoupError as error:
            _logger.warning("audio levels of producer %s unheard: %s", producer_id, error)

    def _watch_audio_levels(self, audio_levels: AudioLevelObserver) -> None:
        audio_levels.on("volumes", self._on_volumes)
        audio_levels.on("silence", self._on_silence)

    def _on_router_closed(self, router: Router) -> None:
        """A worker of the room died: its peers lost their transports there (and told the
        others of their closed producers); if it was the home, the audio observer moves
        to the new home with every audio producer."""
        if self._closed or not self._audio_levels.closed:
            return
        self._spawn_room_task(self._rehome_audio_levels())

    async def _rehome_audio_levels(self) -> None:
        home = self._media.home
        try:
            audio_levels = await home.create_audio_level_observer(
                max_entries=16, threshold=-80, interval=500
            )
        except errors.MediasoupError as error:
            _logger.warning("room lost its audio levels: %s", error)
            return
        self._audio_levels = audio_levels
        self._watch_audio_levels(audio_levels)
        for producer_id, owner in list(self._owners.items()):
            producer = owner.producers.get(producer_id)
            if producer is not None and producer.kind == "audio":
                await self._hear(producer_id, audio_levels)

    def _spawn_room_task(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _consume_on(
        self,
        transport: Transport,
        producer_id: str,
        consume: Callable[[], Awaitable[Consumer]],
    ) -> Consumer:
        """``consume()``'s consumer of the producer on ``transport``, with the producer
        piped to the transport's router first if it is elsewhere (and unpiped after the last
        consumer there)."""
        router = self._media.router_of(transport)
        if router is None:
            raise errors.InvalidStateError("the transport is not in this room")
        copy = await self._media.acquire(producer_id, router)
        try:
            consumer = await consume()
        except BaseException:
            self._media.release(producer_id, router)
            raise
        consumer.observer.once("close", lambda: self._media.release(producer_id, router))
        if copy.closed and not consumer.closed:
            # The producer went while the consumer was being made: it would never hear.
            consumer.close()
        if consumer.closed:
            raise errors.InvalidStateError(f"producer {producer_id!r} closed")
        return consumer

    def _owner_of(self, producer_id: str) -> RoomPeer | None:
        return self._owners.get(producer_id)

    def _on_volumes(self, volumes: list[AudioLevelObserverVolume]) -> None:
        self.emit(
            "audiolevels",
            [{"producer": entry["producer"], "audioLevel": entry["volume"]} for entry in volumes],
        )
        loudest = volumes[0]
        speaker = self._owner_of(loudest["producer"].id)
        for peer in self._joined():
            peer._announce_active_speaker(speaker, loudest["volume"])

    def _on_silence(self) -> None:
        self.emit("audiolevels", [])
        for peer in self._joined():
            peer._announce_active_speaker(None, None)

    def _forget_peer(self, peer: RoomPeer) -> None:
        self._peers.pop(peer.id, None)
        if peer.joined and not peer.spy:
            for other in self._joined():
                other._hear_of_leave(peer)
        self.emit("peerleft", peer)
        self._start_empty_timer()


class RoomPeer(EventEmitter, abc.ABC):
    """What the room needs of every kind of peer (the v3 :class:`Peer` and the v2
    :class:`~mediasoup_py.peer_v2.V2Peer`): its identity, and how it tells its client about
    the others."""

    transports: Mapping[Any, Transport]
    producers: Mapping[Any, Producer]
    consumers: Mapping[Any, object]

    def __init__(self, room: Room, peer_id: str) -> None:
        super().__init__()
        self._room = room
        self._id = peer_id
        self._joined = False
        self._closed = False
        self.spy = False
        self.display_name = ""
        self.device: dict[str, Any] = {}
        self.rtp_capabilities: dict[str, Any] | None = None
        self.permissions = PERMISSIONS
        # The peers its client was told of (``None``: all, as v2 peers are).
        self._known_peers: set[str] | None = None
        # The router of its transports (in a room spanning workers).
        self._media_router: Router | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def _check_limit(self, limit: str, count: int) -> None:
        """Refuses (``LimitExceededError`` naming ``limit``) what would take the peer past
        its room's limit, ``count`` being what it holds now."""
        check_count(limit, count, getattr(self._room.limits, limit))

    @property
    def id(self) -> str:
        """The peer's id (a v2 peer's name)."""
        return self._id

    @property
    def room(self) -> Room:
        """The room it is in."""
        return self._room

    @property
    def joined(self) -> bool:
        """Whether it has joined."""
        return self._joined

    @property
    def closed(self) -> bool:
        """Whether it is closed."""
        return self._closed

    @abc.abstractmethod
    def close(self) -> None:
        """Closes the peer and everything it has."""

    @abc.abstractmethod
    def dump(self) -> dict[str, Any]:
        """The peer's state, for debugging."""

    def _live_producers(self) -> list[Producer]:
        """Its producers that are open."""
        return list(self.producers.values())

    @abc.abstractmethod
    def _announce_peer_joined(self, other: RoomPeer) -> None:
        """Tells the client that ``other`` joined."""

    @abc.abstractmethod
    def _announce_peer_closed(self, other: RoomPeer) -> None:
        """Tells the client that ``other`` left."""

    def _announce_display_name_changed(self, other: RoomPeer, old_display_name: str) -> None:
        """Tells the client that ``other`` changed its name (mediasoup v2 has no such
        message: its peers are not told)."""

    @abc.abstractmethod
    def _announce_active_speaker(self, speaker: RoomPeer | None, volume: int | None) -> None:
        """Tells the client who speaks loudest (``None``: nobody)."""

    @abc.abstractmethod
    async def _room_consume(self, owner: RoomPeer, producer: Producer) -> None:
        """Gives the client a consumer of ``owner``'s new ``producer``."""

    def _hear_of_join(self, other: RoomPeer, announced_peers: int) -> None:
        """Tells the client that ``other`` joined: always, if it hears of every peer (v2),
        else while it knows fewer than ``announced_peers`` (past that it meets others when it
        gets a consumer of theirs)."""
        if self._known_peers is None:
            self._announce_peer_joined(other)
        elif len(self._known_peers) < announced_peers:
            self._meet(other)

    def _hear_of_leave(self, other: RoomPeer) -> None:
        """Tells the client that ``other`` left, if it knew of it."""
        if self._known_peers is None:
            self._announce_peer_closed(other)
        elif other.id in self._known_peers:
            self._known_peers.discard(other.id)
            self._announce_peer_closed(other)

    def _note_known(self, listed: list[RoomPeer]) -> None:
        """The client was told of ``listed`` (its join response)."""
        if self._known_peers is not None:
            self._known_peers.update(other.id for other in listed)

    def _meet(self, other: RoomPeer) -> None:
        """Tells the client of ``other`` (``newPeer``) unless it knows of it already."""
        if other.spy or self._known_peers is None or other.id in self._known_peers:
            return
        self._known_peers.add(other.id)
        self._announce_peer_joined(other)

    def _check_permission(self, permission: str) -> None:
        if permission not in self.permissions:
            raise errors.PermissionDeniedError(
                f"peer {self._id!r} may not {permission} (its token allows "
                f"{sorted(self.permissions)})"
            )

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _cancel_tasks(self) -> None:
        for task in self._tasks:
            task.cancel()


class Peer(RoomPeer):
    """One mediasoup-client v3 client in a room. Events: ``close``."""

    def __init__(
        self,
        room: Room,
        peer_id: str,
        channel: PeerChannel,
        permissions: frozenset[str] = PERMISSIONS,
        display_name: str | None = None,
    ) -> None:
        super().__init__(room, peer_id)
        self._channel = channel
        self.permissions = permissions
        # A name given by its token; its ``join`` cannot change it.
        self._granted_name = display_name
        self._known_peers = set()
        self.transports: dict[str, Transport] = {}
        self.producers: dict[str, Producer] = {}
        self.consumers: dict[str, Consumer] = {}
        self.data_producers: dict[str, DataProducer] = {}
        self.data_consumers: dict[str, DataConsumer] = {}
        # The endpoint's SCTP capabilities from its ``join`` (``None``: it wants no data).
        self.sctp_capabilities: SctpCapabilities | None = None
        self._downlink_bwe: asyncio.Task[None] | None = None
        self._methods: dict[str, Callable[[dict[str, Any]], Awaitable[Any]]] = {
            "getRouterRtpCapabilities": self._get_router_rtp_capabilities,
            "join": self._join,
            "createWebRtcTransport": self._create_webrtc_transport,
            "connectWebRtcTransport": self._connect_webrtc_transport,
            "createPlainTransport": self._create_plain_transport,
            "connectPlainTransport": self._connect_plain_transport,
            "consume": self._consume,
            "restartIce": self._restart_ice,
            "produce": self._produce,
            "closeProducer": self._close_producer,
            "pauseProducer": self._pause_producer,
            "resumeProducer": self._resume_producer,
            "pauseConsumer": self._pause_consumer,
            "resumeConsumer": self._resume_consumer,
            "setConsumerPreferredLayers": self._set_consumer_preferred_layers,
            "setConsumerPriority": self._set_consumer_priority,
            "requestConsumerKeyFrame": self._request_consumer_key_frame,
            "getTransportStats": self._get_transport_stats,
            "getProducerStats": self._get_producer_stats,
            "getConsumerStats": self._get_consumer_stats,
            "produceData": self._produce_data,
            "getDataProducerStats": self._get_data_producer_stats,
            "getDataConsumerStats": self._get_data_consumer_stats,
            "changeDisplayName": self._change_display_name,
            "applyNetworkThrottle": self._network_throttle,
            "resetNetworkThrottle": self._network_throttle,
        }

    def __repr__(self) -> str:
        return f"<Peer id={quote(self._id)} joined={self._joined} closed={self._closed}>"

    def dump(self) -> dict[str, Any]:
        """The peer's state and the ids of its transports, producers and consumers."""
        return {
            "id": self._id,
            "displayName": self.display_name,
            "joined": self._joined,
            "transportIds": list(self.transports),
            "producerIds": list(self.producers),
            "consumerIds": list(self.consumers),
            "dataProducerIds": list(self.data_producers),
            "dataConsumerIds": list(self.data_consumers),
        }

    async def receive_request(self, message: object) -> protocol.Response:
        """Handles a request from the client; returns the response to send back. Bad
        messages get an error response naming the field; nothing is raised."""
        try:
            parsed = protocol.parse_request(message, max_depth=self._room.limits.json_depth)
        except errors.MediasoupError as error:
            request_id = message.get("id") if isinstance(message, dict) else None
            valid_id = isinstance(request_id, int) and not isinstance(request_id, bool)
            return protocol.error_response(request_id if valid_id else 0, error)  # type: ignore[arg-type]
        try:
            if self._closed:
                raise errors.InvalidStateError("peer closed")
            handler = self._methods.get(parsed["method"])
            if handler is None:
                raise errors.MediasoupTypeError(
                    f"method: unknown method {quote(parsed['method'])}", "method"
                )
            data = await handler(parsed["data"])
        except errors.MediasoupError as error:
            return protocol.error_response(parsed["id"], error)
        except Exception as error:
            # A bug, not bad input: the client still gets an answer, the log the details.
            _logger.exception(
                "request %s of peer %s failed", quote(parsed["method"]), quote(self._id)
            )
            return protocol.error_response(parsed["id"], error)
        return protocol.ok_response(parsed["id"], data)

    def close(self) -> None:
        """The client left: its transports close (and with them its producers, whose
        consumers elsewhere are closed and announced), and joined peers hear ``peerClosed``."""
        if self._closed:
            return
        self._closed = True
        for transport in list(self.transports.values()):
            transport.close()
        self.transports.clear()
        self._cancel_tasks()
        self._room._forget_peer(self)
        self.emit("close")

    def _announce_peer_joined(self, other: RoomPeer) -> None:
        self._notify(
            "newPeer", {"id": other.id, "displayName": other.display_name, "device": other.device}
        )

    def _announce_peer_closed(self, other: RoomPeer) -> None:
        self._notify("peerClosed", {"peerId": other.id})

    def _announce_display_name_changed(self, other: RoomPeer, old_display_name: str) -> None:
        if self._known_peers is None or other.id in self._known_peers:
            self._notify(
                "peerDisplayNameChanged",
                {
                    "peerId": other.id,
                    "displayName": other.display_name,
                    "oldDisplayName": old_display_name,
                },
            )

    def _announce_active_speaker(self, speaker: RoomPeer | None, volume: int | None) -> None:
        if speaker is None:
            self._notify("activeSpeaker", {"peerId": None})
        else:
            self._notify("activeSpeaker", {"peerId": speaker.id, "volume": volume})

    def _notify(self, method: str, data: dict[str, Any]) -> None:
        if self._closed:
            return
        try:
            self._channel.notify(protocol.notification(method, data))
        except Exception:
            _logger.exception("notifying peer %s of %s failed", quote(self._id), method)

    def _transport(self, data: dict[str, Any]) -> Transport:
        transport_id = _string(data, "transportId")
        transport = self.transports.get(transport_id)
        if transport is None:
            raise errors.UnknownIdError(
                f"data.transportId: no transport {transport_id!r}", "data.transportId"
            )
        return transport

    def _producer(self, data: dict[str, Any]) -> Producer:
        producer_id = _string(data, "producerId")
        producer = self.producers.get(producer_id)
        if producer is None:
            raise errors.UnknownIdError(
                f"data.producerId: no producer {producer_id!r}", "data.producerId"
            )
        return producer

    def _consumer(self, data: dict[str, Any]) -> Consumer:
        consumer_id = _string(data, "consumerId")
        consumer = self.consumers.get(consumer_id)
        if consumer is None:
            raise errors.UnknownIdError(
                f"data.consumerId: no consumer {consumer_id!r}", "data.consumerId"
            )
        return consumer

    async def _get_router_rtp_capabilities(self, data: dict[str, Any]) -> dict[str, Any]:
        return dict(self._room.router.rtp_capabilities)

    async def _join(self, data: dict[str, Any]) -> dict[str, Any]:
        if self._joined:
            raise errors.InvalidStateError("peer already joined")
        limits = self._room.limits
        display_name = check_display_name(data.get("displayName", ""), "data.displayName", limits)
        device = _device(data.get("device"), limits)
        capabilities = data.get("rtpCapabilities")
        if capabilities is not None:
            from mediasoup_py import ortc

            ortc.validate_rtp_capabilities(capabilities)
        sctp_capabilities = data.get("sctpCapabilities")
        if sctp_capabilities is not None:
            sctp_capabilities = validate_sctp_capabilities(
                sctp_capabilities, "data.sctpCapabilities"
            )
        self.display_name = display_name if self._granted_name is None else self._granted_name
        self.device = device
        self.rtp_capabilities = capabilities
        self.sctp_capabilities = sctp_capabilities
        self._joined = True
        for other in self._room._joined(excluding=self):
            for producer in other._live_producers():
                self._spawn(self._room_consume(other, producer))
            if isinstance(other, Peer):
                for data_producer in list(other.data_producers.values()):
                    if data_producer.label != BOT_LABEL:
                        self._spawn(self._room_consume_data(other, data_producer))
        for data_producer in self._room._room_level_data_producers():
            self._spawn(self._room_consume_data(None, data_producer))
        self._room._peer_joined(self)
        return {
            "peers": [
                {"id": peer.id, "displayName": peer.display_name, "device": peer.device}
                for peer in self._room._listed_on_join(self)
            ]
        }

    async def _create_webrtc_transport(self, data: dict[str, Any]) -> dict[str, Any]:
        self._check_limit("transports_per_peer", len(self.transports))
        force_tcp = bool(data.get("forceTcp", False))
        sctp_capabilities = None
        if data.get("sctpCapabilities") is not None:
            sctp_capabilities = validate_sctp_capabilities(
                data["sctpCapabilities"], "data.sctpCapabilities"
            )
        router = await self._room._router_for_transport(self._media_router)
        self._media_router = router
        options: dict[str, Any] = {
            # DataChannels for a client that can (mediasoup-demo's way).
            "enable_sctp": sctp_capabilities is not None,
            "num_sctp_streams": sctp_capabilities["numStreams"] if sctp_capabilities else None,
            "app_data": {
                "producing": bool(data.get("producing", False)),
                "consuming": bool(data.get("consuming", False)),
            },
        }
        server = self._room.webrtc_server
        if server is not None and not server.closed:
            transport = await router.create_webrtc_transport(
                webrtc_server=server, enable_udp=not force_tcp, **options
            )
        else:
            listen_infos = [
                info
                for info in self._room.listen_infos
                if not force_tcp or info["protocol"] == "tcp"
            ]
            transport = await router.create_webrtc_transport(listen_infos=listen_infos, **options)
        self.transports[transport.id] = transport
        transport.observer.on("close", lambda: self.transports.pop(transport.id, None))
        if transport.app_data["consuming"]:
            self._watch_downlink_bwe(transport)
        return {
            "id": transport.id,
            "iceParameters": transport.ice_parameters,
            "iceCandidates": transport.ice_candidates,
            "dtlsParameters": transport.dtls_parameters,
            "sctpParameters": transport.sctp_parameters,
        }

    def _webrtc_transport(self, data: dict[str, Any]) -> WebRtcTransport:
        from mediasoup_py.webrtc_transport import WebRtcTransport

        transport = self._transport(data)
        if not isinstance(transport, WebRtcTransport):
            raise errors.MediasoupTypeError(
                "data.transportId: not a WebRTC transport", "data.transportId"
            )
        return transport

    def _plain_transport(self, data: dict[str, Any]) -> PlainTransport:
        from mediasoup_py.plain_transport import PlainTransport

        transport = self._transport(data)
        if not isinstance(transport, PlainTransport):
            raise errors.MediasoupTypeError(
                "data.transportId: not a plain transport", "data.transportId"
            )
        return transport

    async def _connect_webrtc_transport(self, data: dict[str, Any]) -> dict[str, Any]:
        transport = self._webrtc_transport(data)
        await transport.connect(dtls_parameters=data.get("dtlsParameters"))  # type: ignore[arg-type]
        return {}

    async def _restart_ice(self, data: dict[str, Any]) -> dict[str, Any]:
        return dict(await self._webrtc_transport(data).restart_ice())

    async def _create_plain_transport(self, data: dict[str, Any]) -> dict[str, Any]:
        """A plain RTP transport, for broadcasters and recorders (ffmpeg, GStreamer):
        mediasoup-demo's broadcaster API."""
        self._check_limit("transports_per_peer", len(self.transports))
        listen = self._room.listen_infos[0]
        router = await self._room._router_for_transport(self._media_router)
        self._media_router = router
        transport = await router.create_plain_transport(
            listen_info={"protocol": "udp", "ip": listen["ip"]},
            comedia=bool(data.get("comedia", False)),
            rtcp_mux=bool(data.get("rtcpMux", True)),
        )
        self.transports[transport.id] = transport
        transport.observer.on("close", lambda: self.transports.pop(transport.id, None))
        tuple_ = transport.tuple
        return {
            "id": transport.id,
            "ip": listen.get("announcedAddress") or tuple_["localAddress"],
            "port": tuple_["localPort"],
            "rtcpPort": transport.rtcp_tuple["localPort"] if transport.rtcp_tuple else None,
        }

    async def _connect_plain_transport(self, data: dict[str, Any]) -> dict[str, Any]:
        await self._plain_transport(data).connect(
            ip=data.get("ip"), port=data.get("port"), rtcp_port=data.get("rtcpPort")
        )
        return {}

    async def _consume(self, data: dict[str, Any]) -> dict[str, Any]:
        """An explicit consumer on a plain transport (a recorder); it starts paused, to be
        resumed once the receiver listens."""
        self._check_permission("consume")
        transport = self._plain_transport(data)
        producer_id = _string(data, "producerId")
        self._check_limit("consumers_per_peer", len(self.consumers))
        consumer = await self._room._consume_on(
            transport,
            producer_id,
            lambda: transport.consume(
                producer_id=producer_id,
                rtp_capabilities=self._room.router.rtp_capabilities,
                paused=True,
            ),
        )
        self.consumers[consumer.id] = consumer
        self._wire_consumer(consumer)
        return {
            "id": consumer.id,
            "producerId": producer_id,
            "kind": consumer.kind,
            "rtpParameters": consumer.rtp_parameters,
        }

    async def _produce(self, data: dict[str, Any]) -> dict[str, Any]:
        if not self._joined:
            raise errors.InvalidStateError("peer not joined")
        self._check_permission("produce")
        transport = self._transport(data)
        app_data = check_app_data(data.get("appData"), "data.appData", self._room.limits)
        self._check_limit("producers_per_peer", len(self.producers))
        producer = await transport.produce(
            kind=data.get("kind"),  # type: ignore[arg-type]
            rtp_parameters=data.get("rtpParameters"),  # type: ignore[arg-type]
            app_data={**app_data, "peerId": self._id},
        )
        self.producers[producer.id] = producer
        producer.observer.on("close", lambda: self.producers.pop(producer.id, None))
        producer.on(
            "score",
            lambda score: self._notify(
                "producerScore", {"producerId": producer.id, "score": score}
            ),
        )
        self._room._producer_added(self, producer)
        return {"id": producer.id}

    async def _close_producer(self, data: dict[str, Any]) -> dict[str, Any]:
        self._producer(data).close()
        return {}

    async def _pause_producer(self, data: dict[str, Any]) -> dict[str, Any]:
        await self._producer(data).pause()
        return {}

    async def _resume_producer(self, data: dict[str, Any]) -> dict[str, Any]:
        await self._producer(data).resume()
        return {}

    async def _pause_consumer(self, data: dict[str, Any]) -> dict[str, Any]:
        await self._consumer(data).pause()
        return {}

    async def _resume_consumer(self, data: dict[str, Any]) -> dict[str, Any]:
        await self._consumer(data).resume()
        return {}

    async def _set_consumer_preferred_layers(self, data: dict[str, Any]) -> dict[str, Any]:
        consumer = self._consumer(data)
        # Checked (and a missing temporal layer taken as the highest) by the consumer.
        layers = {key: data[key] for key in ("spatialLayer", "temporalLayer") if key in data}
        await consumer.set_preferred_layers(layers)  # type: ignore[arg-type]
        return {}

    async def _set_consumer_priority(self, data: dict[str, Any]) -> dict[str, Any]:
        await self._consumer(data).set_priority(data.get("priority"))  # type: ignore[arg-type]
        return {}

    async def _request_consumer_key_frame(self, data: dict[str, Any]) -> dict[str, Any]:
        await self._consumer(data).request_key_frame()
        return {}

    # The stats requests answer the stats array itself, as mediasoup-demo's server does (its
    # app maps over it).

    async def _get_transport_stats(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        return await self._transport(data).get_stats()

    async def _get_producer_stats(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        return await self._producer(data).get_stats()

    async def _get_consumer_stats(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        return await self._consumer(data).get_stats()

    async def _produce_data(self, data: dict[str, Any]) -> dict[str, Any]:
        """A DataChannel of the client (``sctpStreamParameters``, ``label``, ``protocol``,
        ``appData``): every other joined peer that can gets a DataConsumer of it, announced
        with ``newDataConsumer`` (except a ``bot`` channel, mediasoup-demo's channel to
        its server-side bot)."""
        if not self._joined:
            raise errors.InvalidStateError("peer not joined")
        self._check_permission("data")
        transport = self._transport(data)
        app_data = check_app_data(data.get("appData"), "data.appData", self._room.limits)
        self._check_limit("data_producers_per_peer", len(self.data_producers))
        data_producer = await transport.produce_data(
            sctp_stream_parameters=data.get("sctpStreamParameters"),
            label=data.get("label", ""),
            protocol=data.get("protocol", ""),
            app_data={**app_data, "peerId": self._id},
        )
        self.data_producers[data_producer.id] = data_producer
        data_producer.observer.on("close", lambda: self.data_producers.pop(data_producer.id, None))
        if data_producer.label != BOT_LABEL:
            for other in self._room._joined(excluding=self):
                if isinstance(other, Peer):
                    other._spawn(other._room_consume_data(self, data_producer))
        self._room.emit("newdataproducer", self, data_producer)
        return {"id": data_producer.id}

    async def _room_consume_data(self, owner: Peer | None, data_producer: DataProducer) -> None:
        """A DataConsumer of ``owner``'s data producer (``None``: the application's, from
        :meth:`Room.add_data_producer`) for this peer, on its consuming transport, announced
        with a ``newDataConsumer`` request; one the client refuses or does not answer in
        time is closed. A peer without SCTP gets none. A data producer on another worker of
        the room is piped to the peer's router first (and unpiped after its last data
        consumer there)."""
        transport = next(
            (
                t
                for t in self.transports.values()
                if t.app_data.get("consuming") and t.sctp_parameters is not None
            ),
            None,
        )
        if (
            self.sctp_capabilities is None
            or "data" not in self.permissions
            or transport is None
            or data_producer.closed
        ):
            return
        limits = self._room.limits
        if len(self.data_consumers) >= limits.data_consumers_per_peer:
            _logger.warning(
                "peer %s does not consume data producer %s: data_consumers_per_peer (%d)",
                quote(self._id),
                data_producer.id,
                limits.data_consumers_per_peer,
            )
            return
        try:
            data_consumer = await self._room.consume_data(transport, data_producer)
        except errors.MediasoupError as error:
            _logger.warning(
                "consuming data producer %s for peer %s failed: %s",
                data_producer.id,
                quote(self._id),
                error,
            )
            return
        consumer_id = data_consumer.id
        self.data_consumers[consumer_id] = data_consumer
        data_consumer.observer.on("close", lambda: self.data_consumers.pop(consumer_id, None))
        data_consumer.on(
            "dataproducerclose",
            lambda: self._notify("dataConsumerClosed", {"dataConsumerId": consumer_id}),
        )
        if owner is not None:
            self._meet(owner)
        message = protocol.request(
            "newDataConsumer",
            {
                "peerId": owner.id if owner is not None else None,
                "dataProducerId": data_producer.id,
                "id": consumer_id,
                "sctpStreamParameters": data_consumer.sctp_stream_parameters,
                "label": data_consumer.label,
                "protocol": data_consumer.protocol,
                "appData": data_producer.app_data,
            },
        )
        taken = await self._offer(message, "data consumer", consumer_id)
        if not taken and not data_consumer.closed:
            data_consumer.close()
            self._notify("dataConsumerClosed", {"dataConsumerId": consumer_id})

    async def _offer(self, message: protocol.Request, what: str, offered_id: str) -> bool:
        """Asks the client to take a consumer or data consumer (``newConsumer``,
        ``newDataConsumer``): whether it did. A refusal, no answer in time, a nonsense
        answer or the client going all count as not."""
        try:
            answer = await asyncio.wait_for(
                self._channel.request(message), self._room.limits.client_request_timeout
            )
            protocol.parse_response(answer)
        except Exception as error:
            if not self._closed:
                _logger.info(
                    "peer %s did not take %s %s: %s",
                    quote(self._id),
                    what,
                    offered_id,
                    quote(str(error) or type(error).__name__),
                )
            return False
        return True

    def _data_producer(self, data: dict[str, Any]) -> DataProducer:
        data_producer_id = _string(data, "dataProducerId")
        data_producer = self.data_producers.get(data_producer_id)
        if data_producer is None:
            raise errors.UnknownIdError(
                f"data.dataProducerId: no data producer {data_producer_id!r}",
                "data.dataProducerId",
            )
        return data_producer

    def _data_consumer(self, data: dict[str, Any]) -> DataConsumer:
        data_consumer_id = _string(data, "dataConsumerId")
        data_consumer = self.data_consumers.get(data_consumer_id)
        if data_consumer is None:
            raise errors.MediasoupTypeError(
                f"data.dataConsumerId: no data consumer {data_consumer_id!r}",
                "data.dataConsumerId",
            )
        return data_consumer

    async def _get_data_producer_stats(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        return await self._data_producer(data).get_stats()

    async def _get_data_consumer_stats(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        return await self._data_consumer(data).get_stats()

    async def _change_display_name(self, data: dict[str, Any]) -> dict[str, Any]:
        """A new name, told to the others with ``peerDisplayNameChanged``; a peer named by
        its join token keeps that name."""
        if not self._joined:
            raise errors.InvalidStateError("peer not joined")
        limits = self._room.limits
        display_name = check_display_name(data.get("displayName"), "data.displayName", limits)
        if self._granted_name is not None:
            raise errors.PermissionDeniedError(
                f"peer {self._id!r} is named by its join token: it may not change its name"
            )
        old_display_name, self.display_name = self.display_name, display_name
        if not self.spy:
            for other in self._room._joined(excluding=self):
                other._announce_display_name_changed(self, old_display_name)
        return {}

    async def _network_throttle(self, data: dict[str, Any]) -> dict[str, Any]:
        """mediasoup-demo's ``applyNetworkThrottle``/``resetNetworkThrottle`` shape the
        server host's network with ``tc`` for testing; this server does not."""
        raise errors.UnsupportedError(
            "method: applyNetworkThrottle and resetNetworkThrottle are not supported by this "
            "server (mediasoup-demo's tc network throttling is not implemented)"
        )

    def _watch_downlink_bwe(self, transport: WebRtcTransport) -> None:
        """``downlinkBwe`` notifications from the bandwidth estimate of the transport it
        consumes on (the first one made with ``consuming``), while it is open."""
        if self._downlink_bwe is None:
            self._downlink_bwe = asyncio.ensure_future(self._report_downlink_bwe(transport))
            self._tasks.add(self._downlink_bwe)
            self._downlink_bwe.add_done_callback(self._tasks.discard)

    async def _report_downlink_bwe(self, transport: WebRtcTransport) -> None:
        """Every ``DOWNLINK_BWE_INTERVAL_S`` while the estimate or the demand changes:
        ``availableBitrate`` is what the endpoint's feedback says can be sent to it,
        ``desiredBitrate`` what its consumers would send at their best (each producer's
        top stream), ``effectiveDesiredBitrate`` the demand held for a while after it falls
        (a peak decaying with a half-life of four looks), so an estimate that
        lags a drop in demand is not read as congestion."""
        last: tuple[int, int, int] | None = None
        effective = 0.0
        while not transport.closed and not self._closed:
            await asyncio.sleep(DOWNLINK_BWE_INTERVAL_S)
            try:
                (stats,) = await transport.get_stats()
                available = stats.get("availableOutgoingBitrate")
                desired = await self._desired_bitrate()
            except errors.MediasoupError:
                return  # Closed meanwhile.
            if available is None:
                continue  # No feedback from the endpoint yet.
            effective = max(float(desired), effective * DOWNLINK_BWE_DECAY)
            report = (desired, int(effective), int(available))
            if report != last:
                last = report
                self._notify(
                    "downlinkBwe",
                    {
                        "desiredBitrate": report[0],
                        "effectiveDesiredBitrate": report[1],
                        "availableBitrate": report[2],
                    },
                )

    async def _desired_bitrate(self) -> int:
        """What its consumers would send at their best: for each that is not paused, the
        highest bitrate among its producer's streams."""
        desired = 0
        for consumer in list(self.consumers.values()):
            if consumer.closed or consumer.paused or consumer.producer_paused:
                continue
            owner = self._room._owner_of(consumer.producer_id)
            producer = owner.producers.get(consumer.producer_id) if owner else None
            if producer is None or producer.closed:
                continue
            streams = await producer.get_stats()
            desired += max((entry.get("bitrate", 0) for entry in streams), default=0)
        return desired

    async def _room_consume(self, owner: RoomPeer, producer: Producer) -> None:
        """A consumer of ``owner``'s producer for this peer, announced with a ``newConsumer``
        request and resumed once the client has it (so it starts on a keyframe). One the
        client refuses, or does not answer within ``client_request_timeout``, is closed and
        announced with ``consumerClosed``."""
        capabilities = self.rtp_capabilities
        if (
            "consume" not in self.permissions
            or capabilities is None
            or not ortc.can_consume(
                producer.consumable_rtp_parameters,
                ortc.validate_rtp_capabilities(capabilities),
            )
        ):
            return
        transport = next((t for t in self.transports.values() if t.app_data.get("consuming")), None)
        if transport is None:
            _logger.warning("peer %s has no consuming transport", quote(self._id))
            return
        limits = self._room.limits
        if len(self.consumers) >= limits.consumers_per_peer:
            _logger.warning(
                "peer %s does not consume %s: consumers_per_peer (%d) reached",
                quote(self._id),
                producer.id,
                limits.consumers_per_peer,
            )
            return
        try:
            consumer = await self._room._consume_on(
                transport,
                producer.id,
                lambda: transport.consume(
                    producer_id=producer.id,
                    rtp_capabilities=capabilities,  # type: ignore[arg-type]
                    paused=True,
                ),
            )
        except errors.MediasoupError as error:
            # Typically the producer closed meanwhile.
            _logger.warning(
                "consuming %s for peer %s failed: %s", producer.id, quote(self._id), error
            )
            return
        self.consumers[consumer.id] = consumer
        self._wire_consumer(consumer)
        self._meet(owner)
        message = protocol.request(
            "newConsumer",
            {
                "peerId": owner.id,
                "producerId": producer.id,
                "id": consumer.id,
                "kind": consumer.kind,
                "rtpParameters": consumer.rtp_parameters,
                "type": consumer.type,
                "appData": producer.app_data,
                "producerPaused": consumer.producer_paused,
            },
        )
        if not await self._offer(message, "consumer", consumer.id):
            self._drop_consumer(consumer)
            return
        if not consumer.closed:
            await consumer.resume()
            self._notify("consumerScore", {"consumerId": consumer.id, "score": consumer.score})

    def _drop_consumer(self, consumer: Consumer) -> None:
        """Closes a consumer the client does not have, and says so."""
        if consumer.closed:
            return
        consumer.close()
        self._notify("consumerClosed", {"consumerId": consumer.id})

    def _wire_consumer(self, consumer: Consumer) -> None:
        consumer_id = consumer.id

        def closed() -> None:
            self.consumers.pop(consumer_id, None)

        def layers_changed(layers: ConsumerLayers | None) -> None:
            self._notify(
                "consumerLayersChanged",
                {
                    "consumerId": consumer_id,
                    "spatialLayer": layers["spatialLayer"] if layers else None,
                    "temporalLayer": layers["temporalLayer"] if layers else None,
                },
            )

        # However it closes (its transport, its producer, or here), it is no longer held.
        consumer.observer.on("close", closed)
        consumer.on(
            "producerclose", lambda: self._notify("consumerClosed", {"consumerId": consumer_id})
        )
        consumer.on(
            "producerpause", lambda: self._notify("consumerPaused", {"consumerId": consumer_id})
        )
        consumer.on(
            "producerresume", lambda: self._notify("consumerResumed", {"consumerId": consumer_id})
        )
        consumer.on(
            "score",
            lambda score: self._notify(
                "consumerScore", {"consumerId": consumer_id, "score": score}
            ),
        )
        consumer.on("layerschange", layers_changed)
