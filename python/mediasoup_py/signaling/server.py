"""The signaling server: rooms by name over a :class:`~mediasoup_py.server.Server`, a WebSocket
per client carrying mediasoup-demo's v3 protocol (``/ws?roomId=...&peerId=...&token=...``, or
mediasoup-demo's own form: protoo's WebSocket subprotocol ``protoo`` at
``/?roomId=...&peerId=...``; the first message is the ``mediasoup-version`` notification),
and mediasoup-demo's HTTP API for broadcasters, hardened, over TLS when given a certificate:

- limits (:class:`~mediasoup_py.limits.Limits`) on connections (at once and per address),
  rooms, peers and what each may hold, message size and depth, requests pipelined and
  answers left unread; every refusal names its limit;
- join tokens (:mod:`mediasoup_py.signaling.auth`) checked on the WebSocket and on every
  HTTP call when a verifier is given; without one it serves open, and only on a loopback
  address unless told ``insecure``;
- an Origin allow-list for browsers (a page of another origin cannot drive it), and HTTP
  bodies taken only as ``application/json`` (which a cross-site form cannot send without a
  CORS preflight, which is never granted);
- the HTTP API never creates rooms (404 for a room nobody joined) and acts only on its own
  broadcasters (:meth:`~mediasoup_py.room.Room.create_broadcaster`), never on a client's
  peer; a broadcaster whose join failed is gone;
- an HTTP connection without a complete request head for ``http_idle_timeout`` is closed;
- :meth:`SignalingServer.close` closes every WebSocket as going away (1001), then the rooms
  and workers, within a second.
"""

from __future__ import annotations

import asyncio
import collections
import ipaddress
import logging
import ssl
import uuid
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from mediasoup_py import errors, protocol
from mediasoup_py.limits import Limits, check_id, quote
from mediasoup_py.room import Peer, Room
from mediasoup_py.signaling.auth import JoinGrant, TokenVerifier
from mediasoup_py.signaling.connection import CLOSE_TIMEOUT_S, WebSocketConnection
from mediasoup_py.signaling.messages import decode

if TYPE_CHECKING:
    from mediasoup_py.rtp_parameters import RtpCodecCapability
    from mediasoup_py.server import Server

__all__ = ["SignalingServer", "check_origin", "is_loopback"]

_logger = logging.getLogger("mediasoup_py.signaling")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# The WebSocket's ping interval: a client that does not answer a ping within half of it is
# dropped, with its transports. protoo's server (websocket-node) pings every 20 s and waits 10
# s: with 5 s (a 2.5 s wait) a loaded host dropped participants whose answer was late (the
# demo's tab-and-bot call lost a peer a few seconds in, at load 12-14).
HEARTBEAT_S = 20.0
# protoo's WebSocket subprotocol (protoo-client asks for it; the browser drops a connection
# whose server does not pick it).
PROTOO_SUBPROTOCOL = "protoo"


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or ``localhost``) is a loopback address."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_STATUSES: dict[int, type[web.HTTPException]] = {
    400: web.HTTPBadRequest,
    401: web.HTTPUnauthorized,
    403: web.HTTPForbidden,
    409: web.HTTPConflict,
    429: web.HTTPTooManyRequests,
}


def check_origin(request: web.Request, allowed_origins: Iterable[str] = ()) -> None:
    """Browsers say which page makes a call (``Origin``): only the server's own origin and
    ``allowed_origins`` (``"*"``: any) pass, else 403; clients that are not browsers send
    none."""
    origin = request.headers.get("Origin")
    if origin is None or origin == f"{request.scheme}://{request.host}":
        return
    if "*" not in allowed_origins and origin not in allowed_origins:
        raise web.HTTPForbidden(text=f"origin {quote(origin)} is not allowed")


def _status_error(status: int, reason: str) -> web.HTTPException:
    return _STATUSES.get(status, web.HTTPInternalServerError)(text=reason)


def _http_error(error: errors.MediasoupError) -> web.HTTPException:
    return _status_error(protocol.error_code(error), str(error))


class SignalingServer:
    """Clients' signaling for the rooms of a :class:`~mediasoup_py.server.Server` (given to
    :meth:`use`), on an aiohttp application (:attr:`app`; add your own routes to it).
    ``tokens`` checks join tokens (``None``: open, for development on a loopback address);
    ``allowed_origins`` are the browser origins allowed besides the server's own (``"*"``:
    any); ``limits`` default to the server's; ``on_new_room(name, room)`` is called for each
    room it creates. The WebSocket is at ``/ws`` and, for requests that ask to upgrade, at
    ``/`` (where mediasoup-demo's app connects); other requests for ``/`` go to
    :attr:`root_page` (404 when it is ``None``)."""

    def __init__(
        self,
        media_codecs: list[RtpCodecCapability],
        *,
        tokens: TokenVerifier | None = None,
        allowed_origins: Iterable[str] = (),
        limits: Limits | None = None,
        insecure: bool = False,
        on_new_room: Callable[[str, Room], None] | None = None,
    ) -> None:
        self._media_codecs = media_codecs
        self._on_new_room = on_new_room
        self._tokens = tokens
        self._allowed_origins = frozenset(allowed_origins)
        self._limits = limits
        self._insecure = insecure
        self._server: Server | None = None
        self.rooms: dict[str, Room] = {}
        self._room_lock = asyncio.Lock()
        self._connections: set[WebSocketConnection] = set()
        self._per_address: collections.Counter[str] = collections.Counter()
        self._closed = False
        self.root_page: Handler | None = None
        self.app = web.Application(
            middlewares=[self._errors], client_max_size=(limits or Limits()).message_bytes
        )
        self.app.router.add_get("/ws", self._websocket)
        self.app.router.add_get("/", self._root)
        rooms = "/rooms/{room}"
        broadcaster = rooms + "/broadcasters/{broadcaster}"
        transport = broadcaster + "/transports/{transport}"
        routes: list[tuple[str, str, Handler]] = [
            ("GET", rooms, self._room_info),
            ("POST", rooms + "/broadcasters", self._create_broadcaster),
            ("DELETE", broadcaster, self._delete_broadcaster),
            ("POST", broadcaster + "/transports", self._broadcaster_transport),
            ("POST", transport + "/connect", self._broadcaster_connect),
            ("POST", transport + "/producers", self._broadcaster_produce),
            ("POST", transport + "/consume", self._broadcaster_consume),
            ("POST", broadcaster + "/consumers/{consumer}/resume", self._broadcaster_resume),
        ]
        for method, path, handler in routes:
            self.app.router.add_route(method, path, handler)

    @property
    def limits(self) -> Limits:
        """The limits in force (the server's unless given)."""
        if self._limits is not None:
            return self._limits
        return self._server.limits if self._server is not None else Limits()

    @property
    def open(self) -> bool:
        """Whether it serves without join tokens."""
        return self._tokens is None

    @property
    def server(self) -> Server | None:
        """The mediasoup server whose rooms it serves."""
        return self._server

    @property
    def connections(self) -> int:
        """Open WebSocket connections."""
        return len(self._connections)

    def use(self, server: Server) -> None:
        """Serves the rooms of ``server`` (which it closes with itself)."""
        self._server = server
        server.on("close", self._close_connections)

    def runner(self) -> web.AppRunner:
        """An aiohttp runner for :attr:`app` with the HTTP timeouts of its limits."""
        return web.AppRunner(
            self.app,
            keepalive_timeout=self.limits.http_idle_timeout,
            shutdown_timeout=CLOSE_TIMEOUT_S,
            handler_cancellation=True,
            access_log=None,
        )

    async def start(
        self, host: str, port: int, ssl_context: ssl.SSLContext | None = None
    ) -> tuple[web.AppRunner, int]:
        """Listens on ``host``:``port`` (0: any free port), over TLS (https, wss) with
        ``ssl_context``; returns the runner (``cleanup()`` stops listening) and the port.
        Refuses to serve open (no token verifier) on an address other than loopback unless
        it was made ``insecure``."""
        if self.open and not is_loopback(host) and not self._insecure:
            raise errors.InvalidStateError(
                f"refusing to serve without join tokens on {host}: give a token secret or "
                "public key, or say insecure"
            )
        runner = self.runner()
        await runner.setup()
        site = web.TCPSite(runner, host, port, ssl_context=ssl_context)
        await site.start()
        bound: int = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return runner, bound

    async def close(self) -> None:
        """Closes every WebSocket (1001, going away) and the server's rooms and workers;
        returns once the sockets are closed (a client that does not answer the close is cut
        after ``CLOSE_TIMEOUT_S``)."""
        self._closed = True
        if self._server is not None:
            self._server.close()
        self._close_connections()
        closing = [connection.wait_closed() for connection in self._connections]
        if self._server is not None:
            closing.append(self._server.wait_closed())
        if closing:
            await asyncio.gather(*closing, return_exceptions=True)

    def _close_connections(self) -> None:
        for connection in list(self._connections):
            connection.close()

    # Rooms.

    async def room(self, room_id: str) -> Room:
        """The room of that name, created if there is none (what a WebSocket join does;
        another endpoint of the application may too)."""
        return await self._room_for_join(room_id)

    async def _room_for_join(self, room_id: str) -> Room:
        """The room a client joins, created on first join (only a join creates rooms)."""
        async with self._room_lock:
            room = self.rooms.get(room_id)
            if room is not None and not room.closed:
                return room
            if self._server is None or self._closed:
                raise errors.InvalidStateError("the server is not serving")
            # Named, so that in a cluster it spans the nodes that have it.
            room = await self._server.create_room(self._media_codecs, room_id)
            self.rooms[room_id] = room
            room.on("close", lambda: self._forget_room(room_id, room))
            _logger.info("room %s created", quote(room_id))
            if self._on_new_room is not None:
                self._on_new_room(room_id, room)
            return room

    def _forget_room(self, room_id: str, room: Room) -> None:
        if self.rooms.get(room_id) is room:
            del self.rooms[room_id]
            _logger.info("room %s closed", quote(room_id))

    def _existing_room(self, request: web.Request) -> Room:
        room = self.rooms.get(request.match_info["room"])
        if room is None or room.closed:
            raise web.HTTPNotFound(text="no such room")
        return room

    # Who may call.

    @web.middleware
    async def _errors(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Typed errors answered with their status; a client that went while being answered
        is not an error."""
        try:
            return await handler(request)
        except errors.MediasoupError as error:
            raise _http_error(error) from None
        except ConnectionResetError:
            return web.Response(status=499)

    def check_origin(self, request: web.Request) -> None:
        """403 unless the request's ``Origin`` is allowed (see :func:`check_origin`)."""
        check_origin(request, self._allowed_origins)

    def grant(
        self, request: web.Request, room_id: str, kind: str, peer_id: str | None
    ) -> JoinGrant | None:
        """The caller's token grant for ``room_id`` (``?token=`` or ``Authorization:
        Bearer``; 401 if it has none valid), ``None`` when serving open: for an
        application's own routes."""
        if self._tokens is None:
            return None
        token = request.query.get("token")
        header = request.headers.get("Authorization", "")
        if token is None and header.startswith("Bearer "):
            token = header[len("Bearer ") :]
        try:
            return self._tokens.verify(token, room=room_id, kind=kind, peer_id=peer_id)
        except errors.AuthenticationError as error:
            _logger.info("refused %s %s: %s", request.method, quote(request.path), error)
            raise web.HTTPUnauthorized(
                text=str(error), headers={"WWW-Authenticate": "Bearer"}
            ) from None

    # The WebSocket.

    def _admit(self, request: web.Request) -> str:
        """Counts a new connection against the connection limits; returns its address."""
        limits = self.limits
        address = request.remote or ""
        if len(self._connections) >= limits.connections:
            raise web.HTTPServiceUnavailable(text=f"connections: at most {limits.connections}")
        if self._per_address[address] >= limits.connections_per_address:
            raise web.HTTPTooManyRequests(
                text=f"connections_per_address: at most {limits.connections_per_address}"
            )
        return address

    async def _root(self, request: web.Request) -> web.StreamResponse:
        """``/``: the WebSocket for a request to upgrade (mediasoup-demo's app connects
        there), else the root page."""
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await self._websocket(request)
        if self.root_page is None:
            raise web.HTTPNotFound()
        return await self.root_page(request)

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        self.check_origin(request)
        address = self._admit(request)
        limits = self.limits
        room_id = check_id(request.query.get("roomId"), "roomId", limits)
        asked_id = request.query.get("peerId")
        grant = self.grant(request, room_id, "peer", asked_id)
        if grant is not None:
            peer_id, display_name, permissions = (
                grant.peer_id,
                grant.display_name,
                grant.permissions,
            )
        else:
            peer_id, display_name, permissions = asked_id or str(uuid.uuid4()), None, None
        check_id(peer_id, "peerId", limits)
        self._per_address[address] += 1
        slot = _ConnectionSlot()
        try:
            room = await self._room_for_join(room_id)
            peer = room.create_peer(
                peer_id,
                slot,
                display_name=display_name,
                permissions=permissions,
            )
        except BaseException:
            self._release(address)
            raise
        socket = web.WebSocketResponse(
            heartbeat=HEARTBEAT_S,
            timeout=CLOSE_TIMEOUT_S,
            max_msg_size=limits.message_bytes,
            compress=False,
            # Picked when the client asks for it (protoo-client does), else none.
            protocols=(PROTOO_SUBPROTOCOL,),
        )
        try:
            await socket.prepare(request)
            connection = WebSocketConnection(socket, request, limits)
            slot.connection = connection
            self._connections.add(connection)
            connection.notify(protocol.version_notification())
            # The server closing the peer (its room or the whole server closing) closes
            # the connection, as going away.
            peer.on("close", connection.close)
            _logger.info("peer %s joined room %s", quote(peer_id), quote(room_id))
            try:
                await connection.serve(peer)
            finally:
                self._connections.discard(connection)
        finally:
            peer.close()
            self._release(address)
            _logger.info("peer %s left room %s", quote(peer_id), quote(room_id))
        return socket

    def _release(self, address: str) -> None:
        self._per_address[address] -= 1
        if self._per_address[address] <= 0:
            del self._per_address[address]

    # The broadcaster HTTP API.

    async def json_body(self, request: web.Request) -> dict[str, Any]:
        """A request's JSON object body (``{}`` without one), only as ``application/json``
        (anything else would let a page of any site post it without a CORS preflight),
        within ``message_bytes`` and ``json_depth``."""
        if not request.body_exists:
            return {}
        if request.content_type != "application/json" or (request.charset or "utf-8") != "utf-8":
            raise web.HTTPUnsupportedMediaType(text="the body must be application/json (UTF-8)")
        try:
            body = decode(await request.read(), self.limits)
        except errors.LimitExceededError as error:
            raise _http_error(error) from None
        except errors.MediasoupTypeError as error:
            raise web.HTTPBadRequest(text="the body must be JSON") from error
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(text="the body must be a JSON object")
        return body

    async def _room_info(self, request: web.Request) -> web.Response:
        """``GET /rooms/{room}``: its joined peers and their producers (what a peer joining
        it would be told), for a caller whose token may consume there."""
        room = self._existing_room(request)
        grant = self.grant(request, request.match_info["room"], "broadcaster", None)
        if grant is not None and "consume" not in grant.permissions:
            raise web.HTTPForbidden(text="the token may not consume")
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
            if peer.joined and not peer.spy
        ]
        return web.json_response({"peers": peers})

    async def _create_broadcaster(self, request: web.Request) -> web.Response:
        self.check_origin(request)
        room = self._existing_room(request)
        body = await self.json_body(request)
        broadcaster_id = check_id(body.get("id"), "id", self.limits)
        grant = self.grant(request, request.match_info["room"], "broadcaster", broadcaster_id)
        peer = room.create_broadcaster(
            broadcaster_id,
            display_name=grant.display_name if grant else None,
            permissions=grant.permissions if grant else None,
        )
        data = {
            "displayName": body.get("displayName", broadcaster_id),
            "device": body.get("device") or {"name": "broadcaster"},
        }
        try:
            return await _call(peer, "join", data)
        except BaseException:
            # A broadcaster whose join failed leaves nothing behind.
            peer.close()
            raise

    def _broadcaster(self, request: web.Request) -> Peer:
        self.check_origin(request)
        room = self._existing_room(request)
        broadcaster_id = request.match_info["broadcaster"]
        self.grant(request, request.match_info["room"], "broadcaster", broadcaster_id)
        peer = room.get_broadcaster(broadcaster_id)
        if peer is None:
            raise web.HTTPNotFound(text="no such broadcaster")
        return peer

    async def _delete_broadcaster(self, request: web.Request) -> web.Response:
        self._broadcaster(request).close()
        return web.json_response({})

    async def _broadcaster_transport(self, request: web.Request) -> web.Response:
        peer = self._broadcaster(request)
        return await _call(peer, "createPlainTransport", await self.json_body(request))

    async def _broadcaster_connect(self, request: web.Request) -> web.Response:
        peer = self._broadcaster(request)
        data = {**await self.json_body(request), "transportId": request.match_info["transport"]}
        return await _call(peer, "connectPlainTransport", data)

    async def _broadcaster_produce(self, request: web.Request) -> web.Response:
        peer = self._broadcaster(request)
        data = {**await self.json_body(request), "transportId": request.match_info["transport"]}
        return await _call(peer, "produce", data)

    async def _broadcaster_consume(self, request: web.Request) -> web.Response:
        peer = self._broadcaster(request)
        data = {
            "transportId": request.match_info["transport"],
            "producerId": request.query.get("producerId", ""),
        }
        return await _call(peer, "consume", data)

    async def _broadcaster_resume(self, request: web.Request) -> web.Response:
        peer = self._broadcaster(request)
        return await _call(peer, "resumeConsumer", {"consumerId": request.match_info["consumer"]})


class _ConnectionSlot:
    """A peer's channel: its connection once the WebSocket is open (the peer is made
    before, so a refusal is an HTTP status); nothing reaches the client until then."""

    def __init__(self) -> None:
        self.connection: WebSocketConnection | None = None

    async def request(self, message: protocol.Request) -> protocol.Response:
        if self.connection is None:
            raise ConnectionError("the client is not connected yet")
        return await self.connection.request(message)

    def notify(self, message: protocol.Notification) -> None:
        if self.connection is not None:
            self.connection.notify(message)


async def _call(peer: Peer, method: str, data: dict[str, Any]) -> web.Response:
    """One protocol request on behalf of an HTTP call: its data, or the error's status with
    the reason."""
    response = await peer.receive_request(protocol.request(method, data))
    if not response["ok"]:
        raise _status_error(response.get("errorCode", 500), response.get("errorReason", ""))
    return web.json_response(response.get("data", {}))
