"""The WHIP endpoint as an ASGI application, driven through the ASGI interface an ASGI
server calls (HTTP scope, body in chunks): OPTIONS, a wrong media type, a hostile offer, a
body past the limit, and an offer answered 201 whose Location DELETE ends the session."""

from __future__ import annotations

import asyncio
from typing import Any

import mediasoup_py
from mediasoup_py.whip import MAX_BODY_BYTES, WhipEndpoint, asgi_app
from tests.test_sdp import CHROMIUM_OFFER

OPUS: Any = {"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2}
VP8: Any = {"kind": "video", "mimeType": "video/VP8", "clockRate": 90000}


async def call(
    app: Any, method: str, path: str, headers: dict[str, str], body: bytes
) -> tuple[int, dict[str, str], bytes]:
    """One HTTP request through the ASGI interface, the body in 1 KB chunks."""
    chunks = [body[i : i + 1024] for i in range(0, len(body), 1024)] or [b""]
    messages = [
        {"type": "http.request", "body": chunk, "more_body": i + 1 < len(chunks)}
        for i, chunk in enumerate(chunks)
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }
    await app(scope, receive, send)
    start, body_message = sent
    response_headers = {k.decode(): v.decode() for k, v in start["headers"]}
    return start["status"], response_headers, body_message["body"]


async def exchange() -> dict[str, Any]:
    worker = await mediasoup_py.create_worker()
    try:
        router = await worker.create_router(media_codecs=[OPUS, VP8])

        async def router_for(room: str) -> mediasoup_py.Router:
            return router

        endpoint = WhipEndpoint(
            router_for=router_for,
            listen_infos=[{"protocol": "udp", "ip": "127.0.0.1"}],
            prefix="/media",
        )
        app = asgi_app(endpoint)
        sdp = {"Content-Type": "application/sdp"}
        results: dict[str, Any] = {}
        results["options"] = await call(app, "OPTIONS", "/media/whip/room", {}, b"")
        results["wrong type"] = await call(
            app, "POST", "/media/whip/room", {"Content-Type": "text/plain"}, b"v=0"
        )
        results["hostile"] = await call(
            app, "POST", "/media/whip/room", sdp, CHROMIUM_OFFER.replace("v=0", "v=9").encode()
        )
        results["too large"] = await call(
            app, "POST", "/media/whip/room", sdp, b"v=0\r\n" * (MAX_BODY_BYTES // 4)
        )
        results["unknown path"] = await call(app, "GET", "/media/nothing", {}, b"")
        created = await call(app, "POST", "/media/whip/room", sdp, CHROMIUM_OFFER.encode())
        results["created"] = created
        results["producers"] = sorted(
            p.kind for s in endpoint.sessions.values() for p in s.producers
        )
        location = created[1].get("location", "")
        results["deleted"] = await call(app, "DELETE", location, {}, b"")
        results["sessions"] = len(endpoint.sessions)
        results["transports"] = len((await router.dump())["transportIds"])
        return results
    finally:
        worker.close()


def test_the_asgi_application_serves_whip() -> None:
    results = asyncio.run(exchange())
    status, headers, _ = results["options"]
    assert (status, headers["accept-post"]) == (204, "application/sdp")
    assert results["wrong type"][0] == 415
    status, _, body = results["hostile"]
    assert status == 400
    assert body.decode() == "SDP line 1: an SDP starts with v=0"
    assert results["too large"][0] == 413
    assert results["unknown path"][0] == 404
    status, headers, body = results["created"]
    assert status == 201, body
    assert headers["content-type"] == "application/sdp"
    assert headers["location"].startswith("/media/whip/room/")
    assert b"a=ice-lite" in body
    assert results["producers"] == ["audio", "video"]
    assert results["deleted"][0] == 200
    assert (results["sessions"], results["transports"]) == (0, 0)
