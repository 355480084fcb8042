"""Lip sync and timestamps of recordings, measured: an ffmpeg sender whose video flashes white
and whose audio beeps at the same instants (1 s, 3 s, 5 s... of its timeline), and an
analysis of a recording of it: when each flash and each beep starts in the recording, their
offsets, and what ffmpeg says of the file's timestamps when it reads it.

The sender is :mod:`mediasoup_py.ffmpeg`'s (VP8 and opus, both outputs dated from one
``start_time_realtime``) on a ``testsrc2`` pattern with a white frame drawn over it during each
flash and a 1 kHz tone computed sample by sample (``aevalsrc``), so a beep starts on the exact
sample of its flash's first frame. The recorder is ffmpeg reading the consumers' RTP from an
SDP file, as mediasoup's recording example and :mod:`examples.record_participant` do.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

import av

from mediasoup_py import ffmpeg

__all__ = [
    "FLASH_EVERY_S",
    "Recording",
    "analyse",
    "marked_sender_command",
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
class Recording:
    """What a recording shows."""

    path: str
    # When each flash and beep starts, in seconds of the recording's timeline.
    flashes: list[float] = field(default_factory=list)
    beeps: list[float] = field(default_factory=list)
    # Beep minus flash of each mark found in both, in milliseconds.
    offsets_ms: list[float] = field(default_factory=list)
    video_frames: int = 0
    audio_frames: int = 0
    # ffmpeg's complaints about the file's timestamps when it reads it through.
    timestamp_complaints: list[str] = field(default_factory=list)
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
        for frame in container.decode(audio=0):
            if frame.pts is None or frame.time_base is None:
                continue
            audio_frames += 1
            start = float(frame.pts * frame.time_base)
            loud = abs(frame.to_ndarray()[0]) > BEEP_LEVEL
            for index in loud.nonzero()[0]:
                audio_on.append((start + int(index) / frame.sample_rate, True))
    gap = FLASH_EVERY_S - FLASH_LENGTH_S - 0.1
    return _onsets(video_on, gap), _onsets(audio_on, gap), len(video_on), audio_frames


async def _ffmpeg_report(path: str) -> list[str]:
    """What ffmpeg says at error level when it decodes every frame of ``path``."""
    process = await asyncio.create_subprocess_exec(
        "ffmpeg",
        "-hide_banner",
        "-v",
        "error",
        "-i",
        path,
        "-f",
        "null",
        "-",
        stdin=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
    return stderr.decode(errors="replace").splitlines()


def is_timestamp_complaint(line: str) -> bool:
    """Whether an ffmpeg message is about timestamps (dts or pts out of order)."""
    return "monoton" in line or "dts" in line or "pts" in line


async def analyse(path: Path | str) -> Recording:
    """The marks, offsets and ffmpeg's complaints of a recording."""
    path = str(path)
    flashes, beeps, video_frames, audio_frames = await asyncio.to_thread(_marks, path)
    recording = Recording(
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
    report = await _ffmpeg_report(path)
    # "Last message repeated N times" belongs to the message before it.
    messages = [line for line in report if "Last message repeated" not in line]
    recording.timestamp_complaints = [line for line in messages if is_timestamp_complaint(line)]
    recording.decode_errors = [line for line in messages if not is_timestamp_complaint(line)]
    return recording
