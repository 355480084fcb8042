"""The demo's chat (DataChannels) in a room spread over two workers: two headless Chromium
tabs join the demo page of a server with two workers and land on different workers (their
transports placed by load); each tab's chat channel reaches the other through the pipe the
room opens between the workers, and the room's chat bot (a DirectTransport on the room's
home router) hears the tab on the other worker and answers both. Then the tab away from
home leaves, and every data pipe of the room (all of them were for it) closes. Printed as
JSON.

Run inside a network namespace that has only ``lo`` (the pytest test does):

    python -m tests.interop.chromium_spanning_chat
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from aiohttp import web
from playwright.async_api import Page, async_playwright

from mediasoup_py.demo import DemoServer, DemoSettings
from tests.interop.chromium_mediasoup_client import browser_context
from tests.interop.chromium_webrtc import wait_until
from tests.interop.demo_browsers import join
from tests.interop.spanning_room import peer_named, worker_of

CHAT_LINES = "[...document.querySelectorAll('#messages li')].map((li) => li.textContent)"


async def scenario() -> dict[str, Any]:
    server = DemoServer(DemoSettings(workers=2, rtc_min_port=46500, rtc_max_port=46599))
    await server.start()
    runner = web.AppRunner(server.app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/"  # type: ignore[union-attr]
    try:
        async with async_playwright() as playwright, browser_context(playwright) as browser:
            alice, bob = await browser.new_page(), await browser.new_page()
            await join(alice, url, "alice")
            await join(bob, url, "bob")
            (room,) = server.rooms.values()
            workers = {
                "alice": worker_of(room, peer_named(room, "alice")),
                "bob": worker_of(room, peer_named(room, "bob")),
                "home": room.router.worker.id,
            }
            pages: dict[str, Page] = {"alice": alice, "bob": bob}

            async def channels_open() -> bool:
                # Each tab consumes the other's chat and the bot's channel.
                return all(len(peer.data_consumers) >= 2 for peer in room.peers)

            await wait_until(channels_open, "each tab's data consumers")
            # The tab away from the room's home worker talks to the bot there.
            far = "alice" if workers["alice"] != [workers["home"]] else "bob"
            for name, text in (
                ("alice", "hello from alice"),
                ("bob", "hello from bob"),
                (far, "@bot ping"),
            ):
                await pages[name].fill("#message", text)
                await pages[name].click("#say")
            chat: dict[str, list[str]] = {}

            async def chatted() -> bool:
                for name, page in pages.items():
                    chat[name] = await page.evaluate(CHAT_LINES)
                return sum(len(lines) for lines in chat.values()) >= 7

            await wait_until(chatted, "the chat across the workers")
            pipes = room.dump()["dataPipes"]
            # The far tab leaves: every data pipe was for it.
            await pages[far].close()

            async def unpiped() -> bool:
                return not room.dump()["dataPipes"]

            await wait_until(unpiped, "the data pipes of the far tab to close")
        return {"workers": workers, "far": far, "chat": chat, "dataPipes": pipes}
    finally:
        await runner.cleanup()
        await server.close()


def main() -> int:
    result = asyncio.run(asyncio.wait_for(scenario(), 100))
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
