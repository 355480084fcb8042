"""The demo's web server: the page, the mediasoup-client bundle, a WebSocket per participant
that carries the v3 protocol to its :class:`~mediasoup_py.room.Peer`, and mediasoup-demo's HTTP
API for broadcasters (ffmpeg, GStreamer and recorders over plain RTP):

- ``GET /rooms/{room}``: the peers and their producers
- ``POST /rooms/{room}/broadcasters`` ``{id, displayName, device}``; ``DELETE`` to leave
- ``POST /rooms/{room}/broadcasters/{id}/transports`` ``{comedia, rtcpMux}`` -> ``{id, ip,
  port, rtcpPort}``
- ``POST .../transports/{transportId}/connect`` ``{ip, port, rtcpPort}``
- ``POST .../transports/{transportId}/producers`` ``{kind, rtpParameters}`` -> ``{id}``
- ``POST .../transports/{transportId}/consume?producerId=...`` -> ``{id, producerId, kind,
  rtpParameters}`` (paused), then ``POST .../consumers/{consumerId}/resume``
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from aiohttp import WSMsgType, web

import mediasoup_py
from mediasoup_py import errors, protocol
from mediasoup_py.metrics import Metrics
from mediasoup_py.producer import Producer
from mediasoup_py.recorder import Recorder, record
from mediasoup_py.room import Room
from mediasoup_py.rtp_parameters import RtpParameters
from mediasoup_py.server import Server
from mediasoup_py.webrtc_transport import WebRtcTransport
from mediasoup_py.whip import WhipEndpoint, add_aiohttp_routes

__all__ = ["DemoServer", "DemoSettings"]

_logger = logging.getLogger("mediasoup_py.demo")

STATIC = Path(__file__).resolve().parent / "static"
BUNDLE = STATIC / "mediasoup-client.js"

# The codecs every demo room offers: opus, VP8 (simulcast) and H264.
MEDIA_CODECS: list[dict[str, Any]] = [
    {"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2},
    {"kind": "video", "mimeType": "video/VP8", "clockRate": 90000},
    {
        "kind": "video",
        "mimeType": "video/H264",
        "clockRate": 90000,
        "parameters": {"packetization-mode": 1, "profile-level-id": "42e01f"},
    },
]

# How long a client may take to answer a request (newConsumer) before it is taken as gone.
CLIENT_REQUEST_TIMEOUT_S = 10


@dataclass
class DemoSettings:
    """What the command line sets."""

    host: str = "127.0.0.1"
    port: int = 8080
    rtc_ip: str = "127.0.0.1"
    rtc_announced_ip: str | None = None
    rtc_min_port: int = 40000
    rtc_max_port: int = 49999
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    # A cluster of demo processes sharing one Redis (rooms span them).
    redis: str | None = None
    cluster_secret: str | None = None
    pipe_ip: str | None = None
    node_id: str | None = None
    # Where the record button's files go (the recorder; WebM, or Matroska with H.264).
    record_dir: Path = field(default_factory=lambda: Path("recordings"))


class WebSocketChannel:
    """A peer's signaling over its WebSocket: notifications are sent, requests wait for the
    response with the same id."""

    def __init__(self, socket: web.WebSocketResponse) -> None:
        self._socket = socket
        self._pending: dict[int, asyncio.Future[protocol.Response]] = {}
        self._sends: set[asyncio.Task[None]] = set()

    async def request(self, message: protocol.Request) -> protocol.Response:
        future: asyncio.Future[protocol.Response] = asyncio.get_running_loop().create_future()
        self._pending[message["id"]] = future
        try:
            await self._socket.send_json(message)
            return await asyncio.wait_for(future, CLIENT_REQUEST_TIMEOUT_S)
        finally:
            self._pending.pop(message["id"], None)

    def notify(self, message: protocol.Notification) -> None:
        if self._socket.closed:
            return
        task = asyncio.ensure_future(self._send(message))
        self._sends.add(task)
        task.add_done_callback(self._sends.discard)

    async def _send(self, message: protocol.Notification) -> None:
        # A client that is going away may miss its last notifications; that is all.
        with contextlib.suppress(ConnectionError):
            await self._socket.send_json(message)

    def on_response(self, message: object) -> None:
        """A response from the client to one of our requests."""
        if not isinstance(message, dict):
            return
        future = self._pending.get(message.get("id"))  # type: ignore[arg-type]
        if future is not None and not future.done():
            future.set_result(message)  # type: ignore[arg-type]


class BroadcasterChannel:
    """A broadcaster has no signaling channel: it is told nothing, and the room never asks it
    to consume (it negotiated no capabilities; it consumes explicitly)."""

    async def request(self, message: protocol.Request) -> protocol.Response:
        raise errors.InvalidStateError("broadcasters take no requests")

    def notify(self, message: protocol.Notification) -> None:
        """Dropped."""


async def _json_body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except ValueError as error:
        raise web.HTTPBadRequest(text="the body must be JSON") from error
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="the body must be a JSON object")
    return body


async def _call(peer: mediasoup_py.Peer, method: str, data: dict[str, Any]) -> web.Response:
    """One protocol request on behalf of an HTTP call: its data, or a 400 with the reason."""
    response = await peer.receive_request(protocol.request(method, data))
    if not response["ok"]:
        raise web.HTTPBadRequest(text=response.get("errorReason", "failed"))
    return web.json_response(response.get("data", {}))


async def _protocol_call(peer: mediasoup_py.Peer, method: str, data: dict[str, Any]) -> Any:
    """One protocol request on behalf of the server itself: its data, or the reason."""
    response = await peer.receive_request(protocol.request(method, data))
    if not response["ok"]:
        raise errors.MediasoupTypeError(response.get("errorReason", f"{method} failed"))
    return response.get("data", {})


class _RoomPublishing:
    """WHIP publishers join their room as participants without a channel (as broadcasters
    do) and produce through the room's protocol, so everyone in the room gets their media."""

    def __init__(self, demo: DemoServer) -> None:
        self._demo = demo
        self._peers: dict[str, tuple[Room, mediasoup_py.Peer]] = {}

    async def create_transport(self, room_id: str, session_id: str) -> WebRtcTransport:
        room = await self._demo._room(room_id)
        peer = room.create_peer(f"whip-{session_id}", BroadcasterChannel())
        self._peers[session_id] = (room, peer)
        await _protocol_call(
            peer, "join", {"displayName": "WHIP publisher", "device": {"name": "WHIP"}}
        )
        data = await _protocol_call(
            peer, "createWebRtcTransport", {"producing": True, "consuming": False}
        )
        transport = peer.transports[data["id"]]
        assert isinstance(transport, WebRtcTransport)
        return transport

    async def produce(
        self,
        session_id: str,
        transport: WebRtcTransport,
        kind: Literal["audio", "video"],
        rtp_parameters: RtpParameters,
    ) -> Producer:
        _, peer = self._peers[session_id]
        data = await _protocol_call(
            peer,
            "produce",
            {"transportId": transport.id, "kind": kind, "rtpParameters": rtp_parameters},
        )
        return peer.producers[data["id"]]

    async def closed(self, session_id: str) -> None:
        room, peer = self._peers.pop(session_id, (None, None))
        if room is not None and peer is not None:
            self._demo._leave(room, peer)


class DemoServer:
    """The SFU (workers, a room per name) and the aiohttp application."""

    def __init__(self, settings: DemoSettings) -> None:
        self.settings = settings
        self.server: Server | None = None
        self.rooms: dict[str, Room] = {}
        self._room_lock = asyncio.Lock()
        # Requests being answered, kept until done.
        self._answers: set[asyncio.Task[None]] = set()
        self.app = web.Application()
        self.app.router.add_get("/", self._index)
        self.app.router.add_get("/ws", self._websocket)
        rooms = "/rooms/{room}"
        broadcaster = rooms + "/broadcasters/{broadcaster}"
        self.app.router.add_get(rooms, self._room_info)
        self.app.router.add_post(rooms + "/broadcasters", self._create_broadcaster)
        self.app.router.add_delete(broadcaster, self._delete_broadcaster)
        self.app.router.add_post(broadcaster + "/transports", self._broadcaster_call)
        self.app.router.add_post(
            broadcaster + "/transports/{transport}/connect", self._broadcaster_call
        )
        self.app.router.add_post(
            broadcaster + "/transports/{transport}/producers", self._broadcaster_call
        )
        self.app.router.add_post(
            broadcaster + "/transports/{transport}/consume", self._broadcaster_call
        )
        self.app.router.add_post(
            broadcaster + "/consumers/{consumer}/resume", self._broadcaster_call
        )
        self.app.router.add_static("/static/", STATIC)
        # Prometheus metrics of the workers, by room name.
        room_names: dict[str, str] = {}
        self.metrics = Metrics(
            lambda: self.workers,
            room_of=lambda router: room_names.get(router.id, router.id),
        )
        self._room_names = room_names
        self.app.router.add_get("/metrics", self.metrics.aiohttp_handler)
        # WHIP publishers and WHEP viewers (/whip/{room}, /whep/{room}): publishers join the
        # room (everyone in it gets their media), viewers get the room's producers.
        self.whip = WhipEndpoint(
            router_for=self._room_router,
            listen_infos=[],
            producers_for=self._room_producers,
            publishing=_RoomPublishing(self),
        )
        add_aiohttp_routes(self.app, self.whip)
        # The record button: one recording per room of its producers (or one peer's).
        self.recordings: dict[str, Recorder] = {}
        self.app.router.add_post(rooms + "/recording", self._start_recording)
        self.app.router.add_delete(rooms + "/recording", self._stop_recording)

    async def start(self) -> None:
        """Starts the workers, splitting the port range between them."""
        if not BUNDLE.exists():
            raise FileNotFoundError(
                f"{BUNDLE} is missing: run `bash examples/demo.sh` (it bundles mediasoup-client)"
            )
        self.server = await Server.create(
            num_workers=max(1, self.settings.workers),
            rtc_ipv4=self.settings.rtc_ip,
            rtc_announced_ipv4=self.settings.rtc_announced_ip,
            rtc_min_port=self.settings.rtc_min_port,
            rtc_max_port=self.settings.rtc_max_port,
            redis=self.settings.redis,
            cluster_secret=self.settings.cluster_secret,
            pipe_ip=self.settings.pipe_ip,
            node_id=self.settings.node_id,
        )
        self.whip.listen_infos = self.server.listen_infos

    @property
    def workers(self) -> list[mediasoup_py.Worker]:
        """The media workers."""
        return self.server.workers if self.server is not None else []

    async def close(self) -> None:
        """Closes every room and worker, finishing recordings."""
        for recorder in list(self.recordings.values()):
            await recorder.stop()
        self.recordings.clear()
        self.whip.close()
        self.rooms.clear()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    def status(self) -> dict[str, int]:
        """Counts for the periodic status line."""
        peers = [peer for room in self.rooms.values() for peer in room.peers]
        return {
            "rooms": len(self.rooms),
            "peers": len(peers),
            "producers": sum(len(peer.producers) for peer in peers),
            "consumers": sum(len(peer.consumers) for peer in peers),
        }

    async def traffic(self) -> tuple[int, int]:
        """Bytes received and sent so far by the transports that are open now."""
        received = sent = 0
        for room in list(self.rooms.values()):
            for peer in room.peers:
                for transport in list(peer.transports.values()):
                    with contextlib.suppress(errors.MediasoupError):
                        (stats,) = await transport.get_stats()
                        received += stats["bytesReceived"]
                        sent += stats["bytesSent"]
        return received, sent

    async def _room(self, room_id: str) -> Room:
        async with self._room_lock:
            room = self.rooms.get(room_id)
            if room is not None:
                return room
            if self.server is None:
                raise errors.InvalidStateError("the demo server is not started")
            room = await self.server.create_room(MEDIA_CODECS, room_id)  # type: ignore[arg-type]
            self.rooms[room_id] = room
            self._room_names[room.router.id] = room_id
            room.on("close", lambda: self.rooms.pop(room_id, None))
            _logger.info("room %r created", room_id)
            return room

    async def _room_router(self, room_id: str) -> mediasoup_py.Router:
        return (await self._room(room_id)).router

    def _room_producers(self, room_id: str) -> list[Producer]:
        room = self.rooms.get(room_id)
        peers = room.peers if room is not None else []
        return [p for peer in peers for p in peer.producers.values()]

    async def _start_recording(self, request: web.Request) -> web.Response:
        room_id = request.match_info["room"]
        room = self.rooms.get(room_id)
        if room is None:
            return web.json_response({"error": f"no room {room_id!r}"}, status=404)
        if room_id in self.recordings:
            return web.json_response({"error": "already recording"}, status=409)
        body = await _json_body(request) if request.can_read_body else {}
        peer_id = body.get("peerId")
        producers = [
            producer
            for peer in room.peers
            if peer_id is None or peer.id == peer_id
            for producer in peer.producers.values()
        ]
        if not producers:
            return web.json_response({"error": "nothing to record"}, status=409)
        h264 = any(
            p.rtp_parameters["codecs"][0]["mimeType"].lower() == "video/h264" for p in producers
        )
        container: Literal["webm", "mkv"] = "mkv" if h264 else "webm"
        self.settings.record_dir.mkdir(parents=True, exist_ok=True)
        name = f"{room_id}-{time.strftime('%Y%m%d-%H%M%S')}.{container}"
        path = self.settings.record_dir / name
        self.recordings[room_id] = await record(room.router, producers, path, container=container)
        room.on("close", lambda: self._spawn_stop_recording(room_id))
        _logger.info("recording room %r to %s", room_id, path)
        return web.json_response({"path": str(path)})

    async def _stop_recording(self, request: web.Request) -> web.Response:
        recorder = self.recordings.pop(request.match_info["room"], None)
        if recorder is None:
            return web.json_response({"error": "not recording"}, status=404)
        await recorder.stop()
        return web.json_response({"path": str(recorder.path), **recorder.stats()})

    def _spawn_stop_recording(self, room_id: str) -> None:
        recorder = self.recordings.pop(room_id, None)
        if recorder is not None:
            task = asyncio.ensure_future(recorder.stop())
            self._answers.add(task)
            task.add_done_callback(self._answers.discard)

    async def _room_info(self, request: web.Request) -> web.Response:
        room = self.rooms.get(request.match_info["room"])
        if room is None:
            raise web.HTTPNotFound(text="no such room")
        peers = [
            {
                "id": peer.id,
                "displayName": peer.display_name,
                "producers": [
                    {"id": producer.id, "kind": producer.kind}
                    for producer in peer.producers.values()
                ],
            }
            for peer in room.peers
            if peer.joined
        ]
        return web.json_response({"peers": peers})

    async def _create_broadcaster(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        broadcaster_id = body.get("id")
        if not isinstance(broadcaster_id, str) or not broadcaster_id:
            raise web.HTTPBadRequest(text="id: must be a non-empty string")
        room = await self._room(request.match_info["room"])
        try:
            peer = room.create_peer(broadcaster_id, BroadcasterChannel())
        except errors.MediasoupError as error:
            raise web.HTTPBadRequest(text=str(error)) from error
        data = {"displayName": body.get("displayName", broadcaster_id)}
        data["device"] = body.get("device") or {"name": "broadcaster"}
        return await _call(peer, "join", data)

    async def _delete_broadcaster(self, request: web.Request) -> web.Response:
        self._leave(self.rooms[request.match_info["room"]], self._broadcaster(request))
        return web.json_response({})

    @staticmethod
    def _leave(room: Room, peer: mediasoup_py.Peer) -> None:
        """A participant goes; an empty room goes with the last one."""
        peer.close()
        if not room.peers:
            room.close()

    async def _broadcaster_call(self, request: web.Request) -> web.Response:
        """The broadcaster API's calls, as the same requests WebSocket peers make."""
        peer = self._broadcaster(request)
        path = request.path
        body = await _json_body(request)
        transport_id = request.match_info.get("transport")
        if path.endswith("/transports"):
            return await _call(peer, "createPlainTransport", body)
        if path.endswith("/connect"):
            return await _call(peer, "connectPlainTransport", {**body, "transportId": transport_id})
        if path.endswith("/producers"):
            return await _call(peer, "produce", {**body, "transportId": transport_id})
        if path.endswith("/consume"):
            producer_id = request.query.get("producerId", "")
            data = {"transportId": transport_id, "producerId": producer_id}
            return await _call(peer, "consume", data)
        return await _call(peer, "resumeConsumer", {"consumerId": request.match_info["consumer"]})

    def _broadcaster(self, request: web.Request) -> mediasoup_py.Peer:
        room = self.rooms.get(request.match_info["room"])
        peer = room.get_peer(request.match_info["broadcaster"]) if room else None
        if not isinstance(peer, mediasoup_py.Peer):
            raise web.HTTPNotFound(text="no such broadcaster")
        return peer

    async def _index(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "index.html")

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        room_id = request.query.get("roomId", "")
        if not room_id or len(room_id) > 64:
            raise web.HTTPBadRequest(text="roomId: 1 to 64 characters")
        peer_id = request.query.get("peerId") or str(uuid.uuid4())
        socket = web.WebSocketResponse(heartbeat=5)
        await socket.prepare(request)
        room = await self._room(room_id)
        channel = WebSocketChannel(socket)
        try:
            peer = room.create_peer(peer_id, channel)
        except errors.MediasoupError as error:
            await socket.close(message=str(error).encode()[:120])
            return socket
        _logger.info("peer %s joined room %r", peer_id, room_id)
        try:
            async for message in socket:
                if message.type != WSMsgType.TEXT:
                    continue
                try:
                    data = json.loads(message.data)
                except ValueError:
                    continue
                if isinstance(data, dict) and data.get("response"):
                    channel.on_response(data)
                elif isinstance(data, dict) and data.get("request"):
                    # Requests are handled concurrently: a consume may wait on the client.
                    task = asyncio.ensure_future(self._answer(peer, socket, data))
                    self._answers.add(task)
                    task.add_done_callback(self._answers.discard)
        finally:
            self._leave(room, peer)
            _logger.info("peer %s left room %r", peer_id, room_id)
        return socket

    async def _answer(
        self, peer: mediasoup_py.Peer, socket: web.WebSocketResponse, message: dict[str, Any]
    ) -> None:
        response = await peer.receive_request(message)
        if not socket.closed:
            await socket.send_json(response)
