"""Two different v3 clients in one :class:`mediasoup_py.Room`, speaking mediasoup-demo's
protocol: mediasoup-client v3 (npm) in headless Chromium, and pymediasoup (PyPI) over aiortc.
Each joins, sends video and audio, and receives the other's through ``newConsumer`` requests;
the result (what each decoded, and the notifications each got) is printed as JSON.

The page's signaling is a Playwright binding standing in for a WebSocket: its requests go to
``Peer.receive_request``, and the room's requests and notifications to the page go through
``page.evaluate``. Run inside a network namespace that has only ``lo`` (the pytest test does):

    python -m tests.interop.room_clients
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import aioice.ice
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, VideoStreamTrack
from playwright.async_api import Page, async_playwright
from pymediasoup import Device
from pymediasoup.handlers.aiortc_handler import AiortcHandler
from pymediasoup.models.transport import DtlsParameters
from pymediasoup.rtp_parameters import RtpCapabilities, RtpParameters

import mediasoup_py
from mediasoup_py import protocol
from tests.interop.chromium_mediasoup_client import BUNDLE, browser_context, page_server
from tests.interop.chromium_webrtc import wait_until

LOOPBACK_UDP = [{"protocol": "udp", "ip": "127.0.0.1"}]

# A minimal mediasoup-demo client: join, send the camera and microphone, consume what the
# room offers with newConsumer.
PAGE = f"""<!doctype html>
<meta charset="utf-8"><title>mediasoup_py room</title>
<script src="{BUNDLE}"></script>
<script>
let nextId = 1;
async function request(method, data) {{
  const response = await window.signal({{request: true, id: nextId++, method, data}});
  if (!response.ok) throw new Error(response.errorReason);
  return response.data;
}}

function transportEvents(transport) {{
  transport.on('connect', ({{dtlsParameters}}, callback, errback) => {{
    request('connectWebRtcTransport', {{transportId: transport.id, dtlsParameters}})
      .then(callback, errback);
  }});
}}

window.consumers = [];
window.notifications = [];

window.joinRoom = async (displayName) => {{
  const routerRtpCapabilities = await request('getRouterRtpCapabilities', {{}});
  window.device = new mediasoupClient.Device();
  await window.device.load({{routerRtpCapabilities}});
  const send = await request('createWebRtcTransport', {{producing: true, consuming: false}});
  window.sendTransport = window.device.createSendTransport({{...send, iceServers: []}});
  transportEvents(window.sendTransport);
  window.sendTransport.on('produce', ({{kind, rtpParameters, appData}}, callback, errback) => {{
    request('produce', {{transportId: window.sendTransport.id, kind, rtpParameters, appData}})
      .then(callback, errback);
  }});
  const recv = await request('createWebRtcTransport', {{producing: false, consuming: true}});
  window.recvTransport = window.device.createRecvTransport({{...recv, iceServers: []}});
  transportEvents(window.recvTransport);
  const {{peers}} = await request('join', {{
    displayName, device: {{name: 'chromium'}}, rtpCapabilities: window.device.rtpCapabilities}});
  const stream = await navigator.mediaDevices.getUserMedia(
    {{video: {{width: 640, height: 480}}, audio: true}});
  await window.sendTransport.produce({{track: stream.getVideoTracks()[0]}});
  await window.sendTransport.produce({{track: stream.getAudioTracks()[0]}});
  return peers;
}};

window.onServerRequest = async (message) => {{
  if (message.method !== 'newConsumer') {{
    return {{response: true, id: message.id, ok: false, errorReason: 'unknown method'}};
  }}
  const {{id, producerId, kind, rtpParameters}} = message.data;
  const consumer = await window.recvTransport.consume({{id, producerId, kind, rtpParameters}});
  window.consumers.push(consumer);
  return {{response: true, id: message.id, ok: true, data: {{}}}};
}};

window.onServerNotification = (message) => {{ window.notifications.push(message); }};

window.inbound = async () => {{
  const result = {{}};
  for (const consumer of window.consumers) {{
    (await consumer.getStats()).forEach((entry) => {{
      if (entry.type === 'inbound-rtp') result[entry.kind] = entry;
    }});
  }}
  return result;
}};
</script>
"""


class PageChannel:
    """The room's way to the page."""

    def __init__(self, page: Page) -> None:
        self.page = page
        # Deliveries under way, kept until done.
        self.deliveries: set[asyncio.Future[Any]] = set()

    async def request(self, message: protocol.Request) -> protocol.Response:
        response: protocol.Response = await self.page.evaluate(
            "(message) => window.onServerRequest(message)", message
        )
        return response

    def notify(self, message: protocol.Notification) -> None:
        delivery = asyncio.ensure_future(
            self.page.evaluate("(message) => window.onServerNotification(message)", message)
        )
        self.deliveries.add(delivery)
        delivery.add_done_callback(self.deliveries.discard)


class PymediasoupClient:
    """The same client in Python, with pymediasoup; requests go straight to its Peer."""

    def __init__(self) -> None:
        self.peer: mediasoup_py.Peer | None = None
        self.device = Device(handlerFactory=AiortcHandler.createFactory(tracks=[]))
        self.recv_transport: Any = None
        self.send_transport: Any = None
        self.consumers: list[Any] = []
        self.notifications: list[protocol.Notification] = []

    async def _request(self, method: str, data: dict[str, Any]) -> dict[str, Any]:
        assert self.peer is not None
        response = await self.peer.receive_request(protocol.request(method, data))
        return protocol.parse_response(response)["data"]

    async def request(self, message: protocol.Request) -> protocol.Response:
        data = message["data"]
        consumer = await self.recv_transport.consume(
            id=data["id"],
            producerId=data["producerId"],
            kind=data["kind"],
            rtpParameters=RtpParameters(**data["rtpParameters"]),
        )
        self.consumers.append(consumer)
        return protocol.ok_response(message["id"], {})

    def notify(self, message: protocol.Notification) -> None:
        self.notifications.append(message)

    def _wire(self, transport: Any) -> None:
        @transport.on("connect")  # type: ignore[misc]
        async def on_connect(dtlsParameters: DtlsParameters) -> None:
            await self._request(
                "connectWebRtcTransport",
                {
                    "transportId": transport.id,
                    "dtlsParameters": dtlsParameters.model_dump(exclude_none=True),
                },
            )

    async def join(self, tracks: list[Any]) -> list[dict[str, Any]]:
        capabilities = await self._request("getRouterRtpCapabilities", {})
        self.device = Device(handlerFactory=AiortcHandler.createFactory(tracks=tracks))
        await self.device.load(RtpCapabilities(**capabilities))
        send = await self._request("createWebRtcTransport", {"producing": True})
        self.send_transport = self.device.createSendTransport(**{**send, "iceServers": []})
        self._wire(self.send_transport)

        @self.send_transport.on("produce")  # type: ignore[misc]
        async def on_produce(kind: str, rtpParameters: RtpParameters, appData: Any) -> str:
            data = await self._request(
                "produce",
                {
                    "transportId": self.send_transport.id,
                    "kind": kind,
                    "rtpParameters": rtpParameters.model_dump(exclude_none=True),
                    "appData": appData,
                },
            )
            producer_id: str = data["id"]
            return producer_id

        recv = await self._request("createWebRtcTransport", {"consuming": True})
        self.recv_transport = self.device.createRecvTransport(**{**recv, "iceServers": []})
        self._wire(self.recv_transport)
        capabilities_now = self.device.rtpCapabilities
        assert capabilities_now is not None
        joined = await self._request(
            "join",
            {
                "displayName": "aiortc",
                "device": {"name": "pymediasoup"},
                "rtpCapabilities": capabilities_now.model_dump(exclude_none=True),
            },
        )
        for track in tracks:
            await self.send_transport.produce(track=track, stopTracks=False)
        peers: list[dict[str, Any]] = joined["peers"]
        return peers

    async def close(self) -> None:
        for transport in (self.send_transport, self.recv_transport):
            if transport is not None:
                await transport.close()


async def decoded_video_frames(consumers: list[Any], count: int) -> int:
    (video,) = [consumer for consumer in consumers if consumer.kind == "video"]
    frames = 0
    while frames < count:
        try:
            await video.track.recv()
        except MediaStreamError:
            break
        frames += 1
    return frames


async def scenario() -> dict[str, Any]:
    # aioice leaves 127.0.0.1 out of its host candidates; this namespace has nothing else.
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]
    worker = await mediasoup_py.create_worker(rtc_min_port=47600, rtc_max_port=47699)
    try:
        router = await worker.create_router(
            media_codecs=[
                {"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2},
                {"kind": "video", "mimeType": "video/VP8", "clockRate": 90000},
            ]
        )
        room = await mediasoup_py.Room.create(router, listen_infos=LOOPBACK_UDP)  # type: ignore[arg-type]
        async with async_playwright() as playwright, browser_context(playwright) as browser:
            with page_server(PAGE) as url:
                page = await browser.new_page()
                browser_peer = room.create_peer("chromium", PageChannel(page))
                await page.expose_function("signal", browser_peer.receive_request)
                await page.goto(url)
                peers_at_join = await page.evaluate("(name) => window.joinRoom(name)", "Chromium")
                python_client = PymediasoupClient()
                python_client.peer = room.create_peer("aiortc", python_client)
                python_peers = await python_client.join([VideoStreamTrack(), AudioStreamTrack()])

                async def page_decodes() -> bool:
                    inbound = await page.evaluate("window.inbound()")
                    video = inbound.get("video", {})
                    return bool(
                        video.get("framesDecoded", 0) >= 30
                        and inbound.get("audio", {}).get("packetsReceived", 0) >= 50
                    )

                await wait_until(lambda: _has_consumers(python_client), "consumers in aiortc")
                frames = await asyncio.wait_for(
                    decoded_video_frames(python_client.consumers, 30), 30
                )
                await wait_until(page_decodes, "the page to decode aiortc's media")
                inbound = await page.evaluate("window.inbound()")
                await python_client.close()
                browser_peer_count = len(room.peers)
                room.get_peer("aiortc").close()  # type: ignore[union-attr]
                await asyncio.sleep(0.5)
                page_notifications = await page.evaluate("window.notifications")
        return {
            "peersAtBrowserJoin": peers_at_join,
            "peersAtPythonJoin": python_peers,
            "pythonDecodedFrames": frames,
            "pythonConsumerKinds": sorted(c.kind for c in python_client.consumers),
            "pageVideo": {
                key: inbound["video"].get(key) for key in ("framesDecoded", "frameWidth")
            },
            "pageAudioPackets": inbound["audio"].get("packetsReceived"),
            "pageNotifications": sorted({message["method"] for message in page_notifications}),
            "pythonNotifications": sorted({m["method"] for m in python_client.notifications}),
            "peersBeforeLeave": browser_peer_count,
            "peersAfterLeave": [peer.id for peer in room.peers],
        }
    finally:
        worker.close()


async def _has_consumers(client: PymediasoupClient) -> bool:
    return len(client.consumers) == 2


def main() -> int:
    result = asyncio.run(asyncio.wait_for(scenario(), 80))
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
