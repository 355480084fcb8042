"""The demo's command line: ``--help``, the ``mediasoup-py`` console script, the server it
starts serving the page, the mediasoup-client bundle and the WebSocket endpoint on 127.0.0.1,
its refusal to serve open beyond loopback, and its stop: on SIGINT (also when started with
SIGINT ignored, as background jobs are) and SIGTERM, with 10 clients in a call (two of them
the demo's pymediasoup bot sending media), every WebSocket is closed as going away and the
process exits in under a second."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

import mediasoup_py
from mediasoup_py.protocol import MEDIASOUP_VERSION
from mediasoup_py.signaling import issue_token
from tests.certificates import self_signed_certificate


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
    # Each option's default is shown.
    text = " ".join(completed.stdout.split())
    for shown in ("(default: 8080)", "(default: 127.0.0.1)", "(default: 40000)", "(default 200)"):
        assert shown in text, shown


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
                version = await asyncio.wait_for(socket_.receive_json(), 10)
                assert version["method"] == "mediasoup-version", version
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
    # Without a token key it says it serves open.
    assert "serving OPEN" in str(result["log"])
    assert result["returncode"] == 0


def test_the_demo_refuses_to_serve_open_beyond_loopback() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "mediasoup_py.demo", "--host", "0.0.0.0", "--port", "0",
         "--workers", "1", "--rtc-min-port", "47950", "--rtc-max-port", "47959"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert completed.returncode == 1
    assert "refusing to serve without join tokens on 0.0.0.0" in completed.stderr


def ignoring_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


async def start_demo(*options: str, ignore_sigint: bool = False) -> tuple[Any, str]:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mediasoup_py.demo", "--port", str(port), "--workers", "1",
        "--rtc-min-port", "47900", "--rtc-max-port", "47949", *options,
        stderr=asyncio.subprocess.PIPE,
        # As a background job (or nohup) starts it: SIGINT ignored.
        preexec_fn=ignoring_sigint if ignore_sigint else None,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as session:
        for _ in range(100):
            try:
                async with session.get(base + "/"):
                    return process, base
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.1)
    process.kill()
    raise TimeoutError("the demo did not start")


async def in_a_call(session: aiohttp.ClientSession, base: str, index: int) -> asyncio.Task[Any]:
    """A client that joins room "call" with a transport each way and then reads what comes
    (answering newConsumer, and pings), until the server closes it: the task's result is the
    close code."""
    socket_ = await session.ws_connect(f"{base}/ws?roomId=call&peerId=client{index}")
    ids = iter(range(1, 1000))
    waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}

    async def read() -> Any:
        async for message in socket_:
            data = json.loads(message.data)
            if data.get("request"):
                await socket_.send_json({"response": True, "id": data["id"], "ok": True})
            elif data.get("response") and data["id"] in waiting:
                waiting.pop(data["id"]).set_result(data)
        return socket_.close_code

    reader = asyncio.ensure_future(read())

    async def request(method: str, data: dict[str, Any]) -> dict[str, Any]:
        request_id = next(ids)
        waiting[request_id] = asyncio.get_running_loop().create_future()
        await socket_.send_json({"request": True, "id": request_id, "method": method, "data": data})
        answer = await asyncio.wait_for(waiting[request_id], 10)
        assert answer["ok"], answer
        return dict(answer["data"])

    capabilities = await request("getRouterRtpCapabilities", {})
    await request("createWebRtcTransport", {"producing": True})
    await request("createWebRtcTransport", {"consuming": True})
    await request("join", {"displayName": f"client {index}", "rtpCapabilities": capabilities})
    return reader


async def stop_with(signum: int, ignore_sigint: bool) -> dict[str, Any]:
    process, base = await start_demo(ignore_sigint=ignore_sigint)
    bots = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "mediasoup_py.demo.bot",
            "--url",
            base,
            "--room",
            "call",
            "--name",
            f"bot{index}",
            "--seconds",
            "60",
            "--include-loopback",
            stderr=asyncio.subprocess.DEVNULL,
        )
        for index in range(2)
    ]
    try:
        async with aiohttp.ClientSession() as session:
            clients = [await in_a_call(session, base, index) for index in range(8)]
            # The bots are in, sending media the others consume.
            for _ in range(200):
                async with session.get(f"{base}/rooms/call") as response:
                    peers = (await response.json())["peers"]
                if sum(len(peer["producers"]) for peer in peers) >= 4:
                    break
                await asyncio.sleep(0.1)
            started = time.monotonic()
            process.send_signal(signum)
            await asyncio.wait_for(process.wait(), 10)
            took = time.monotonic() - started
            codes = [await asyncio.wait_for(client, 5) for client in clients]
    finally:
        for bot in bots:
            if bot.returncode is None:
                bot.terminate()
            await bot.wait()
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.stderr is not None
    log = (await process.stderr.read()).decode()
    return {"took": took, "codes": codes, "returncode": process.returncode, "log": log,
            "peers": len(peers)}  # fmt: skip


@pytest.mark.parametrize(
    ("signum", "ignore_sigint"),
    [(signal.SIGINT, True), (signal.SIGINT, False), (signal.SIGTERM, False)],
    ids=["sigint-started-ignored", "sigint", "sigterm"],
)
def test_the_demo_stops_at_once_with_ten_clients_in_a_call(
    signum: int, ignore_sigint: bool
) -> None:
    result = asyncio.run(stop_with(signum, ignore_sigint))
    assert result["peers"] == 10
    assert result["returncode"] == 0, result["log"][-2000:]
    # When it stopped, with what it logged on the way (a failure says where the time went).
    assert result["took"] < 1.0, (result["took"], result["log"].splitlines()[-8:])
    assert result["codes"] == [1001] * 8, result["codes"]
    assert "Traceback" not in result["log"], result["log"][-2000:]


def test_a_demo_with_a_token_secret_admits_only_token_holders(tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    secret = os.urandom(32).hex()
    secret_file.write_text(secret)

    async def scenario() -> dict[str, Any]:
        process, base = await start_demo("--token-secret-file", str(secret_file))
        try:
            token = issue_token(secret, room="r", peer_id="alice", display_name="Alice")
            async with aiohttp.ClientSession() as session:
                async with session.get(f"{base}/ws?roomId=r&peerId=alice") as refused:
                    status = refused.status
                socket_ = await session.ws_connect(f"{base}/ws?roomId=r&token={token}")
                await socket_.receive_json()  # mediasoup-version
                await socket_.send_json({"request": True, "id": 1, "method": "join", "data": {}})
                joined = await socket_.receive_json()
                await socket_.close()
        finally:
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), 10)
        assert process.stderr is not None
        return {"status": status, "joined": joined, "log": (await process.stderr.read()).decode()}

    result = asyncio.run(scenario())
    assert result["status"] == 401
    assert result["joined"]["ok"]
    assert "serving OPEN" not in result["log"]


async def over_tls(directory: Path) -> dict[str, Any]:
    """The demo with ``--cert`` and ``--key``: its page over https, and a client connecting
    as mediasoup-demo's app does (wss, ``/?roomId&peerId``, subprotocol ``protoo``)."""
    cert, key = self_signed_certificate(directory)
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mediasoup_py.demo", "--port", str(port), "--workers", "1",
        "--rtc-min-port", "47950", "--rtc-max-port", "47969",
        "--cert", str(cert), "--key", str(key),
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    base = f"https://127.0.0.1:{port}"
    result: dict[str, Any] = {}
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False)) as session:
            for _ in range(100):
                try:
                    async with session.get(base + "/") as response:
                        result["page"] = await response.text()
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
            else:
                raise TimeoutError("the demo did not start")
            async with session.get(f"http://127.0.0.1:{port}/") as plain:
                result["plainStatus"] = plain.status
    except aiohttp.ClientError as error:
        result["plainError"] = type(error).__name__
    try:
        async with (
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False)) as session,
            session.ws_connect(
                base.replace("https", "wss") + "/?roomId=tls&peerId=p", protocols=("protoo",)
            ) as socket_,
        ):
            result["subprotocol"] = socket_.protocol
            result["first"] = await asyncio.wait_for(socket_.receive_json(), 10)
            await socket_.send_json(
                {"request": True, "id": 1, "method": "join", "data": {"displayName": "p"}}
            )
            result["joined"] = await asyncio.wait_for(socket_.receive_json(), 10)
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 20)
    result["log"] = stderr.decode()
    return result


def test_the_demo_serves_https_and_mediasoup_demos_protoo_websocket(tmp_path: Path) -> None:
    result = asyncio.run(over_tls(tmp_path))
    assert "mediasoup_py demo" in result["page"]
    # Plain http on a TLS port gets nothing.
    assert "plainStatus" not in result or result["plainStatus"] >= 400, result
    assert result["subprotocol"] == "protoo"
    assert result["first"] == {
        "notification": True,
        "method": "mediasoup-version",
        "data": {"version": MEDIASOUP_VERSION, "mediasoupPyVersion": mediasoup_py.__version__},
    }
    assert result["joined"]["ok"] is True
    assert result["joined"]["data"] == {"peers": []}
    assert "open https://127.0.0.1:" in result["log"]
