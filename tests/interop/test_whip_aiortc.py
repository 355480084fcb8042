"""WHIP and WHEP with aiortc: an aiortc publisher POSTs its offer to a WHIP endpoint served
by aiohttp on 127.0.0.1, an aiortc viewer POSTs its offer to the WHEP endpoint of the same
room and decodes what the publisher sends; DELETE ends both. aiortc is a WebRTC stack we did
not write; the HTTP exchange is real (aiohttp client to aiohttp server)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import aioice.ice
import pytest
from aiohttp import web
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

import mediasoup_py
from mediasoup_py.whip import WhipEndpoint, WhipRequest, add_aiohttp_routes
from tests.interop.aiortc_client import wait_for

LOOPBACK_UDP: Any = [{"protocol": "udp", "ip": "127.0.0.1"}]
MEDIA_CODECS: Any = [
    {"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2},
    {"kind": "video", "mimeType": "video/VP8", "clockRate": 90000},
]
HTTP_PORT = 18431
TOKEN = "let-me-in"


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    # aioice drops exactly "127.0.0.1" from host candidates; tests must stay on loopback.
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])


@contextlib.asynccontextmanager
async def whip_server() -> AsyncIterator[tuple[WhipEndpoint, mediasoup_py.Router, str]]:
    worker = await mediasoup_py.create_worker(rtc_min_port=43000, rtc_max_port=43999)
    router = await worker.create_router(media_codecs=MEDIA_CODECS)

    async def router_for(room: str) -> mediasoup_py.Router:
        return router

    def authorize(request: WhipRequest) -> bool:
        return request.token == TOKEN

    endpoint = WhipEndpoint(router_for=router_for, listen_infos=LOOPBACK_UDP, authorize=authorize)
    app = web.Application()
    add_aiohttp_routes(app, endpoint)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", HTTP_PORT).start()
    try:
        yield endpoint, router, f"http://127.0.0.1:{HTTP_PORT}"
    finally:
        endpoint.close()
        await runner.cleanup()
        worker.close()


async def post_offer(
    http: aiohttp.ClientSession, url: str, pc: RTCPeerConnection
) -> tuple[str, str]:
    await pc.setLocalDescription(await pc.createOffer())
    async with http.post(
        url,
        data=pc.localDescription.sdp,
        headers={"Content-Type": "application/sdp", "Authorization": f"Bearer {TOKEN}"},
    ) as response:
        body = await response.text()
        assert response.status == 201, body
        assert response.headers["Content-Type"] == "application/sdp"
        assert response.headers["ETag"]
        location = response.headers["Location"]
    await pc.setRemoteDescription(RTCSessionDescription(sdp=body, type="answer"))
    return location, body


async def publish_and_view() -> dict[str, Any]:
    async with whip_server() as (endpoint, router, base), aiohttp.ClientSession() as http:
        publisher = RTCPeerConnection()
        publisher.addTransceiver(AudioStreamTrack(), direction="sendonly")
        publisher.addTransceiver(VideoStreamTrack(), direction="sendonly")
        viewer = RTCPeerConnection()
        viewer.addTransceiver("audio", direction="recvonly")
        viewer.addTransceiver("video", direction="recvonly")
        tracks: dict[str, Any] = {}
        viewer.on("track", lambda track: tracks.setdefault(track.kind, track))
        try:
            publish_location, publish_answer = await post_offer(
                http, f"{base}/whip/stage", publisher
            )
            [publishing] = endpoint.sessions.values()
            kinds = sorted(p.kind for p in publishing.producers)

            async def publisher_up() -> bool:
                return publisher.connectionState == "connected"

            await wait_for(publisher_up, "the WHIP publisher's ICE and DTLS")
            view_location, _ = await post_offer(http, f"{base}/whep/stage", viewer)

            async def viewer_up() -> bool:
                return viewer.connectionState == "connected" and len(tracks) == 2

            await wait_for(viewer_up, "the WHEP viewer's ICE, DTLS and tracks")
            # aiortc decodes: VP8 into av.VideoFrame, opus into av.AudioFrame.
            video = [await asyncio.wait_for(tracks["video"].recv(), 10) for _ in range(10)]
            audio = [await asyncio.wait_for(tracks["audio"].recv(), 10) for _ in range(10)]

            async with http.options(f"{base}{publish_location}") as response:
                options = (response.status, response.headers.get("Accept-Patch"))
            async with http.patch(
                f"{base}{publish_location}",
                data="a=candidate:1 1 udp 1 127.0.0.1 9 typ host\r\n",
                headers={
                    "Content-Type": "application/trickle-ice-sdpfrag",
                    "Authorization": f"Bearer {TOKEN}",
                },
            ) as response:
                trickle_status = response.status
            # Trickle as RFC 8840 clients send it (GStreamer's webrtcbin, browsers): with the
            # ICE credentials of the offer; then new credentials, which restart ICE.
            offer_ice = [
                line
                for line in publisher.localDescription.sdp.splitlines()
                if line.startswith(("a=ice-ufrag:", "a=ice-pwd:"))
            ][:2]
            fragment = "\r\n".join([*offer_ice, "a=mid:0", "a=end-of-candidates"]) + "\r\n"
            patch_headers = {
                "Content-Type": "application/trickle-ice-sdpfrag",
                "Authorization": f"Bearer {TOKEN}",
                "If-Match": "*",
            }
            async with http.patch(
                f"{base}{publish_location}", data=fragment, headers=patch_headers
            ) as response:
                trickle_with_credentials = response.status
            restart = "a=ice-ufrag:R3st\r\na=ice-pwd:" + "p" * 24 + "\r\n"
            async with http.patch(
                f"{base}{publish_location}", data=restart, headers=patch_headers
            ) as response:
                restarted = (response.status, await response.text())
            statuses = []
            for location in (view_location, publish_location):
                async with http.delete(
                    f"{base}{location}", headers={"Authorization": f"Bearer {TOKEN}"}
                ) as response:
                    statuses.append(response.status)
            async with http.delete(
                f"{base}{publish_location}", headers={"Authorization": f"Bearer {TOKEN}"}
            ) as response:
                statuses.append(response.status)
            return {
                "kinds": kinds,
                "answer": publish_answer,
                "video": video,
                "audio": audio,
                "options": options,
                "trickle": trickle_status,
                "trickleWithCredentials": trickle_with_credentials,
                "restart": restarted,
                "deletes": statuses,
                "sessions_left": len(endpoint.sessions),
                "transports_left": len((await router.dump())["transportIds"]),
            }
        finally:
            await publisher.close()
            await viewer.close()


def test_aiortc_publishes_over_whip_and_another_views_over_whep() -> None:
    result = asyncio.run(publish_and_view())
    assert result["kinds"] == ["audio", "video"]
    assert "a=ice-lite" in result["answer"]
    assert len(result["video"]) == 10
    assert all(frame.width == 640 and frame.height == 480 for frame in result["video"])
    assert all(frame.sample_rate == 48000 for frame in result["audio"])
    assert result["options"] == (204, "application/trickle-ice-sdpfrag")
    assert result["trickle"] == 204
    assert result["trickleWithCredentials"] == 204
    status, fragment = result["restart"]
    assert status == 200
    [ufrag] = [line for line in fragment.splitlines() if line.startswith("a=ice-ufrag:")]
    assert ufrag not in result["answer"]
    assert "a=end-of-candidates" in fragment
    assert result["deletes"] == [200, 200, 404]
    assert result["sessions_left"] == 0
    assert result["transports_left"] == 0


async def refused_requests() -> dict[str, Any]:
    async with whip_server() as (endpoint, router, base), aiohttp.ClientSession() as http:
        results: dict[str, Any] = {}
        pc = RTCPeerConnection()
        pc.addTransceiver(AudioStreamTrack(), direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        offer = pc.localDescription.sdp
        await pc.close()
        sdp_headers = {"Content-Type": "application/sdp", "Authorization": f"Bearer {TOKEN}"}
        async with http.post(
            f"{base}/whip/stage", data=offer, headers={"Content-Type": "application/sdp"}
        ) as response:
            results["no token"] = (response.status, response.headers.get("WWW-Authenticate"))
        async with http.post(
            f"{base}/whip/stage",
            data=offer,
            headers={"Content-Type": "text/plain", "Authorization": f"Bearer {TOKEN}"},
        ) as response:
            results["wrong type"] = response.status
        broken = offer.replace("a=rtcp-mux\r\n", "")
        async with http.post(f"{base}/whip/stage", data=broken, headers=sdp_headers) as response:
            results["no rtcp-mux"] = (response.status, await response.text())
        pcmu_only = offer.replace("opus/48000/2", "PCMU/8000")
        async with http.post(f"{base}/whip/stage", data=pcmu_only, headers=sdp_headers) as response:
            results["no codec"] = (response.status, await response.text())
        async with http.options(f"{base}/whip/stage") as response:
            results["options"] = (response.status, response.headers.get("Accept-Post"))
        results["sessions_left"] = len(endpoint.sessions)
        results["transports_left"] = len((await router.dump())["transportIds"])
        return results


def test_whip_refusals_name_the_problem_and_leave_nothing_behind() -> None:
    results = asyncio.run(refused_requests())
    assert results["no token"] == (401, "Bearer")
    assert results["wrong type"] == 415
    status, text = results["no rtcp-mux"]
    assert status == 400
    assert "rtcp-mux" in text
    status, text = results["no codec"]
    assert status == 406
    assert "audio/PCMU" in text
    assert results["options"] == (204, "application/sdp")
    assert results["sessions_left"] == 0
    assert results["transports_left"] == 0
