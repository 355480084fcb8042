"""Bounded attacks on a signaling server, run as their own process so that the server's
process measures only itself: ``python -m tests.signaling_attacker SCENARIO URL [N]``
prints what it saw as one JSON line. Scenarios:

- ``flood``: N WebSocket connections, each to a room of its own, held 2 s
- ``hog``: connections each creating WebRTC transports until refused, N connections
- ``noread``: one connection sends N requests and never reads the answers
- ``slowloris``: N HTTP connections that send a request head one byte a second
"""

from __future__ import annotations

import asyncio
import base64
import collections
import contextlib
import json
import os
import socket
import struct
import sys
import time
from typing import Any

import aiohttp


async def flood(url: str, count: int) -> dict[str, Any]:
    refused: collections.Counter[str] = collections.Counter()
    sockets = []
    async with aiohttp.ClientSession() as session:
        for index in range(count):
            try:
                sockets.append(
                    await session.ws_connect(f"{url}/ws?roomId=flood{index}&peerId=f{index}")
                )
            except aiohttp.WSServerHandshakeError as error:
                refused[str(error.status)] += 1
        await asyncio.sleep(2)
        for ws in sockets:
            await ws.close()
    return {"opened": len(sockets), "refused": dict(refused)}


async def hog(url: str, count: int) -> dict[str, Any]:
    transports = 0
    reasons: collections.Counter[str] = collections.Counter()
    async with aiohttp.ClientSession() as session:
        sockets = []
        for index in range(count):
            try:
                ws = await session.ws_connect(f"{url}/ws?roomId=call&peerId=hog{index}")
            except aiohttp.WSServerHandshakeError as error:
                reasons[f"connect {error.status}"] += 1
                continue
            sockets.append(ws)
            await ws.receive_json()  # mediasoup-version
            for request_id in range(10):
                await ws.send_json(
                    {"request": True, "id": request_id, "method": "createWebRtcTransport"}
                )
                answer = await ws.receive_json()
                if answer["ok"]:
                    transports += 1
                else:
                    reasons[answer["errorReason"].split(":")[0]] += 1
        for ws in sockets:
            await ws.close()
    return {"transports": transports, "refusals": dict(reasons)}


def _masked_text_frame(text: str) -> bytes:
    """A client's WebSocket text frame (RFC 6455 5.2: clients mask what they send)."""
    payload = text.encode()
    mask = os.urandom(4)
    length = len(payload)
    header = bytes([0x81])
    if length < 126:
        header += bytes([0x80 | length])
    else:
        header += bytes([0x80 | 126]) + struct.pack("!H", length)
    return header + mask + bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))


async def noread(url: str, count: int) -> dict[str, Any]:
    """A WebSocket client that sends ``count`` requests and never reads a byte of the answers
    (a raw socket with a small receive buffer: nothing reads behind its back)."""
    host, port = url.removeprefix("http://").split(":")
    loop = asyncio.get_running_loop()
    connection = socket.socket()
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    connection.setblocking(False)
    await loop.sock_connect(connection, (host, int(port)))
    key = base64.b64encode(os.urandom(16)).decode()
    await loop.sock_sendall(
        connection,
        (
            f"GET /ws?roomId=call&peerId=noread HTTP/1.1\r\nHost: {host}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode(),
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += await loop.sock_recv(connection, 1)
    frame = _masked_text_frame(
        json.dumps({"request": True, "id": 1, "method": "getRouterRtpCapabilities"})
    )
    sent = 0
    error = None
    started = time.monotonic()
    try:
        for _ in range(count):
            await asyncio.wait_for(loop.sock_sendall(connection, frame), 10)
            sent += 1
    except (OSError, TimeoutError) as failure:
        error = type(failure).__name__
    # Cut by the server: reading now finds the end (or a reset) soon.
    cut = False
    deadline = time.monotonic() + 10
    with contextlib.suppress(OSError, TimeoutError):
        while time.monotonic() < deadline:
            if not await asyncio.wait_for(loop.sock_recv(connection, 65536), 10):
                cut = True
                break
    if not cut and error is not None:
        cut = True
    connection.close()
    return {
        "status": head.split(b"\r\n", 1)[0].decode(),
        "sent": sent,
        "error": error,
        "cut": cut,
        "seconds": time.monotonic() - started,
    }


async def slowloris(url: str, count: int) -> dict[str, Any]:
    host, port = url.removeprefix("http://").split(":")
    loop = asyncio.get_running_loop()
    connections = []
    for _ in range(count):
        connection = socket.create_connection((host, int(port)))
        connection.setblocking(False)
        await loop.sock_sendall(connection, b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        connections.append(connection)
    started = time.monotonic()
    closed_after: list[float] = []
    open_ = list(connections)
    while open_ and time.monotonic() - started < 20:
        await asyncio.sleep(1)
        still = []
        for connection in open_:
            try:
                connection.send(b"a")
                data = connection.recv(1024)
                if data == b"":
                    raise ConnectionResetError
                still.append(connection)
            except BlockingIOError:
                still.append(connection)
            except OSError:
                closed_after.append(time.monotonic() - started)
                connection.close()
        open_ = still
    for connection in open_:
        connection.close()
    return {"closed": len(closed_after), "latest": max(closed_after, default=None)}


SCENARIOS = {"flood": flood, "hog": hog, "noread": noread, "slowloris": slowloris}


def main() -> int:
    scenario, url, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    print(json.dumps(asyncio.run(SCENARIOS[scenario](url, count))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
