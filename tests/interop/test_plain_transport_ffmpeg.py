"""PlainTransports with ffmpeg (Debian's) as the sender: VP8 video and opus audio over plain
RTP, and over SRTP with the keys exchanged as mediasoup's srtpParameters.

ffmpeg picks its own source ports, so the transports use comedia and learn the remote
address from the first packet, as mediasoup's ffmpeg examples do.
"""

from __future__ import annotations

import asyncio
import base64
import os
from typing import Any

import pytest

import mediasoup_py
from mediasoup_py.plain_transport import PlainTransport

DURATION_S = 2


def ffmpeg_output(transport: PlainTransport, srtp_key: str | None) -> list[str]:
    port = transport.tuple["localPort"]
    # RTCP goes to the same port (rtcp-mux); it comes from ffmpeg's RTCP socket, a different
    # source port, so the transport drops it as not from the learned tuple.
    url = f"rtp://127.0.0.1:{port}?rtcpport={port}&pkt_size=1200"
    if srtp_key is None:
        return ["-f", "rtp", url]
    return [
        "-f",
        "rtp",
        "-srtp_out_suite",
        "AES_CM_128_HMAC_SHA1_80",
        "-srtp_out_params",
        srtp_key,
        url.replace("rtp://", "srtp://"),
    ]


async def run_ffmpeg(*outputs: list[str]) -> None:
    command = [
        "ffmpeg",
        "-hide_banner",
        "-loglevel",
        "error",
        "-re",
        "-f",
        "lavfi",
        "-i",
        f"testsrc=size=320x240:rate=30:duration={DURATION_S}",
        "-f",
        "lavfi",
        "-i",
        f"sine=frequency=440:duration={DURATION_S}",
    ]
    video, audio = outputs
    command += ["-map", "0:v", "-c:v", "libvpx", "-deadline", "realtime", "-b:v", "500k"]
    command += ["-payload_type", "101", "-ssrc", "11111111", *video]
    command += ["-map", "1:a", "-c:a", "libopus", "-payload_type", "100", "-ssrc", "22222222"]
    command += audio
    process = await asyncio.create_subprocess_exec(*command)
    assert await asyncio.wait_for(process.wait(), timeout=30) == 0


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
        await run_ffmpeg(ffmpeg_output(video, ffmpeg_key), ffmpeg_output(audio, ffmpeg_key))
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
