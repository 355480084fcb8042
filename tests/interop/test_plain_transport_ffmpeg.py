"""PlainTransports with ffmpeg (Debian's) as the sender: VP8 video and opus audio over plain
RTP, and over SRTP with the keys exchanged as mediasoup's srtpParameters.

ffmpeg picks its own source ports, so the transports use comedia and learn the remote
address from the first packet, as mediasoup's ffmpeg examples do.
"""

from __future__ import annotations

import asyncio
import base64
import os
import time
from pathlib import Path
from typing import Any

import pytest

import mediasoup_py
from mediasoup_py import ffmpeg
from tests.interop.ffmpeg_peer import producer_parameters, rtp_output, send_test_media

DURATION_S = 2


async def stream_into_plain_transports(srtp: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    worker = await mediasoup_py.create_worker(rtc_min_port=44000, rtc_max_port=44099)
    try:
        router = await worker.create_router()
        options: dict[str, Any] = {"listen_info": {"protocol": "udp", "ip": "127.0.0.1"}}
        options |= {"comedia": True, "enable_srtp": srtp}
        video = await router.create_plain_transport(**options)
        audio = await router.create_plain_transport(**options)
        tuples: list[dict[str, Any]] = []
        video.on("tuple", tuples.append)
        # As in mediasoup: connect() takes the key the remote encrypts with (ffmpeg's), and
        # srtp_parameters is the key the transport would encrypt with.
        ffmpeg_key = base64.b64encode(os.urandom(30)).decode() if srtp else None
        for transport in (video, audio):
            if ffmpeg_key is not None:
                assert transport.srtp_parameters is not None
                await transport.connect(
                    srtp_parameters={
                        "cryptoSuite": "AES_CM_128_HMAC_SHA1_80",
                        "keyBase64": ffmpeg_key,
                    }
                )
            else:
                await transport.connect()
        sender = await send_test_media(
            rtp_output(video, ffmpeg_key), rtp_output(audio, ffmpeg_key), seconds=DURATION_S
        )
        # Real time on a quiet machine; a loaded one encodes slower than that.
        assert await asyncio.wait_for(sender.wait(), timeout=DURATION_S + 60) == 0
        await asyncio.sleep(0.2)
        [video_stats] = await video.get_stats()
        [audio_stats] = await audio.get_stats()
        assert tuples, "the tuple event fired when comedia learned ffmpeg's address"
        assert tuples[0]["remoteIp"] == "127.0.0.1"
        return video_stats, audio_stats
    finally:
        worker.close()


@pytest.mark.parametrize("srtp", [False, True], ids=["rtp", "srtp"])
def test_ffmpeg_vp8_and_opus_reach_plain_transports(srtp: bool) -> None:
    video, audio = asyncio.run(stream_into_plain_transports(srtp))
    # 2 s of 30 fps VP8 at 500 kbps is at least one packet per frame; opus is 50 packets/s.
    assert video["rtpPacketsReceived"] >= 55
    assert audio["rtpPacketsReceived"] >= 90
    for stats in (video, audio):
        assert stats["droppedDatagrams"]["srtp"] == 0
        assert stats["tuple"]["remoteIp"] == "127.0.0.1"


CEILING_BPS = 100_000
POLICED_SECONDS = 6


async def encode_clip(path: Path) -> None:
    """``POLICED_SECONDS`` of a 640x360 VP8 test pattern at 1 Mbps, encoded ahead of time:
    sent with stream copy, ffmpeg then sends it in real time whatever the machine's load
    (encoding while sending, a loaded machine made it send 6 s of media in 25 s, under three
    times the ceiling)."""
    process = await asyncio.create_subprocess_exec(
        *["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi"],
        *["-i", f"testsrc=size=640x360:rate=30:duration={POLICED_SECONDS}"],
        *["-c:v", "libvpx", "-deadline", "realtime", "-b:v", "1M", "-g", "30", "-y", str(path)],
    )
    assert await asyncio.wait_for(process.wait(), timeout=120) == 0


async def police_ffmpeg(clip: Path) -> dict[str, Any]:
    """ffmpeg sends ``clip`` (about 0.5 Mbps of VP8: libvpx's realtime mode undershoots its
    target on a test pattern) into a PlainTransport whose max incoming bitrate is 100 kbps.
    ffmpeg reads no RTCP, so the REMB asking it to slow down goes unheard: the router must
    cut what it forwards to a DirectTransport consumer back to the ceiling."""
    worker = await mediasoup_py.create_worker(rtc_min_port=44100, rtc_max_port=44199)
    try:
        router = await worker.create_router(
            media_codecs=[{"kind": "video", "mimeType": "video/VP8", "clockRate": 90000}]
        )
        options: dict[str, Any] = {"listen_info": {"protocol": "udp", "ip": "127.0.0.1"}}
        video = await router.create_plain_transport(**options, comedia=True)
        await video.connect()
        await video.set_max_incoming_bitrate(CEILING_BPS)
        producer = await video.produce(
            kind="video",
            rtp_parameters=producer_parameters("video"),  # type: ignore[arg-type]
        )
        sink = await router.create_direct_transport()
        consumer = await sink.consume(
            producer_id=producer.id, rtp_capabilities=router.rtp_capabilities
        )
        forwarded: list[tuple[float, int]] = []
        consumer.on("rtp", lambda packet: forwarded.append((time.monotonic(), len(packet))))
        sender = await asyncio.create_subprocess_exec(
            *["ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-i", str(clip)],
            *["-map", "0:v", "-c:v", "copy", "-payload_type", str(ffmpeg.VIDEO_PAYLOAD_TYPE)],
            *["-ssrc", str(ffmpeg.VIDEO_SSRC), *rtp_output(video)],
            stdout=asyncio.subprocess.DEVNULL,
        )
        assert await asyncio.wait_for(sender.wait(), timeout=POLICED_SECONDS + 60) == 0
        await asyncio.sleep(0.2)
        [stats] = await video.get_stats()
        forwarded_bytes = sum(size for _, size in forwarded)
        seconds = forwarded[-1][0] - forwarded[0][0]
        print(f"\nffmpeg sent {stats['bytesReceived']} B; {forwarded_bytes} B forwarded")
        return {
            "forwarded_bytes": forwarded_bytes,
            "copies": len(forwarded),
            "seconds": seconds,
            "stats": stats,
        }
    finally:
        worker.close()


def test_an_ffmpeg_sender_over_the_max_incoming_bitrate_is_cut_back_to_it(
    tmp_path: Path,
) -> None:
    clip = tmp_path / "clip.webm"
    asyncio.run(encode_clip(clip))
    result = asyncio.run(police_ffmpeg(clip))
    stats = result["stats"]
    received = stats["bytesReceived"]
    # ffmpeg sent several times the ceiling (in wall-clock time, which the policer counts),
    # and all of it arrived.
    assert received * 8 / result["seconds"] > 3 * CEILING_BPS, (received, result["seconds"])
    # What went on: the ceiling with its tolerance (1.5x) from the first packet to the last,
    # a 2 s burst of that, and the last packet, which took what was left. Each copy also
    # carries the consumer's transport-wide sequence number, which ffmpeg's packets did not:
    # a one-byte header extension block, 8 bytes.
    allowed = 1.5 * CEILING_BPS / 8 * (result["seconds"] + 2) + 1500 + 8 * result["copies"]
    assert result["forwarded_bytes"] <= allowed, (result["forwarded_bytes"], allowed)
    assert result["forwarded_bytes"] >= 0.5 * allowed, result
    assert stats["droppedDatagrams"]["overMaxIncomingBitrate"] > 0, stats
