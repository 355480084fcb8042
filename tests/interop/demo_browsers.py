"""The demo as a user meets it: its web server and SFU in this process, and two headless
Chromium tabs that open its page, type a name, press Join and see each other. The result
(what each tab decoded, whether the remote video shows a picture) is printed as JSON and a
screenshot of the first tab is saved in tests/artifacts/. With ``--bot`` the second participant
is the demo's bot instead (pymediasoup over aiortc), which records what it receives; with
``--firefox`` it is Debian's Firefox ESR (driven over WebDriver BiDi by puppeteer-core,
tests/interop/firefox).

Run inside a network namespace that has only ``lo`` (the pytest tests do):

    python -m tests.interop.demo_browsers [--bot | --firefox]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from pathlib import Path
from typing import Any

from aiohttp import web
from aiortc.contrib.media import MediaRecorder
from aiortc.mediastreams import VideoStreamTrack
from playwright.async_api import Page, async_playwright

from benches.av_sync import analyse
from mediasoup_py.demo import DemoServer, DemoSettings
from mediasoup_py.demo.bot import Bot, Tone, include_loopback_candidates
from tests.interop.chromium_mediasoup_client import browser_context
from tests.interop.chromium_webrtc import wait_until
from tests.interop.ffmpeg_peer import probe

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
# The ceiling of each wait on the bot, and of a whole scenario (run_in_namespace's default
# allows a little more): sized for a loaded machine, reached only when something is wrong.
BOT_TIMEOUT_S = 40.0
SCENARIO_TIMEOUT_S = 110.0
FIREFOX_PARTICIPANT = Path(__file__).resolve().parent / "firefox" / "participant.mjs"

# The remote tile's video: frames decoded, size, and how much its pixels vary (a blank or
# black frame barely varies).
REMOTE_VIDEO = """async () => {
  const tile = [...document.querySelectorAll('.tile')].find((t) => t.dataset.peerId !== 'me');
  if (!tile) return null;
  const video = tile.querySelector('video');
  let framesDecoded = 0, audioSamplesDecoded = 0;
  for (const entry of window.demoConsumers()) {
    (await entry.consumer.getStats()).forEach((report) => {
      if (report.type !== 'inbound-rtp') return;
      if (report.kind === 'video') framesDecoded = report.framesDecoded;
      if (report.kind === 'audio') audioSamplesDecoded = report.totalSamplesReceived || 0;
    });
  }
  let spread = 0, mean = 0;
  if (video.videoWidth) {
    const canvas = document.createElement('canvas');
    canvas.width = 64;
    canvas.height = 48;
    const context = canvas.getContext('2d');
    context.drawImage(video, 0, 0, 64, 48);
    const pixels = context.getImageData(0, 0, 64, 48).data;
    let sum = 0, squares = 0, count = 0;
    for (let i = 0; i < pixels.length; i += 4) {
      const luma = (pixels[i] + pixels[i + 1] + pixels[i + 2]) / 3;
      sum += luma; squares += luma * luma; count++;
    }
    spread = Math.sqrt(squares / count - (sum / count) ** 2);
    mean = sum / count;
  }
  return {framesDecoded, audioSamplesDecoded, width: video.videoWidth,
    height: video.videoHeight, spread, mean, name: tile.querySelector('.name').textContent};
}"""


async def join(page: Page, url: str, name: str) -> None:
    await page.goto(url)
    # Test hook: the page's consumers, for getStats.
    await page.evaluate("window.demoConsumers = () => [...state.consumers.values()]")
    await page.fill("#name", name)
    await page.click("#join")
    # Joined (the page shows it) before anyone else comes.
    await page.wait_for_function(
        "document.getElementById('status').textContent.startsWith('in room')", timeout=20_000
    )


async def start_demo() -> tuple[DemoServer, web.AppRunner, str]:
    server = DemoServer(DemoSettings(workers=1, rtc_min_port=47800, rtc_max_port=47899))
    await server.start()
    runner = web.AppRunner(server.app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return server, runner, f"http://127.0.0.1:{port}/"


async def with_bot() -> dict[str, Any]:
    """A Chromium tab and the bot call each other; the bot records the tab to a file."""
    include_loopback_candidates()
    server, runner, url = await start_demo()
    try:
        async with async_playwright() as playwright, browser_context(playwright) as browser:
            page = await browser.new_page()
            await join(page, url, "alice")
            ARTIFACTS.mkdir(exist_ok=True)
            recording = ARTIFACTS / "bot-recording.webm"
            bot = Bot(url, "demo", "bot", MediaRecorder(str(recording)))
            peers = await bot.join([VideoStreamTrack(), Tone()])
            seen: dict[str, Any] = {}

            async def page_sees_bot() -> bool:
                remote = await page.evaluate(REMOTE_VIDEO)
                seen["alice"] = remote
                return bool(remote and remote["framesDecoded"] >= 30)

            # aiortc encodes and decodes in Python threads: seconds on a loaded machine.
            await wait_until(
                page_sees_bot,
                lambda: (
                    f"the tab to see the bot (it saw {seen}; the bot consumes "
                    f"{sorted(consumer.kind for consumer in bot.consumers)}; the server has "
                    f"{server.status()})"
                ),
                BOT_TIMEOUT_S,
            )
            status = server.status()

            async def bot_recorded_enough() -> bool:
                # aiortc decodes the tab's 720p camera in Python: on a loaded machine far
                # fewer than 30 frames a second reach the recorder.
                return bot.recorded.get("video", 0) >= 45 and bot.recorded.get("audio", 0) >= 75

            await wait_until(
                bot_recorded_enough,
                lambda: f"the bot to record the tab ({bot.recorded})",
                BOT_TIMEOUT_S,
            )
            await bot.close()
            streams = await probe(recording)
            analysis = await analyse(recording)
        return {
            "peersAtBotJoin": [peer["displayName"] for peer in peers],
            "seen": seen,
            "status": status,
            "botConsumers": sorted(consumer.kind for consumer in bot.consumers),
            "botNotifications": sorted({message["method"] for message in bot.notifications}),
            "recording": streams,
            "recordingTimestampComplaints": analysis.timestamp_complaints,
            "recordingDecodeErrors": analysis.decode_errors,
        }
    finally:
        await runner.cleanup()
        await server.close()


async def with_firefox() -> dict[str, Any]:
    """A Chromium tab and a Firefox tab join the same room and each decodes the other."""
    server, runner, url = await start_demo()
    firefox = await asyncio.create_subprocess_exec(
        "node",
        str(FIREFOX_PARTICIPANT),
        url,
        "fox",
        "60",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert firefox.stdin is not None
        assert firefox.stdout is not None
        firefox.stdin.write(REMOTE_VIDEO.encode())
        firefox.stdin.close()
        async with async_playwright() as playwright, browser_context(playwright) as browser:
            page = await browser.new_page()
            await join(page, url, "chris")
            seen: dict[str, Any] = {}

            async def firefox_sees_chromium() -> None:
                assert firefox.stdout is not None
                while True:
                    line = await firefox.stdout.readline()
                    if not line:
                        raise RuntimeError("the Firefox participant ended")
                    message = json.loads(line)
                    if "joined" in message:
                        seen["firefoxUserAgent"] = message["userAgent"]
                        continue
                    remote = message["seen"]
                    seen["firefox"] = remote
                    if remote and remote["framesDecoded"] >= 30 and remote["spread"] > 5:
                        return

            async def chromium_sees_firefox() -> bool:
                remote = await page.evaluate(REMOTE_VIDEO)
                seen["chromium"] = remote
                return bool(remote and remote["framesDecoded"] >= 30 and remote["width"] > 0)

            await asyncio.wait_for(firefox_sees_chromium(), 45)
            await wait_until(chromium_sees_firefox, "the Chromium tab to see Firefox")
            # Firefox's fake camera is one colour at a time, changing: the picture moves.
            await asyncio.sleep(1.5)
            seen["chromiumLater"] = await page.evaluate(REMOTE_VIDEO)
            producers = {
                peer.display_name: sorted(
                    (producer.kind, producer.type) for producer in peer.producers.values()
                )
                for room in server.rooms.values()
                for peer in room.peers
            }
        return {"seen": seen, "producers": producers}
    finally:
        with contextlib.suppress(ProcessLookupError):
            firefox.terminate()
        await firefox.wait()
        await runner.cleanup()
        await server.close()


async def scenario() -> dict[str, Any]:
    server, runner, url = await start_demo()
    try:
        async with async_playwright() as playwright, browser_context(playwright) as browser:
            alice, bob = await browser.new_page(), await browser.new_page()
            await join(alice, url, "alice")
            await join(bob, url, "bob")
            seen: dict[str, Any] = {}
            for name, page in (("alice", alice), ("bob", bob)):

                async def decoding(page: Page = page, name: str = name) -> bool:
                    remote = await page.evaluate(REMOTE_VIDEO)
                    seen[name] = remote
                    # The top layer comes once the sender's bandwidth estimate allows it.
                    return bool(
                        remote
                        and remote["framesDecoded"] >= 30
                        and remote["spread"] > 5
                        and remote["width"] == 1280
                    )

                await wait_until(decoding, f"{name} to see the other")
            status = server.status()
            traffic = await server.traffic()
            # The chat (DataChannels): each types a line, the other sees it with its name.
            # The room's bot repeats to everyone what it is told.
            for page, text in (
                (alice, "hello from alice"),
                (bob, "hello from bob"),
                (alice, "@bot ping"),
            ):
                await page.fill("#message", text)
                await page.click("#say")
            chat: dict[str, list[str]] = {}

            async def chatted() -> bool:
                for name, page in (("alice", alice), ("bob", bob)):
                    chat[name] = await page.evaluate(
                        "[...document.querySelectorAll('#messages li')].map((li) => li.textContent)"
                    )
                return all(len(lines) >= 3 for lines in chat.values()) and len(chat["alice"]) >= 4

            await wait_until(chatted, "the chat both ways")
            ARTIFACTS.mkdir(exist_ok=True)
            screenshot = ARTIFACTS / "demo-two-tiles.png"
            await alice.screenshot(path=str(screenshot))
            tiles = await alice.evaluate("document.querySelectorAll('.tile').length")
            # Alice picks the low layer of Bob's video in the page.
            await alice.select_option(".tile select", "0")

            async def low_layer() -> bool:
                remote = await alice.evaluate(REMOTE_VIDEO)
                seen["aliceLow"] = remote
                return bool(remote and remote["width"] == 320)

            await wait_until(low_layer, "the low layer after picking it")
            (room,) = server.rooms.values()
            await bob.close()
            left_at = asyncio.get_running_loop().time()

            async def tile_removed() -> bool:
                tiles_now = await alice.evaluate("document.querySelectorAll('.tile').length")
                return bool(tiles_now == 1)

            await wait_until(tile_removed, "bob's tile to go")
            tile_removed_after = asyncio.get_running_loop().time() - left_at
            tiles_after_leave = await alice.evaluate("document.querySelectorAll('.tile').length")
            remaining = [(peer.display_name, len(peer.transports)) for peer in room.peers]
        return {
            "seen": seen,
            "status": status,
            "traffic": traffic,
            "chat": chat,
            "tiles": tiles,
            "tilesAfterLeave": tiles_after_leave,
            "tileRemovedAfter": tile_removed_after,
            "remainingPeers": remaining,
            "statusAfterLeave": server.status(),
            "screenshotBytes": screenshot.stat().st_size,
        }
    finally:
        await runner.cleanup()
        await server.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bot", action="store_true")
    parser.add_argument("--firefox", action="store_true")
    arguments = parser.parse_args()
    run = with_bot() if arguments.bot else with_firefox() if arguments.firefox else scenario()
    result = asyncio.run(asyncio.wait_for(run, SCENARIO_TIMEOUT_S))
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
