"""Debian's ffmpeg as a plain RTP peer in tests: a sender of a test pattern (VP8) and a tone
(opus) into PlainTransports, and a recorder of what PlainTransport consumers send, through an
SDP file, with the command lines of :mod:`mediasoup_py.ffmpeg`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from pathlib import Path
from typing import Any

from mediasoup_py import ffmpeg
from mediasoup_py.ffmpeg import producer_parameters, recorder_sdp
from mediasoup_py.plain_transport import PlainTransport

__all__ = [
    "decode_errors",
    "free_udp_port",
    "probe",
    "producer_parameters",
    "recorder_sdp",
    "recording",
    "rtp_output",
    "send_test_media",
]


def rtp_output(transport: PlainTransport, srtp_key: str | None = None) -> list[str]:
    """ffmpeg output options sending to a comedia PlainTransport on 127.0.0.1. Its RTCP comes
    from another source port than its RTP, so the transport drops it as not from the learned
    tuple; that is fine for these tests."""
    return ffmpeg.rtp_output("127.0.0.1", transport.tuple["localPort"], srtp_key)


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


def free_udp_port() -> int:
    """A loopback UDP port nobody uses now, for a recorder to listen on."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        port: int = probe_socket.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def recording(sdp: str, directory: Path, name: str, seconds: float) -> Any:
    """Runs ffmpeg recording the streams of ``sdp`` into ``directory/name`` (stream copy, no
    re-encoding) for ``seconds`` of media; yields the output path once ffmpeg listens and
    waits for it to finish on exit."""
    sdp_path = directory / "input.sdp"
    sdp_path.write_text(sdp)
    output = directory / name
    command = ffmpeg.recorder_command(str(sdp_path), str(output), seconds)
    process = await asyncio.create_subprocess_exec(*command)
    try:
        # ffmpeg binds its ports after reading the SDP; give it a moment.
        await asyncio.sleep(1.0)
        yield output
        returncode = await asyncio.wait_for(process.wait(), timeout=seconds + 15)
        assert returncode == 0, f"the recorder exited with {returncode}"
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


async def decode_errors(path: Path) -> str:
    """What ffmpeg's decoders report, at error level, when decoding every frame of a file:
    empty when every frame decodes. ffprobe's ``-count_frames`` does not tell: it skips
    undecodable frames (an interframe before the first keyframe) silently and exits 0."""
    process = await asyncio.create_subprocess_exec(
        "ffmpeg",
        "-hide_banner",
        "-v",
        "error",
        "-i",
        str(path),
        "-f",
        "null",
        "-",
        stdin=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    report = stderr.decode(errors="replace")
    assert process.returncode == 0, report
    # The null output's muxer checks timestamps, not decoding: a frame the recorder stamped
    # like the one before it (which a recorder on a loaded machine sometimes does) is its
    # complaint, not a decoder's, and so are ffmpeg's "Last message repeated" lines after it.
    kept = []
    muxer_complaint = False
    for line in report.splitlines(keepends=True):
        if line.startswith("[null @"):
            muxer_complaint = True
        elif not (muxer_complaint and line.strip().startswith("Last message repeated")):
            muxer_complaint = False
            kept.append(line)
    return "".join(kept)
