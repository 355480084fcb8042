"""mediasoup-client 2.x (npm, unmodified) in headless Chromium, in a mediasoup_py room through
the v2 example app (examples/v2_room: aiohttp, one WebSocket per page carrying the v2
protocol): two pages send their fake camera and microphone (one as three simulcast streams)
and each decodes the other; a preferred profile moves the receiver to a lower stream; a page
that closes is gone from the other page and from the server. Prints the result as JSON.

Run inside a network namespace that has only ``lo`` (the pytest test does that):

    python -m tests.interop.chromium_v2_room
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from playwright.async_api import Page, async_playwright

from tests.interop.chromium_mediasoup_client import browser_context
from tests.interop.chromium_webrtc import TIMEOUT_S, wait_until

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "v2_room" / "server.py"
RTC_PORTS = (48800, 48899)


def example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("v2_room_server", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def received(page: Page, kind: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = await page.evaluate("window.receivedStats()")
    return [entry for entry in entries if entry["kind"] == kind]


async def decoding(page: Page) -> dict[str, Any] | None:
    """The page's decoded video and audio once both flow, else None."""
    video = [e for e in await received(page, "video") if (e.get("framesDecoded") or 0) >= 30]
    audio = [e for e in await received(page, "audio") if (e.get("totalSamplesReceived") or 0) > 0]
    if not video or not audio:
        return None
    return {"video": video[0], "audio": audio[0]}


async def scenario() -> dict[str, Any]:
    runner, app, url = await example().serve("127.0.0.1", 0, "127.0.0.1", RTC_PORTS)
    try:
        async with async_playwright() as playwright, browser_context(playwright) as browser:
            alice, bob = await browser.new_page(), await browser.new_page()
            for page, name, simulcast in ((alice, "alice", "1"), (bob, "bob", "0")):
                await page.goto(f"{url}?room=v2&peer={name}&simulcast={simulcast}")
                await page.wait_for_function(
                    "document.getElementById('status').textContent.startsWith('in room')",
                    timeout=20_000,
                )
            seen: dict[str, Any] = {}

            async def both_decode() -> bool:
                for page, name in ((alice, "alice"), (bob, "bob")):
                    seen[name] = await decoding(page)
                return all(seen.values())

            await wait_until(both_decode, "each page to decode the other")
            room = app.rooms["v2"]
            alice_peer = room.get_peer("alice")
            producers = {
                producer.kind: {
                    "type": producer.type,
                    "encodings": len(producer.rtp_parameters["encodings"]),
                }
                for producer in alice_peer.producers.values()
            }
            bob_consumer = next(
                c for c in room.get_peer("bob").consumers.values() if c.kind == "video"
            )
            profiles: dict[str, Any] = {}
            # Why bob's consumer is where it is (consumer.explain()), when a switch waits.
            explained: dict[str, Any] = {}
            # Bob asks for each of alice's streams in turn: the client notifies
            # setConsumerPreferredProfile, the server switches at that stream's keyframe and
            # says so (consumerEffectiveProfileChanged), and bob's decoder carries on. The high
            # stream comes last and may take longer: Chromium sends its top encoding only once
            # its own bandwidth estimate reaches it, and bob's transport's estimate must allow
            # it too (both ramp up from the call's start; a clean CI run once needed over 20 s).
            # On a loaded machine both estimates climb slower, and medium waited over 20 s
            # too: the three switches share one budget (what their separate ceilings added up
            # to) rather than each having its own.
            switches_deadline = asyncio.get_running_loop().time() + 2 * TIMEOUT_S + 45
            for profile in ("low", "medium", "high"):
                await bob.evaluate(
                    "(profile) => window.consumers.find((c) => c.kind === 'video')"
                    ".setPreferredProfile(profile)",
                    profile,
                )

                async def switched(profile: str = profile) -> bool:
                    effective = await bob.evaluate(
                        "window.consumers.find((c) => c.kind === 'video').effectiveProfile"
                    )
                    if bob_consumer.consumer is not None:
                        explained.update(await bob_consumer.consumer.explain())
                    return bool(effective == profile)

                asked = asyncio.get_running_loop().time()
                await wait_until(
                    switched,
                    lambda profile=profile: f"bob's consumer to switch to {profile}: {explained}",
                    timeout=switches_deadline - asyncio.get_running_loop().time(),
                )
                took = asyncio.get_running_loop().time() - asked
                before = (await received(bob, "video"))[0]["framesDecoded"]
                await asyncio.sleep(2)
                after = (await received(bob, "video"))[0]["framesDecoded"]
                profiles[profile] = {
                    "layers": bob_consumer.consumer.current_layers
                    if bob_consumer.consumer
                    else None,
                    "framesDecodedIn2s": after - before,
                    "switchSeconds": round(took, 1),
                }

            await alice.close()
            gone: dict[str, Any] = {}

            async def alice_gone() -> bool:
                gone["tiles"] = await bob.evaluate("window.tilePeers()")
                gone["serverPeers"] = [peer.id for peer in room.peers]
                return "alice" not in gone["tiles"] and gone["serverPeers"] == ["bob"]

            await wait_until(alice_gone, "alice to be gone")
            dump = room.dump()
        return {
            "seen": seen,
            "aliceProducers": producers,
            "profiles": profiles,
            "gone": gone,
            "dump": dump,
        }
    finally:
        await runner.cleanup()


def main() -> int:
    result = asyncio.run(asyncio.wait_for(scenario(), timeout=130))
    print(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
