"""The mediasoup v2 protocol on a Room: the messages mediasoup-client 2.x sends and expects
(field for field), spy peers, pause/close notifications in both directions, v2 and v3 peers in
one room, and typed errors naming the field for bad input. Media flows in the Chromium test
(tests/interop/test_mediasoup_client_v2_chromium.py); here the worker is real but silent."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import mediasoup_py
from mediasoup_py import errors, protocol, protocol_v2

FINGERPRINT = ":".join(["AB"] * 32)
CLIENT_DTLS = {"role": "server", "fingerprints": [{"algorithm": "sha-256", "value": FINGERPRINT}]}
MEDIA_CODECS: list[Any] = [
    {"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2},
    {"kind": "video", "mimeType": "video/VP8", "clockRate": 90000},
]


def client_capabilities(room_capabilities: dict[str, Any]) -> dict[str, Any]:
    """What mediasoup-client 2.x joins with: the room's codecs and extensions it supports."""
    return {
        "codecs": [
            {key: codec[key] for key in codec if key != "preferredPayloadType"}
            | {"preferredPayloadType": codec["preferredPayloadType"]}
            for codec in room_capabilities["codecs"]
        ],
        "headerExtensions": [
            {"kind": ext["kind"], "uri": ext["uri"], "preferredId": ext["preferredId"]}
            for ext in room_capabilities["headerExtensions"]
        ],
        "fecMechanisms": [],
    }


def video_parameters(ssrc: int, simulcast: bool) -> dict[str, Any]:
    """A v2 client's sending parameters for a camera (SSRC simulcast labelled by profile,
    as mediasoup-client 2.x's Chrome handler makes them)."""
    count = 3 if simulcast else 1
    encodings: list[dict[str, Any]] = [
        {"ssrc": ssrc + 2 * index, "rtx": {"ssrc": ssrc + 2 * index + 1}} for index in range(count)
    ]
    if simulcast:
        for encoding, profile in zip(encodings, protocol_v2.PROFILES, strict=True):
            encoding["profile"] = profile
    return {
        "muxId": "1",
        "codecs": [
            {
                "name": "VP8",
                "mimeType": "video/VP8",
                "clockRate": 90000,
                "payloadType": 96,
                "rtcpFeedback": [{"type": "nack"}, {"type": "nack", "parameter": "pli"}],
            },
            {
                "name": "rtx",
                "mimeType": "video/rtx",
                "clockRate": 90000,
                "payloadType": 97,
                "parameters": {"apt": 96},
            },
        ],
        "headerExtensions": [{"uri": "urn:ietf:params:rtp-hdrext:sdes:mid", "id": 4}],
        "encodings": encodings,
        "rtcp": {"cname": "camera", "reducedSize": True, "mux": True},
    }


def audio_parameters(ssrc: int) -> dict[str, Any]:
    return {
        "muxId": "0",
        "codecs": [
            {
                "name": "opus",
                "mimeType": "audio/opus",
                "clockRate": 48000,
                "channels": 2,
                "payloadType": 111,
            }
        ],
        "headerExtensions": [],
        "encodings": [{"ssrc": ssrc}],
        "rtcp": {"cname": "camera", "reducedSize": True, "mux": True},
    }


class V2Client:
    """The application's side of one v2 peer: what it sends, and what it was told."""

    def __init__(self, room: mediasoup_py.Room, name: str) -> None:
        self.room = room
        self.name = name
        self.peer: mediasoup_py.V2Peer | None = None
        self.notifications: list[dict[str, Any]] = []

    async def join(self, spy: bool = False) -> dict[str, Any]:
        query = await self.room.receive_request({"method": "queryRoom", "target": "room"})
        response = await self.room.receive_request(
            {
                "method": "join",
                "target": "room",
                "peerName": self.name,
                "rtpCapabilities": client_capabilities(query["rtpCapabilities"]),
                "spy": spy,
                "appData": {"displayName": self.name.title()},
            }
        )
        peer = self.room.get_peer(self.name)
        assert isinstance(peer, mediasoup_py.V2Peer)
        self.peer = peer
        peer.on("notify", self.notifications.append)
        return response

    async def request(self, method: str, **fields: Any) -> dict[str, Any]:
        assert self.peer is not None
        return await self.peer.receive_request({"method": method, "target": "peer", **fields})

    async def notify(self, method: str, **fields: Any) -> None:
        assert self.peer is not None
        self.peer.receive_notification(
            {"method": method, "target": "peer", "notification": True, **fields}
        )
        await asyncio.sleep(0.05)

    def told(self, method: str) -> list[dict[str, Any]]:
        return [n for n in self.notifications if n["method"] == method]


async def in_room(body: Any) -> Any:
    server = await mediasoup_py.Server.create(num_workers=1, rtc_min_port=48700, rtc_max_port=48799)
    try:
        room = await server.create_room(MEDIA_CODECS)
        return await body(room)
    finally:
        server.close()


def test_query_room_gives_the_capabilities_as_v2_writes_them() -> None:
    async def body(room: mediasoup_py.Room) -> None:
        response = await room.receive_request({"method": "queryRoom", "target": "room"})
        assert response["mandatoryCodecPayloadTypes"] == []
        codecs = response["rtpCapabilities"]["codecs"]
        assert [codec["name"] for codec in codecs] == ["opus", "VP8", "rtx"]
        assert all(codec["mimeType"].endswith(codec["name"]) for codec in codecs)
        assert response["rtpCapabilities"]["fecMechanisms"] == []

    asyncio.run(in_room(body))


def test_a_v2_call_announces_consumers_pauses_and_leaves_as_v2_does() -> None:
    async def body(room: mediasoup_py.Room) -> None:
        alice, bob, carol = V2Client(room, "alice"), V2Client(room, "bob"), V2Client(room, "carol")
        assert await alice.join() == {"peers": []}
        send = await alice.request(
            "createTransport",
            id=11,
            direction="send",
            options={"udp": True, "tcp": False},
            dtlsParameters=CLIENT_DTLS,
            appData={},
        )
        # The client is the DTLS server, so the server says it is the client.
        assert send["dtlsParameters"]["role"] == "client"
        assert send["iceParameters"]["iceLite"] is True
        assert all(c["protocol"] == "udp" and c["ip"] for c in send["iceCandidates"])
        assert (
            await alice.request(
                "createProducer",
                id=21,
                kind="video",
                transportId=11,
                rtpParameters=video_parameters(1000, simulcast=True),
                paused=False,
                appData={"source": "camera"},
            )
            == {}
        )
        await alice.request(
            "createProducer",
            id=22,
            kind="audio",
            transportId=11,
            rtpParameters=audio_parameters(2000),
            paused=False,
            appData={},
        )
        assert alice.peer is not None
        video = alice.peer.producers[21]
        assert video.type == "simulcast"
        assert [e["ssrc"] for e in video.rtp_parameters["encodings"]] == [1000, 1002, 1004]

        joined = await bob.join()
        (listed,) = joined["peers"]
        assert listed["name"] == "alice"
        assert listed["appData"] == {"displayName": "Alice"}
        consumers = {c["kind"]: c for c in listed["consumers"]}
        assert set(consumers) == {"audio", "video"}
        camera = consumers["video"]
        assert set(camera) == {
            "id",
            "kind",
            "rtpParameters",
            "paused",
            "preferredProfile",
            "effectiveProfile",
            "appData",
            "peerName",
        }
        assert isinstance(camera["id"], int)
        assert camera["peerName"] == "alice"
        assert camera["appData"] == {"source": "camera"}
        assert (camera["paused"], camera["preferredProfile"], camera["effectiveProfile"]) == (
            False,
            "default",
            None,
        )
        parameters = camera["rtpParameters"]
        assert "mid" not in parameters
        assert all(
            ext["uri"] != "urn:ietf:params:rtp-hdrext:sdes:mid"
            for ext in parameters["headerExtensions"]
        )
        assert parameters["codecs"][0]["name"] == "VP8"
        assert "ssrc" in parameters["encodings"][0]
        assert "rtx" in parameters["encodings"][0]
        (new_peer,) = alice.told("newPeer")
        assert new_peer == protocol_v2.notification(
            "newPeer", {"name": "bob", "appData": {"displayName": "Bob"}, "consumers": []}
        )

        await bob.request("createTransport", id=31, direction="recv", options={}, appData={})
        enabled = await bob.request(
            "enableConsumer",
            id=camera["id"],
            transportId=31,
            paused=False,
            preferredProfile="low",
        )
        # Nothing flows yet: no stream to send.
        assert enabled == {"paused": False, "preferredProfile": "low", "effectiveProfile": "none"}
        assert bob.peer is not None
        consumer = bob.peer.consumers[camera["id"]].consumer
        assert consumer is not None
        assert consumer.preferred_layers == {"spatialLayer": 0, "temporalLayer": 0}
        await bob.notify("setConsumerPreferredProfile", id=camera["id"], profile="high")
        assert consumer.preferred_layers == {"spatialLayer": 2, "temporalLayer": 0}

        # A spy sees everyone and is seen by no one; it cannot produce.
        spied = await carol.join(spy=True)
        assert sorted(peer["name"] for peer in spied["peers"]) == ["alice", "bob"]
        assert len(alice.told("newPeer")) == 1
        assert not bob.told("newPeer")
        await carol.request("createTransport", id=41, direction="send", appData={})
        with pytest.raises(errors.InvalidStateError):
            await carol.request(
                "createProducer",
                id=42,
                kind="audio",
                transportId=41,
                rtpParameters=audio_parameters(3000),
                paused=False,
                appData={},
            )

        # The client pauses its producer: the others hear it, the client is not told back.
        await alice.notify("pauseProducer", id=21, appData={})
        (paused,) = bob.told("consumerPaused")
        assert (paused["id"], paused["peerName"]) == (camera["id"], "alice")
        assert not alice.told("producerPaused")
        # The server resumes it: now the client hears of it.
        await video.resume()
        (resumed,) = alice.told("producerResumed")
        assert (resumed["id"], resumed["peerName"]) == (21, "alice")
        assert len(bob.told("consumerResumed")) == 1

        # Alice leaves: the others hear their consumers close, then that she left.
        await alice.notify("leave", appData={})
        for client in (bob, carol):
            methods = [n["method"] for n in client.notifications]
            assert methods.count("consumerClosed") == 2, methods
            assert methods.index("peerClosed") > max(
                i for i, m in enumerate(methods) if m == "consumerClosed"
            )
        assert not bob.peer.consumers
        assert [peer.id for peer in room.peers] == ["bob", "carol"]

        # Closing the room closes every peer and tells each client.
        room.close()
        assert bob.told("closed") == [protocol_v2.notification("closed", {"appData": {}})]

    asyncio.run(in_room(body))


def test_v2_and_v3_peers_consume_each_other_in_one_room() -> None:
    class V3Channel:
        def __init__(self) -> None:
            self.requests: list[protocol.Request] = []
            self.notifications: list[protocol.Notification] = []

        async def request(self, message: protocol.Request) -> protocol.Response:
            self.requests.append(message)
            return protocol.ok_response(message["id"], {})

        def notify(self, message: protocol.Notification) -> None:
            self.notifications.append(message)

    async def body(room: mediasoup_py.Room) -> None:
        channel = V3Channel()
        v3 = room.create_peer("dave", channel)
        caps = dict(room.rtp_capabilities)
        await v3.receive_request(
            protocol.request("join", {"displayName": "Dave", "rtpCapabilities": caps})
        )
        transports = {}
        for direction in ("producing", "consuming"):
            created = await v3.receive_request(
                protocol.request("createWebRtcTransport", {direction: True})
            )
            transports[direction] = created["data"]["id"]

        alice = V2Client(room, "alice")
        await alice.join()
        assert alice.told("newPeer") == []
        # The v3 peer is listed to the v2 client, and hears of it.
        assert [n["data"]["id"] for n in channel.notifications if n["method"] == "newPeer"] == [
            "alice"
        ]
        await alice.request("createTransport", id=1, direction="send", dtlsParameters=CLIENT_DTLS)
        await alice.request("createTransport", id=2, direction="recv")
        await alice.request(
            "createProducer",
            id=3,
            kind="audio",
            transportId=1,
            rtpParameters=audio_parameters(5000),
            paused=False,
            appData={},
        )
        await asyncio.sleep(0.1)
        (announced,) = [r for r in channel.requests if r["method"] == "newConsumer"]
        assert announced["data"]["peerId"] == "alice"

        produced = await v3.receive_request(
            protocol.request(
                "produce",
                {
                    "transportId": transports["producing"],
                    "kind": "audio",
                    "rtpParameters": {
                        "codecs": [
                            {
                                "mimeType": "audio/opus",
                                "payloadType": 100,
                                "clockRate": 48000,
                                "channels": 2,
                            }
                        ],
                        "encodings": [{"ssrc": 6000}],
                        "rtcp": {"cname": "dave"},
                    },
                },
            )
        )
        assert produced["ok"], produced
        await asyncio.sleep(0.1)
        (new_consumer,) = alice.told("newConsumer")
        assert new_consumer["peerName"] == "dave"
        enabled = await alice.request(
            "enableConsumer", id=new_consumer["id"], transportId=2, paused=False
        )
        assert enabled["effectiveProfile"] == "default"

        v3.close()
        assert [n["name"] for n in alice.told("peerClosed")] == ["dave"]
        assert len(alice.told("consumerClosed")) == 1

    asyncio.run(in_room(body))


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ("not an object", "message"),
        ({"method": "join", "target": "room"}, "peerName"),
        ({"method": "join", "target": "room", "peerName": "x", "rtpCapabilities": 3}, None),
        (
            {
                "method": "join",
                "target": "room",
                "peerName": "x",
                "rtpCapabilities": {"codecs": []},
                "spy": "yes",
            },
            "spy",
        ),
        ({"method": "createTransport", "target": "room"}, "method"),
        ({"method": "queryRoom", "target": "peer"}, "target"),
        ({"method": "queryRoom", "target": "room", "notification": True}, "notification"),
    ],
)
def test_bad_room_requests_get_typed_errors_naming_the_field(
    message: Any, field: str | None
) -> None:
    async def body(room: mediasoup_py.Room) -> None:
        with pytest.raises(errors.MediasoupTypeError) as raised:
            await room.receive_request(message)
        if field is not None:
            assert raised.value.args[-1] == field or field in str(raised.value)
        # The room still works.
        assert "rtpCapabilities" in await room.receive_request(
            {"method": "queryRoom", "target": "room"}
        )

    asyncio.run(in_room(body))


def test_bad_peer_messages_get_typed_errors_naming_the_field() -> None:
    async def body(room: mediasoup_py.Room) -> None:
        alice = V2Client(room, "alice")
        await alice.join()
        with pytest.raises(errors.MediasoupTypeError, match="peerName"):
            await V2Client(room, "alice").join()
        cases: list[tuple[dict[str, Any], str]] = [
            ({"method": "createTransport", "id": "7", "direction": "send"}, "id"),
            ({"method": "createTransport", "id": 7, "direction": "sideways"}, "direction"),
            (
                {
                    "method": "createTransport",
                    "id": 7,
                    "direction": "send",
                    "options": {"udp": False},
                },
                "options",
            ),
            (
                {"method": "createProducer", "id": 8, "kind": "audio", "transportId": 99},
                "transportId",
            ),
            ({"method": "enableConsumer", "id": 123, "transportId": 1}, "id"),
            ({"method": "restartTransport", "id": 5}, "id"),
            ({"method": "closeProducer", "id": 5}, "method"),
        ]
        for fields, field in cases:
            with pytest.raises(errors.MediasoupTypeError, match=field):
                await alice.request(**fields)
        await alice.request("createTransport", id=7, direction="send", dtlsParameters=CLIENT_DTLS)
        parameters = video_parameters(1, simulcast=False)
        parameters["encodings"][0]["profile"] = "ultra"
        with pytest.raises(
            errors.MediasoupTypeError, match=r"rtpParameters\.encodings\[0\]\.profile"
        ):
            await alice.request(
                "createProducer", id=8, kind="video", transportId=7, rtpParameters=parameters
            )
        assert alice.peer is not None
        for notification, field in [
            ({"method": "pauseProducer", "target": "peer"}, "notification"),
            ({"method": "fly", "target": "peer", "notification": True}, "method"),
        ]:
            with pytest.raises(errors.MediasoupTypeError, match=field):
                alice.peer.receive_notification(notification)
        # Unknown ids in notifications are dropped (logged), as v2 does.
        await alice.notify("closeProducer", id=404)
        assert not alice.peer.closed
        assert room.dump()["peers"][0]["transportIds"] == [7]

    asyncio.run(in_room(body))


def test_v2_peers_are_bound_by_the_rooms_limits() -> None:
    """A v2 client gets the same per-peer limits as a v3 one: a refusal naming the limit for
    one transport or producer too many, and no consumer past its consumers_per_peer."""

    async def body() -> None:
        limits = mediasoup_py.Limits(
            transports_per_peer=2, producers_per_peer=1, consumers_per_peer=1
        )
        server = await mediasoup_py.Server.create(
            num_workers=1, rtc_min_port=48700, rtc_max_port=48799, limits=limits
        )
        try:
            room = await server.create_room(MEDIA_CODECS)
            alice, bob = V2Client(room, "alice"), V2Client(room, "bob")
            await alice.join()
            for transport_id, direction in [(1, "send"), (2, "recv")]:
                await alice.request(
                    "createTransport",
                    id=transport_id,
                    direction=direction,
                    dtlsParameters=CLIENT_DTLS,
                )
            with pytest.raises(errors.LimitExceededError, match="transports_per_peer"):
                await alice.request(
                    "createTransport", id=3, direction="send", dtlsParameters=CLIENT_DTLS
                )
            await alice.request(
                "createProducer",
                id=10,
                kind="audio",
                transportId=1,
                rtpParameters=audio_parameters(2000),
            )
            with pytest.raises(errors.LimitExceededError, match="producers_per_peer"):
                await alice.request(
                    "createProducer",
                    id=11,
                    kind="video",
                    transportId=1,
                    rtpParameters=video_parameters(1000, simulcast=False),
                )
            joined = await bob.join()
            assert [len(peer["consumers"]) for peer in joined["peers"]] == [1]
            # A second producer in the room (carol's) is not consumed by bob past his limit.
            carol = V2Client(room, "carol")
            await carol.join()
            await carol.request(
                "createTransport", id=1, direction="send", dtlsParameters=CLIENT_DTLS
            )
            await carol.request(
                "createProducer",
                id=20,
                kind="audio",
                transportId=1,
                rtpParameters=audio_parameters(3000),
            )
            await asyncio.sleep(0.05)
            assert bob.peer is not None
            assert len(bob.peer.consumers) == 1
            assert not bob.told("newConsumer")
            assert alice.peer is not None
            assert len(alice.peer.consumers) == 1
        finally:
            server.close()

    asyncio.run(body())


def test_the_active_speaker_detector_follows_the_rooms_audio_levels() -> None:
    async def body(room: mediasoup_py.Room) -> list[tuple[str | None, bool]]:
        producers = {}
        for name, ssrc in (("ann", 7000), ("ben", 7100)):
            client = V2Client(room, name)
            await client.join()
            await client.request(
                "createTransport", id=1, direction="send", dtlsParameters=CLIENT_DTLS
            )
            await client.request(
                "createProducer", id=2, kind="audio", transportId=1,
                rtpParameters=audio_parameters(ssrc), paused=False,
            )  # fmt: skip
            assert client.peer is not None
            producers[name] = client.peer.producers[2]
        detector = room.create_active_speaker_detector()
        changes: list[tuple[str | None, bool]] = []

        def changed(peer: mediasoup_py.RoomPeer | None, producer: object) -> None:
            if peer is None:
                changes.append((None, producer is None))
            else:
                changes.append((peer.id, producer is producers[peer.id]))

        detector.on("activespeakerchange", changed)

        def report(*levels: tuple[str, int]) -> None:
            # What the room's audio level observer reports every 500 ms, loudest first.
            room.emit(
                "audiolevels",
                [{"producer": producers[name], "audioLevel": level} for name, level in levels],
            )

        report(("ann", -30), ("ben", -50))  # nobody was speaking: ann at once
        report(("ben", -20), ("ann", -40))  # ben must be loudest four times in a row
        report(("ben", -20))
        report(("ann", -20))
        report(("ben", -20))
        report(("ben", -20))
        report(("ben", -20))
        report(("ben", -20))  # the fourth in a row: ben
        report(("ann", -90))  # too quiet to count: nobody
        report()
        await producers["ann"].pause()
        report(("ann", -10), ("ben", -30))  # paused producers do not speak
        detector.close()
        report(("ann", -10))
        return changes

    assert asyncio.run(in_room(body)) == [("ann", True), ("ben", True), (None, True), ("ben", True)]


def test_v2_transport_producer_and_consumer_notifications_both_ways() -> None:
    """What the earlier tests leave out: the client's ``updateTransport``, ``closeTransport``,
    ``resumeProducer``, ``pauseConsumer``, ``resumeConsumer`` and ``enable*Stats`` /
    ``disable*Stats``, and the server's ``transportClosed``, ``transportStats``,
    ``producerClosed``, ``producerStats``, ``consumerStats`` and
    ``consumerPreferredProfileSet``, each with v2's fields."""

    async def body(room: mediasoup_py.Room) -> None:
        alice, bob = V2Client(room, "alice"), V2Client(room, "bob")
        await alice.join()
        await alice.request(
            "createTransport", id=11, direction="send", dtlsParameters=CLIENT_DTLS, appData={}
        )
        await alice.request("createTransport", id=12, direction="send", appData={"n": 12})
        await alice.request(
            "createProducer",
            id=21,
            kind="video",
            transportId=11,
            rtpParameters=video_parameters(1000, simulcast=True),
            paused=False,
            appData={"source": "camera"},
        )
        await alice.request(
            "createProducer",
            id=22,
            kind="audio",
            transportId=11,
            rtpParameters=audio_parameters(2000),
            paused=False,
            appData={"source": "mic"},
        )
        assert alice.peer is not None
        video = alice.peer.producers[21]
        joined = await bob.join()
        consumers = {c["kind"]: c for c in joined["peers"][0]["consumers"]}
        camera_id = consumers["video"]["id"]
        await bob.request("createTransport", id=31, direction="recv", appData={})
        await bob.request("enableConsumer", id=camera_id, transportId=31, paused=False)
        assert bob.peer is not None
        camera = bob.peer.consumers[camera_id]
        assert camera.consumer is not None

        # updateTransport gives the recv transport the client's DTLS parameters...
        recv = bob.peer.transports[31]
        await bob.notify("updateTransport", id=31, dtlsParameters=CLIENT_DTLS)
        with pytest.raises(errors.InvalidStateError):
            await recv.connect(dtls_parameters=CLIENT_DTLS)  # type: ignore[arg-type]
        assert not bob.told("transportClosed")

        # ...the stats the client asks for come every interval (at least 1 s), and stop.
        await alice.notify("enableTransportStats", id=11, interval=1000)
        await alice.notify("enableProducerStats", id=21, interval=1000)
        await bob.notify("enableConsumerStats", id=camera_id, interval=1000)
        await asyncio.sleep(1.3)
        (transport_stats,) = alice.told("transportStats")
        assert transport_stats["id"] == 11
        assert transport_stats["stats"][0]["type"] == "webrtc-transport"
        (producer_stats,) = alice.told("producerStats")
        assert producer_stats["id"] == 21
        assert isinstance(producer_stats["stats"], list)
        (consumer_stats,) = bob.told("consumerStats")
        assert (consumer_stats["id"], consumer_stats["peerName"]) == (camera_id, "alice")
        assert consumer_stats["stats"][0]["type"] == "outbound-rtp"
        await alice.notify("disableTransportStats", id=11)
        await alice.notify("disableProducerStats", id=21)
        await bob.notify("disableConsumerStats", id=camera_id)
        await asyncio.sleep(1.2)
        assert len(alice.told("transportStats")) == 1
        assert len(alice.told("producerStats")) == 1
        assert len(bob.told("consumerStats")) == 1

        # The client pauses and resumes its consumer: the worker's consumer follows.
        await bob.notify("pauseConsumer", id=camera_id)
        assert camera.consumer.paused
        await bob.notify("resumeConsumer", id=camera_id)
        assert not camera.consumer.paused
        # The client resumes a producer it paused: bob hears of both, alice of neither.
        await alice.notify("pauseProducer", id=21, appData={})
        await alice.notify("resumeProducer", id=21, appData={})
        assert not video.paused
        assert [n["method"] for n in bob.notifications if n["id"] == camera_id][-2:] == [
            "consumerPaused",
            "consumerResumed",
        ]
        assert not alice.told("producerPaused")
        assert not alice.told("producerResumed")

        # The server sets the consumer's profile: the client is told.
        await camera.set_preferred_profile("medium")
        assert bob.told("consumerPreferredProfileSet")[-1] == protocol_v2.notification(
            "consumerPreferredProfileSet",
            {"id": camera_id, "peerName": "alice", "profile": "medium"},
        )
        assert camera.consumer.preferred_layers == {"spatialLayer": 1, "temporalLayer": 0}

        # A second updateTransport cannot be applied: v2 closes the transport and says so.
        await bob.notify("updateTransport", id=31, dtlsParameters=CLIENT_DTLS)
        assert bob.told("transportClosed") == [
            protocol_v2.notification("transportClosed", {"id": 31, "appData": {}})
        ]
        assert recv.closed

        # The server closes a producer: its client hears producerClosed, bob consumerClosed.
        alice.peer.producers[22].close()
        assert alice.told("producerClosed") == [
            protocol_v2.notification(
                "producerClosed", {"id": 22, "peerName": "alice", "appData": {"source": "mic"}}
            )
        ]
        # The client closes a transport: not told back. The server closes one: told.
        sending = alice.peer.transports[11]
        await alice.notify("closeTransport", id=11, appData={})
        assert sending.closed
        assert video.closed
        assert not alice.told("transportClosed")
        alice.peer.transports[12].close()
        assert alice.told("transportClosed") == [
            protocol_v2.notification(
                "transportClosed", {"id": 12, "appData": {"n": 12, "direction": "send"}}
            )
        ]

    asyncio.run(in_room(body))
