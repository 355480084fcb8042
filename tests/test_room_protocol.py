"""The Room's handling of bad protocol input: every malformed or out-of-order request gets an
error response naming the problem, and the room stays usable."""

from __future__ import annotations

import asyncio
from typing import Any

import mediasoup_py
from mediasoup_py import protocol


class RecordingChannel:
    """The application side of a peer's signaling, keeping what the room sends."""

    def __init__(self) -> None:
        self.notifications: list[protocol.Notification] = []

    async def request(self, message: protocol.Request) -> protocol.Response:
        return protocol.ok_response(message["id"], {})

    def notify(self, message: protocol.Notification) -> None:
        self.notifications.append(message)


async def answers(messages: list[Any]) -> tuple[list[protocol.Response], dict[str, Any]]:
    worker = await mediasoup_py.create_worker(rtc_min_port=47700, rtc_max_port=47749)
    try:
        router = await worker.create_router(
            media_codecs=[
                {"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2}
            ]
        )
        room = await mediasoup_py.Room.create(
            router,
            listen_infos=[{"protocol": "udp", "ip": "127.0.0.1"}],  # type: ignore[list-item]
        )
        peer = room.create_peer("p1", RecordingChannel())
        responses = [await peer.receive_request(message) for message in messages]
        return responses, room.dump()
    finally:
        worker.close()


def test_bad_requests_get_error_responses_naming_the_problem() -> None:
    responses, dump = asyncio.run(
        answers(
            [
                "not an object",
                {"request": True, "id": "7", "method": "join"},
                {"request": True, "id": 1, "method": "fly"},
                {"request": True, "id": 2, "method": "produce", "data": {"transportId": "x"}},
                {"request": True, "id": 3, "method": "connectWebRtcTransport", "data": {}},
                {"request": True, "id": 4, "method": "join", "data": {"displayName": 5}},
                {"request": True, "id": 5, "method": "join", "data": {"displayName": "ok"}},
                {"request": True, "id": 6, "method": "join", "data": {}},
                {"request": True, "id": 8, "method": "getRouterRtpCapabilities"},
                {"request": True, "id": 9, "method": "createWebRtcTransport", "data": {}},
            ]
        )
    )
    reasons = [response.get("errorReason", "") for response in responses]
    assert not any(response["ok"] for response in responses[:6])
    assert "message" in reasons[0]
    assert "id" in reasons[1]
    assert "unknown method 'fly'" in reasons[2]
    assert "not joined" in reasons[3]
    assert "data.transportId" in reasons[4]
    assert "data.displayName" in reasons[5]
    assert responses[6] == {"response": True, "id": 5, "ok": True, "data": {"peers": []}}
    assert "already joined" in reasons[7]
    assert responses[8]["ok"]
    assert responses[8]["data"]["codecs"]
    # The room stayed consistent: one joined peer, with the one transport it made.
    (peer,) = dump["peers"]
    assert peer["joined"]
    assert peer["transportIds"] == [responses[9]["data"]["id"]]
    assert (peer["producerIds"], peer["consumerIds"]) == ([], [])


async def two_peers_exchange() -> dict[str, Any]:
    """Two peers of mediasoup-demo's protocol: what each is answered and told."""
    worker = await mediasoup_py.create_worker(rtc_min_port=47750, rtc_max_port=47769)
    try:
        router = await worker.create_router(
            media_codecs=[
                {"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2}
            ]
        )
        room = await mediasoup_py.Room.create(
            router,
            listen_infos=[{"protocol": "udp", "ip": "127.0.0.1"}],  # type: ignore[list-item]
        )
        channels = {"a": RecordingChannel(), "b": RecordingChannel()}
        peers = {name: room.create_peer(name, channel) for name, channel in channels.items()}

        async def ask(name: str, method: str, data: dict[str, Any]) -> protocol.Response:
            return await peers[name].receive_request(protocol.request(method, data))

        early_rename = await ask("a", "changeDisplayName", {"displayName": "x"})
        sctp = {"numStreams": {"OS": 1024, "MIS": 1024}}
        bad_sctp_join = await ask("a", "join", {"displayName": "A", "sctpCapabilities": {}})
        for name in peers:
            await ask(name, "join", {"displayName": name.upper(), "sctpCapabilities": sctp})
        transport = await ask(
            "a", "createWebRtcTransport", {"consuming": True, "sctpCapabilities": sctp}
        )
        bad_sctp_transport = await ask(
            "a",
            "createWebRtcTransport",
            {"sctpCapabilities": {"numStreams": {"OS": 0, "MIS": 1}}},
        )
        stats = await ask("a", "getTransportStats", {"transportId": transport["data"]["id"]})
        bad_name = await ask("a", "changeDisplayName", {"displayName": 7})
        rename = await ask("a", "changeDisplayName", {"displayName": "Ann"})
        throttle = await ask("a", "applyNetworkThrottle", {"uplink": 1000, "secret": "s"})
        return {
            "earlyRename": early_rename,
            "badSctpJoin": bad_sctp_join,
            "badSctpTransport": bad_sctp_transport,
            "sctpCapabilities": peers["a"].sctp_capabilities,
            "stats": stats,
            "badName": bad_name,
            "rename": rename,
            "throttle": throttle,
            "told": {name: channel.notifications for name, channel in channels.items()},
            "names": {name: peer.display_name for name, peer in peers.items()},
        }
    finally:
        worker.close()


def test_mediasoup_demo_requests_rename_stats_sctp_capabilities_and_throttling() -> None:
    result = asyncio.run(two_peers_exchange())
    assert result["earlyRename"]["errorCode"] == 409
    assert "data.sctpCapabilities.numStreams" in result["badSctpJoin"]["errorReason"]
    assert "data.sctpCapabilities.numStreams.OS" in result["badSctpTransport"]["errorReason"]
    assert result["sctpCapabilities"] == {"numStreams": {"OS": 1024, "MIS": 1024}}
    # The stats answer is the array itself, as mediasoup-demo's server answers.
    stats = result["stats"]
    assert stats["ok"]
    assert [entry["type"] for entry in stats["data"]] == ["webrtc-transport"]
    assert "data.displayName" in result["badName"]["errorReason"]
    assert result["rename"] == {
        "response": True,
        "id": result["rename"]["id"],
        "ok": True,
        "data": {},
    }
    assert result["names"] == {"a": "Ann", "b": "B"}
    renamed = [
        message["data"]
        for message in result["told"]["b"]
        if message["method"] == "peerDisplayNameChanged"
    ]
    assert renamed == [{"peerId": "a", "displayName": "Ann", "oldDisplayName": "A"}]
    assert not any(m["method"] == "peerDisplayNameChanged" for m in result["told"]["a"])
    throttle = result["throttle"]
    assert throttle["errorCode"] == 400
    assert "applyNetworkThrottle" in throttle["errorReason"]
