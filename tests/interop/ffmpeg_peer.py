"""Debian's ffmpeg as a plain RTP peer in tests: a sender of a test pattern (VP8) and a tone
(opus) into PlainTransports, with the command lines of :mod:`mediasoup_py.ffmpeg`, and checks
of the files ffmpeg records (the recorder itself: :mod:`benches.av_sync`)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from mediasoup_py import ffmpeg
from mediasoup_py.ffmpeg import producer_parameters
from mediasoup_py.plain_transport import PlainTransport

__all__ = [
    "decode_errors",
    "probe",
    "producer_parameters",
    "rtp_output",
    "send_test_media",
]


def rtp_output(transport: PlainTransport, srtp_key: str | None = None) -> list[str]:
    """ffmpeg output options sending to a comedia PlainTransport on 127.0.0.1. ffmpeg's RTCP
    comes from another source port than its RTP: a transport made with ``rtcp_mux=False``
    learns it on its RTCP port (and its producers get the sender reports); with rtcp-mux it is
    dropped as not from the learned tuple."""
    rtcp = transport.rtcp_tuple
    return ffmpeg.rtp_output(
        "127.0.0.1",
        transport.tuple["localPort"],
        srtp_key,
        rtcp_port=rtcp["localPort"] if rtcp else None,
    )


async def send_test_media(
    video: list[str],
    audio: list[str],
    *,
    seconds: float,
    size: str = "320x240",
    keyframe_interval: int = 30,
) -> asyncio.subprocess.Process:
    """Starts ffmpeg sending ``seconds`` of a 30 fps VP8 test pattern and a 440 Hz opus tone
    to the ``video`` and ``audio`` outputs."""
    command = ffmpeg.sender_command(
        video, audio, seconds=seconds, size=size, keyframe_interval=keyframe_interval
    )
    # ffmpeg prints the SDP of its RTP outputs on stdout.
    return await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.DEVNULL)


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


async def decode_errors(path: Path, video_decoder: str | None = None) -> str:
    """What ffmpeg reports, at error level, when decoding every frame of a file: empty when
    every frame decodes and the timestamps grow. ffprobe's ``-count_frames`` does not tell:
    it skips undecodable frames (an interframe before the first keyframe) silently and exits
    0.

    The output keeps the file's time base (``-enc_time_base -1``), so a timestamp that does
    not grow is the file's: by default ffmpeg puts decoded video on a grid of the nominal
    frame rate, where two frames of a sender that captured them less than a frame interval
    apart (Chromium's fake camera on a busy machine does) meet.

    ``video_decoder`` names the decoder to use (``libvpx-vp9``, as browsers decode VP9: with
    spatial layers in a superframe FFmpeg's own decoder shows every layer at one time)."""
    decoder = ["-c:v", video_decoder] if video_decoder else []
    process = await asyncio.create_subprocess_exec(
        *["ffmpeg", "-hide_banner", "-v", "error", *decoder, "-i", str(path)],
        *["-enc_time_base", "-1", "-f", "null", "-"],
        stdin=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    report = stderr.decode(errors="replace")
    assert process.returncode == 0, report
    return report
