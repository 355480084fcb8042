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

With a token secret or public key, every call needs a join token (``?token=`` on the
WebSocket, ``Authorization: Bearer`` on HTTP); without, it serves anyone, and only on a
loopback address unless ``insecure``.
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

import mediasoup_py
from mediasoup_py import errors
from mediasoup_py.limits import Limits
from mediasoup_py.room import Room
from mediasoup_py.server import Server
from mediasoup_py.signaling import SignalingServer, TokenVerifier

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
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    limits: Limits = field(default_factory=lambda: Limits(empty_room_grace=0.0))
    # Join tokens: an HMAC secret, or a PEM public key (neither: open).
    token_secret: str | None = None
    token_public_key: str | None = None
    allowed_origins: list[str] = field(default_factory=list)
    insecure: bool = False


class DemoServer:
    """The SFU (workers, a room per name), its signaling and the page."""

    def __init__(self, settings: DemoSettings) -> None:
        self.settings = settings
        tokens = None
        if settings.token_secret is not None or settings.token_public_key is not None:
            tokens = TokenVerifier(
                secret=settings.token_secret, public_key=settings.token_public_key
            )
        self.signaling = SignalingServer(
            MEDIA_CODECS,  # type: ignore[arg-type]
            tokens=tokens,
            allowed_origins=settings.allowed_origins,
            limits=settings.limits,
            insecure=settings.insecure,
        )
        self.app = self.signaling.app
        self.app.router.add_get("/", self._index)
        self.app.router.add_static("/static/", STATIC)

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
            limits=self.settings.limits,
        )
        self.signaling.use(server)

    @property
    def workers(self) -> list[mediasoup_py.Worker]:
        """The media workers."""
        return self.server.workers if self.server is not None else []

    async def close(self) -> None:
        """Closes every WebSocket (going away), room and worker."""
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

    async def _index(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "index.html")
