"""The v3 room requests that act on a live consumer or report stats, with real media: a
broadcaster's camera (aiortc's VP8 from a UDP socket into a comedia PlainTransport, sending a
keyframe whenever the SFU asks for one) and a recorder-style viewer (a PlainTransport connected
to another UDP socket, which consumes through ``consume``). ``pauseConsumer`` and
``resumeConsumer`` stop and restart what reaches the viewer's socket, ``requestConsumerKeyFrame``
reaches the camera as a PLI, ``setConsumerPriority`` reaches the worker's consumer (and a bad
value is refused naming the field), ``restartIce`` gives the viewer's WebRTC transport new
credentials, and ``getTransportStats``/``getProducerStats``/``getConsumerStats`` answer with
mediasoup's entries counting the packets that really went through."""

from __future__ import annotations

import asyncio
from typing import Any

import mediasoup_py
from mediasoup_py import protocol
from mediasoup_py.rtcp import parse as parse_rtcp
from tests.interop.test_feedback_storms_udp import Endpoint, is_rtcp
from tests.interop.test_producer_events_direct import PAYLOAD_TYPE, SSRC, Sender, stop
from tests.interop.test_routing_pymediasoup import MEDIA_CODECS


class AcceptingChannel:
    """A client that accepts whatever the room asks and keeps what it is told."""

    def __init__(self) -> None:
        self.notifications: list[protocol.Notification] = []

    async def request(self, message: protocol.Request) -> protocol.Response:
        return protocol.ok_response(message["id"], {})

    def notify(self, message: protocol.Notification) -> None:
        self.notifications.append(message)


async def ask(peer: mediasoup_py.Peer, method: str, data: dict[str, Any]) -> Any:
    response = await peer.receive_request(protocol.request(method, data))
    assert response["ok"], response
    return response["data"]


class Camera:
    """Frames every 33 ms from the camera socket; a keyframe after each PLI or FIR."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.sender = Sender(endpoint)
        self.key_frame_requests: list[float] = []

    async def run(self) -> None:
        keyframe = True
        while True:
            await self.sender.frame(keyframe=keyframe)
            await asyncio.sleep(0.033)
            asked = [
                item
                for datagram in self.endpoint.drain()
                if is_rtcp(datagram)
                for item in parse_rtcp(datagram)
                if item["type"] in ("pli", "fir")
            ]
            self.key_frame_requests += [asyncio.get_running_loop().time()] * len(asked)
            keyframe = bool(asked)


async def media_for(viewer: Endpoint, seconds: float) -> int:
    """RTP datagrams reaching the viewer in the next ``seconds``."""
    viewer.drain()
    await asyncio.sleep(seconds)
    return sum(1 for datagram in viewer.drain() if not is_rtcp(datagram))


async def scenario() -> dict[str, Any]:
    worker = await mediasoup_py.create_worker(rtc_min_port=44500, rtc_max_port=44549)
    camera_socket = Endpoint()
    viewer = Endpoint()
    camera_task: asyncio.Task[None] | None = None
    try:
        router = await worker.create_router(media_codecs=MEDIA_CODECS[:2])  # type: ignore[arg-type]
        room = await mediasoup_py.Room.create(
            router,
            listen_infos=[{"protocol": "udp", "ip": "127.0.0.1"}],  # type: ignore[list-item]
        )
        caps = router.rtp_capabilities
        broadcaster = room.create_peer("broadcaster", AcceptingChannel())
        recorder = room.create_peer("recorder", AcceptingChannel())
        for peer in (broadcaster, recorder):
            await ask(peer, "join", {"displayName": peer.id, "rtpCapabilities": caps})

        ingress = await ask(broadcaster, "createPlainTransport", {"comedia": True})
        camera_socket.peer = (ingress["ip"], ingress["port"])
        producer = await ask(
            broadcaster,
            "produce",
            {
                "transportId": ingress["id"],
                "kind": "video",
                "rtpParameters": {
                    "codecs": [
                        {
                            "mimeType": "video/VP8",
                            "payloadType": PAYLOAD_TYPE,
                            "clockRate": 90000,
                            "rtcpFeedback": [{"type": "nack", "parameter": "pli"}],
                        }
                    ],
                    "encodings": [{"ssrc": SSRC}],
                    "rtcp": {"cname": "camera"},
                },
            },
        )
        camera = Camera(camera_socket)
        camera_task = asyncio.ensure_future(camera.run())

        egress = await ask(recorder, "createPlainTransport", {})
        viewer.peer = (egress["ip"], egress["port"])
        await ask(
            recorder,
            "connectPlainTransport",
            {"transportId": egress["id"], "ip": "127.0.0.1", "port": viewer.port},
        )
        consumer = await ask(
            recorder, "consume", {"transportId": egress["id"], "producerId": producer["id"]}
        )
        consumer_id = consumer["id"]
        result: dict[str, Any] = {"whileCreatedPaused": await media_for(viewer, 0.4)}
        await ask(recorder, "resumeConsumer", {"consumerId": consumer_id})
        result["afterResume"] = await media_for(viewer, 0.6)
        await ask(recorder, "pauseConsumer", {"consumerId": consumer_id})
        await asyncio.sleep(0.1)
        result["afterPause"] = await media_for(viewer, 0.4)
        await ask(recorder, "resumeConsumer", {"consumerId": consumer_id})
        result["afterResumeAgain"] = await media_for(viewer, 0.6)

        # Keyframe requests to one producer are spaced a second apart: wait that out first.
        await asyncio.sleep(1.1)
        asked_at = asyncio.get_running_loop().time()
        await ask(recorder, "requestConsumerKeyFrame", {"consumerId": consumer_id})
        await asyncio.sleep(0.5)
        result["keyFrameRequestsAfterAsking"] = [
            when for when in camera.key_frame_requests if when >= asked_at
        ]

        worker_consumer = recorder.consumers[consumer_id]
        await ask(recorder, "setConsumerPriority", {"consumerId": consumer_id, "priority": 7})
        result["priority"] = worker_consumer.priority
        refused = await recorder.receive_request(
            protocol.request("setConsumerPriority", {"consumerId": consumer_id, "priority": 0})
        )
        result["badPriority"] = refused
        result["priorityAfterRefusal"] = worker_consumer.priority

        webrtc = await ask(recorder, "createWebRtcTransport", {"consuming": True})
        result["iceBefore"] = webrtc["iceParameters"]
        result["iceAfter"] = await ask(recorder, "restartIce", {"transportId": webrtc["id"]})

        result["transportStats"] = await ask(
            recorder, "getTransportStats", {"transportId": egress["id"]}
        )
        result["producerStats"] = await ask(
            broadcaster, "getProducerStats", {"producerId": producer["id"]}
        )
        result["consumerStats"] = await ask(
            recorder, "getConsumerStats", {"consumerId": consumer_id}
        )
        return result
    finally:
        await stop(camera_task)
        camera_socket.close()
        viewer.close()
        worker.close()


def test_v3_consumer_requests_and_stats_act_on_real_media() -> None:
    result = asyncio.run(asyncio.wait_for(scenario(), 30))
    assert result["whileCreatedPaused"] == 0, result
    assert result["afterResume"] > 10, result
    assert result["afterPause"] == 0, result
    assert result["afterResumeAgain"] > 10, result
    assert len(result["keyFrameRequestsAfterAsking"]) >= 1, result
    assert result["priority"] == 7
    assert not result["badPriority"]["ok"]
    assert "priority" in result["badPriority"]["errorReason"]
    assert result["priorityAfterRefusal"] == 7
    before, after = result["iceBefore"], result["iceAfter"]
    assert after["usernameFragment"] != before["usernameFragment"]
    assert after["password"] != before["password"]
    [transport] = result["transportStats"]
    assert transport["type"] == "plain-rtp-transport"
    assert transport["bytesSent"] > 0
    [inbound] = result["producerStats"]
    assert inbound["type"] == "inbound-rtp"
    assert inbound["ssrc"] == SSRC
    assert inbound["packetCount"] > 20
    outbound, producer_entry = result["consumerStats"]
    assert outbound["type"] == "outbound-rtp"
    assert 10 < outbound["packetCount"] < inbound["packetCount"]
    assert producer_entry["type"] == "inbound-rtp"
