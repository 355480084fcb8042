"""WHIP (RFC 9725) and WHEP endpoints: publish into a room and play from it with any WHIP
or WHEP client (OBS, GStreamer's whipclientsink, ffmpeg's WHIP muxer, browsers), without a
mediasoup client library.

``WhipEndpoint`` holds the sessions and answers requests independently of the web
framework; ``add_aiohttp_routes`` mounts it on an aiohttp application and ``asgi_app``
serves it to an ASGI server. The routes (``prefix`` defaults to ``""``):

- ``POST {prefix}/whip/{room}`` with an SDP offer (``application/sdp``): a WebRtcTransport
  with a producer per send section; ``201 Created`` with the answer, ``Location`` and
  ``ETag``. ``POST {prefix}/whep/{room}``: the same for a viewer, with a consumer per
  receive section of the room's producers.
- ``DELETE`` on the ``Location``: the session ends (transport, producers, consumers).
- ``PATCH`` on the ``Location`` with ``application/trickle-ice-sdpfrag``: an ICE restart
  (new ufrag/pwd; ``If-Match`` must hold the session's ETag or ``*``) is answered ``200``
  with our new credentials and candidates; trickled candidates (alone, or with the
  credentials the session already has, as RFC 8840 clients send them) get ``204`` (an
  ICE-lite server learns the client's addresses from its checks).
- ``OPTIONS`` on either: the methods and media types accepted (CORS preflight too).

Errors: a malformed or hostile offer gets ``400`` naming the line and what is wrong; an
offer with no codec the room takes ``406``; a bad bearer token ``401``; a wrong content
type ``415``; an unknown session ``404``. A failed request leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import inspect
import secrets
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from mediasoup_py import errors
from mediasoup_py.pipe_to_router import pipe_to_router
from mediasoup_py.sdp import (
    AnswerSection,
    MediaSection,
    Offer,
    SdpError,
    answer,
    consumer_rtp_capabilities,
    parse_offer,
    producer_rtp_parameters,
    viewer_media_codecs,
)

if TYPE_CHECKING:
    from aiohttp import web

    from mediasoup_py.consumer import Consumer
    from mediasoup_py.producer import Producer
    from mediasoup_py.router import Router
    from mediasoup_py.rtp_parameters import RtpCodecCapability, RtpParameters
    from mediasoup_py.transport import ListenInfo
    from mediasoup_py.webrtc_transport import WebRtcTransport

__all__ = [
    "WhipEndpoint",
    "WhipPublishing",
    "WhipRequest",
    "WhipResponse",
    "WhipSession",
    "add_aiohttp_routes",
    "asgi_app",
]

SDP_TYPE = "application/sdp"
TRICKLE_TYPE = "application/trickle-ice-sdpfrag"
Role = Literal["whip", "whep"]
_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, If-Match",
    "Access-Control-Expose-Headers": "Location, ETag, Accept-Patch, Link",
}


@dataclass(frozen=True)
class WhipRequest:
    """What the ``authorize`` hook sees of a request."""

    method: str
    role: Role
    room: str
    token: str | None
    session_id: str | None = None


@dataclass
class WhipResponse:
    """A response for the web framework to send."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""


@dataclass
class WhipSession:
    """One publisher (``whip``) or viewer (``whep``): its transport and media."""

    id: str
    role: Role
    room: str
    transport: WebRtcTransport
    #: The client's ICE ufrag and password (from its offer, or its last ICE restart).
    client_ice: tuple[str, str] = ("", "")
    producers: list[Producer] = field(default_factory=list)
    consumers: list[Consumer] = field(default_factory=list)
    #: A viewer's router, when it is not the room's: one with the payload types of its
    #: offer, fed by pipes from the room's router (see ``mediasoup_py.sdp``).
    viewing_router: Router | None = None
    etag: str = field(default_factory=lambda: f'"{secrets.token_hex(8)}"')

    def close(self) -> None:
        """Ends the session: closing the transport closes its producers and consumers."""
        if not self.transport.closed:
            self.transport.close()


Authorize = Callable[[WhipRequest], "Awaitable[bool] | bool"]
SessionHook = Callable[[WhipSession], "Awaitable[None] | None"]


class WhipPublishing(Protocol):
    """Where a WHIP publisher's transport and producers come from. The default makes them
    on ``router_for(room)``; an application with rooms of its own (the demo) makes them
    through its room, so the room's participants are told of the producers."""

    async def create_transport(self, room: str, session_id: str) -> WebRtcTransport:
        """A WebRtcTransport for the publisher."""
        ...

    async def produce(
        self,
        session_id: str,
        transport: WebRtcTransport,
        kind: Literal["audio", "video"],
        rtp_parameters: RtpParameters,
    ) -> Producer:
        """A producer on the publisher's transport."""
        ...

    async def closed(self, session_id: str) -> None:
        """The session ended (its transport is closed)."""
        ...


class _RouterPublishing:
    """Publishers' transports and producers on ``router_for(room)``."""

    def __init__(self, endpoint: WhipEndpoint) -> None:
        self._endpoint = endpoint

    async def create_transport(self, room: str, session_id: str) -> WebRtcTransport:
        router = await self._endpoint._router_for(room)
        return await router.create_webrtc_transport(listen_infos=self._endpoint.listen_infos)

    async def produce(
        self,
        session_id: str,
        transport: WebRtcTransport,
        kind: Literal["audio", "video"],
        rtp_parameters: RtpParameters,
    ) -> Producer:
        return await transport.produce(kind=kind, rtp_parameters=rtp_parameters)

    async def closed(self, session_id: str) -> None:
        return None


class WhipEndpoint:
    """WHIP and WHEP sessions on the routers ``router_for(room)`` gives.

    ``listen_infos`` are the WebRtcTransports' (mediasoup's ``listenInfos``; an attribute,
    so an application can set it once its workers run).
    ``producers_for(room)`` lists what a WHEP viewer of the room gets (by default the
    producers published over WHIP into it). ``authorize`` sees each request's bearer token
    and says yes or no. ``on_session`` runs once a session's producers or consumers exist
    and ``on_session_closed`` once it ends. ``publishing`` makes publishers' transports
    and producers (by default on the router; see :class:`WhipPublishing`).
    """

    def __init__(
        self,
        *,
        router_for: Callable[[str], Awaitable[Router]],
        listen_infos: list[ListenInfo],
        producers_for: Callable[[str], Iterable[Producer]] | None = None,
        authorize: Authorize | None = None,
        on_session: SessionHook | None = None,
        on_session_closed: SessionHook | None = None,
        publishing: WhipPublishing | None = None,
        prefix: str = "",
    ) -> None:
        self._router_for = router_for
        self.listen_infos = listen_infos
        self._producers_for = producers_for or self.published_producers
        self._authorize = authorize
        self._on_session = on_session
        self._on_session_closed = on_session_closed
        self._publishing: WhipPublishing = publishing or _RouterPublishing(self)
        self.prefix = prefix.rstrip("/")
        self.sessions: dict[str, WhipSession] = {}
        # Tasks started from transport events, kept until done.
        self._tasks: set[asyncio.Future[None]] = set()
        # Viewers' routers by (room router id, their codecs), with how many sessions use each.
        self._viewing_routers: dict[tuple[str, str], tuple[Router, set[str]]] = {}
        # The room producers piped to viewers' routers: (viewers' router id, room producer
        # id) -> the producer there (an id of its own: producer ids are worker-wide). Piped
        # once, however many viewers ask at once.
        self._piped: dict[tuple[str, str], Producer] = {}
        self._pipe_lock = asyncio.Lock()

    def published_producers(self, room: str) -> list[Producer]:
        """The open producers of the room's WHIP publishers."""
        return [
            producer
            for session in self.sessions.values()
            if session.role == "whip" and session.room == room
            for producer in session.producers
            if not producer.closed
        ]

    def location(self, session: WhipSession) -> str:
        """The session's resource URL path."""
        return f"{self.prefix}/{session.role}/{session.room}/{session.id}"

    async def handle(
        self,
        method: str,
        role: Role,
        room: str,
        session_id: str | None,
        headers: Mapping[str, str],
        body: str,
    ) -> WhipResponse:
        """Answers one request (``session_id`` set for the session's resource URL)."""
        response = await self._dispatch(method.upper(), role, room, session_id, headers, body)
        response.headers.update(_CORS)
        return response

    async def _dispatch(
        self,
        method: str,
        role: Role,
        room: str,
        session_id: str | None,
        headers: Mapping[str, str],
        body: str,
    ) -> WhipResponse:
        if method == "OPTIONS":
            return self._options(session_id)
        token = _bearer_token(headers)
        request = WhipRequest(method, role, room, token, session_id)
        if self._authorize is not None and not await _maybe_await(self._authorize(request)):
            return WhipResponse(401, {"WWW-Authenticate": "Bearer"}, "not authorized")
        if session_id is None:
            if method != "POST":
                return WhipResponse(405, {"Allow": "POST, OPTIONS"})
            if _media_type(headers) != SDP_TYPE:
                return WhipResponse(415, {"Accept-Post": SDP_TYPE}, f"expected {SDP_TYPE}")
            return await self._create(role, room, body)
        session = self.sessions.get(session_id)
        if session is None or session.role != role or session.room != room:
            return WhipResponse(404, body="no such session")
        if method == "DELETE":
            await self._close(session)
            return WhipResponse(200)
        if method == "PATCH":
            return await self._patch(session, headers, body)
        return WhipResponse(405, {"Allow": "DELETE, PATCH, OPTIONS"})

    def _options(self, session_id: str | None) -> WhipResponse:
        if session_id is None:
            methods = "POST, OPTIONS"
            headers = {"Accept-Post": SDP_TYPE}
        else:
            methods = "DELETE, PATCH, OPTIONS"
            headers = {"Accept-Patch": TRICKLE_TYPE}
        headers |= {"Allow": methods, "Access-Control-Allow-Methods": methods}
        return WhipResponse(204, headers)

    async def _create(self, role: Role, room: str, body: str) -> WhipResponse:
        try:
            offer = parse_offer(body)
        except SdpError as error:
            return WhipResponse(400, {"Content-Type": "text/plain"}, str(error))
        sections = [s for s in offer.sections if not s.rejected]
        wanted = "sendonly" if role == "whip" else "recvonly"
        for section in sections:
            if section.is_rtp and section.direction not in (wanted, "sendrecv"):
                return WhipResponse(
                    400,
                    {"Content-Type": "text/plain"},
                    f"SDP line {section.line}: a {role.upper()} offer's m={section.kind} "
                    f"must be {wanted}, not {section.direction}",
                )
        router = await self._router_for(room)
        session_id = secrets.token_urlsafe(12)
        viewing_router: Router | None = None
        if role == "whip":
            transport = await self._publishing.create_transport(room, session_id)
        else:
            viewing_router = await self._viewing_router(router, offer, session_id)
            try:
                transport = await (viewing_router or router).create_webrtc_transport(
                    listen_infos=self.listen_infos
                )
            except BaseException:
                self._release_viewing_router(viewing_router, session_id)
                raise
        session = WhipSession(
            session_id,
            role,
            room,
            transport,
            client_ice=(offer.ice_ufrag, offer.ice_pwd),
            viewing_router=viewing_router,
        )
        refusals: list[str] = []
        try:
            if role == "whip":
                answered = await self._produce(session, offer.sections, router, refusals)
            else:
                answered = await self._consume(session, offer.sections, router, refusals)
            if not any(a.rtp_parameters for a in answered):
                await self._discard(session)
                return WhipResponse(
                    406 if role == "whip" else 404,
                    {"Content-Type": "text/plain"},
                    "; ".join(refusals) or "no media section to answer",
                )
            answer_sdp = answer(offer, transport, answered)
            await transport.connect(
                dtls_parameters={
                    "role": "server" if offer.setup == "passive" else "client",
                    "fingerprints": [
                        {"algorithm": offer.fingerprint[0], "value": offer.fingerprint[1]}
                    ],
                }
            )
        except SdpError as error:
            await self._discard(session)
            return WhipResponse(400, {"Content-Type": "text/plain"}, str(error))
        except errors.MediasoupTypeError as error:
            await self._discard(session)
            return WhipResponse(400, {"Content-Type": "text/plain"}, f"offer: {error}")
        except BaseException:
            await self._discard(session)
            raise
        self.sessions[session.id] = session
        transport.on("dtlsstatechange", lambda state: self._on_dtls_state(session, state))
        transport.on("icestatechange", lambda state: self._on_ice_state(session, state))
        if self._on_session is not None:
            await _maybe_await(self._on_session(session))
        return WhipResponse(
            201,
            {
                "Content-Type": SDP_TYPE,
                "Location": self.location(session),
                "ETag": session.etag,
                "Accept-Patch": TRICKLE_TYPE,
            },
            answer_sdp,
        )

    async def _produce(
        self,
        session: WhipSession,
        sections: list[MediaSection],
        router: Router,
        refusals: list[str],
    ) -> list[AnswerSection]:
        answered = []
        for section in sections:
            if section.rejected or not section.is_rtp:
                answered.append(AnswerSection(section, None))
                continue
            try:
                parameters = producer_rtp_parameters(section, router.rtp_capabilities)
            except errors.UnsupportedError as error:
                refusals.append(str(error))
                answered.append(AnswerSection(section, None))
                continue
            kind: Literal["audio", "video"] = "audio" if section.kind == "audio" else "video"
            producer = await self._publishing.produce(
                session.id, session.transport, kind, parameters
            )
            session.producers.append(producer)
            answered.append(AnswerSection(section, parameters, "recvonly"))
        return answered

    async def _viewing_router(self, router: Router, offer: Offer, session_id: str) -> Router | None:
        """The router a viewer consumes on when its offer's payload types are not the room
        router's (None when they are): made on the room router's worker with the offer's
        payload types, shared by the viewers whose offers give the same ones, closed with
        the last of them."""
        codecs = viewer_media_codecs(offer.sections, router.rtp_capabilities)
        if not codecs or all(_has_codec(router, codec) for codec in codecs):
            return None
        key = (router.id, repr(codecs))
        entry = self._viewing_routers.get(key)
        if entry is None or entry[0].closed:
            created = await router.worker.create_router(media_codecs=codecs)
            entry = self._viewing_routers.get(key)
            if entry is None or entry[0].closed:
                entry = (created, set())
                self._viewing_routers[key] = entry
            else:
                # Another viewer's request made one meanwhile.
                created.close()
        entry[1].add(session_id)
        return entry[0]

    def _release_viewing_router(self, viewing_router: Router | None, session_id: str) -> None:
        for key, (candidate, sessions) in list(self._viewing_routers.items()):
            if candidate is viewing_router:
                sessions.discard(session_id)
                if not sessions:
                    del self._viewing_routers[key]
                    candidate.close()

    async def _consume(
        self,
        session: WhipSession,
        sections: list[MediaSection],
        room_router: Router,
        refusals: list[str],
    ) -> list[AnswerSection]:
        available = [p for p in self._producers_for(session.room) if not p.closed]
        viewing_router = session.viewing_router or room_router
        answered = []
        for section in sections:
            producer = next(
                (p for p in available if section.is_rtp and p.kind == section.kind), None
            )
            if section.rejected or producer is None:
                refusals.append(f"m={section.kind} (line {section.line}): nothing to play")
                answered.append(AnswerSection(section, None))
                continue
            try:
                consumed = producer
                if session.viewing_router is not None:
                    consumed = await self._pipe(room_router, producer, session.viewing_router)
                consumer = await session.transport.consume(
                    producer_id=consumed.id,
                    rtp_capabilities=consumer_rtp_capabilities(
                        section, viewing_router.rtp_capabilities
                    ),
                    mid=section.mid,
                    paused=True,
                )
            except errors.UnsupportedError as error:
                refusals.append(f"m={section.kind} (line {section.line}): {error}")
                answered.append(AnswerSection(section, None))
                continue
            available.remove(producer)
            session.consumers.append(consumer)
            answered.append(
                AnswerSection(section, consumer.rtp_parameters, "sendonly", f"{session.room}")
            )
        return answered

    async def _pipe(
        self, room_router: Router, producer: Producer, viewing_router: Router
    ) -> Producer:
        """The room producer's copy on the viewers' router, piped on first use."""
        key = (viewing_router.id, producer.id)
        async with self._pipe_lock:
            piped = self._piped.get(key)
            if piped is None or piped.closed:
                piped = (
                    await pipe_to_router(
                        room_router,
                        producer_id=producer.id,
                        router=viewing_router,
                        listen_info=None,
                        enable_srtp=False,
                        enable_rtx=False,
                        same_id=False,
                    )
                ).pipe_producer
                self._piped[key] = piped
                piped.observer.once("close", lambda: self._piped.pop(key, None))
            return piped

    def _on_dtls_state(self, session: WhipSession, state: str) -> None:
        if state == "connected":
            # Consumers start once the viewer can decrypt, at a keyframe.
            for consumer in session.consumers:
                self._spawn(consumer.resume())
        elif state in ("failed", "closed"):
            self._spawn(self._close(session))

    def _on_ice_state(self, session: WhipSession, state: str) -> None:
        # "closed": the client's consent expired (RFC 7675) or the transport was closed.
        if state == "closed":
            self._spawn(self._close(session))

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _close(self, session: WhipSession) -> None:
        if self.sessions.pop(session.id, None) is None:
            return
        await self._discard(session)
        if self._on_session_closed is not None:
            await _maybe_await(self._on_session_closed(session))

    async def _discard(self, session: WhipSession) -> None:
        """Closes the session's transport (and with it its producers and consumers)."""
        session.close()
        if session.role == "whip":
            await self._publishing.closed(session.id)
        else:
            self._release_viewing_router(session.viewing_router, session.id)

    async def _patch(
        self, session: WhipSession, headers: Mapping[str, str], body: str
    ) -> WhipResponse:
        if _media_type(headers) != TRICKLE_TYPE:
            return WhipResponse(415, {"Accept-Patch": TRICKLE_TYPE}, f"expected {TRICKLE_TYPE}")
        if_match = headers.get("If-Match") or headers.get("if-match")
        if if_match is not None and if_match not in ("*", session.etag):
            return WhipResponse(412, body="If-Match does not match the session's ETag")
        ufrag = pwd = None
        for line in body.replace("\r\n", "\n").split("\n"):
            if line.startswith("a=ice-ufrag:"):
                ufrag = line.split(":", 1)[1]
            elif line.startswith("a=ice-pwd:"):
                pwd = line.split(":", 1)[1]
        if ufrag is None or pwd is None or (ufrag, pwd) == session.client_ice:
            # Trickled candidates (RFC 8840 sends them with the credentials they belong to):
            # an ICE-lite server learns the client's addresses from its checks.
            return WhipResponse(204)
        # New credentials: the client restarts ICE (RFC 9725 section 4.3.2).
        session.client_ice = (ufrag, pwd)
        ice = await session.transport.restart_ice()
        session.etag = f'"{secrets.token_hex(8)}"'
        lines = [f"a=ice-ufrag:{ice['usernameFragment']}", f"a=ice-pwd:{ice['password']}"]
        for candidate in session.transport.ice_candidates:
            lines.append(
                f"a=candidate:{candidate['foundation']} 1 {candidate['protocol']} "
                f"{candidate['priority']} {candidate['address']} {candidate['port']} typ host"
            )
        lines.append("a=end-of-candidates")
        return WhipResponse(
            200,
            {"Content-Type": TRICKLE_TYPE, "ETag": session.etag},
            "\r\n".join(lines) + "\r\n",
        )

    def close(self) -> None:
        """Ends every session (closing their transports; ``publishing.closed`` is not
        called: the application is shutting down)."""
        for session in list(self.sessions.values()):
            session.close()
        self.sessions.clear()
        for viewing_router, _ in self._viewing_routers.values():
            viewing_router.close()
        self._viewing_routers.clear()


def _has_codec(router: Router, codec: RtpCodecCapability) -> bool:
    """Whether the router has the codec with the same payload type."""
    return any(
        mine["mimeType"].lower() == codec["mimeType"].lower()
        and mine["preferredPayloadType"] == codec["preferredPayloadType"]
        and mine.get("parameters", {}) == codec.get("parameters", {})
        for mine in router.rtp_capabilities.get("codecs", [])
    )


def _media_type(headers: Mapping[str, str]) -> str:
    value = headers.get("Content-Type") or headers.get("content-type") or ""
    return value.split(";")[0].strip().lower()


def _bearer_token(headers: Mapping[str, str]) -> str | None:
    value = headers.get("Authorization") or headers.get("authorization") or ""
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


# Offers are a few KB; a bound keeps a hostile body from being read whole.
MAX_BODY_BYTES = 128 * 1024


def add_aiohttp_routes(app: web.Application, endpoint: WhipEndpoint) -> None:
    """Mounts the endpoint's routes on an aiohttp application."""
    from aiohttp import web

    async def serve(request: web.Request) -> web.StreamResponse:
        role: Role = "whip" if request.match_info["role"] == "whip" else "whep"
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            return web.Response(status=413, text="request body too large")
        try:
            raw = await request.content.read(MAX_BODY_BYTES + 1)
        except ValueError:
            return web.Response(status=400, text="unreadable body")
        if len(raw) > MAX_BODY_BYTES:
            return web.Response(status=413, text="request body too large")
        response = await endpoint.handle(
            request.method,
            role,
            request.match_info["room"],
            request.match_info.get("session"),
            request.headers,
            raw.decode("utf-8", "replace"),
        )
        return web.Response(
            status=response.status, headers=response.headers, body=response.body.encode()
        )

    base = endpoint.prefix + "/{role:whip|whep}/{room:[A-Za-z0-9_.-]{1,64}}"
    for route in (base, base + "/{session:[A-Za-z0-9_-]{1,64}}"):
        app.router.add_route("*", route, serve)


def asgi_app(endpoint: WhipEndpoint) -> Callable[..., Awaitable[None]]:
    """The endpoint as an ASGI application (HTTP only)."""

    async def app(
        scope: dict[str, Any],
        receive: Callable[[], Awaitable[dict[str, Any]]],
        send: Callable[[dict[str, Any]], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            return
        parts = scope["path"][len(endpoint.prefix) :].strip("/").split("/")
        response: WhipResponse | None = None
        if len(parts) not in (2, 3) or parts[0] not in ("whip", "whep"):
            response = WhipResponse(404, body="not found")
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if len(body) > MAX_BODY_BYTES:
                response = WhipResponse(413, body="request body too large")
                break
            if not message.get("more_body"):
                break
        if response is None:
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            role: Role = "whip" if parts[0] == "whip" else "whep"
            response = await endpoint.handle(
                scope["method"],
                role,
                parts[1],
                parts[2] if len(parts) == 3 else None,
                {k.title(): v for k, v in headers.items()},
                body.decode("utf-8", "replace"),
            )
        await send(
            {
                "type": "http.response.start",
                "status": response.status,
                "headers": [
                    (k.lower().encode("latin-1"), v.encode("latin-1"))
                    for k, v in response.headers.items()
                ],
            }
        )
        await send({"type": "http.response.body", "body": response.body.encode()})

    return app
