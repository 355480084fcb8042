"""The demo's web server: the page, the mediasoup-client bundle, and the hardened signaling of
:class:`~mediasoup_py.signaling.SignalingServer`: a WebSocket per participant that carries the
v3 protocol to its :class:`~mediasoup_py.room.Peer`, and mediasoup-demo's HTTP API for
broadcasters (ffmpeg, GStreamer and recorders over plain RTP), for rooms someone joined:

- ``GET /rooms/{room}``: the peers and their producers
- ``POST /rooms/{room}/broadcasters`` ``{id, displayName, device}``; ``DELETE`` to leave
- ``POST /rooms/{room}/broadcasters/{id}/transports`` ``{comedia, rtcpMux}`` -> ``{id, ip,
  port, rtcpPort}``
- ``POST .../transports/{transportId}/connect`` ``{ip, port, rtcpPort}``
- ``POST .../transports/{transportId}/producers`` ``{kind, rtpParameters}`` -> ``{id}``
- ``POST .../transports/{transportId}/consume?producerId=...`` -> ``{id, producerId, kind,
  rtpParameters}`` (paused), then ``POST .../consumers/{consumerId}/resume``

Also ``/metrics`` (Prometheus, by room name), WHIP publishers and WHEP viewers
(``/whip/{room}``, ``/whep/{room}``: publishers join the room as broadcasters, viewers get the
room's producers), and the record button (``POST``/``DELETE /rooms/{room}/recording``).

With a token secret or public key, every call needs a join token (``?token=`` on the
WebSocket, ``Authorization: Bearer`` on HTTP and WHIP/WHEP, a broadcaster token for the room
that may produce, or consume for WHEP); without, it serves anyone, and only on a loopback
address unless ``insecure``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from aiohttp import web

import mediasoup_py
from mediasoup_py import errors, protocol
from mediasoup_py.demo.chat_bot import ChatBot, start_chat_bot
from mediasoup_py.limits import Limits
from mediasoup_py.metrics import Metrics
from mediasoup_py.producer import Producer
from mediasoup_py.recorder import Recorder, record
from mediasoup_py.room import Room
from mediasoup_py.rtp_parameters import RtpParameters
from mediasoup_py.server import Server
from mediasoup_py.signaling import SignalingServer, TokenVerifier
from mediasoup_py.webrtc_transport import WebRtcTransport
from mediasoup_py.whip import WhipEndpoint, WhipRequest, WhipSession, add_aiohttp_routes

__all__ = ["DemoServer", "DemoSettings"]

_logger = logging.getLogger("mediasoup_py.demo")

STATIC = Path(__file__).resolve().parent / "static"
BUNDLE = STATIC / "mediasoup-client.js"

# The codecs every demo room offers: opus, VP8 (simulcast), VP9 (SVC; profile 2, as
# mediasoup-demo's server offers it, which its app's forceVP9 asks for) and H264.
MEDIA_CODECS: list[dict[str, Any]] = [
    {"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2},
    {"kind": "video", "mimeType": "video/VP8", "clockRate": 90000},
    {
        "kind": "video",
        "mimeType": "video/VP9",
        "clockRate": 90000,
        "parameters": {"profile-id": 2},
    },
    {
        "kind": "video",
        "mimeType": "video/H264",
        "clockRate": 90000,
        "parameters": {"packetization-mode": 1, "profile-level-id": "42e01f"},
    },
]


@dataclass
class DemoSettings:
    """What the command line sets. ``limits`` default to :class:`~mediasoup_py.limits.Limits`'
    with rooms closing as soon as their last peer leaves, as mediasoup-demo's do."""

    host: str = "127.0.0.1"
    port: int = 8080
    rtc_ip: str = "127.0.0.1"
    rtc_announced_ip: str | None = None
    rtc_min_port: int = 40000
    rtc_max_port: int = 49999
    # One UDP and TCP port for every worker's WebRTC transports (None: a port per transport).
    rtc_port: int | None = 44444
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    limits: Limits = field(default_factory=lambda: Limits(empty_room_grace=0.0))
    # Join tokens: an HMAC secret, or a PEM public key (neither: open).
    token_secret: str | None = None
    token_public_key: str | None = None
    allowed_origins: list[str] = field(default_factory=list)
    insecure: bool = False
    # A cluster of demo processes sharing one Redis (rooms span them).
    redis: str | None = None
    cluster_secret: str | None = None
    pipe_ip: str | None = None
    node_id: str | None = None
    # Where the record button's files go (the recorder; WebM, or Matroska with H.264).
    record_dir: Path = field(default_factory=lambda: Path("recordings"))
    # TLS (https and wss, as mediasoup-demo's app connects): a PEM certificate chain and its
    # private key.
    cert: Path | None = None
    key: Path | None = None

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS server context of ``cert`` and ``key`` (``None`` without them); both or
        neither must be given."""
        if self.cert is None and self.key is None:
            return None
        if self.cert is None or self.key is None:
            raise errors.MediasoupTypeError("cert and key: give both or neither", "cert")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            context.load_cert_chain(self.cert, self.key)
        except (OSError, ssl.SSLError) as error:
            raise errors.MediasoupTypeError(
                f"cert and key: cannot load {self.cert} and {self.key}: {error}", "cert"
            ) from error
        return context


# How long a room made for a WHEP request stays open before its session is up.
WHIP_SETUP_HOLD_S = 10.0


async def _protocol_call(peer: mediasoup_py.Peer, method: str, data: dict[str, Any]) -> Any:
    """One protocol request on behalf of the server itself: its data, or the reason."""
    response = await peer.receive_request(protocol.request(method, data))
    if not response["ok"]:
        raise errors.MediasoupTypeError(response.get("errorReason", f"{method} failed"))
    return response.get("data", {})


class _RoomPublishing:
    """WHIP publishers join their room as broadcasters (in the broadcasters' namespace, as
    ``whip-<session>``) and produce through the room's protocol, so everyone in the room gets
    their media."""

    def __init__(self, demo: DemoServer) -> None:
        self._demo = demo
        self._peers: dict[str, mediasoup_py.Peer] = {}

    async def create_transport(self, room_id: str, session_id: str) -> WebRtcTransport:
        room = await self._demo.signaling.room(room_id)
        peer = room.create_broadcaster(f"whip-{session_id}")
        self._peers[session_id] = peer
        try:
            await _protocol_call(
                peer, "join", {"displayName": "WHIP publisher", "device": {"name": "WHIP"}}
            )
            data = await _protocol_call(
                peer, "createWebRtcTransport", {"producing": True, "consuming": False}
            )
        except BaseException:
            self._peers.pop(session_id, None)
            peer.close()
            raise
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
        peer = self._peers[session_id]
        data = await _protocol_call(
            peer,
            "produce",
            {"transportId": transport.id, "kind": kind, "rtpParameters": rtp_parameters},
        )
        return peer.producers[data["id"]]

    async def closed(self, session_id: str) -> None:
        peer = self._peers.pop(session_id, None)
        if peer is not None:
            peer.close()


class DemoServer:
    """The SFU (workers, a room per name), its signaling and the page."""

    def __init__(self, settings: DemoSettings) -> None:
        self.settings = settings
        self._tokens = None
        if settings.token_secret is not None or settings.token_public_key is not None:
            self._tokens = TokenVerifier(
                secret=settings.token_secret, public_key=settings.token_public_key
            )
        # Room names by router, for the metrics.
        self._room_names: dict[str, str] = {}
        self._starting_bots: set[asyncio.Task[ChatBot]] = set()
        self.signaling = SignalingServer(
            MEDIA_CODECS,  # type: ignore[arg-type]
            tokens=self._tokens,
            allowed_origins=settings.allowed_origins,
            limits=settings.limits,
            insecure=settings.insecure,
            on_new_room=self._on_new_room,
        )
        self.app = self.signaling.app
        # "/" is also where mediasoup-demo's app opens its WebSocket.
        self.signaling.root_page = self._index
        self.app.router.add_static("/static/", STATIC)
        # Prometheus metrics of the workers, by room name.
        self.metrics = Metrics(
            lambda: self.workers,
            room_of=lambda router: self._room_names.get(router.id, router.id),
        )
        self.app.router.add_get("/metrics", self.metrics.aiohttp_handler)
        # WHIP publishers and WHEP viewers (/whip/{room}, /whep/{room}): publishers join the
        # room (everyone in it gets their media), viewers get the room's producers. Each
        # session keeps its room open.
        self._whip_holds: dict[str, Callable[[], None]] = {}
        self.whip = WhipEndpoint(
            router_for=self._room_router,
            listen_infos=[],
            producers_for=self._room_producers,
            authorize=self._authorize_whip if self._tokens is not None else None,
            on_session=self._whip_session,
            on_session_closed=self._whip_session_closed,
            publishing=_RoomPublishing(self),
        )
        add_aiohttp_routes(self.app, self.whip)
        # The record button: one recording per room of its producers (or one peer's).
        self.recordings: dict[str, Recorder] = {}
        self._stopping: set[asyncio.Task[None]] = set()
        self.app.router.add_post("/rooms/{room}/recording", self._start_recording)
        self.app.router.add_delete("/rooms/{room}/recording", self._stop_recording)

    @property
    def server(self) -> Server | None:
        """The mediasoup server."""
        return self.signaling.server

    @property
    def rooms(self) -> dict[str, Room]:
        """The open rooms by name."""
        return self.signaling.rooms

    async def start(self) -> None:
        """Starts the workers, splitting the port range between them."""
        if not BUNDLE.exists():
            raise FileNotFoundError(
                f"{BUNDLE} is missing: run `bash examples/demo.sh` (it bundles mediasoup-client)"
            )
        server = await Server.create(
            num_workers=max(1, self.settings.workers),
            rtc_ipv4=self.settings.rtc_ip,
            rtc_announced_ipv4=self.settings.rtc_announced_ip,
            rtc_min_port=self.settings.rtc_min_port,
            rtc_max_port=self.settings.rtc_max_port,
            rtc_port=self.settings.rtc_port,
            limits=self.settings.limits,
            redis=self.settings.redis,
            cluster_secret=self.settings.cluster_secret,
            pipe_ip=self.settings.pipe_ip,
            node_id=self.settings.node_id,
        )
        self.signaling.use(server)
        self.whip.listen_infos = server.listen_infos

    @property
    def workers(self) -> list[mediasoup_py.Worker]:
        """The media workers."""
        return self.server.workers if self.server is not None else []

    async def close(self) -> None:
        """Closes every WebSocket (going away), WHIP session, room and worker, finishing
        recordings."""
        for recorder in list(self.recordings.values()):
            await recorder.stop()
        self.recordings.clear()
        self.whip.close()
        await self.signaling.close()

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

    def _on_new_room(self, name: str, room: Room) -> None:
        self._room_names[room.router.id] = name
        # mediasoup-demo's chat bot in every room.
        task = asyncio.ensure_future(start_chat_bot(room))
        self._starting_bots.add(task)
        task.add_done_callback(self._bot_started)

    def _bot_started(self, task: asyncio.Task[ChatBot]) -> None:
        self._starting_bots.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _logger.warning("a room's chat bot did not start: %s", task.exception())

    async def _room_router(self, room_id: str) -> mediasoup_py.Router:
        room = await self.signaling.room(room_id)
        # Open while the WHIP request sets its session up (or fails).
        release = room.hold()
        asyncio.get_running_loop().call_later(WHIP_SETUP_HOLD_S, release)
        return room.router

    def _whip_session(self, session: WhipSession) -> None:
        room = self.rooms.get(session.room)
        if room is not None:
            self._whip_holds[session.id] = room.hold()

    def _whip_session_closed(self, session: WhipSession) -> None:
        release = self._whip_holds.pop(session.id, None)
        if release is not None:
            release()

    def _authorize_whip(self, request: WhipRequest) -> bool:
        """A broadcaster token for the room that may produce (WHIP) or consume (WHEP)."""
        assert self._tokens is not None
        try:
            grant = self._tokens.verify(request.token, room=request.room, kind="broadcaster")
        except errors.AuthenticationError:
            return False
        return ("produce" if request.role == "whip" else "consume") in grant.permissions

    def _room_producers(self, room_id: str) -> list[Producer]:
        room = self.rooms.get(room_id)
        peers = room.peers if room is not None else []
        published = self.whip.published_producers(room_id)
        return [p for peer in peers for p in peer.producers.values()] + published

    async def _start_recording(self, request: web.Request) -> web.Response:
        """``POST /rooms/{room}/recording`` ``{peerId?}``: records the room's producers (or
        one peer's), for a caller whose broadcaster token for the room may consume."""
        room_id = request.match_info["room"]
        room = self._recordable_room(request)
        if room_id in self.recordings:
            return web.json_response({"error": "already recording"}, status=409)
        body = await self.signaling.json_body(request)
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
        self._recordable_room(request)
        recorder = self.recordings.pop(request.match_info["room"], None)
        if recorder is None:
            return web.json_response({"error": "not recording"}, status=404)
        await recorder.stop()
        return web.json_response({"path": str(recorder.path), **recorder.stats()})

    def _recordable_room(self, request: web.Request) -> Room:
        """The room of a recording call (404 if nobody joined it), from an allowed origin,
        with a token that may consume there when tokens are on."""
        self.signaling.check_origin(request)
        room = self.rooms.get(request.match_info["room"])
        if room is None or room.closed:
            raise web.HTTPNotFound(text="no such room")
        grant = self.signaling.grant(request, request.match_info["room"], "broadcaster", None)
        if grant is not None and "consume" not in grant.permissions:
            raise web.HTTPForbidden(text="the token may not consume")
        return room

    def _spawn_stop_recording(self, room_id: str) -> None:
        recorder = self.recordings.pop(room_id, None)
        if recorder is not None:
            task = asyncio.ensure_future(recorder.stop())
            self._stopping.add(task)
            task.add_done_callback(self._stopping.discard)

    async def _index(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "index.html")
