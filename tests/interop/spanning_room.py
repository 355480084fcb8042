"""A demo room spanning two workers, as its users meet it: a headless Chromium tab and the
demo's bot (pymediasoup) join the same room through the demo's WebSocket; each lands on its
own worker (transports placed by load), and each decodes the other through the automatic
pipes between the workers. Then the bot closes its video producer (its piped copy goes,
and the tab is told), and the bot's worker dies: the tab stays in the room with its media,
and a new bot, placed on the live worker, is seen by the tab again. Printed as JSON.

Run inside a network namespace that has only ``lo`` (the pytest test does):

    python -m tests.interop.spanning_room
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from aiohttp import web
from aiortc.mediastreams import MediaStreamError, VideoStreamTrack
from playwright.async_api import async_playwright

import mediasoup_py
from mediasoup_py import protocol
from mediasoup_py.demo import DemoServer, DemoSettings
from mediasoup_py.demo.bot import Bot, Tone, include_loopback_candidates
from tests.interop.chromium_mediasoup_client import browser_context
from tests.interop.chromium_webrtc import wait_until
from tests.interop.demo_browsers import REMOTE_VIDEO, join


async def start_demo() -> tuple[DemoServer, web.AppRunner, str]:
    server = DemoServer(DemoSettings(workers=2, rtc_min_port=47900, rtc_max_port=47999))
    await server.start()
    runner = web.AppRunner(server.app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return server, runner, f"http://127.0.0.1:{port}/"


class FrameCounter:
    """Decoded frames of the bot's remote tracks, by kind (aiortc decodes them)."""

    def __init__(self) -> None:
        self.frames = {"audio": 0, "video": 0}
        self._tasks: list[asyncio.Task[None]] = []
        self._watched: set[str] = set()

    def watch(self, bot: Bot) -> None:
        for consumer in bot.consumers:
            if consumer.id not in self._watched:
                self._watched.add(consumer.id)
                self._tasks.append(asyncio.ensure_future(self._count(consumer.kind, consumer)))

    async def _count(self, kind: str, consumer: Any) -> None:
        try:
            while True:
                await consumer.track.recv()
                self.frames[kind] += 1
        except MediaStreamError:
            return

    def stop(self) -> None:
        for task in self._tasks:
            task.cancel()


def peer_named(room: mediasoup_py.Room, name: str) -> mediasoup_py.RoomPeer:
    (peer,) = [peer for peer in room.peers if peer.display_name == name and not peer.closed]
    return peer


def worker_of(room: mediasoup_py.Room, peer: mediasoup_py.RoomPeer) -> list[int]:
    routers = {room.router_of(transport) for transport in peer.transports.values()}
    return sorted(router.worker.id for router in routers if router is not None)


async def scenario() -> dict[str, Any]:
    include_loopback_candidates()
    server, runner, url = await start_demo()
    result: dict[str, Any] = {}
    counter = FrameCounter()
    try:
        async with async_playwright() as playwright, browser_context(playwright) as browser:
            page = await browser.new_page()
            await join(page, url, "alice")
            bot = Bot(url, "demo", "bot", None)
            await bot.join([VideoStreamTrack(), Tone()])
            room = server.rooms["demo"]

            async def both_decode() -> bool:
                counter.watch(bot)
                remote = await page.evaluate(REMOTE_VIDEO)
                result["aliceSees"] = remote
                return bool(
                    remote
                    and remote["framesDecoded"] >= 30
                    and counter.frames["video"] >= 30
                    and counter.frames["audio"] >= 50
                )

            await wait_until(both_decode, "the tab and the bot to decode each other")
            result["botDecoded"] = dict(counter.frames)
            alice, robot = peer_named(room, "alice"), peer_named(room, "bot")
            result["workers"] = {"alice": worker_of(room, alice), "bot": worker_of(room, robot)}
            result["routers"] = len(room.routers)
            consumers_by_worker: dict[int, int] = {}
            for peer in (alice, robot):
                (worker_id,) = worker_of(room, peer)
                consumers_by_worker[worker_id] = len(peer.consumers)
            result["consumersByWorker"] = consumers_by_worker
            pipes = room.dump()["pipes"]
            result["pipes"] = sorted(
                (pipe["producerId"] in alice.producers, pipe["producerId"] in robot.producers)
                for pipe in pipes
            )
            result["pipedOnce"] = len({pipe["producerId"] for pipe in pipes}) == len(pipes)

            # The bot closes its video producer, as its client would.
            (video,) = [p for p in robot.producers.values() if p.kind == "video"]
            alice_router = room.router_of(next(iter(alice.transports.values())))
            assert alice_router is not None
            capabilities = room.router.rtp_capabilities
            result["copyBeforeClose"] = alice_router.can_consume(
                producer_id=video.id, rtp_capabilities=capabilities
            )
            await robot.receive_request(  # type: ignore[attr-defined]
                protocol.request("closeProducer", {"producerId": video.id})
            )
            await asyncio.sleep(0.5)
            result["copyAfterClose"] = alice_router.can_consume(
                producer_id=video.id, rtp_capabilities=capabilities
            )
            result["pipesAfterClose"] = len(room.dump()["pipes"])
            result["aliceVideoConsumers"] = sum(
                consumer.kind == "video" for consumer in alice.consumers.values()
            )

            # The bot's worker dies.
            (bot_worker_id,) = worker_of(room, robot)
            (dying,) = [w for w in server.workers if w.id == bot_worker_id]
            dying._debug_panic()
            await wait_until(
                lambda: asyncio.sleep(0, result=dying.closed), "the bot's worker to die"
            )
            await asyncio.sleep(0.5)
            result["afterDeath"] = {
                "roomClosed": room.closed,
                "aliceJoined": alice.joined and not alice.closed,
                "aliceTransports": len(alice.transports),
                "botTransports": len(robot.transports),
                "routers": len(room.routers),
                "homeWorker": room.router.worker.id,
                "aliceConsumers": len(alice.consumers),
            }
            await bot.close()
            counter.stop()

            # A new bot comes back, onto the live worker; the tab sees it.
            again = Bot(url, "demo", "bot2", None)
            await again.join([VideoStreamTrack(), Tone()])

            async def sees_again() -> bool:
                remote = await page.evaluate(REMOTE_VIDEO)
                result["aliceSeesAgain"] = remote
                return bool(
                    remote
                    and remote["name"] == "bot2"
                    and remote["width"] > 0
                    and remote["framesDecoded"] >= 30
                )

            await wait_until(sees_again, "the tab to see the new bot")
            result["bot2Workers"] = worker_of(room, peer_named(room, "bot2"))
            result["aliceWorkers"] = worker_of(room, alice)
            await again.close()
        return result
    finally:
        counter.stop()
        await runner.cleanup()
        await server.close()


def main() -> int:
    result = asyncio.run(asyncio.wait_for(scenario(), 100))
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
