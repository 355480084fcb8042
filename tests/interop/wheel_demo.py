"""The demo as installed from the wheel: ``VENV/bin/mediasoup-py demo`` runs from a virtual
environment that has only the wheel and its dependencies, with a PATH of that environment's
bin alone (no cargo, no node), and two headless Chromium tabs (driven from this process, in
the suite's .venv) join a room on it and each decode the other's video and audio. Also
measures, in that environment, ``python -c "import mediasoup_py"`` (process CPU time) and how
long a worker takes to start and answer (benches/startup.py measures both over many runs).

With ``--container ARGUMENT...`` it runs ``mediasoup-py demo`` with the arguments the
container image gives it (the Dockerfile's CMD, compose.yaml's command) instead, and reports
whether the page is served and what the demo logged.

Run inside a network namespace that has only ``lo`` (tests/interop/test_wheel.py does):

    python -m tests.interop.wheel_demo VENV [--container ARGUMENT...]

Prints JSON."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from pathlib import Path
from typing import Any

import aiohttp
from playwright.async_api import Page, async_playwright

from benches.startup import import_cpu_seconds, worker_start_seconds
from tests.interop.chromium_mediasoup_client import browser_context
from tests.interop.chromium_webrtc import wait_until
from tests.interop.demo_browsers import REMOTE_VIDEO, join

DEMO_PORT = 8080
STARTUP_TIMEOUT_S = 20


def clean_environment(venv: Path) -> dict[str, str]:
    """What a user's shell in that environment would have: its bin on PATH, nothing else."""
    return {"PATH": str(venv / "bin"), "HOME": str(venv), "LANG": "C.UTF-8"}


async def wait_for_page(url: str, demo: asyncio.subprocess.Process) -> None:
    deadline = asyncio.get_running_loop().time() + STARTUP_TIMEOUT_S
    async with aiohttp.ClientSession() as session:
        while True:
            if demo.returncode is not None:
                raise RuntimeError(f"mediasoup-py demo exited with {demo.returncode}")
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(url + "static/mediasoup-client.js") as response:
                    if response.status == 200:
                        return
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError("the demo did not serve its page")
            await asyncio.sleep(0.2)


async def start_demo(venv: Path, arguments: list[str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        str(venv / "bin" / "mediasoup-py"),
        "demo",
        *arguments,
        env=clean_environment(venv),
        cwd=str(venv),
        stderr=asyncio.subprocess.PIPE,
    )


async def stop_demo(demo: asyncio.subprocess.Process) -> str:
    """Ctrl-C, as a user stops it; what it logged."""
    with contextlib.suppress(ProcessLookupError):
        demo.send_signal(signal.SIGINT)
    try:
        _, log = await asyncio.wait_for(demo.communicate(), 10)
    except TimeoutError:
        demo.kill()
        _, log = await demo.communicate()
    return log.decode(errors="replace")[-4000:]


async def container(venv: Path, arguments: list[str]) -> dict[str, Any]:
    """The container's command line: the page is served on every address."""
    demo = await start_demo(venv, arguments)
    try:
        await wait_for_page(f"http://127.0.0.1:{DEMO_PORT}/", demo)
        served = True
    finally:
        log = await stop_demo(demo)
    return {"served": served, "demoLog": log}


async def scenario(venv: Path) -> dict[str, Any]:
    environment = clean_environment(venv)
    python = str(venv / "bin" / "python")
    result: dict[str, Any] = {
        "importCpuSeconds": import_cpu_seconds(python, environment),
        "workerStartSeconds": await asyncio.to_thread(worker_start_seconds, python, environment),
    }
    # The bot's dependencies came with the [demo] extra.
    bot_help = await asyncio.create_subprocess_exec(
        str(venv / "bin" / "mediasoup-py"),
        "bot",
        "--help",
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    bot_usage, _ = await bot_help.communicate()
    result["botHelp"] = [bot_help.returncode, bot_usage.decode(errors="replace")[-1000:]]
    demo = await start_demo(
        venv,
        [
            "--port",
            str(DEMO_PORT),
            "--workers",
            "2",
            "--rtc-min-port",
            "47900",
            "--rtc-max-port",
            "47999",
        ],
    )
    url = f"http://127.0.0.1:{DEMO_PORT}/"
    try:
        await wait_for_page(url, demo)
        async with async_playwright() as playwright, browser_context(playwright) as browser:
            alice, bob = await browser.new_page(), await browser.new_page()
            await join(alice, url, "alice")
            await join(bob, url, "bob")
            seen: dict[str, Any] = {}
            for name, page in (("alice", alice), ("bob", bob)):

                async def decoding(page: Page = page, name: str = name) -> bool:
                    remote = await page.evaluate(REMOTE_VIDEO)
                    seen[name] = remote
                    return bool(
                        remote
                        and remote["framesDecoded"] >= 30
                        and remote["spread"] > 5
                        and remote["audioSamplesDecoded"] > 0
                    )

                await wait_until(decoding, f"{name} to see the other")
        result["seen"] = seen
    finally:
        result["demoLog"] = await stop_demo(demo)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("venv", type=Path)
    parser.add_argument("--container", nargs=argparse.REMAINDER)
    arguments = parser.parse_args()
    run = (
        container(arguments.venv, arguments.container)
        if arguments.container is not None
        else scenario(arguments.venv)
    )
    result = asyncio.run(asyncio.wait_for(run, 100))
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
