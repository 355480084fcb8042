"""A minimal aiohttp app that puts mediasoup-client 2.x browsers in mediasoup_py rooms with
mediasoup's v2 protocol: mediasoup_py's Room and V2Peer do the protocol, this app only carries
the messages over one WebSocket per browser and serves the page (``static/``, which loads
mediasoup-client 2.4 from npm, bundled by the set-up command).

    bash .ci/setup.sh                                  # once: packages and the client bundle
    .venv/bin/python examples/v2_room/server.py        # then open the printed URL twice

On the WebSocket, JSON messages (mediasoup v2 leaves the envelope to the application):

- browser to server: ``{"id": 7, "request": <v2 request>}``, ``{"notification": <v2 one>}``
- server to browser: ``{"id": 7, "ok": true, "data": <response>}`` or
  ``{"id": 7, "ok": false, "error": "<what was wrong>"}``, and ``{"notification": <v2 one>}``

A browser that disconnects leaves its room; the others hear ``peerClosed``. The app is as
bounded as the v3 demo: mediasoup_py's limits (rooms, peers, ids), each WebSocket through
``mediasoup_py.signaling.WebSocketConnection`` (message size and depth, a send queue that
closes a client that does not read), only pages of its own origin, HTTP idle timeouts, and
it stops at once on SIGINT/SIGTERM, closing every WebSocket as going away.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path
from typing import Any

from aiohttp import web

import mediasoup_py
from mediasoup_py import errors
from mediasoup_py.limits import check_id
from mediasoup_py.peer_v2 import V2Peer
from mediasoup_py.signaling import WebSocketConnection, check_origin
from mediasoup_py.signaling.connection import CLOSE_TIMEOUT_S

STATIC = Path(__file__).resolve().parent / "static"
MEDIA_CODECS: list[Any] = [
    {"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2},
    {"kind": "video", "mimeType": "video/VP8", "clockRate": 90000},
]

_logger = logging.getLogger("v2_room")


class V2RoomApp:
    """Rooms by name, created on first use, and one WebSocket per browser."""

    def __init__(self, server: mediasoup_py.Server) -> None:
        self.server = server
        self.rooms: dict[str, mediasoup_py.Room] = {}
        self._room_lock = asyncio.Lock()
        self.connections: set[WebSocketConnection] = set()
        server.on("close", self._close_connections)

    def _close_connections(self) -> None:
        for connection in list(self.connections):
            connection.close()

    def application(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/ws", self.websocket)
        app.router.add_get("/", self.index)
        app.router.add_static("/", STATIC)
        return app

    async def index(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "index.html")

    async def room(self, name: str) -> mediasoup_py.Room:
        async with self._room_lock:
            room = self.rooms.get(name)
            if room is None or room.closed:
                room = await self.server.create_room(MEDIA_CODECS)
                self.rooms[name] = room
            return room

    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        check_origin(request)
        limits = self.server.limits
        try:
            name = check_id(request.query.get("room"), "room", limits)
            room = await self.room(name)
        except errors.LimitExceededError as error:
            raise web.HTTPTooManyRequests(text=str(error)) from None
        except errors.MediasoupTypeError as error:
            raise web.HTTPBadRequest(text=str(error)) from None
        socket = web.WebSocketResponse(
            heartbeat=5, timeout=CLOSE_TIMEOUT_S, max_msg_size=limits.message_bytes
        )
        await socket.prepare(request)
        connection = WebSocketConnection(socket, request, limits)
        self.connections.add(connection)
        peer: V2Peer | None = None
        try:
            async for envelope in connection.messages():
                if "request" in envelope:
                    reply, joined = await self._request(room, peer, envelope)
                    if joined is not None:
                        peer = joined
                        peer.on("notify", lambda n: connection.send({"notification": n}))
                        peer.on("close", lambda *_: connection.close())
                    connection.send(reply)
                elif "notification" in envelope and peer is not None:
                    with contextlib.suppress(errors.MediasoupError):
                        peer.receive_notification(envelope["notification"])
        finally:
            self.connections.discard(connection)
            if peer is not None and not peer.closed:
                peer.close()
            connection.close()
            await connection.wait_closed()
        return socket

    async def _request(
        self, room: mediasoup_py.Room, peer: V2Peer | None, envelope: dict[str, Any]
    ) -> tuple[dict[str, Any], V2Peer | None]:
        request = envelope["request"]
        joined = None
        try:
            if isinstance(request, dict) and request.get("target") == "room":
                if request.get("method") == "join" and peer is not None:
                    raise errors.InvalidStateError("joined already")
                data = await room.receive_request(request)
                if request.get("method") == "join":
                    joined = room.get_peer(request["peerName"])
            elif peer is None:
                raise errors.InvalidStateError("join the room first")
            else:
                data = await peer.receive_request(request)
        except errors.MediasoupError as error:
            return {"id": envelope.get("id"), "ok": False, "error": str(error)}, None
        assert joined is None or isinstance(joined, V2Peer)
        return {"id": envelope.get("id"), "ok": True, "data": data}, joined


async def serve(
    host: str, port: int, rtc_ip: str, rtc_ports: tuple[int, int] = (40000, 49999)
) -> tuple[web.AppRunner, V2RoomApp, str]:
    """Starts the SFU and the web server (``port`` 0: any free one); returns the runner
    (``cleanup()`` stops both), the app and the page's URL."""
    server = await mediasoup_py.Server.create(
        num_workers=1, rtc_ipv4=rtc_ip, rtc_min_port=rtc_ports[0], rtc_max_port=rtc_ports[1]
    )
    rooms = V2RoomApp(server)
    app = rooms.application()
    app.on_shutdown.append(lambda _: _close(rooms))
    runner = web.AppRunner(
        app, keepalive_timeout=server.limits.http_idle_timeout, shutdown_timeout=CLOSE_TIMEOUT_S
    )
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, rooms, f"http://{host}:{bound}/"


async def _close(rooms: V2RoomApp) -> None:
    """Every WebSocket closed as going away, then the rooms and the worker."""
    rooms.server.close()
    await asyncio.gather(*(c.wait_closed() for c in list(rooms.connections)))


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--rtc-ip", default="127.0.0.1", help="address media flows on")
    parser.add_argument("--seconds", type=float, default=None, help="stop after this long")
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    runner, _, url = await serve(arguments.host, arguments.port, arguments.rtc_ip)
    print(f"open {url}?room=test&peer=<your name>", flush=True)
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), arguments.seconds)
    finally:
        await runner.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
