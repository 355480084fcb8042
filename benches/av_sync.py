"""Lip sync and timestamps of recordings through an SFU, measured: an ffmpeg sender whose video
flashes white and whose audio beeps at the same instants (1 s, 3 s, 5 s... of its timeline)
sends to PlainTransport producers, PlainTransport consumers send on to an ffmpeg recorder (the
way mediasoup's recording FAQ records), and the analysis of the file says when each flash and
each beep starts in it, their offsets, and what ffmpeg says of the file's timestamps, when
recording (it fixes some and warns) and when reading it back.

The sender is :mod:`mediasoup_py.ffmpeg`'s (VP8 and opus, both outputs dated from one
``start_time_realtime``) on a ``testsrc2`` pattern with a white frame drawn over it during each
flash and a 1 kHz tone computed sample by sample (``aevalsrc``), so a beep starts on the exact
sample of its flash's first frame. The recorder is ffmpeg reading the consumers' RTP from an
SDP file (:func:`mediasoup_py.ffmpeg.recorder_command`).

The SFU is a :class:`Session`: :func:`mediasoup_py_session` here, mediasoup's C++ worker in
:mod:`benches.av_sync_check`.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import av

import mediasoup_py
from mediasoup_py import ffmpeg

__all__ = [
    "FLASH_EVERY_S",
    "MarkedAnalysis",
    "MarkedRecording",
    "Recording",
    "Session",
    "analyse",
    "marked_sender_command",
    "mediasoup_py_session",
    "record_marks",
    "recording",
]

# A flash and a beep every 2 s, 200 ms long, the first 1 s in.
FLASH_EVERY_S = 2
FLASH_LENGTH_S = 0.2
FIRST_FLASH_S = 1
# Luma of a frame during a flash (the white box covers it all) and of the test pattern.
FLASH_LUMA = 200
# A beep sample's amplitude is 0.5; silence is 0 (opus leaves a little noise).
BEEP_LEVEL = 0.1
# Pairs a flash and a beep further apart than this are not one mark.
PAIRING_WINDOW_S = 0.5


def marked_sender_command(
    video: list[str], audio: list[str], *, seconds: float, size: str = "320x240"
) -> list[str]:
    """ffmpeg sending ``seconds`` of the marked pattern and tone, in real time, to the
    ``video`` and ``audio`` outputs (:func:`mediasoup_py.ffmpeg.rtp_output`), with the
    encoders and options of :func:`mediasoup_py.ffmpeg.sender_command`."""
    flashing = f"between(mod(t,{FLASH_EVERY_S}),{FIRST_FLASH_S},{FIRST_FLASH_S + FLASH_LENGTH_S})"
    pattern = (
        f"testsrc2=size={size}:rate=30:duration={seconds},"
        f"drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='{flashing}'"
    )
    tone = (
        f"aevalsrc='if({flashing},0.5*sin(2*PI*1000*t),0)'"
        f":sample_rate=48000:channel_layout=stereo:duration={seconds}"
    )
    command = ["ffmpeg", "-hide_banner", "-loglevel", "error"]
    command += ["-re", "-f", "lavfi", "-i", pattern, "-re", "-f", "lavfi", "-i", tone]
    return command + ffmpeg.encoder_outputs("0:v", "1:a", video, audio)


@dataclass
class MarkedAnalysis:
    """What a recording of the marked sender shows."""

    path: str
    # When each flash and beep starts, in seconds of the recording's timeline.
    flashes: list[float] = field(default_factory=list)
    beeps: list[float] = field(default_factory=list)
    # Beep minus flash of each mark found in both, in milliseconds.
    offsets_ms: list[float] = field(default_factory=list)
    video_frames: int = 0
    audio_frames: int = 0
    # Timestamps out of order in the file: packets whose dts does not grow, and ffmpeg's
    # complaints when it reads the file through in its own time base.
    timestamp_complaints: list[str] = field(default_factory=list)
    # ffmpeg's complaints reading it as `ffmpeg -i FILE -f null -` does, which also puts each
    # video frame on a grid of the stream's nominal frame rate: two frames closer than one
    # frame interval (a sender's irregular capture, such as Chromium's fake camera on a busy
    # machine) land on one point of it.
    frame_rate_complaints: list[str] = field(default_factory=list)
    # Everything else ffmpeg reports at error level when decoding it.
    decode_errors: list[str] = field(default_factory=list)

    @property
    def worst_offset_ms(self) -> float | None:
        """The offset furthest from zero, if any mark was found."""
        return max(self.offsets_ms, key=abs) if self.offsets_ms else None


def _onsets(samples: list[tuple[float, bool]], quiet_s: float) -> list[float]:
    """The times at which a (time, on) sequence turns on after being off for ``quiet_s``."""
    onsets: list[float] = []
    last_on: float | None = None
    for time, on in samples:
        if on:
            if last_on is None or time - last_on > quiet_s:
                onsets.append(time)
            last_on = time
    return onsets


def _marks(path: str) -> tuple[list[float], list[float], int, int]:
    """Flash and beep onsets (s) and the frame counts of a recording, decoded with PyAV."""
    video_on: list[tuple[float, bool]] = []
    audio_on: list[tuple[float, bool]] = []
    audio_frames = 0
    with av.open(path) as container:
        for frame in container.decode(video=0):
            if frame.pts is None or frame.time_base is None:
                continue
            luma = frame.to_ndarray(format="gray")
            video_on.append((float(frame.pts * frame.time_base), float(luma.mean()) > FLASH_LUMA))
    with av.open(path) as container:
        for sound in container.decode(audio=0):
            if sound.pts is None or sound.time_base is None:
                continue
            audio_frames += 1
            start = float(sound.pts * sound.time_base)
            loud = abs(sound.to_ndarray()[0]) > BEEP_LEVEL
            for index in loud.nonzero()[0]:
                audio_on.append((start + int(index) / sound.sample_rate, True))
    gap = FLASH_EVERY_S - FLASH_LENGTH_S - 0.1
    return _onsets(video_on, gap), _onsets(audio_on, gap), len(video_on), audio_frames


async def _ffmpeg_report(path: str, *options: str) -> list[str]:
    """What ffmpeg says at error level when it decodes every frame of ``path`` (with output
    ``options``), "Last message repeated" lines left out."""
    process = await asyncio.create_subprocess_exec(
        "ffmpeg",
        "-hide_banner",
        "-v",
        "error",
        "-i",
        path,
        *options,
        "-f",
        "null",
        "-",
        stdin=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
    lines = stderr.decode(errors="replace").splitlines()
    return [line for line in lines if "Last message repeated" not in line]


def _packets_out_of_order(path: str) -> list[str]:
    """Packets whose decoding timestamp is not after the one before in their stream."""
    found = []
    last: dict[int, int] = {}
    with av.open(path) as container:
        for packet in container.demux():
            if packet.dts is None:
                continue
            index = packet.stream.index
            if index in last and packet.dts <= last[index]:
                found.append(f"stream {index}: packet dts {packet.dts} after {last[index]}")
            last[index] = packet.dts
    return found


def is_timestamp_complaint(line: str) -> bool:
    """Whether an ffmpeg message is about timestamps (dts or pts out of order)."""
    return "monoton" in line or "dts" in line or "pts" in line


async def analyse(path: Path | str) -> MarkedAnalysis:
    """The marks, offsets and ffmpeg's complaints of a recording."""
    path = str(path)
    flashes, beeps, video_frames, audio_frames = await asyncio.to_thread(_marks, path)
    recording = MarkedAnalysis(
        path=path,
        flashes=flashes,
        beeps=beeps,
        video_frames=video_frames,
        audio_frames=audio_frames,
    )
    for flash in flashes:
        nearest = min(beeps, key=lambda beep: abs(beep - flash), default=None)
        if nearest is not None and abs(nearest - flash) < PAIRING_WINDOW_S:
            recording.offsets_ms.append(round((nearest - flash) * 1000, 1))
    messages = await _ffmpeg_report(path)
    recording.frame_rate_complaints = [line for line in messages if is_timestamp_complaint(line)]
    recording.decode_errors = [line for line in messages if not is_timestamp_complaint(line)]
    in_own_time_base = await _ffmpeg_report(path, "-enc_time_base", "-1")
    recording.timestamp_complaints = [
        *await asyncio.to_thread(_packets_out_of_order, path),
        *(line for line in in_own_time_base if is_timestamp_complaint(line)),
    ]
    return recording


class Recording:
    """A recording under way: where it goes, and once ffmpeg is done, what it warned of."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.warnings: list[str] = []


@contextlib.asynccontextmanager
async def recording(
    sdp: str, directory: Path, name: str, seconds: float
) -> AsyncIterator[Recording]:
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
        ports = {int(line.split()[1]) for line in sdp.splitlines() if line.startswith("m=")}
        await listening(process.pid, ports)
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


async def listening(pid: int, ports: set[int], timeout: float = 30) -> None:
    """Waits until process ``pid`` has UDP sockets bound to all of ``ports`` (ffmpeg binds
    them after reading its SDP, which takes it a while on a loaded machine)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not ports <= ffmpeg.udp_ports_of(pid):
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"process {pid} did not bind UDP ports {sorted(ports)}")
        await asyncio.sleep(0.05)


def free_udp_port() -> int:
    """A loopback UDP port nobody uses now, for a recorder to listen on."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        port: int = probe_socket.getsockname()[1]
        return port


class Session(Protocol):
    """An SFU set up for recording: per kind (video, audio) a producer ffmpeg sends to and a
    paused consumer sending to the recorder."""

    # (kind, recorder port, consumer RTP parameters), for the recorder's SDP.
    streams: list[tuple[str, int, dict[str, Any]]]
    # ffmpeg output options (see :func:`mediasoup_py.ffmpeg.rtp_output`), per kind.
    outputs: dict[str, list[str]]

    async def resume(self) -> None:
        """Resumes the consumers (the recorder listens)."""

    async def close(self) -> None:
        """Closes the SFU."""


MEDIA_CODECS: list[dict[str, Any]] = [
    {"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2},
    {"kind": "video", "mimeType": "video/VP8", "clockRate": 90000},
]
LOOPBACK = {"protocol": "udp", "ip": "127.0.0.1"}


@dataclass
class MediasoupPySession:
    """mediasoup_py set up for recording (see :class:`Session`)."""

    worker: mediasoup_py.Worker
    consumers: dict[str, mediasoup_py.Consumer]
    streams: list[tuple[str, int, dict[str, Any]]]
    outputs: dict[str, list[str]]

    async def resume(self) -> None:
        for consumer in self.consumers.values():
            await consumer.resume()

    async def close(self) -> None:
        self.worker.close()


async def mediasoup_py_session(
    ports: dict[str, int], sender_reports: bool = True, rtc_ports: tuple[int, int] = (47400, 47499)
) -> MediasoupPySession:
    """mediasoup_py recording to the recorder's ``ports`` (per kind); with
    ``sender_reports``, the producers' transports have an RTCP port of their own, where
    ffmpeg's reports arrive (with rtcp-mux they come from a port the transport did not learn
    and are dropped)."""
    worker = await mediasoup_py.create_worker(rtc_min_port=rtc_ports[0], rtc_max_port=rtc_ports[1])
    try:
        router = await worker.create_router(media_codecs=MEDIA_CODECS)  # type: ignore[arg-type]
        session = MediasoupPySession(worker, {}, [], {})
        for kind in ("video", "audio"):
            source = await router.create_plain_transport(
                listen_info=LOOPBACK,  # type: ignore[arg-type]
                comedia=True,
                rtcp_mux=not sender_reports,
            )
            producer = await source.produce(
                kind=kind,
                rtp_parameters=ffmpeg.producer_parameters(kind),  # type: ignore[arg-type]
            )
            rtcp = source.rtcp_tuple
            session.outputs[kind] = ffmpeg.rtp_output(
                "127.0.0.1",
                source.tuple["localPort"],
                rtcp_port=rtcp["localPort"] if rtcp else None,
            )
            sink = await router.create_plain_transport(listen_info=LOOPBACK)  # type: ignore[arg-type]
            await sink.connect(ip="127.0.0.1", port=ports[kind])
            consumer = await sink.consume(
                producer_id=producer.id, rtp_capabilities=router.rtp_capabilities, paused=True
            )
            session.consumers[kind] = consumer
            session.streams.append((kind, ports[kind], dict(consumer.rtp_parameters)))
        return session
    except BaseException:
        worker.close()
        raise


@dataclass
class MarkedRecording:
    """A recording of the marked sender through a session: the file's analysis and what the
    recorder warned of."""

    recording: Recording
    analysis: MarkedAnalysis

    @property
    def fixed_timestamps(self) -> list[str]:
        """The recorder's warnings about timestamps it had to fix while recording."""
        return [line for line in self.recording.warnings if "DTS" in line or "PTS" in line]


async def record_marks(
    session: Session, directory: Path, seconds: float, name: str = "out.webm"
) -> MarkedRecording:
    """Records ``seconds`` of the marked sender through ``session`` into ``directory``: the
    recorder listens, the consumers resume, the sender starts."""
    sdp = ffmpeg.recorder_sdp(session.streams)
    async with recording(sdp, directory, name, seconds) as output:
        await session.resume()
        # A little more than the recorder takes, which counts from the first packet.
        command = marked_sender_command(
            session.outputs["video"], session.outputs["audio"], seconds=seconds + 1.5
        )
        sender = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.DEVNULL)
        try:
            # A loaded machine encodes slower than real time: the recorder stops after
            # `seconds` of media, however long they take to come.
            await asyncio.wait_for(sender.wait(), timeout=seconds * 5 + 30)
        finally:
            if sender.returncode is None:
                sender.terminate()
                await sender.wait()
    return MarkedRecording(output, await analyse(output.path))
