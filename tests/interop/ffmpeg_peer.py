"""Debian's ffmpeg as a plain RTP peer: a sender of a test pattern (VP8) and a tone (opus) into
PlainTransports, and a recorder of what PlainTransport consumers send, through an SDP file,
as mediasoup's ffmpeg and recording examples do."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from pathlib import Path
from typing import Any

from mediasoup_py.plain_transport import PlainTransport

VIDEO_PAYLOAD_TYPE = 101
VIDEO_SSRC = 11111111
AUDIO_PAYLOAD_TYPE = 100
AUDIO_SSRC = 22222222


def rtp_output(transport: PlainTransport, srtp_key: str | None = None) -> list[str]:
    """ffmpeg output options sending to a comedia PlainTransport (RTP and RTCP on its port)."""
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


def producer_parameters(kind: str) -> dict[str, Any]:
    """The RTP parameters of what :func:`send_test_media` sends, for ``transport.produce``."""
    if kind == "video":
        codec = {"mimeType": "video/VP8", "payloadType": VIDEO_PAYLOAD_TYPE, "clockRate": 90000}
        return {"codecs": [codec], "encodings": [{"ssrc": VIDEO_SSRC}]}
    codec = {
        "mimeType": "audio/opus",
        "payloadType": AUDIO_PAYLOAD_TYPE,
        "clockRate": 48000,
        "channels": 2,
    }
    return {"codecs": [codec], "encodings": [{"ssrc": AUDIO_SSRC}]}


async def send_test_media(
    video: list[str],
    audio: list[str],
    *,
    seconds: float,
    size: str = "320x240",
    keyframe_interval: int = 30,
) -> asyncio.subprocess.Process:
    """Starts ffmpeg sending ``seconds`` of a 30 fps VP8 test pattern and a 440 Hz opus tone,
    in real time, to the ``video`` and ``audio`` outputs (see :func:`rtp_output`). A short
    keyframe interval lets receivers start soon: ffmpeg does not answer keyframe requests."""
    command = [
        "ffmpeg",
        "-hide_banner",
        "-loglevel",
        "error",
        "-re",
        "-f",
        "lavfi",
        "-i",
        f"testsrc=size={size}:rate=30:duration={seconds}",
        "-f",
        "lavfi",
        "-i",
        f"sine=frequency=440:duration={seconds}",
        "-map",
        "0:v",
        "-c:v",
        "libvpx",
        "-deadline",
        "realtime",
        "-b:v",
        "500k",
        "-g",
        str(keyframe_interval),
        "-payload_type",
        str(VIDEO_PAYLOAD_TYPE),
        "-ssrc",
        str(VIDEO_SSRC),
        *video,
        "-map",
        "1:a",
        "-c:a",
        "libopus",
        "-payload_type",
        str(AUDIO_PAYLOAD_TYPE),
        "-ssrc",
        str(AUDIO_SSRC),
        *audio,
    ]
    # ffmpeg prints the SDP of its RTP outputs on stdout.
    return await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.DEVNULL)


def free_udp_port() -> int:
    """A loopback UDP port nobody uses now, for a recorder to listen on."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def recorder_sdp(streams: list[tuple[str, int, dict[str, Any]]]) -> str:
    """An SDP describing what PlainTransport consumers send: per stream its kind, the port
    the recorder listens on and the consumer's ``rtp_parameters``."""
    lines = ["v=0", "o=- 0 0 IN IP4 127.0.0.1", "s=mediasoup_py", "c=IN IP4 127.0.0.1", "t=0 0"]
    for kind, port, parameters in streams:
        codec = parameters["codecs"][0]
        payload_type = codec["payloadType"]
        encoding_name = codec["mimeType"].split("/")[1]
        rtpmap = f"{encoding_name}/{codec['clockRate']}"
        if codec.get("channels", 1) > 1:
            rtpmap += f"/{codec['channels']}"
        lines += [
            f"m={kind} {port} RTP/AVP {payload_type}",
            f"a=rtpmap:{payload_type} {rtpmap}",
            "a=rtcp-mux",
            "a=recvonly",
        ]
    return "\r\n".join(lines) + "\r\n"


@contextlib.asynccontextmanager
async def recording(sdp: str, directory: Path, name: str, seconds: float) -> Any:
    """Runs ffmpeg recording the streams of ``sdp`` into ``directory/name`` (stream copy, no
    re-encoding) for ``seconds`` of media; yields the output path once ffmpeg listens and
    waits for it to finish on exit."""
    sdp_path = directory / "input.sdp"
    sdp_path.write_text(sdp)
    output = directory / name
    process = await asyncio.create_subprocess_exec(
        "ffmpeg",
        "-hide_banner",
        "-loglevel",
        "error",
        "-protocol_whitelist",
        "file,udp,rtp",
        "-i",
        str(sdp_path),
        "-c",
        "copy",
        "-t",
        str(seconds),
        "-y",
        str(output),
    )
    try:
        # ffmpeg binds its ports after reading the SDP; give it a moment.
        await asyncio.sleep(1.0)
        yield output
        await asyncio.wait_for(process.wait(), timeout=seconds + 15)
    finally:
        if process.returncode is None:
            process.terminate()
            await process.wait()


async def probe(path: Path) -> list[dict[str, Any]]:
    """ffprobe's view of a file's streams, with every frame decoded and counted."""
    process = await asyncio.create_subprocess_exec(
        "ffprobe",
        "-v",
        "error",
        "-count_frames",
        "-show_entries",
        "stream=codec_type,codec_name,width,height,nb_read_frames",
        "-of",
        "json",
        str(path),
        stdout=asyncio.subprocess.PIPE,
    )
    stdout, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    streams: list[dict[str, Any]] = json.loads(stdout)["streams"]
    return streams
