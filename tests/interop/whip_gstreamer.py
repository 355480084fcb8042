"""Meetecho's simple-whip-client (GStreamer's webrtcbin and libnice; nobody on this team wrote
it) publishes a test pattern and a tone into a room over WHIP; the room's side reads the
media back with ``consumer.frames()`` on DirectTransport consumers and decodes every frame
with PyAV. The client is stopped as a user stops it (SIGINT), which sends the DELETE; the
session must be gone afterwards. The result is JSON.

The client is Debian 12's ``simple-whip-client`` package. It links libsoup2, while Debian's
libnice links libsoup3 (through gupnp-igd and gupnp), and a process with both aborts
("libsoup2 symbols detected") when webrtcbin loads libnice. ``.ci/setup.sh`` therefore builds
Debian's own libnice source package again with UPnP disabled (``-Dgupnp=disabled``, no
libsoup) into a directory of its own, and the client alone runs with ``LD_LIBRARY_PATH``
there, so GStreamer's nice plugin loads that libnice and libsoup3 is never loaded.

libnice leaves loopback interfaces out of its host candidates and pins each candidate's
socket to its interface (``IP_UNICAST_IF``), so a client can reach an ICE-lite server only
on an address of a non-loopback interface. The test gives its namespace a veth pair (both
ends inside it: nothing leaves the namespace) and the WebRtcTransport listens on the veth's
address; the HTTP exchange is on 127.0.0.1. The client gets no STUN or TURN server.

Run inside a network namespace that has only ``lo`` and that veth (the pytest test does
that):

    python -m tests.interop.whip_gstreamer --codec vp8 --media-address 10.91.0.1
    python -m tests.interop.whip_gstreamer --codec h264 --media-address 10.91.0.1 --no-trickle
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

from aiohttp import web

import mediasoup_py
from mediasoup_py.frames import EncodedFrame, FrameStream
from mediasoup_py.whip import WhipEndpoint, WhipSession, add_aiohttp_routes

# Debian's simple-whip-client, and where .ci/setup.sh installs libnice without UPnP for it.
WHIP_CLIENT = "/usr/bin/whip-client"
LIBNICE_WITHOUT_UPNP = "/usr/local/lib/mediasoup-py-test/libnice-noupnp/lib"
HTTP_PORT = 18432
TOKEN = "gstreamer-may-publish"
SECONDS = 3.0
OPUS: Any = {"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2}
VIDEO_CODECS: dict[str, Any] = {
    "vp8": {"kind": "video", "mimeType": "video/VP8", "clockRate": 90000},
    "h264": {
        "kind": "video",
        "mimeType": "video/H264",
        "clockRate": 90000,
        "parameters": {"packetization-mode": 1, "profile-level-id": "42e01f"},
    },
}
# The client's partial pipelines, as its README writes them (payload types and SSRCs are
# its choice); 320x240 at 30 fps.
RAW_VIDEO = (
    "videotestsrc is-live=true pattern=ball ! "
    "video/x-raw,width=320,height=240,framerate=30/1 ! videoconvert ! queue"
)
VIDEO_PIPELINES = {
    "vp8": f"{RAW_VIDEO} ! vp8enc deadline=1 ! rtpvp8pay pt=96 ssrc=2 ! queue ! "
    "application/x-rtp,media=video,encoding-name=VP8,payload=96",
    "h264": f"{RAW_VIDEO} ! x264enc tune=zerolatency speed-preset=ultrafast ! "
    "video/x-h264,profile=constrained-baseline ! rtph264pay pt=97 ssrc=2 config-interval=-1 "
    "aggregate-mode=zero-latency ! queue ! "
    "application/x-rtp,media=video,encoding-name=H264,payload=97",
}
AUDIO_PIPELINE = (
    "audiotestsrc is-live=true wave=sine ! audioconvert ! audioresample ! queue ! opusenc ! "
    "rtpopuspay pt=100 ssrc=1 ! queue ! "
    "application/x-rtp,media=audio,encoding-name=OPUS,payload=100"
)


async def read_frames(stream: FrameStream, into: list[EncodedFrame]) -> None:
    async for frame in stream:
        into.append(frame)


async def scenario(codec: str, media_address: str, trickle: bool) -> dict[str, Any]:
    worker = await mediasoup_py.create_worker(rtc_min_port=47000, rtc_max_port=47999)
    router = await worker.create_router(media_codecs=[OPUS, VIDEO_CODECS[codec]])
    frames: dict[str, list[EncodedFrame]] = {"audio": [], "video": []}
    streams: dict[str, FrameStream] = {}
    readers: list[asyncio.Future[None]] = []
    published = asyncio.get_running_loop().create_future()

    async def router_for(room: str) -> mediasoup_py.Router:
        return router

    async def tap(session: WhipSession) -> None:
        # The room's side: a DirectTransport consumer per producer, read as frames.
        direct = await router.create_direct_transport()
        for producer in session.producers:
            consumer = await direct.consume(
                producer_id=producer.id, rtp_capabilities=router.rtp_capabilities
            )
            stream = consumer.frames(max_queue=1000)
            streams[producer.kind] = stream
            readers.append(asyncio.ensure_future(read_frames(stream, frames[producer.kind])))
        published.set_result(session)

    endpoint = WhipEndpoint(
        router_for=router_for,
        listen_infos=[{"protocol": "udp", "ip": media_address}],
        authorize=lambda request: request.token == TOKEN,
        on_session=tap,
    )
    # What the client asked and was answered, in order.
    exchanges: list[tuple[str, int]] = []

    @web.middleware
    async def record_exchange(request: web.Request, handler: Any) -> web.StreamResponse:
        response: web.StreamResponse = await handler(request)
        exchanges.append((request.method, response.status))
        return response

    app = web.Application(middlewares=[record_exchange])
    add_aiohttp_routes(app, endpoint)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", HTTP_PORT).start()
    client: asyncio.subprocess.Process | None = None
    with tempfile.TemporaryFile() as client_log:
        try:
            client = await asyncio.create_subprocess_exec(
                WHIP_CLIENT,
                *["--url", f"http://127.0.0.1:{HTTP_PORT}/whip/stage", "--token", TOKEN],
                *["--audio", AUDIO_PIPELINE, "--video", VIDEO_PIPELINES[codec]],
                "--disable-colors",
                *([] if trickle else ["--no-trickle"]),
                env={**os.environ, "LD_LIBRARY_PATH": LIBNICE_WITHOUT_UPNP},
                stdin=asyncio.subprocess.DEVNULL,
                stdout=client_log,
                stderr=client_log,
            )
            session: WhipSession = await asyncio.wait_for(published, 20)
            offered = {p.kind: p.rtp_parameters["codecs"][0]["mimeType"] for p in session.producers}

            async def first_video_frame() -> None:
                while not frames["video"]:
                    await asyncio.sleep(0.05)

            await asyncio.wait_for(first_video_frame(), 20)
            await asyncio.sleep(SECONDS)
            # Stopped as a user stops it: Ctrl+C, after which it DELETEs its session.
            client.send_signal(signal.SIGINT)
            await asyncio.wait_for(client.wait(), 10)
            closed = not endpoint.sessions and all(p.closed for p in session.producers)
            for stream in streams.values():
                stream.close()
            await asyncio.gather(*readers)
            video = frames["video"]
            decoded_video = [picture for frame in video for picture in frame.decode()]
            decoded_audio = [samples for frame in frames["audio"] for samples in frame.decode()]
            client_log.seek(0)
            log = client_log.read().decode("utf-8", "replace")
            return {
                "codecs": offered,
                "videoFrames": len(video),
                "firstIsKeyframe": video[0].keyframe,
                "videoSpan": (video[-1].rtp_timestamp - video[0].rtp_timestamp) / 90000,
                "decodedVideo": len(decoded_video),
                "videoSizes": sorted({(p.width, p.height) for p in decoded_video}),
                "audioFrames": len(frames["audio"]),
                "decodedAudio": len(decoded_audio),
                "audioRates": sorted({samples.sample_rate for samples in decoded_audio}),
                "videoStats": streams["video"].stats(),
                "audioStats": streams["audio"].stats(),
                "exchanges": exchanges,
                "closedByDelete": closed,
                "clientExit": client.returncode,
                "clientSaid": [line for line in log.splitlines() if line.startswith("[WHIP]")],
            }
        except BaseException:
            client_log.seek(0)
            sys.stderr.write(client_log.read().decode("utf-8", "replace")[-4000:])
            raise
        finally:
            if client is not None and client.returncode is None:
                client.kill()
                await client.wait()
            endpoint.close()
            await runner.cleanup()
            worker.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--codec", choices=sorted(VIDEO_CODECS), default="vp8")
    parser.add_argument("--media-address", required=True)
    parser.add_argument(
        "--no-trickle", action="store_true", help="the client's candidates in its offer"
    )
    arguments = parser.parse_args()
    if not Path(WHIP_CLIENT).exists():
        raise SystemExit(f"{WHIP_CLIENT} is missing: .ci/setup.sh builds it")
    run = scenario(arguments.codec, arguments.media_address, not arguments.no_trickle)
    result = asyncio.run(asyncio.wait_for(run, 70))
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
