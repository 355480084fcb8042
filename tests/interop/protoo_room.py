"""mediasoup-demo's app, as its RoomClient talks: two headless Chromium pages, served from an
origin of their own, each with protoo-client and mediasoup-client 3.24 from npm
(tests/interop/protoo, bundled), connect to the demo server over TLS the way the app does
(``wss://HOST:PORT/?roomId=R&peerId=P``, WebSocket subprotocol ``protoo``), load the device,
create their two transports with ``sctpCapabilities``, join, produce their fake camera and
microphone, and take the server's ``newConsumer`` requests. Then each asks for the stats
(which the app maps over), one changes its name, one asks for network throttling, and what
each page heard (``mediasoup-version``, ``peerDisplayNameChanged``, ``downlinkBwe``...) and
decoded is printed as JSON.

Run inside a network namespace that has only ``lo`` (the pytest test does):

    python -m tests.interop.protoo_room
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from aiohttp import web
from playwright.async_api import Page, async_playwright

from mediasoup_py.demo import DemoServer, DemoSettings
from tests.certificates import self_signed_certificate
from tests.interop.chromium_mediasoup_client import browser_context
from tests.interop.chromium_webrtc import wait_until

BUNDLE = Path(__file__).resolve().parent / "protoo" / "bundle.js"

# What mediasoup-demo's RoomClient does on joining, in its order, with its messages.
PAGE = """<!doctype html>
<meta charset="utf-8"><title>protoo participant</title>
<script src="bundle.js"></script>
<script>
window.notifications = [];
window.consumers = new Map();
window.chatReceived = [];

function connectOn(transport) {
  transport.on('connect', ({dtlsParameters}, callback, errback) => {
    window.protoo.request('connectWebRtcTransport', {transportId: transport.id, dtlsParameters})
      .then(callback).catch(errback);
  });
}

window.joinRoom = async (url, displayName, forceVP9) => {
  const protoo = new protooClient.Peer(new protooClient.WebSocketTransport(url));
  window.protoo = protoo;
  protoo.on('notification', (notification) => {
    window.notifications.push({method: notification.method, data: notification.data});
  });
  protoo.on('request', async (request, accept, reject) => {
    if (request.method === 'newDataConsumer') {
      // As RoomClient: a negotiated channel on the stream the server chose.
      const {peerId, dataProducerId, id, sctpStreamParameters, label, protocol, appData} =
        request.data;
      const dataConsumer = await window.recvTransport.consumeData(
        {id, dataProducerId, sctpStreamParameters, label, protocol, appData: {...appData, peerId}});
      dataConsumer.on('message', (message) => window.chatReceived.push({peerId, label, message}));
      accept();
      return;
    }
    if (request.method !== 'newConsumer') {
      reject(403, 'unexpected ' + request.method);
      return;
    }
    const {peerId, producerId, id, kind, rtpParameters, appData} = request.data;
    const consumer = await window.recvTransport.consume(
      {id, producerId, kind, rtpParameters, appData: {...appData, peerId}});
    window.consumers.set(consumer.id, consumer);
    accept();
  });
  await new Promise((resolve, reject) => {
    protoo.on('open', resolve);
    protoo.on('failed', () => reject(new Error('protoo connection failed')));
  });
  const routerRtpCapabilities = await protoo.request('getRouterRtpCapabilities');
  const device = new mediasoupClient.Device();
  await device.load({routerRtpCapabilities});
  window.device = device;
  // mediasoup-client 3.24 has no device.sctpCapabilities any more: the app states the
  // streams it wants itself (older clients report them).
  const sctpCapabilities = device.sctpCapabilities || {numStreams: {OS: 1024, MIS: 1024}};

  const sending = await protoo.request('createWebRtcTransport', {
    forceTcp: false, producing: true, consuming: false,
    sctpCapabilities});
  const sendTransport = device.createSendTransport({...sending, iceServers: []});
  connectOn(sendTransport);
  sendTransport.on('produce', ({kind, rtpParameters, appData}, callback, errback) => {
    protoo.request('produce', {transportId: sendTransport.id, kind, rtpParameters, appData})
      .then(({id}) => callback({id})).catch(errback);
  });
  sendTransport.on('producedata', (parameters, callback, errback) => {
    const {sctpStreamParameters, label, protocol, appData} = parameters;
    protoo.request('produceData',
      {transportId: sendTransport.id, sctpStreamParameters, label, protocol, appData})
      .then(({id}) => callback({id})).catch(errback);
  });
  window.sendTransport = sendTransport;

  const receiving = await protoo.request('createWebRtcTransport', {
    forceTcp: false, producing: false, consuming: true,
    sctpCapabilities});
  window.recvTransport = device.createRecvTransport({...receiving, iceServers: []});
  connectOn(window.recvTransport);

  const {peers} = await protoo.request('join', {
    displayName,
    device: {flag: 'chrome', name: 'Chrome', version: '0'},
    rtpCapabilities: device.rtpCapabilities,
    sctpCapabilities,
  });
  // RoomClient's chat channel.
  window.chat = await sendTransport.produceData(
    {ordered: false, maxRetransmits: 1, label: 'chat', priority: 'medium',
      appData: {info: 'my-chat-DataProducer'}});
  const stream = await navigator.mediaDevices.getUserMedia(
    {audio: true, video: {width: 640, height: 480}});
  window.producers = [];
  for (const track of stream.getTracks()) {
    const options = {track, appData: {source: track.kind}};
    if (forceVP9 && track.kind === 'video') {
      // RoomClient's forceVP9: the device's VP9 (as the server offers it), three spatial
      // and temporal layers.
      options.codec = device.rtpCapabilities.codecs
        .find((codec) => codec.mimeType.toLowerCase() === 'video/vp9');
      if (!options.codec) throw new Error('desired VP9 codec+configuration is not supported');
      options.encodings = [{maxBitrate: 5000000, scalabilityMode: 'L3T3_KEY'}];
    }
    window.producers.push(await sendTransport.produce(options));
  }
  return {
    peers, subprotocol: protoo._transport._ws.protocol,
    videoCodec: window.producers.find((producer) => producer.kind === 'video')
      .rtpParameters.codecs[0],
    sctpParameters: receiving.sctpParameters,
    chatStream: window.chat.sctpStreamParameters,
  };
};

window.decoded = async () => {
  let framesDecoded = 0;
  for (const consumer of window.consumers.values()) {
    (await consumer.getStats()).forEach((report) => {
      if (report.type === 'inbound-rtp' && report.kind === 'video') {
        framesDecoded = report.framesDecoded;
      }
    });
  }
  return framesDecoded;
};

// What the app's stats panel does with each answer: map over it.
window.statsTypes = async () => {
  const video = window.producers.find((producer) => producer.kind === 'video');
  const consumer = [...window.consumers.values()][0];
  const asked = {
    transport: ['getTransportStats', {transportId: window.recvTransport.id}],
    producer: ['getProducerStats', {producerId: video.id}],
    consumer: ['getConsumerStats', {consumerId: consumer.id}],
  };
  const types = {};
  for (const [name, [method, data]] of Object.entries(asked)) {
    const stats = await window.protoo.request(method, data);
    types[name] = {isArray: Array.isArray(stats), types: stats.map((entry) => entry.type)};
  }
  return types;
};

window.refused = async (method, data) => {
  try {
    await window.protoo.request(method, data);
    return null;
  } catch (error) {
    return {code: error.code, message: error.message};
  }
};
</script>
"""


async def serve_page() -> tuple[web.AppRunner, str]:
    """The app's own origin: the page and the bundle."""
    app = web.Application()
    app.router.add_get("/", lambda _: web.Response(text=PAGE, content_type="text/html"))
    app.router.add_get("/bundle.js", lambda _: web.FileResponse(BUNDLE))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


def notifications_of(result: list[dict[str, Any]], method: str) -> list[dict[str, Any]]:
    return [entry["data"] for entry in result if entry["method"] == method]


async def scenario() -> dict[str, Any]:
    page_runner, origin = await serve_page()
    with tempfile.TemporaryDirectory() as directory:
        cert, key = self_signed_certificate(Path(directory))
        settings = DemoSettings(
            workers=1,
            rtc_min_port=46800,
            rtc_max_port=46899,
            allowed_origins=[origin],
            cert=cert,
            key=key,
        )
        server = DemoServer(settings)
        await server.start()
        runner, port = await server.signaling.start("127.0.0.1", 0, settings.ssl_context())
    try:
        async with (
            async_playwright() as playwright,
            browser_context(playwright, ("--ignore-certificate-errors",)) as browser,
        ):
            pages: dict[str, Page] = {}
            joined: dict[str, Any] = {}
            for name in ("alice", "bob"):
                page = pages[name] = await browser.new_page()
                await page.goto(origin + "/")
                url = f"wss://127.0.0.1:{port}/?roomId=protoo&peerId={name}"
                # Bob's camera as mediasoup-demo's app sends it with ?forceVP9=true.
                joined[name] = await page.evaluate(
                    "([url, name, vp9]) => window.joinRoom(url, name, vp9)",
                    [url, name, name == "bob"],
                )
            decoded: dict[str, int] = {}
            for name, page in pages.items():

                async def decoding(page: Page = page, name: str = name) -> bool:
                    decoded[name] = await page.evaluate("window.decoded()")
                    return decoded[name] >= 30

                await wait_until(decoding, f"{name} to decode the other")
            stats = await pages["bob"].evaluate("window.statsTypes()")
            await pages["alice"].evaluate(
                "window.protoo.request('changeDisplayName', {displayName: 'Alice B.'})"
            )
            # The chat, both ways, over the DataChannels the server connected.
            for name, text in (("alice", "hi bob"), ("bob", "hi alice")):
                page = pages[name]
                await page.wait_for_function("window.chat.readyState === 'open'")
                await page.evaluate("(text) => window.chat.send(text)", text)
            chats: dict[str, Any] = {}

            async def chatted() -> bool:
                for name, page in pages.items():
                    chats[name] = await page.evaluate("window.chatReceived")
                return all(chats.values())

            await wait_until(chatted, "the chat both ways")
            data_stats = await pages["bob"].evaluate(
                """async () => {
                  const dataProducer = await window.protoo.request(
                    'getDataProducerStats', {dataProducerId: window.chat.id});
                  return dataProducer;
                }"""
            )
            throttle = await pages["alice"].evaluate(
                "window.refused('applyNetworkThrottle', {uplink: 100000, secret: 'x'})"
            )
            reset = await pages["alice"].evaluate(
                "window.refused('resetNetworkThrottle', {secret: 'x'})"
            )
            notifications: dict[str, Any] = {}

            async def heard_everything() -> bool:
                for name, page in pages.items():
                    notifications[name] = await page.evaluate("window.notifications")
                bob = notifications["bob"]
                return bool(
                    notifications_of(bob, "peerDisplayNameChanged")
                    and notifications_of(bob, "downlinkBwe")
                    and notifications_of(notifications["alice"], "downlinkBwe")
                )

            await wait_until(heard_everything, "the name change and the downlink estimates")
            names = [peer.display_name for room in server.rooms.values() for peer in room.peers]
        return {
            "joined": joined,
            "decoded": decoded,
            "stats": stats,
            "throttle": throttle,
            "reset": reset,
            "firstNotification": {name: heard[0] for name, heard in notifications.items()},
            "versions": {
                name: notifications_of(heard, "mediasoup-version")
                for name, heard in notifications.items()
            },
            "nameChanges": notifications_of(notifications["bob"], "peerDisplayNameChanged"),
            "aliceHeardOwnNameChange": notifications_of(
                notifications["alice"], "peerDisplayNameChanged"
            ),
            "downlinkBwe": {
                name: notifications_of(heard, "downlinkBwe")[-1]
                for name, heard in notifications.items()
            },
            "serverNames": sorted(names),
            "chats": chats,
            "dataProducerStats": data_stats,
        }
    finally:
        await runner.cleanup()
        await server.close()
        await page_runner.cleanup()


def main() -> int:
    result = asyncio.run(asyncio.wait_for(scenario(), 80))
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
