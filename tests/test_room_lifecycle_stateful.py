"""A stateful hypothesis test of room lifecycles: v2 and v3 peers join, open transports,
produce, pause, enable consumers, close things and leave in random orders, mixed with random
malformed messages; after every step the room must be consistent (no orphan consumers, no
leftover transports or producers, every v2 peer has a consumer of every producer it can take,
clients told only about consumers they were announced)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import mediasoup_py
from mediasoup_py import errors, protocol, protocol_v2
from tests.test_room_protocol_v2 import (
    CLIENT_DTLS,
    MEDIA_CODECS,
    audio_parameters,
    client_capabilities,
    video_parameters,
)

NAMES = ["ann", "ben", "cat", "dan"]
FIELD_NAMES = [
    "method", "target", "id", "direction", "transportId", "kind", "rtpParameters", "paused",
    "notification", "peerName", "rtpCapabilities", "dtlsParameters", "profile", "appData",
]  # fmt: skip
METHODS = [
    *sorted(protocol_v2.ROOM_REQUESTS | protocol_v2.PEER_REQUESTS | protocol_v2.PEER_NOTIFICATIONS),
    *("produce", "join", "consume", "x"),
]
FIELD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.text(max_size=6),
    st.sampled_from([*METHODS, "room", "peer", "send", "recv", "audio", "video"]),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=3),
)
GARBAGE = st.dictionaries(st.sampled_from(FIELD_NAMES), FIELD_VALUES, max_size=6)


class RecordingChannel:
    """A v3 client's side: answers ``newConsumer`` and keeps every message."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    async def request(self, message: protocol.Request) -> protocol.Response:
        self.messages.append(dict(message))
        return protocol.ok_response(message["id"], {})

    def notify(self, message: protocol.Notification) -> None:
        self.messages.append(dict(message))


async def notify(peer: mediasoup_py.V2Peer, message: dict[str, Any]) -> None:
    """Hands a notification to the peer from inside the loop, as an application does."""
    peer.receive_notification(message)
    await asyncio.sleep(0)


class RoomLifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.server = self.run(
            mediasoup_py.Server.create(num_workers=1, rtc_min_port=48600, rtc_max_port=48699)
        )
        self.room: mediasoup_py.Room = self.run(self.server.create_room(MEDIA_CODECS))
        self.v2_told: dict[str, list[dict[str, Any]]] = {}
        self.v3_told: dict[str, RecordingChannel] = {}
        self.next_id = 1

    def run(self, coroutine: Any) -> Any:
        result = self.loop.run_until_complete(coroutine)
        # Let what the step set off (consumer announcements) happen.
        self.loop.run_until_complete(asyncio.sleep(0.01))
        return result

    def teardown(self) -> None:
        self.room.close()
        self.server.close()
        self.loop.run_until_complete(asyncio.sleep(0.01))
        self.loop.close()

    def fresh_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def open_peers(self) -> list[mediasoup_py.RoomPeer]:
        return [peer for peer in self.room.peers if not peer.closed]

    def v2_peers(self) -> list[mediasoup_py.V2Peer]:
        return [p for p in self.open_peers() if isinstance(p, mediasoup_py.V2Peer)]

    def v3_peers(self) -> list[mediasoup_py.Peer]:
        return [p for p in self.open_peers() if isinstance(p, mediasoup_py.Peer)]

    # Joining and leaving.

    @rule(name=st.sampled_from(NAMES), spy=st.booleans())
    def join_v2(self, name: str, spy: bool) -> None:
        capabilities = client_capabilities(dict(self.room.rtp_capabilities))
        request = {
            "method": "join", "target": "room", "peerName": name, "rtpCapabilities": capabilities,
            "spy": spy, "appData": {},
        }  # fmt: skip
        if self.room.get_peer(name) is not None:
            try:
                self.run(self.room.receive_request(request))
            except errors.MediasoupTypeError:
                return
            raise AssertionError("a second peer with the same name joined")
        self.run(self.room.receive_request(request))
        peer = self.room.get_peer(name)
        assert isinstance(peer, mediasoup_py.V2Peer)
        told: list[dict[str, Any]] = []
        self.v2_told[name] = told
        # The join response's consumers count as announced.
        for consumer in peer.consumers.values():
            told.append({"method": "newConsumer", **consumer.to_json()})
        peer.on("notify", told.append)

    @rule(name=st.sampled_from(NAMES))
    def join_v3(self, name: str) -> None:
        if self.room.get_peer(name) is not None:
            return
        channel = RecordingChannel()
        peer = self.room.create_peer(name, channel)
        self.v3_told[name] = channel
        response = self.run(
            peer.receive_request(
                protocol.request(
                    "join",
                    {"displayName": name, "rtpCapabilities": dict(self.room.rtp_capabilities)},
                )
            )
        )
        assert response["ok"], response
        for direction in ("producing", "consuming"):
            created = self.run(
                peer.receive_request(protocol.request("createWebRtcTransport", {direction: True}))
            )
            assert created["ok"], created

    @precondition(lambda self: self.open_peers())
    @rule(data=st.data(), remotely=st.booleans())
    def leave(self, data: st.DataObject, remotely: bool) -> None:
        peer = data.draw(st.sampled_from(self.open_peers()))
        if isinstance(peer, mediasoup_py.V2Peer) and remotely:
            self.run(notify(peer, {"method": "leave", "target": "peer", "notification": True}))
        else:
            peer.close()
        assert peer.closed

    # Transports, producers and consumers of v2 peers.

    @precondition(lambda self: self.v2_peers())
    @rule(data=st.data(), direction=st.sampled_from(["send", "recv"]))
    def create_transport(self, data: st.DataObject, direction: str) -> None:
        peer = data.draw(st.sampled_from(self.v2_peers()))
        fields: dict[str, Any] = {"method": "createTransport", "target": "peer"}
        fields |= {"id": self.fresh_id(), "direction": direction}
        if direction == "send":
            fields["dtlsParameters"] = CLIENT_DTLS
        if len(peer.transports) >= self.room.limits.transports_per_peer:
            # The room's per-peer limit holds for v2 peers too.
            with pytest.raises(errors.LimitExceededError, match=r"^transports_per_peer"):
                self.run(peer.receive_request(fields))
            return
        response = self.run(peer.receive_request(fields))
        assert set(response) == {"iceParameters", "iceCandidates", "dtlsParameters"}

    @precondition(lambda self: any(not p.spy and p.transports for p in self.v2_peers()))
    @rule(data=st.data(), kind=st.sampled_from(["audio", "video"]), simulcast=st.booleans())
    def produce_v2(self, data: st.DataObject, kind: str, simulcast: bool) -> None:
        peer = data.draw(
            st.sampled_from([p for p in self.v2_peers() if not p.spy and p.transports])
        )
        sending = [i for i, t in peer.transports.items() if t.app_data.get("direction") == "send"]
        if not sending:
            return
        ssrc = self.fresh_id() * 10
        parameters = (
            audio_parameters(ssrc) if kind == "audio" else video_parameters(ssrc, simulcast)
        )
        # Each producer of a transport has its own MID, as mediasoup-client 2.x gives them
        # (a MID another producer of the transport uses is refused).
        parameters["muxId"] = str(self.fresh_id())
        request = peer.receive_request(
            {"method": "createProducer", "target": "peer", "id": self.fresh_id(), "kind": kind,
             "transportId": sending[0], "rtpParameters": parameters, "paused": False}
        )  # fmt: skip
        if len(peer.producers) < self.room.limits.producers_per_peer:
            self.run(request)
            return
        with pytest.raises(errors.LimitExceededError, match=r"^producers_per_peer"):
            self.run(request)

    @precondition(lambda self: self.v3_peers())
    @rule(data=st.data())
    def produce_v3(self, data: st.DataObject) -> None:
        peer = data.draw(st.sampled_from(self.v3_peers()))
        producing = next((t for t in peer.transports.values() if t.app_data.get("producing")), None)
        if producing is None:
            return
        parameters = audio_parameters(self.fresh_id() * 10)
        parameters.pop("muxId")
        for codec in parameters["codecs"]:
            codec.pop("name")
        response = self.run(
            peer.receive_request(
                protocol.request(
                    "produce",
                    {"transportId": producing.id, "kind": "audio", "rtpParameters": parameters},
                )
            )
        )
        assert response["ok"], response

    @precondition(lambda self: any(p.producers for p in self.open_peers()))
    @rule(data=st.data(), action=st.sampled_from(["pause", "resume", "close"]))
    def act_on_a_producer(self, data: st.DataObject, action: str) -> None:
        peer = data.draw(st.sampled_from([p for p in self.open_peers() if p.producers]))
        producer = list(peer.producers.values())[data.draw(st.integers(0, len(peer.producers) - 1))]
        if action == "close":
            producer.close()
        else:
            self.run(producer.pause() if action == "pause" else producer.resume())

    @precondition(lambda self: any(p.consumers for p in self.v2_peers()))
    @rule(data=st.data(), profile=st.sampled_from(["default", "low", "high"]))
    def enable_consumer(self, data: st.DataObject, profile: str) -> None:
        peer = data.draw(st.sampled_from([p for p in self.v2_peers() if p.consumers]))
        consumer = list(peer.consumers.values())[data.draw(st.integers(0, len(peer.consumers) - 1))]
        receiving = [i for i, t in peer.transports.items() if t.app_data.get("direction") == "recv"]
        request = {"method": "enableConsumer", "target": "peer", "id": consumer.id}
        if not receiving or consumer.enabled:
            try:
                self.run(peer.receive_request({**request, "transportId": -1}))
            except errors.MediasoupError:
                return
            raise AssertionError("a consumer was enabled without a receiving transport")
        response = self.run(
            peer.receive_request(
                {**request, "transportId": receiving[0], "preferredProfile": profile}
            )
        )
        assert response["preferredProfile"] == profile

    @precondition(lambda self: any(p.transports for p in self.open_peers()))
    @rule(data=st.data())
    def server_closes_a_transport(self, data: st.DataObject) -> None:
        peer = data.draw(st.sampled_from([p for p in self.open_peers() if p.transports]))
        transport = list(peer.transports.values())[
            data.draw(st.integers(0, len(peer.transports) - 1))
        ]
        transport.close()

    # Garbage.

    @precondition(lambda self: self.open_peers())
    @rule(data=st.data(), message=GARBAGE, as_notification=st.booleans())
    def garbage(self, data: st.DataObject, message: dict[str, Any], as_notification: bool) -> None:
        peer = data.draw(st.sampled_from(self.open_peers()))
        if isinstance(peer, mediasoup_py.V2Peer):
            try:
                if as_notification:
                    self.run(notify(peer, message))
                else:
                    self.run(peer.receive_request(message))
            except errors.MediasoupError:
                pass
        else:
            response = self.run(peer.receive_request({"request": True, "id": 1, **message}))
            assert "ok" in response

    @rule(message=GARBAGE)
    def garbage_to_the_room(self, message: dict[str, Any]) -> None:
        with contextlib.suppress(errors.MediasoupError):
            self.run(self.room.receive_request(message))

    # What must always hold.

    @invariant()
    def no_orphans_or_leftovers(self) -> None:
        """What the peers hold is what the worker has: its dump of the router (transports,
        producers, and each consumer with its producer), not Python's tables."""
        dump = self.run(self.room.router.dump())
        peers = self.open_peers()
        assert {p.id for p in peers} == {p.id for p in self.room.peers}
        transports = [t for p in peers for t in p.transports.values()]
        assert all(not t.closed for t in transports)
        assert {t.id for t in transports} == set(dump["transportIds"])
        producers = [pr for p in peers for pr in p.producers.values()]
        assert all(not pr.closed for pr in producers)
        assert {pr.id for pr in producers} == {e["key"] for e in dump["mapProducerIdConsumerIds"]}
        expected_consumers: dict[str, str] = {}
        for peer in self.v2_peers():
            for consumer in peer.consumers.values():
                assert not consumer.closed
                assert not consumer.source.closed
                if consumer.consumer is not None:
                    assert not consumer.consumer.closed
                    expected_consumers[consumer.consumer.id] = consumer.source.id
        for v3_peer in self.v3_peers():
            for v3_consumer in v3_peer.consumers.values():
                assert not v3_consumer.closed
                expected_consumers[v3_consumer.id] = v3_consumer.producer_id
        worker_consumers = {e["key"]: e["value"] for e in dump["mapConsumerIdProducerId"]}
        assert worker_consumers == expected_consumers

    @invariant()
    def v2_peers_consume_every_producer_of_the_others(self) -> None:
        for peer in self.v2_peers():
            sources = {c.source.id for c in peer.consumers.values()}
            others = {
                producer.id
                for other in self.open_peers()
                if other is not peer and other.joined
                for producer in other.producers.values()
            }
            assert sources == others

    @invariant()
    def v2_clients_hear_only_of_consumers_they_were_announced(self) -> None:
        for name, told in self.v2_told.items():
            announced: set[int] = set()
            for message in told:
                if message["method"] == "newConsumer":
                    announced.add(message["id"])
                elif message["method"].startswith("consumer"):
                    assert message["id"] in announced, (name, message)
            closed = [i for i, m in enumerate(told) if m["method"] == "closed"]
            assert not closed or closed[0] == len(told) - 1, (name, told[-3:])


RoomLifecycle.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestRoomLifecycle = RoomLifecycle.TestCase
