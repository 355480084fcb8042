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
    "Recording",
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


def free_udp_port() -> int:
    """A loopback UDP port nobody uses now, for a recorder to listen on."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        port: int = probe_socket.getsockname()[1]
        return port


class Recording:
    """A recording under way: where it goes, and once ffmpeg is done, what it warned of."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.warnings: list[str] = []


@contextlib.asynccontextmanager
async def recording(sdp: str, directory: Path, name: str, seconds: float) -> Any:
    """Runs ffmpeg recording the streams of ``sdp`` into ``directory/name`` (stream copy, no
    re-encoding) for ``seconds`` of media; yields a :class:`Recording` once ffmpeg listens,
    and waits for it to finish on exit. Its warnings include the timestamps it had to fix."""
    sdp_path = directory / "input.sdp"
    sdp_path.write_text(sdp)
    result = Recording(directory / name)
    command = ffmpeg.recorder_command(str(sdp_path), str(result.path), seconds, "warning")
    process = await asyncio.create_subprocess_exec(*command, stderr=asyncio.subprocess.PIPE)
    assert process.stderr is not None
    stderr = asyncio.ensure_future(process.stderr.read())
    try:
        await listening_on_udp(process.pid, sdp_ports(sdp))
        yield result
        # ffmpeg stops after `seconds` of media, which a loaded machine sends slower than
        # real time.
        returncode = await asyncio.wait_for(process.wait(), timeout=seconds * 5 + 30)
        result.warnings = (await stderr).decode(errors="replace").splitlines()
        assert returncode == 0, f"the recorder exited with {returncode}: {result.warnings}"
    finally:
        if process.returncode is None:
            process.terminate()
            await process.wait()
        stderr.cancel()


def sdp_ports(sdp: str) -> set[int]:
    """The ports an SDP's m-lines listen on."""
    return {int(line.split()[1]) for line in sdp.splitlines() if line.startswith("m=")}


async def listening_on_udp(pid: int, ports: set[int], timeout: float = 30) -> None:
    """Waits until process ``pid`` has UDP sockets bound to all of ``ports`` (ffmpeg binds
    them after reading its SDP, which takes it a while on a loaded machine)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not ports <= ffmpeg.udp_ports_of(pid):
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"process {pid} did not bind UDP ports {sorted(ports)}")
        await asyncio.sleep(0.05)


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
    """What ffmpeg reports, at error level, when decoding every frame of a file: empty when
    every frame decodes and the timestamps grow. ffprobe's ``-count_frames`` does not tell:
    it skips undecodable frames (an interframe before the first keyframe) silently and exits
    0."""
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
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    report = stderr.decode(errors="replace")
    assert process.returncode == 0, report
    # The null output's muxer checks the timestamps too: a frame stamped like the one before
    # it is reported, and counts.
    return report
