"""A DataChannel piped between two workers, with mediasoup-client 3.24 (npm) in headless
Chromium at both ends: the page's send transport is on a router of one worker, its receive
transport on a router of another; the server pipes the page's channel
(``pipe_to_router(data_producer_id=...)``, over the two routers' PipeTransports on real UDP
sockets) and the page consumes the copy. A chat message, then a burst of ordered messages
of 1 byte to 256 KiB, each checked; a DirectTransport consumer in Python on the far router
hears the same; stats on every hop, then the close cascade from the page's producer to its
consumer through the pipe. The pages, their signaling and the burst are
tests/interop/chromium_datachannels.py's. The result is printed as JSON.

Run inside a network namespace that has only ``lo`` (the pytest test does):

    python -m tests.interop.chromium_data_pipe
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from aiohttp import web
from playwright.async_api import async_playwright

import mediasoup_py
from tests.interop.chromium_datachannels import BUNDLE, BURST_SIZES, PAGE, WINDOW, Signaling
from tests.interop.chromium_mediasoup_client import browser_context
from tests.interop.chromium_webrtc import wait_until

BURST = 120


async def scenario() -> dict[str, Any]:
    sending_worker = await mediasoup_py.create_worker(rtc_min_port=46800, rtc_max_port=46849)
    receiving_worker = await mediasoup_py.create_worker(rtc_min_port=46850, rtc_max_port=46899)
    app = web.Application()
    app.router.add_get("/", lambda _: web.Response(text=PAGE, content_type="text/html"))
    app.router.add_get("/bundle.js", lambda _: web.FileResponse(BUNDLE))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/"  # type: ignore[union-attr]
    try:
        source = await sending_worker.create_router(media_codecs=[])
        destination = await receiving_worker.create_router(media_codecs=[])
        signaling = Signaling(source, recv_router=destination)
        async with async_playwright() as playwright, browser_context(playwright) as browser:
            page = await browser.new_page()
            await page.expose_function("signal", signaling.handle)
            await page.goto(url)
            chat_id = await page.evaluate("window.setUp()")
            piped = await source.pipe_to_router(data_producer_id=chat_id, router=destination)
            consumed = await page.evaluate("(id) => window.consumeData(id)", chat_id)
            bot = await (await destination.create_direct_transport()).consume_data(
                data_producer_id=chat_id
            )
            bot_heard: list[tuple[int, int | None]] = []
            bot.on("message", lambda message, ppid: bot_heard.append((len(message), ppid)))
            await page.evaluate("window.chat.send('hello through the pipe')")
            texts: dict[str, Any] = {}

            async def chatted() -> bool:
                texts.update(await page.evaluate("window.texts()"))
                return any(texts.values())

            await wait_until(chatted, "the chat message back through the pipe")
            burst: dict[str, Any] = {}
            started = asyncio.get_running_loop().time()
            for first in range(0, BURST, WINDOW):
                end = min(BURST, first + WINDOW)
                await page.evaluate(
                    "([first, end, sizes]) => window.sendBurst(first, end, sizes)",
                    [first, end, list(BURST_SIZES)],
                )

                async def window_arrived(end: int = end) -> bool:
                    burst.update(
                        await page.evaluate(
                            "([n, sizes]) => window.checkBurst(n, sizes)",
                            [BURST, list(BURST_SIZES)],
                        )
                    )
                    return bool(burst["received"] >= end)

                await wait_until(window_arrived, f"messages {first}..{end}", timeout=30)
            burst["seconds"] = asyncio.get_running_loop().time() - started

            async def bot_heard_all() -> bool:
                return len(bot_heard) >= BURST + 1

            await wait_until(bot_heard_all, "the bot's copy")
            pipe_transport = piped.pipe_data_consumer.transport
            stats = {
                "producer": (await signaling.data_producers[chat_id].get_stats())[0],
                "pipeConsumer": (await piped.pipe_data_consumer.get_stats())[0],
                "pipeProducer": (await piped.pipe_data_producer.get_stats())[0],
                "consumer": (await signaling.data_consumers[0].get_stats())[0],
                "pipe": (await pipe_transport.get_stats())[0],
            }
            # Closing the page's producer closes its copy and the page's consumer of it.
            closed: list[str] = []
            signaling.data_consumers[0].on("dataproducerclose", lambda: closed.append("page"))
            bot.on("dataproducerclose", lambda: closed.append("bot"))
            signaling.data_producers[chat_id].close()

            async def cascaded() -> bool:
                return sorted(closed) == ["bot", "page"]

            await wait_until(cascaded, "dataproducerclose through the pipe")
        return {
            "onSendingWorker": sorted(
                t.router.worker is sending_worker for t in signaling.transports.values()
            ),
            "consumed": consumed,
            "texts": texts,
            "burst": burst,
            "botHeard": {"count": len(bot_heard), "first": bot_heard[0]},
            "stats": stats,
            "pipedId": piped.pipe_data_producer.id == chat_id,
            "closed": sorted(closed),
            "pipeProducerClosed": piped.pipe_data_producer.closed,
        }
    finally:
        await runner.cleanup()
        sending_worker.close()
        receiving_worker.close()


def main() -> int:
    result = asyncio.run(asyncio.wait_for(scenario(), 100))
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
