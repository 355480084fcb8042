"""A headless Chromium tab in the demo of one cluster node (run on that node's host): it
joins room ``r`` with its fake camera (three simulcast layers) and microphone, and prints a
JSON line once it decodes the other participant (a tab on another node) at the top layer
with sound; with ``--pick-low`` it then picks the low layer in the page's layer picker and
prints a line once the decoder shows it. It stays (sending) until its stdin closes.

    python -m tests.interop.cluster_tab --url http://ADDRESS:8080/ --name ann [--pick-low]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from playwright.async_api import async_playwright

from tests.interop.chromium_mediasoup_client import browser_context
from tests.interop.chromium_webrtc import wait_until
from tests.interop.demo_browsers import REMOTE_VIDEO, join


async def run(url: str, name: str, pick_low: bool) -> None:
    # The page is on the host's address, not localhost: the camera and crypto.randomUUID
    # need a secure context, which Chromium grants this origin only when told (as a site
    # would be served over https).
    secure = f"--unsafely-treat-insecure-origin-as-secure={url.rstrip('/')}"
    async with (
        async_playwright() as playwright,
        browser_context(playwright, (secure,)) as browser,
    ):
        page = await browser.new_page()
        await join(page, url, name)
        seen: dict[str, Any] = {}

        async def decoding() -> bool:
            remote = await page.evaluate(REMOTE_VIDEO)
            seen["top"] = remote
            return bool(
                remote
                and remote["framesDecoded"] >= 30
                and remote["spread"] > 5
                and remote["audioSamplesDecoded"] > 0
                and remote["width"] == 1280
            )

        await wait_until(decoding, "the other node's tab at the top layer", timeout=60)
        print(json.dumps({"top": seen["top"]}), flush=True)
        if pick_low:
            await page.select_option(".tile select", "0")

            async def low_layer() -> bool:
                remote = await page.evaluate(REMOTE_VIDEO)
                seen["low"] = remote
                return bool(remote and remote["width"] == 320)

            await wait_until(low_layer, "the low layer after picking it", timeout=30)
            print(json.dumps({"low": seen["low"]}), flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--pick-low", action="store_true")
    arguments = parser.parse_args()
    asyncio.run(asyncio.wait_for(run(arguments.url, arguments.name, arguments.pick_low), 150))
    return 0


if __name__ == "__main__":
    sys.exit(main())
