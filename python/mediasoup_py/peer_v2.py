"""A mediasoup-client 2.x client in a room, speaking mediasoup's v2 protocol
(:mod:`mediasoup_py.protocol_v2`), the way a mediasoup v2 server's ``Peer`` does.

The application creates it by passing the client's ``join`` request to
:meth:`mediasoup_py.room.Room.receive_request`, then hands it every later message from that
client (requests to :meth:`V2Peer.receive_request`, notifications to
:meth:`V2Peer.receive_notification`) and delivers every ``notify`` event to the client.

As in v2, consumers are the server's idea: when another peer produces, the room creates a
:class:`V2Consumer` here and announces it (``newConsumer``, or in the ``join`` response);
it carries media once the client enables it on a receiving transport (``enableConsumer``).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Literal

from mediasoup_py import errors, ortc, protocol_v2
from mediasoup_py.room import Room, RoomPeer

if TYPE_CHECKING:
    from mediasoup_py.consumer import Consumer, ConsumerLayers
    from mediasoup_py.producer import Producer
    from mediasoup_py.rtp_parameters import RtpCapabilities, RtpParameters
    from mediasoup_py.transport import ListenInfo, Transport
    from mediasoup_py.webrtc_transport import DtlsParameters

__all__ = ["V2Consumer", "V2Peer"]

_logger = logging.getLogger("mediasoup_py.peer_v2")

Originator = Literal["local", "remote"]
# v2's floor for periodic stats.
_MIN_STATS_INTERVAL_MS = 1000


def _client_id(fields: dict[str, Any], key: str = "id") -> int:
    """A v2 id: a number (clients choose those of their transports and producers)."""
    value = fields.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise errors.MediasoupTypeError(f"{key}: must be a number", key)
    return value


def _app_data(fields: dict[str, Any]) -> dict[str, Any]:
    value = fields.get("appData")
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise errors.MediasoupTypeError("appData: must be an object", "appData")
    return value


class V2Consumer:
    """A peer's copy of another peer's producer, as v2 has it: announced first, carrying
    media once the client enables it on one of its receiving transports."""

    def __init__(
        self,
        peer: V2Peer,
        consumer_id: int,
        owner: RoomPeer,
        producer: Producer,
        rtp_parameters: RtpParameters,
        capabilities: RtpCapabilities,
        profiles: list[protocol_v2.Profile],
    ) -> None:
        self._peer = peer
        self._id = consumer_id
        self._owner = owner
        self._producer = producer
        self._rtp_parameters = rtp_parameters
        self._capabilities = capabilities
        self._profiles = profiles
        self._consumer: Consumer | None = None
        self._locally_paused = False
        self._remotely_paused = False
        self._preferred_profile: protocol_v2.Profile = "default"
        self._effective_profile: str | None = None
        self._closed = False
        producer.observer.on("close", self._on_producer_closed)
        producer.observer.on("pause", lambda: self._on_source_paused(True))
        producer.observer.on("resume", lambda: self._on_source_paused(False))

    @property
    def id(self) -> int:
        """The id the client knows it by."""
        return self._id

    @property
    def kind(self) -> str:
        """``audio`` or ``video``."""
        return self._producer.kind

    @property
    def source(self) -> Producer:
        """The producer it consumes."""
        return self._producer

    @property
    def peer_name(self) -> str:
        """The name of the peer whose producer it consumes."""
        return self._owner.id

    @property
    def enabled(self) -> bool:
        """Whether the client has given it a transport (it carries media)."""
        return self._consumer is not None

    @property
    def consumer(self) -> Consumer | None:
        """The transport's consumer once enabled."""
        return self._consumer

    @property
    def paused(self) -> bool:
        """Whether no media flows: paused here, by the client, or at the source."""
        return self._locally_paused or self._remotely_paused or self._producer.paused

    @property
    def preferred_profile(self) -> protocol_v2.Profile:
        """The simulcast stream it should send at best."""
        return self._preferred_profile

    @property
    def effective_profile(self) -> str | None:
        """The stream it sends (``none``: nothing); ``None`` until enabled."""
        return self._effective_profile

    @property
    def closed(self) -> bool:
        """Whether it is closed."""
        return self._closed

    def to_json(self) -> dict[str, Any]:
        """The consumer as v2 announces it (``newConsumer``, ``join``)."""
        return {
            "id": self._id,
            "kind": self.kind,
            "rtpParameters": protocol_v2.consumer_rtp_parameters(self._rtp_parameters),
            "paused": self._locally_paused or self._producer.paused,
            "preferredProfile": self._preferred_profile,
            "effectiveProfile": self._effective_profile,
            "appData": self._producer.app_data,
            "peerName": self.peer_name,
        }

    async def pause(self) -> None:
        """Pauses it from the server; the client hears ``consumerPaused``."""
        self._locally_paused = True
        await self._apply_pause()
        self._notify("consumerPaused", {"appData": {}})

    async def resume(self) -> None:
        """Resumes it from the server; the client hears ``consumerResumed``."""
        self._locally_paused = False
        await self._apply_pause()
        self._notify("consumerResumed", {"appData": {}})

    async def set_preferred_profile(self, profile: protocol_v2.Profile) -> None:
        """Sets the best stream it may send from the server; the client hears
        ``consumerPreferredProfileSet``."""
        await self._set_preferred_profile(profile)
        self._notify("consumerPreferredProfileSet", {"profile": profile})

    def close(self) -> None:
        """Closes it from the server; the client hears ``consumerClosed``."""
        if self._close():
            self._notify("consumerClosed", {"appData": {}})

    async def request_key_frame(self) -> None:
        """Asks the source for a keyframe (video, once enabled)."""
        if self._consumer is not None:
            await self._consumer.request_key_frame()

    async def get_stats(self) -> list[dict[str, Any]]:
        """mediasoup's stats of it (empty until enabled)."""
        return [] if self._consumer is None else await self._consumer.get_stats()

    async def _enable(
        self, transport: Transport, paused: bool, profile: protocol_v2.Profile
    ) -> dict[str, Any]:
        if self._consumer is not None:
            raise errors.InvalidStateError(f"consumer {self._id} already enabled")
        self._remotely_paused = paused
        self._preferred_profile = profile
        # Through the room: the producer may have to be piped to the transport's router.
        consumer = await self._peer.room._consume_on(
            transport,
            self._producer.id,
            lambda: transport._consume(
                producer_id=self._producer.id,
                rtp_capabilities=self._capabilities,
                paused=True,
                mid=None,
                enable_rtx=None,
                preferred_layers=protocol_v2.layers_for_profile(profile, self._profiles),
                pipe=False,
                app_data={},
                announced=self._rtp_parameters,
            ),
        )
        if self._closed:
            consumer.close()
            raise errors.InvalidStateError(f"consumer {self._id} closed")
        self._consumer = consumer
        consumer.on("layerschange", self._on_layers_change)
        consumer.on("transportclose", self._on_transport_closed)
        self._effective_profile = protocol_v2.profile_for_layers(
            consumer.current_layers, self._profiles
        )
        if not self._locally_paused and not self._remotely_paused:
            await consumer.resume()
        return {
            "paused": self._locally_paused or self._producer.paused,
            "preferredProfile": self._preferred_profile,
            "effectiveProfile": self._effective_profile,
        }

    async def _set_remotely_paused(self, paused: bool) -> None:
        self._remotely_paused = paused
        await self._apply_pause()

    async def _set_preferred_profile(self, profile: object) -> None:
        if profile not in ("default", *protocol_v2.PROFILES):
            raise errors.MediasoupTypeError(
                "profile: must be 'default', 'low', 'medium' or 'high'", "profile"
            )
        self._preferred_profile = profile
        layers = protocol_v2.layers_for_profile(self._preferred_profile, self._profiles)
        if self._consumer is not None and layers is not None:
            await self._consumer.set_preferred_layers(layers)

    async def _apply_pause(self) -> None:
        if self._consumer is None or self._consumer.closed:
            return
        if self._locally_paused or self._remotely_paused:
            await self._consumer.pause()
        else:
            await self._consumer.resume()

    def _close(self) -> bool:
        if self._closed:
            return False
        self._closed = True
        if self._consumer is not None:
            self._consumer.close()
        self._peer._forget_consumer(self)
        return True

    def _notify(self, method: str, fields: dict[str, Any]) -> None:
        self._peer._notify(method, {"id": self._id, "peerName": self.peer_name, **fields})

    def _on_producer_closed(self) -> None:
        if self._close():
            self._notify("consumerClosed", {"appData": {}})

    def _on_transport_closed(self) -> None:
        # Its transport went: v2 keeps the consumer, to be enabled again on another.
        self._consumer = None
        self._effective_profile = None

    def _on_source_paused(self, paused: bool) -> None:
        if self._closed or self._locally_paused:
            return
        self._notify("consumerPaused" if paused else "consumerResumed", {"appData": {}})

    def _on_layers_change(self, layers: ConsumerLayers | None) -> None:
        profile = protocol_v2.profile_for_layers(layers, self._profiles)
        if profile != self._effective_profile:
            self._effective_profile = profile
            self._notify("consumerEffectiveProfileChanged", {"profile": profile})


class V2Peer(RoomPeer):
    """A mediasoup-client 2.x client in a room. Events: ``notify`` (a server-to-client
    notification the application must deliver), ``newtransport`` (Transport),
    ``newproducer`` (Producer), ``newconsumer`` (:class:`V2Consumer`), ``close``
    (originator ``"local"`` or ``"remote"``, appData)."""

    def __init__(
        self,
        room: Room,
        name: str,
        app_data: dict[str, Any],
        rtp_capabilities: RtpCapabilities,
        spy: bool,
    ) -> None:
        super().__init__(room, name)
        self.app_data = app_data
        self.spy = spy
        self.rtp_capabilities = rtp_capabilities  # type: ignore[assignment]
        display_name = app_data.get("displayName")
        self.display_name = display_name if isinstance(display_name, str) else name
        device = app_data.get("device")
        self.device = device if isinstance(device, dict) else {}
        self.transports: dict[int, Transport] = {}
        self.producers: dict[int, Producer] = {}
        self.consumers: dict[int, V2Consumer] = {}
        # The profile its client gave each encoding of each producer, lowest first.
        self._encoding_profiles: dict[str, list[protocol_v2.Profile]] = {}
        # Producers and transports the client itself paused, resumed or closed: it is not
        # told back about what it did.
        self._client_actions: set[tuple[str, str]] = set()
        self._stats_tasks: dict[tuple[str, int], asyncio.Task[None]] = {}
        # The methods are named once, in protocol_v2; each is handled by the method of the
        # same name in snake case (``createTransport`` by ``_create_transport``).
        self._requests: dict[str, Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]] = {
            method: getattr(self, _handler_name(method)) for method in protocol_v2.PEER_REQUESTS
        }
        self._notifications: dict[str, Callable[[dict[str, Any]], Awaitable[None]]] = {
            method: getattr(self, _handler_name(method))
            for method in protocol_v2.PEER_NOTIFICATIONS
        }

    @classmethod
    def from_join(cls, room: Room, fields: dict[str, Any]) -> V2Peer:
        """The peer a ``join`` request describes (its name checked by the room)."""
        capabilities = ortc.validate_rtp_capabilities(fields.get("rtpCapabilities"))
        spy = fields.get("spy", False)
        if spy is None:
            spy = False
        if not isinstance(spy, bool):
            raise errors.MediasoupTypeError("spy: must be a boolean", "spy")
        return cls(room, fields["peerName"], _app_data(fields), capabilities, spy)

    @property
    def name(self) -> str:
        """The peer's name, unique in its room."""
        return self._id

    def __repr__(self) -> str:
        return f"<V2Peer name={self._id} spy={self.spy} closed={self._closed}>"

    def to_json(self) -> dict[str, Any]:
        """``{name, appData}``, as v2 describes a peer."""
        return {"name": self._id, "appData": self.app_data}

    def dump(self) -> dict[str, Any]:
        """The peer's state and the ids of its transports, producers and consumers."""
        return {
            "name": self._id,
            "spy": self.spy,
            "joined": self._joined,
            "transportIds": list(self.transports),
            "producerIds": list(self.producers),
            "consumerIds": list(self.consumers),
        }

    def get_consumer_for_source(self, producer: Producer) -> V2Consumer | None:
        """Its consumer of ``producer``, if any."""
        return next((c for c in self.consumers.values() if c.source is producer), None)

    async def receive_request(self, request: object) -> dict[str, Any]:
        """Handles a v2 request of this peer's client (``target: "peer"``) and returns the
        response; bad requests raise a typed error naming the field."""
        if self._closed:
            raise errors.InvalidStateError("peer closed")
        method, fields = protocol_v2.parse_request(request, "peer")
        return await self._requests[method](fields)

    def receive_notification(self, notification: object) -> None:
        """Handles a v2 notification of this peer's client. A malformed one raises a typed
        error; what it asks is done in the background (errors there are logged, as v2
        has no answer to send)."""
        if self._closed:
            raise errors.InvalidStateError("peer closed")
        method, fields = protocol_v2.parse_notification(notification)
        self._spawn(self._run_notification(method, fields))

    def close(self, app_data: dict[str, Any] | None = None) -> None:
        """Closes the peer from the server: its client hears ``closed``, the others
        ``peerClosed``."""
        self._notify("closed", {"appData": app_data or {}})
        self._close("local", app_data or {})

    def _close(self, originator: Originator, app_data: dict[str, Any]) -> None:
        if self._closed:
            return
        self._closed = True
        for transport in list(self.transports.values()):
            transport.close()
        self.transports.clear()
        for consumer in list(self.consumers.values()):
            consumer._close()
        self._cancel_tasks()
        for task in self._stats_tasks.values():
            task.cancel()
        self._stats_tasks.clear()
        self._room._forget_peer(self)
        self.emit("close", originator, app_data)

    def _join(self) -> dict[str, Any]:
        """Joins: a consumer of every producer already in the room, listed in the response
        under the peer that produces it."""
        self._joined = True
        listed: dict[str, list[dict[str, Any]]] = {}
        for other in self._room._joined(excluding=self):
            for producer in other._live_producers():
                consumer = self._new_consumer(other, producer)
                if consumer is not None:
                    listed.setdefault(other.id, []).append(consumer.to_json())
        self._room._peer_joined(self)
        return {
            "peers": [
                {
                    "name": peer.id,
                    "appData": _peer_app_data(peer),
                    "consumers": listed.get(peer.id, []),
                }
                for peer in self._room._visible(excluding=self)
            ]
        }

    def _announce_peer_joined(self, other: RoomPeer) -> None:
        self._notify(
            "newPeer", {"name": other.id, "appData": _peer_app_data(other), "consumers": []}
        )

    def _announce_peer_closed(self, other: RoomPeer) -> None:
        self._notify("peerClosed", {"name": other.id, "appData": {}})

    def _announce_active_speaker(self, speaker: RoomPeer | None, volume: int | None) -> None:
        # The v2 protocol has no such notification: v2 apps get it from the room's
        # ``audiolevels`` event on the server.
        return

    async def _room_consume(self, owner: RoomPeer, producer: Producer) -> None:
        consumer = self._new_consumer(owner, producer)
        if consumer is not None:
            self._notify("newConsumer", consumer.to_json())

    def _new_consumer(self, owner: RoomPeer, producer: Producer) -> V2Consumer | None:
        capabilities = protocol_v2.without_mid(self.rtp_capabilities)  # type: ignore[arg-type]
        consumable = producer.consumable_rtp_parameters
        if not ortc.can_consume(consumable, capabilities):
            return None
        limit = self._room.limits.consumers_per_peer
        if len(self.consumers) >= limit:
            _logger.warning(
                "peer %r does not consume %s: consumers_per_peer (%d) reached",
                self._id,
                producer.id,
                limit,
            )
            return None
        rtp_parameters = ortc.get_consumer_rtp_parameters(
            consumable, capabilities, False, producer.kind == "video"
        )
        consumer_id = protocol_v2.new_id()
        while consumer_id in self.consumers:
            consumer_id = protocol_v2.new_id()
        owner_profiles = owner._producer_profiles(producer) if isinstance(owner, V2Peer) else None
        profiles = owner_profiles or _profiles_by_position(producer)
        consumer = V2Consumer(
            self, consumer_id, owner, producer, rtp_parameters, capabilities, profiles
        )
        self.consumers[consumer_id] = consumer
        self.emit("newconsumer", consumer)
        return consumer

    def _forget_consumer(self, consumer: V2Consumer) -> None:
        self.consumers.pop(consumer.id, None)
        task = self._stats_tasks.pop(("consumer", consumer.id), None)
        if task is not None:
            task.cancel()

    def _producer_profiles(self, producer: Producer) -> list[protocol_v2.Profile] | None:
        return self._encoding_profiles.get(producer.id)

    def _notify(self, method: str, fields: dict[str, Any]) -> None:
        if self._closed:
            return
        self.emit("notify", protocol_v2.notification(method, fields))

    async def _run_notification(self, method: str, fields: dict[str, Any]) -> None:
        try:
            await self._notifications[method](fields)
        except errors.MediasoupError as error:
            _logger.warning("notification %s of peer %s failed: %s", method, self._id, error)

    # Requests.

    async def _create_transport(self, fields: dict[str, Any]) -> dict[str, Any]:
        self._check_limit("transports_per_peer", len(self.transports))
        transport_id = _client_id(fields)
        if transport_id in self.transports:
            raise errors.MediasoupTypeError(f"id: transport {transport_id} exists", "id")
        direction = fields.get("direction")
        if direction not in ("send", "recv"):
            raise errors.MediasoupTypeError("direction: must be 'send' or 'recv'", "direction")
        app_data = {**_app_data(fields), "direction": direction}
        plain = fields.get("plainRtpParameters")
        if plain is not None:
            return await self._create_plain_transport(transport_id, plain, app_data)
        listen_infos = _listen_infos(self._room.listen_infos, fields.get("options"))
        transport = await self._room.router.create_webrtc_transport(
            listen_infos=listen_infos, app_data=app_data
        )
        self._add_transport(transport_id, transport)
        dtls = transport.dtls_parameters
        remote = fields.get("dtlsParameters")
        if remote is not None:
            await transport.connect(dtls_parameters=remote)
            # The client takes the other DTLS role; v2 answers with ours.
            role = {"server": "client", "client": "server"}.get(remote.get("role", ""), "auto")
            dtls = {**dtls, "role": role}  # type: ignore[typeddict-item]
        return {
            "iceParameters": transport.ice_parameters,
            "iceCandidates": transport.ice_candidates,
            "dtlsParameters": dtls,
        }

    async def _create_plain_transport(
        self, transport_id: int, plain: object, app_data: dict[str, Any]
    ) -> dict[str, Any]:
        remote_ip, remote_port = _plain_rtp_parameters(plain)
        listen = self._room.listen_infos[0]
        transport = await self._room.router.create_plain_transport(
            listen_info={"protocol": "udp", "ip": listen["ip"]}, rtcp_mux=True, app_data=app_data
        )
        self._add_transport(transport_id, transport)
        await transport.connect(ip=remote_ip, port=remote_port)
        return {
            "plainRtpParameters": {
                "ip": listen.get("announcedAddress") or transport.tuple["localAddress"],
                "port": transport.tuple["localPort"],
            }
        }

    async def _restart_transport(self, fields: dict[str, Any]) -> dict[str, Any]:
        from mediasoup_py.webrtc_transport import WebRtcTransport

        transport = self._transport(fields)
        if not isinstance(transport, WebRtcTransport):
            raise errors.MediasoupTypeError("id: not a WebRTC transport", "id")
        return {"iceParameters": await transport.restart_ice()}

    async def _create_producer(self, fields: dict[str, Any]) -> dict[str, Any]:
        if self.spy:
            raise errors.InvalidStateError("a spy peer cannot produce")
        self._check_limit("producers_per_peer", len(self.producers))
        producer_id = _client_id(fields)
        if producer_id in self.producers:
            raise errors.MediasoupTypeError(f"id: producer {producer_id} exists", "id")
        transport = self._transport(fields, "transportId")
        if transport.app_data.get("direction") != "send":
            raise errors.MediasoupTypeError("transportId: not a sending transport", "transportId")
        paused = fields.get("paused", False)
        if not isinstance(paused, bool):
            raise errors.MediasoupTypeError("paused: must be a boolean", "paused")
        rtp_parameters, profiles = protocol_v2.producer_rtp_parameters(fields.get("rtpParameters"))
        producer = await transport.produce(
            kind=fields.get("kind"),  # type: ignore[arg-type]
            rtp_parameters=rtp_parameters,
            paused=paused,
            app_data=_app_data(fields),
        )
        self.producers[producer_id] = producer
        self._encoding_profiles[producer.id] = profiles
        producer.observer.on(
            "close", lambda: self._on_producer_closed(producer_id, producer, transport)
        )
        producer.observer.on("pause", lambda: self._on_producer_paused(producer_id, producer, True))
        producer.observer.on(
            "resume", lambda: self._on_producer_paused(producer_id, producer, False)
        )
        self.emit("newproducer", producer)
        self._room._producer_added(self, producer)
        return {}

    async def _enable_consumer(self, fields: dict[str, Any]) -> dict[str, Any]:
        consumer = self._consumer(fields)
        transport = self._transport(fields, "transportId")
        if transport.app_data.get("direction") != "recv":
            raise errors.MediasoupTypeError("transportId: not a receiving transport", "transportId")
        paused = fields.get("paused", False)
        if not isinstance(paused, bool):
            raise errors.MediasoupTypeError("paused: must be a boolean", "paused")
        profile = fields.get("preferredProfile") or "default"
        if profile not in ("default", *protocol_v2.PROFILES):
            raise errors.MediasoupTypeError(
                "preferredProfile: must be 'default', 'low', 'medium' or 'high'",
                "preferredProfile",
            )
        return await consumer._enable(transport, paused, profile)

    # Notifications.

    async def _leave(self, fields: dict[str, Any]) -> None:
        self._close("remote", _app_data(fields))

    async def _update_transport(self, fields: dict[str, Any]) -> None:
        from mediasoup_py.plain_transport import PlainTransport
        from mediasoup_py.webrtc_transport import WebRtcTransport

        transport = self._transport(fields)
        try:
            if isinstance(transport, WebRtcTransport):
                dtls: DtlsParameters = fields.get("dtlsParameters")  # type: ignore[assignment]
                await transport.connect(dtls_parameters=dtls)
            elif isinstance(transport, PlainTransport):
                ip, port = _plain_rtp_parameters(fields.get("plainRtpParameters"))
                await transport.connect(ip=ip, port=port)
        except errors.MediasoupError:
            # v2 closes a transport it cannot set up, and says so.
            self._notify("transportClosed", {"id": _client_id(fields), "appData": {}})
            self._client_actions.add(("transport", transport.id))
            transport.close()
            raise

    async def _close_transport(self, fields: dict[str, Any]) -> None:
        transport = self.transports.get(_client_id(fields))
        if transport is not None:
            self._client_actions.add(("transport", transport.id))
            transport.close()

    async def _update_producer(self, fields: dict[str, Any]) -> None:
        # Old plan-B clients send it after replacing a track; mediasoup 2.5.6 dropped it.
        _logger.debug("peer %s: updateProducer ignored", self._id)

    async def _pause_producer(self, fields: dict[str, Any]) -> None:
        producer = self._producer(fields)
        self._client_actions.add(("pause", producer.id))
        await producer.pause()

    async def _resume_producer(self, fields: dict[str, Any]) -> None:
        producer = self._producer(fields)
        self._client_actions.add(("resume", producer.id))
        await producer.resume()

    async def _close_producer(self, fields: dict[str, Any]) -> None:
        producer = self.producers.get(_client_id(fields))
        if producer is not None:
            self._client_actions.add(("close", producer.id))
            producer.close()

    async def _pause_consumer(self, fields: dict[str, Any]) -> None:
        await self._consumer(fields)._set_remotely_paused(True)

    async def _resume_consumer(self, fields: dict[str, Any]) -> None:
        await self._consumer(fields)._set_remotely_paused(False)

    async def _set_consumer_preferred_profile(self, fields: dict[str, Any]) -> None:
        await self._consumer(fields)._set_preferred_profile(fields.get("profile"))

    async def _enable_transport_stats(self, fields: dict[str, Any]) -> None:
        transport_id = _client_id(fields)
        transport = self._transport(fields)
        self._start_stats("transport", transport_id, fields, transport.get_stats)

    async def _disable_transport_stats(self, fields: dict[str, Any]) -> None:
        self._stop_stats("transport", _client_id(fields))

    async def _enable_producer_stats(self, fields: dict[str, Any]) -> None:
        producer_id = _client_id(fields)
        producer = self._producer(fields)
        self._start_stats("producer", producer_id, fields, producer.get_stats)

    async def _disable_producer_stats(self, fields: dict[str, Any]) -> None:
        self._stop_stats("producer", _client_id(fields))

    async def _enable_consumer_stats(self, fields: dict[str, Any]) -> None:
        consumer = self._consumer(fields)
        self._start_stats(
            "consumer", consumer.id, fields, consumer.get_stats, {"peerName": consumer.peer_name}
        )

    async def _disable_consumer_stats(self, fields: dict[str, Any]) -> None:
        self._stop_stats("consumer", _client_id(fields))

    # Helpers.

    def _add_transport(self, transport_id: int, transport: Transport) -> None:
        self.transports[transport_id] = transport
        transport.observer.on("close", lambda: self._on_transport_closed(transport_id, transport))
        self.emit("newtransport", transport)

    def _transport(self, fields: dict[str, Any], key: str = "id") -> Transport:
        transport_id = _client_id(fields, key)
        transport = self.transports.get(transport_id)
        if transport is None:
            raise errors.UnknownIdError(f"{key}: no transport {transport_id}", key)
        return transport

    def _producer(self, fields: dict[str, Any]) -> Producer:
        producer_id = _client_id(fields)
        producer = self.producers.get(producer_id)
        if producer is None:
            raise errors.UnknownIdError(f"id: no producer {producer_id}", "id")
        return producer

    def _consumer(self, fields: dict[str, Any]) -> V2Consumer:
        consumer_id = _client_id(fields)
        consumer = self.consumers.get(consumer_id)
        if consumer is None:
            raise errors.UnknownIdError(f"id: no consumer {consumer_id}", "id")
        return consumer

    def _on_transport_closed(self, transport_id: int, transport: Transport) -> None:
        self.transports.pop(transport_id, None)
        self._stop_stats("transport", transport_id)
        told = ("transport", transport.id) in self._client_actions
        self._client_actions.discard(("transport", transport.id))
        if not told and not self._closed:
            self._notify("transportClosed", {"id": transport_id, "appData": transport.app_data})

    def _on_producer_closed(
        self, producer_id: int, producer: Producer, transport: Transport
    ) -> None:
        self.producers.pop(producer_id, None)
        self._encoding_profiles.pop(producer.id, None)
        self._stop_stats("producer", producer_id)
        told = ("close", producer.id) in self._client_actions
        self._client_actions.discard(("close", producer.id))
        # Not said when its transport went (the client closes producers with it).
        if not told and not self._closed and not transport.closed:
            self._notify(
                "producerClosed",
                {"id": producer_id, "peerName": self._id, "appData": producer.app_data},
            )

    def _on_producer_paused(self, producer_id: int, producer: Producer, paused: bool) -> None:
        action = ("pause" if paused else "resume", producer.id)
        if action in self._client_actions:
            self._client_actions.discard(action)
            return
        self._notify(
            "producerPaused" if paused else "producerResumed",
            {"id": producer_id, "peerName": self._id, "appData": producer.app_data},
        )

    def _start_stats(
        self,
        kind: str,
        entity_id: int,
        fields: dict[str, Any],
        read: Callable[[], Awaitable[list[dict[str, Any]]]],
        extra: dict[str, Any] | None = None,
    ) -> None:
        interval = fields.get("interval", _MIN_STATS_INTERVAL_MS)
        if isinstance(interval, bool) or not isinstance(interval, int | float):
            raise errors.MediasoupTypeError("interval: must be a number", "interval")
        seconds = max(float(interval), _MIN_STATS_INTERVAL_MS) / 1000
        self._stop_stats(kind, entity_id)
        method = f"{kind}Stats"

        async def report() -> None:
            while True:
                await asyncio.sleep(seconds)
                try:
                    stats = await read()
                except errors.InvalidStateError:
                    return
                self._notify(method, {"id": entity_id, **(extra or {}), "stats": stats})

        self._stats_tasks[(kind, entity_id)] = asyncio.ensure_future(report())

    def _stop_stats(self, kind: str, entity_id: int) -> None:
        task = self._stats_tasks.pop((kind, entity_id), None)
        if task is not None:
            task.cancel()


def _profiles_by_position(producer: Producer) -> list[protocol_v2.Profile]:
    """Profiles of a producer whose client did not label its encodings (a v3 client):
    low, medium, high from its lowest encoding up."""
    count = len(producer.rtp_parameters["encodings"]) if producer.type == "simulcast" else 1
    return list(protocol_v2.PROFILES[:count]) if count > 1 else ["default"]


def _peer_app_data(peer: RoomPeer) -> dict[str, Any]:
    if isinstance(peer, V2Peer):
        return peer.app_data
    return {"displayName": peer.display_name, "device": peer.device}


def _plain_rtp_parameters(value: object) -> tuple[str, int]:
    if not isinstance(value, dict):
        raise errors.MediasoupTypeError(
            "plainRtpParameters: must be an object", "plainRtpParameters"
        )
    ip, port = value.get("ip"), value.get("port")
    if not isinstance(ip, str):
        raise errors.MediasoupTypeError(
            "plainRtpParameters.ip: must be a string", "plainRtpParameters.ip"
        )
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise errors.MediasoupTypeError(
            "plainRtpParameters.port: must be a port number", "plainRtpParameters.port"
        )
    return ip, port


def _listen_infos(listen_infos: list[ListenInfo], options: object) -> list[ListenInfo]:
    """The room's addresses a v2 ``createTransport`` asks for (``options``: ``udp``,
    ``tcp``, ``preferUdp``, ``preferTcp``)."""
    if options is None:
        options = {}
    if not isinstance(options, dict):
        raise errors.MediasoupTypeError("options: must be an object", "options")
    wanted = [info for info in listen_infos if options.get(info["protocol"], True) is not False]
    if not wanted:
        raise errors.MediasoupTypeError("options: no UDP or TCP address left", "options")
    if options.get("preferTcp"):
        wanted.sort(key=lambda info: info["protocol"] != "tcp")
    return wanted


def _handler_name(method: str) -> str:
    """The peer's handler of a v2 method: ``setConsumerPreferredProfile`` ->
    ``_set_consumer_preferred_profile``."""
    return "_" + re.sub(r"[A-Z]", lambda capital: "_" + capital.group().lower(), method)
