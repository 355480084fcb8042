"""WHEP in headless Chromium, with no client library: the page makes a recvonly
RTCPeerConnection, POSTs its offer with fetch() to the room's WHEP endpoint, applies the
answer, trickles its candidates with PATCH as they come, and decodes the room's producers
(ffmpeg's VP8 test pattern and opus tone over PlainTransports); its getStats() say how many
frames it decoded. Then it DELETEs its session. The result is JSON.

Run inside a network namespace that has only ``lo`` (the pytest test does that):

    python -m tests.interop.whep_chromium
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from aiohttp import web
from playwright.async_api import async_playwright

import mediasoup_py
from mediasoup_py.producer import Producer
from mediasoup_py.whip import WhipEndpoint, add_aiohttp_routes
from tests.interop.chromium_mediasoup_client import browser_context
from tests.interop.chromium_webrtc import wait_until
from tests.interop.ffmpeg_peer import producer_parameters, rtp_output, send_test_media

HTTP_PORT = 18433
TOKEN = "chromium-may-watch"
# The room's payload types (opus 100, VP8 101) are not the ones Chromium offers (111, 96).
MEDIA_CODECS: Any = [
    {"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2},
    {"kind": "video", "mimeType": "video/VP8", "clockRate": 90000},
]

# A WHEP player as a page would write one: offer, POST, answer, trickle, getStats, DELETE.
PAGE = f"""<!doctype html>
<meta charset="utf-8"><title>WHEP player</title>
<script>
const token = {json.dumps(TOKEN)};

function fragment(pc, lines) {{
  const ice = pc.localDescription.sdp.split('\\r\\n')
    .filter((line) => line.startsWith('a=ice-ufrag:') || line.startsWith('a=ice-pwd:'))
    .slice(0, 2);
  return [...ice, 'm=audio 9 UDP/TLS/RTP/SAVPF 0', 'a=mid:0', ...lines, ''].join('\\r\\n');
}}

window.watch = async (endpoint) => {{
  const pc = new RTCPeerConnection({{iceServers: []}});
  window.pc = pc;
  window.patches = [];
  pc.addTransceiver('video', {{direction: 'recvonly'}});
  pc.addTransceiver('audio', {{direction: 'recvonly'}});
  const video = document.createElement('video');
  video.muted = true;
  video.autoplay = true;
  document.body.append(video);
  pc.ontrack = (event) => {{
    if (event.track.kind === 'video') video.srcObject = new MediaStream([event.track]);
  }};
  // Candidates found before the session exists wait for its URL (the WHEP draft's trickle).
  const pending = [];
  let trickle = (line) => pending.push(line);
  pc.onicecandidate = ({{candidate}}) => {{
    trickle(candidate && candidate.candidate
      ? `a=${{candidate.candidate}}` : 'a=end-of-candidates');
  }};
  await pc.setLocalDescription(await pc.createOffer());
  const response = await fetch(endpoint, {{
    method: 'POST',
    headers: {{'Content-Type': 'application/sdp', 'Authorization': `Bearer ${{token}}`}},
    body: pc.localDescription.sdp,
  }});
  const body = await response.text();
  if (response.status !== 201) return {{status: response.status, body}};
  window.resource = new URL(response.headers.get('Location'), endpoint).href;
  const etag = response.headers.get('ETag');
  trickle = (line) => {{
    const patch = fetch(window.resource, {{
      method: 'PATCH',
      headers: {{
        'Content-Type': 'application/trickle-ice-sdpfrag',
        'Authorization': `Bearer ${{token}}`,
        'If-Match': etag,
      }},
      body: fragment(pc, [line]),
    }}).then((answer) => answer.status);
    window.patches.push(patch);
  }};
  pending.splice(0).forEach(trickle);
  await pc.setRemoteDescription({{type: 'answer', sdp: body}});
  return {{status: response.status, location: response.headers.get('Location'), answer: body}};
}};

window.inbound = async () => {{
  const result = {{connection: window.pc.connectionState}};
  const stats = await window.pc.getStats();
  stats.forEach((report) => {{
    if (report.type !== 'inbound-rtp') return;
    const codec = stats.get(report.codecId);
    result[report.kind] = {{
      codec: codec && codec.mimeType,
      packetsReceived: report.packetsReceived,
      framesDecoded: report.framesDecoded,
      keyFramesDecoded: report.keyFramesDecoded,
      frameWidth: report.frameWidth,
      frameHeight: report.frameHeight,
      totalSamplesReceived: report.totalSamplesReceived,
    }};
  }});
  return result;
}};

window.stop = async () => {{
  const response = await fetch(window.resource, {{
    method: 'DELETE',
    headers: {{'Authorization': `Bearer ${{token}}`}},
  }});
  window.pc.close();
  return {{deleted: response.status, patches: await Promise.all(window.patches)}};
}};

window.refused = async (endpoint) => {{
  const pc = new RTCPeerConnection({{iceServers: []}});
  pc.addTransceiver('video', {{direction: 'recvonly'}});
  await pc.setLocalDescription(await pc.createOffer());
  const response = await fetch(endpoint, {{
    method: 'POST',
    headers: {{'Content-Type': 'application/sdp', 'Authorization': `Bearer ${{token}}`}},
    body: pc.localDescription.sdp,
  }});
  pc.close();
  return [response.status, await response.text()];
}};
</script>
"""


async def scenario() -> dict[str, Any]:
    worker = await mediasoup_py.create_worker(rtc_min_port=48000, rtc_max_port=48999)
    router = await worker.create_router(media_codecs=MEDIA_CODECS)
    producers: list[Producer] = []
    sources = {}
    for kind in ("video", "audio"):
        source = await router.create_plain_transport(
            listen_info={"protocol": "udp", "ip": "127.0.0.1"}, comedia=True
        )
        producers.append(
            await source.produce(
                kind=kind,  # type: ignore[arg-type]
                rtp_parameters=producer_parameters(kind),  # type: ignore[arg-type]
            )
        )
        sources[kind] = source

    async def router_for(room: str) -> mediasoup_py.Router:
        return router

    endpoint = WhipEndpoint(
        router_for=router_for,
        listen_infos=[{"protocol": "udp", "ip": "127.0.0.1"}],
        # The room "stage" has ffmpeg's producers; any other room has none.
        producers_for=lambda room: producers if room == "stage" else [],
        authorize=lambda request: request.token == TOKEN,
    )

    async def page(request: web.Request) -> web.Response:
        return web.Response(text=PAGE, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", page)
    add_aiohttp_routes(app, endpoint)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", HTTP_PORT).start()
    base = f"http://127.0.0.1:{HTTP_PORT}"
    sender = await send_test_media(
        rtp_output(sources["video"]), rtp_output(sources["audio"]), seconds=40, size="320x240"
    )
    try:
        async with async_playwright() as playwright, browser_context(playwright) as browser:
            player = await browser.new_page()
            await player.goto(f"{base}/")
            posted = await player.evaluate("(url) => window.watch(url)", f"{base}/whep/stage")
            assert posted["status"] == 201, posted
            sessions = [(s.role, len(s.consumers)) for s in endpoint.sessions.values()]
            seen: dict[str, Any] = {}

            async def decoding() -> bool:
                seen.update(await player.evaluate("window.inbound()"))
                video = seen.get("video", {})
                audio = seen.get("audio", {})
                return bool(
                    (video.get("framesDecoded") or 0) >= 60
                    and (audio.get("packetsReceived") or 0) >= 100
                )

            try:
                await wait_until(decoding, "the page to decode the room over WHEP", timeout=40)
            except TimeoutError:
                sys.stderr.write(f"the page saw {seen}; the answer:\n{posted}\n")
                raise
            stopped = await player.evaluate("window.stop()")

            async def gone() -> bool:
                return not endpoint.sessions

            await wait_until(gone, "the session to end")
            refused = await player.evaluate("(url) => window.refused(url)", f"{base}/whep/empty")
        return {
            "posted": {"location": posted["location"], "answer": posted["answer"]},
            "sessions": sessions,
            "inbound": seen,
            "stopped": stopped,
            "refused": refused,
            "sessionsLeft": len(endpoint.sessions),
            "transportsLeft": len((await router.dump())["transportIds"]) - len(sources),
        }
    finally:
        if sender.returncode is None:
            sender.kill()
        await sender.wait()
        endpoint.close()
        await runner.cleanup()
        worker.close()


def main() -> int:
    json.dump(asyncio.run(asyncio.wait_for(scenario(), 80)), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
