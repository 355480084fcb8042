"""The demo's command line: ``--help``, the ``mediasoup-py`` console script, and the server
it starts serving the page, the mediasoup-client bundle and the WebSocket endpoint on
127.0.0.1."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_help_lists_the_options() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "mediasoup_py.demo", "--help"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    for option in ("--host", "--port", "--rtc-ip", "--rtc-announced-ip", "--workers"):
        assert option in completed.stdout


async def fetch_while_running() -> dict[str, object]:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mediasoup_py.demo",
        "--port",
        str(port),
        "--workers",
        "1",
        "--rtc-min-port",
        "47900",
        "--rtc-max-port",
        "47949",
        stderr=asyncio.subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(100):
                try:
                    async with session.get(base + "/") as response:
                        page = await response.text()
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
            else:
                raise TimeoutError("the demo did not start")
            async with session.get(base + "/static/mediasoup-client.js") as response:
                bundle_status, bundle = response.status, await response.text()
            async with session.ws_connect(base + "/ws?roomId=cli&peerId=p") as socket_:
                await socket_.send_json(
                    {"request": True, "id": 1, "method": "getRouterRtpCapabilities", "data": {}}
                )
                answer = await asyncio.wait_for(socket_.receive_json(), 10)
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = await asyncio.wait_for(process.communicate(), 20)
    return {
        "page": page,
        "bundleStatus": bundle_status,
        "bundle": len(bundle),
        "answer": answer,
        "log": stderr.decode(),
        "returncode": process.returncode,
    }


def test_the_mediasoup_py_command_runs_the_demo_and_the_bot() -> None:
    """The console script installed with the package (next to this Python)."""
    command = str(Path(sys.executable).with_name("mediasoup-py"))
    for subcommand, option in (("demo", "--rtc-announced-ip"), ("bot", "--room")):
        completed = subprocess.run(
            [command, subcommand, "--help"], capture_output=True, text=True, timeout=30, check=True
        )
        assert option in completed.stdout, completed.stdout
    unknown = subprocess.run([command, "serve"], capture_output=True, text=True, timeout=30)
    assert unknown.returncode == 2
    assert "usage: mediasoup-py {demo,bot,token}" in unknown.stderr


def test_the_demo_serves_its_page_bundle_and_protocol() -> None:
    result = asyncio.run(fetch_while_running())
    assert "mediasoup_py demo" in str(result["page"])
    assert result["bundleStatus"] == 200
    assert int(str(result["bundle"])) > 100_000
    answer = result["answer"]
    assert isinstance(answer, dict)
    assert answer["ok"] is True
    assert {codec["mimeType"] for codec in answer["data"]["codecs"]} >= {
        "audio/opus",
        "video/VP8",
        "video/H264",
    }
    assert "open http://127.0.0.1:" in str(result["log"])
    assert result["returncode"] == 0
