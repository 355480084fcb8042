"""ffmpeg command lines for PlainTransports, the two ways mediasoup's FAQ describes: ffmpeg
sending VP8 and opus into PlainTransport producers (a broadcaster), and ffmpeg recording what
PlainTransport consumers send, described to it by an SDP file.

These build arguments and SDP text, and tell when a recorder listens (:func:`udp_ports_of`);
running ffmpeg is the caller's business.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Any

__all__ = [
    "AUDIO_PAYLOAD_TYPE",
    "AUDIO_SSRC",
    "VIDEO_PAYLOAD_TYPE",
    "VIDEO_SSRC",
    "encoder_outputs",
    "producer_parameters",
    "recorder_command",
    "recorder_sdp",
    "rtp_output",
    "sender_command",
    "udp_ports_of",
]

VIDEO_PAYLOAD_TYPE = 101
VIDEO_SSRC = 11111111
AUDIO_PAYLOAD_TYPE = 100
AUDIO_SSRC = 22222222


def rtp_output(
    ip: str, port: int, srtp_key: str | None = None, rtcp_port: int | None = None
) -> list[str]:
    """Output options sending RTP to a comedia PlainTransport, and RTCP to ``rtcp_port`` (the
    transport's ``rtcpTuple`` port when made with ``rtcpMux: False``; by default ``port``);
    with ``srtp_key`` (base64 key and salt), SRTP with AES_CM_128_HMAC_SHA1_80.

    ffmpeg sends its RTCP from a port of its own, not its RTP port: a comedia transport with
    rtcp-mux, which learned the RTP port, drops it. The sender reports in it are what lets
    receivers align the video and audio, so give the transport its own RTCP port."""
    url = f"rtp://{ip}:{port}?rtcpport={rtcp_port or port}&pkt_size=1200"
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
    """The RTP parameters of what :func:`sender_command` sends, for ``transport.produce``."""
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


def sender_command(
    video: list[str],
    audio: list[str],
    *,
    file: str | None = None,
    seconds: float = 3600,
    size: str = "640x360",
    keyframe_interval: int = 30,
) -> list[str]:
    """ffmpeg sending ``file`` (looped) or a test pattern and a tone, in real time, as VP8 and
    opus to the ``video`` and ``audio`` outputs (see :func:`rtp_output`). A short keyframe
    interval lets receivers start soon: ffmpeg does not answer keyframe requests.

    Both outputs get one ``start_time_realtime``: ffmpeg's RTP muxer otherwise dates each
    output's sender reports from when that output started, and video, whose encoder starts
    later, would be reported hundreds of milliseconds off the audio."""
    command = ["ffmpeg", "-hide_banner", "-loglevel", "error"]
    if file is None:
        command += ["-re", "-f", "lavfi", "-i", f"testsrc=size={size}:rate=30:duration={seconds}"]
        command += ["-re", "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}"]
        video_input, audio_input = "0:v", "1:a"
    else:
        command += ["-re", "-stream_loop", "-1", "-i", file, "-t", str(seconds)]
        video_input, audio_input = "0:v:0", "0:a:0"
    return command + encoder_outputs(video_input, audio_input, video, audio, keyframe_interval)


def encoder_outputs(
    video_input: str,
    audio_input: str,
    video: list[str],
    audio: list[str],
    keyframe_interval: int = 30,
) -> list[str]:
    """The output half of :func:`sender_command`: ffmpeg's ``video_input`` stream as VP8 to
    the ``video`` output and ``audio_input`` as opus to ``audio``, both dated from now."""
    start_time_realtime = ["-start_time_realtime", str(int(time.time() * 1_000_000))]
    command = ["-map", video_input, "-c:v", "libvpx", "-deadline", "realtime", "-b:v", "1M"]
    command += ["-g", str(keyframe_interval), "-payload_type", str(VIDEO_PAYLOAD_TYPE)]
    command += ["-ssrc", str(VIDEO_SSRC), *start_time_realtime, *video]
    command += ["-map", audio_input, "-c:a", "libopus", "-ac", "2", "-ar", "48000"]
    command += ["-payload_type", str(AUDIO_PAYLOAD_TYPE), "-ssrc", str(AUDIO_SSRC)]
    return [*command, *start_time_realtime, *audio]


def recorder_sdp(streams: list[tuple[str, int, dict[str, Any]]]) -> str:
    """An SDP describing what PlainTransport consumers send to 127.0.0.1: per stream its kind,
    the port the recorder listens on, and the consumer's ``rtp_parameters``."""
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


def recorder_command(
    sdp_path: str, output: str, seconds: float | None = None, loglevel: str = "error"
) -> list[str]:
    """ffmpeg recording the streams an SDP file describes into ``output`` without
    re-encoding (WebM for VP8 and opus), for ``seconds`` of media or until stopped (SIGINT
    finalizes the file). ffmpeg aligns the streams by the sender reports the consumers send;
    at ``loglevel`` ``warning`` it says when it had to fix a stream's timestamps."""
    command = ["ffmpeg", "-hide_banner", "-loglevel", loglevel]
    command += ["-protocol_whitelist", "file,udp,rtp", "-i", sdp_path, "-c", "copy"]
    if seconds is not None:
        command += ["-t", str(seconds)]
    return [*command, "-y", output]


def udp_ports_of(pid: int) -> set[int]:
    """The local UDP ports process ``pid``'s sockets are bound to (Linux, from /proc): a
    recorder listens once the ports of its SDP are among them, which on a loaded machine can
    take it a while after it started."""
    inodes = set()
    with contextlib.suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[len("socket:[") : -1])
    ports = set()
    for table in ("udp", "udp6"):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
                fields = line.split()
                if fields[9] in inodes:
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports
