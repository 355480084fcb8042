"""DataChannels through mediasoup_py with mediasoup-client 3.24 (npm) in headless Chromium:
two pages, each with a send and a receive transport with SCTP, each producing a DataChannel
(``produceData``) that the other consumes (``consumeData`` on the stream the server chose):
a chat both ways. Then a burst of ordered messages of 1 byte to 256 KiB from one page to
the other, checked one by one; a message above ``maxSctpMessageSize`` refused by the
sender's own stack while the channel keeps working; and a relay bot in Python on a
DirectTransport (a DataConsumer of one page's channel and a DataProducer the other page
consumes) that echoes what it hears. The result is printed as JSON.

Run inside a network namespace that has only ``lo`` (the pytest test does):

    python -m tests.interop.chromium_datachannels
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from aiohttp import web
from playwright.async_api import async_playwright

import mediasoup_py
from tests.interop.chromium_mediasoup_client import browser_context
from tests.interop.chromium_webrtc import wait_until

BUNDLE = Path(__file__).resolve().parent / "protoo" / "bundle.js"
LOOPBACK_UDP = [{"protocol": "udp", "ip": "127.0.0.1"}]
# The burst: this many messages, their sizes cycling through these (the largest is
# mediasoup's default maxSctpMessageSize).
BURST = 600
BURST_SIZES = (1, 10, 1200, 5000, 65_536, 262_144)
# Sent in windows of this many, each once the last arrived: an SFU has no backpressure from
# the receiver to the sender (neither has mediasoup), so an application paces what it
# sends; within a window the server's send buffer holds what the receiver has not taken.
WINDOW = 24
SEND_BUFFER = 8 << 20

PAGE = """<!doctype html>
<meta charset="utf-8"><title>data channels</title>
<script src="bundle.js"></script>
<script>
window.received = {};
window.consumers = new Map();

async function transport(direction) {
  const info = await window.signal('createTransport', {direction});
  const create = direction === 'send' ? 'createSendTransport' : 'createRecvTransport';
  const transport = window.device[create]({...info, iceServers: []});
  transport.on('connect', ({dtlsParameters}, callback, errback) => {
    window.signal('connect', {transportId: transport.id, dtlsParameters})
      .then(callback, errback);
  });
  transport.on('producedata', ({sctpStreamParameters, label, protocol}, callback, errback) => {
    window.signal('produceData', {transportId: transport.id, sctpStreamParameters, label,
      protocol}).then(callback, errback);
  });
  return transport;
}

window.setUp = async () => {
  window.device = new mediasoupClient.Device();
  await window.device.load({routerRtpCapabilities: await window.signal('capabilities', {})});
  window.sendTransport = await transport('send');
  window.recvTransport = await transport('recv');
  window.chat = await window.sendTransport.produceData({ordered: true, label: 'chat'});
  // It may have opened already (on a fast machine, before this line runs).
  await new Promise((resolve) => {
    if (window.chat.readyState === 'open') resolve();
    else window.chat.on('open', resolve);
  });
  return window.chat.id;
};

window.consumeData = async (dataProducerId) => {
  const parameters = await window.signal('consumeData', {
    transportId: window.recvTransport.id, dataProducerId});
  const consumer = await window.recvTransport.consumeData(parameters);
  window.consumers.set(consumer.id, consumer);
  const messages = window.received[consumer.label + ':' + consumer.id] = [];
  consumer.on('message', (message) => {
    messages.push(typeof message === 'string' ? message : new Uint8Array(message));
  });
  await new Promise((resolve) => {
    if (consumer.readyState === 'open') resolve();
    else consumer.on('open', resolve);
  });
  return {id: consumer.id, label: consumer.label,
    streamId: consumer.sctpStreamParameters.streamId};
};

window.texts = () => {
  const texts = {};
  for (const [key, messages] of Object.entries(window.received)) {
    texts[key] = messages.filter((m) => typeof m === 'string');
  }
  return texts;
};

// Deterministic contents: byte i of message n is (n * 31 + i) & 255.
function body(n, size) {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (n * 31 + i) & 255;
  return bytes;
}

window.sendBurst = async (first, end, sizes) => {
  const channel = window.chat;
  channel.bufferedAmountLowThreshold = 1 << 20;
  for (let n = first; n < end; n++) {
    while (channel.bufferedAmount > (4 << 20)) {
      await new Promise((resolve) => channel.once('bufferedamountlow', resolve));
    }
    channel.send(body(n, sizes[n % sizes.length]));
  }
};

window.checkBurst = (count, sizes) => {
  const binary = [];
  for (const messages of Object.values(window.received)) {
    binary.push(...messages.filter((m) => typeof m !== 'string'));
  }
  let intact = 0, firstBad = null;
  for (let n = 0; n < binary.length; n++) {
    const expected = body(n, sizes[n % sizes.length]);
    const got = binary[n];
    let same = got.length === expected.length;
    for (let i = 0; same && i < got.length; i++) same = got[i] === expected[i];
    if (same) intact++;
    else if (firstBad === null) firstBad = n;
  }
  return {received: binary.length, intact, firstBad};
};

window.oversize = (size) => {
  try {
    window.chat.send(new Uint8Array(size));
    return null;
  } catch (error) {
    return String(error);
  }
};
</script>
"""


class Signaling:
    """The server side of the pages' requests; receive transports on ``recv_router`` when
    given (a router the sending one pipes to)."""

    def __init__(
        self, router: mediasoup_py.Router, recv_router: mediasoup_py.Router | None = None
    ) -> None:
        self.router = router
        self.recv_router = recv_router or router
        self.transports: dict[str, Any] = {}
        self.data_producers: dict[str, mediasoup_py.DataProducer] = {}
        self.data_consumers: list[mediasoup_py.DataConsumer] = []

    async def handle(self, method: str, data: dict[str, Any]) -> Any:
        if method == "capabilities":
            return self.router.rtp_capabilities
        if method == "createTransport":
            router = self.recv_router if data["direction"] == "recv" else self.router
            transport = await router.create_webrtc_transport(
                listen_infos=LOOPBACK_UDP,  # type: ignore[arg-type]
                enable_sctp=True,
                sctp_send_buffer_size=SEND_BUFFER,
            )
            self.transports[transport.id] = transport
            return {
                "id": transport.id,
                "iceParameters": transport.ice_parameters,
                "iceCandidates": transport.ice_candidates,
                "dtlsParameters": transport.dtls_parameters,
                "sctpParameters": transport.sctp_parameters,
            }
        transport = self.transports[data["transportId"]]
        if method == "connect":
            await transport.connect(dtls_parameters=data["dtlsParameters"])
            return {}
        if method == "produceData":
            producer = await transport.produce_data(
                sctp_stream_parameters=data["sctpStreamParameters"],
                label=data["label"],
                protocol=data["protocol"],
            )
            self.data_producers[producer.id] = producer
            return {"id": producer.id}
        if method == "consumeData":
            consumer = await transport.consume_data(data_producer_id=data["dataProducerId"])
            self.data_consumers.append(consumer)
            return {
                "id": consumer.id,
                "dataProducerId": consumer.data_producer_id,
                "sctpStreamParameters": consumer.sctp_stream_parameters,
                "label": consumer.label,
                "protocol": consumer.protocol,
            }
        raise ValueError(method)


async def scenario() -> dict[str, Any]:
    worker = await mediasoup_py.create_worker(rtc_min_port=46700, rtc_max_port=46799)
    app = web.Application()
    app.router.add_get("/", lambda _: web.Response(text=PAGE, content_type="text/html"))
    app.router.add_get("/bundle.js", lambda _: web.FileResponse(BUNDLE))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/"  # type: ignore[union-attr]
    try:
        router = await worker.create_router(media_codecs=[])
        signaling = Signaling(router)
        async with async_playwright() as playwright, browser_context(playwright) as browser:
            pages = {}
            chats = {}
            for name in ("ann", "ben"):
                page = pages[name] = await browser.new_page()
                await page.expose_function("signal", signaling.handle)
                await page.goto(url)
                chats[name] = await page.evaluate("window.setUp()")
            # Each consumes the other's chat.
            consumed = {
                "ann": await pages["ann"].evaluate("(id) => window.consumeData(id)", chats["ben"]),
                "ben": await pages["ben"].evaluate("(id) => window.consumeData(id)", chats["ann"]),
            }
            await pages["ann"].evaluate("window.chat.send('hello ben')")
            await pages["ben"].evaluate("window.chat.send('hello ann')")
            await pages["ben"].evaluate("window.chat.send('')")

            texts: dict[str, Any] = {}

            async def chatted() -> bool:
                for name, page in pages.items():
                    texts[name] = await page.evaluate("window.texts()")
                return all(sum(len(m) for m in t.values()) >= 1 for t in texts.values()) and (
                    sum(len(m) for m in texts["ann"].values()) >= 2
                )

            await wait_until(chatted, "the chat both ways")

            # A bot in Python: a direct consumer of Ann's chat that echoes through a direct
            # producer Ben consumes.
            direct = await router.create_direct_transport()
            bot_in = await direct.consume_data(data_producer_id=chats["ann"])
            bot_out = await direct.produce_data(label="bot")
            heard: list[tuple[bytes, int | None]] = []

            def echo(message: bytes, ppid: int | None) -> None:
                heard.append((message, ppid))
                if ppid == 51:  # Text: echoed.
                    bot_out.send("echo: " + message.decode())

            bot_in.on("message", echo)
            bot_consumer = await pages["ben"].evaluate("(id) => window.consumeData(id)", bot_out.id)
            await pages["ann"].evaluate("window.chat.send('are you there, bot?')")

            async def echoed() -> bool:
                texts["ben"] = await pages["ben"].evaluate("window.texts()")
                return any("echo: are you there, bot?" in m for m in texts["ben"].values())

            await wait_until(echoed, "the bot's echo")

            # The burst, Ann to Ben (ordered, reliable), checked message by message.
            full: list[str] = []
            for consumer in signaling.data_consumers:
                consumer.on("sctpsendbufferfull", lambda c=consumer: full.append(c.id))
            started = asyncio.get_running_loop().time()
            burst: dict[str, Any] = {}
            for first in range(0, BURST, WINDOW):
                end = min(BURST, first + WINDOW)
                await pages["ann"].evaluate(
                    "([first, end, sizes]) => window.sendBurst(first, end, sizes)",
                    [first, end, list(BURST_SIZES)],
                )

                async def window_arrived(end: int = end) -> bool:
                    burst.update(
                        await pages["ben"].evaluate(
                            "([n, sizes]) => window.checkBurst(n, sizes)",
                            [BURST, list(BURST_SIZES)],
                        )
                    )
                    return bool(burst["received"] >= end)

                await wait_until(window_arrived, f"messages {first}..{end}", timeout=30)
            burst["seconds"] = asyncio.get_running_loop().time() - started
            # Above maxSctpMessageSize: refused at the sender; the channel still works.
            oversize = await pages["ann"].evaluate("(size) => window.oversize(size)", 262_145)
            await pages["ann"].evaluate("window.chat.send('still here')")

            async def still_here() -> bool:
                # On Ben's chat, and echoed by the bot (which hears it through the worker and
                # answers through Python, so later).
                texts["ben"] = await pages["ben"].evaluate("window.texts()")
                return all(
                    any(text in messages for messages in texts["ben"].values())
                    for text in ("still here", "echo: still here")
                )

            await wait_until(still_here, "the chat and the bot's echo after the refused message")
            stats = {
                "producers": {
                    p.label + ":" + p.id[:4]: (await p.get_stats())[0]
                    for p in signaling.data_producers.values()
                },
                "consumers": [(await c.get_stats())[0] for c in signaling.data_consumers],
            }
            sctp_states = sorted({t.sctp_state for t in signaling.transports.values()})
            # Closing Ann's chat closes its consumers (Ben's and the bot's): they hear of it.
            closed_events: list[str] = []
            for consumer in signaling.data_consumers:
                consumer.on("dataproducerclose", lambda c=consumer: closed_events.append(c.label))
            bot_in.on("dataproducerclose", lambda: closed_events.append("bot_in"))
            signaling.data_producers[chats["ann"]].close()
            await asyncio.sleep(0.2)
        return {
            "chats": chats,
            "consumed": consumed,
            "texts": texts,
            "botConsumer": bot_consumer,
            "botHeardTexts": [m.decode() for m, ppid in heard if ppid == 51],
            "botHeardBinary": sum(1 for _, ppid in heard if ppid == 53),
            "burst": burst,
            "sendBufferFull": full,
            "oversize": oversize,
            "stats": stats,
            "sctpStates": sctp_states,
            "closedEvents": closed_events,
            "sctpParameters": signaling.transports[
                next(iter(signaling.transports))
            ].sctp_parameters,
        }
    finally:
        await runner.cleanup()
        worker.close()


def main() -> int:
    result = asyncio.run(asyncio.wait_for(scenario(), 100))
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
