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
from tests.interop.ffmpeg_peer import rtp_output, send_test_media

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
        assert await asyncio.wait_for(sender.wait(), timeout=30) == 0
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
