"""A recorder without transcoding: producers of a router into a WebM or Matroska file,
through a DirectTransport's frames and FFmpeg's Matroska muxer (PyAV, the ``media`` extra).

``await record(router, producers, path, container="webm")`` starts it and ``await
recorder.stop()`` finishes the file. WebM takes VP8, VP9, AV1 and opus; Matroska (``mkv``)
H.264 too. The file is written as media arrives, one cluster at a time, so it plays while it
grows and, after a crash, up to its last whole cluster. Streams line up by their senders'
clocks: each stream's timeline is its RTP timestamps, placed on the wall clock by the first
sender report that arrives before recording starts (by arrival time when none does), so
audio and video start together as they were captured. Video starts at a keyframe (one is
asked for). ``pause()`` and ``resume()`` leave no gap: the paused time is taken out of the
timeline, and video resumes at a keyframe.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import io
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from mediasoup_py import errors
from mediasoup_py.frames import EncodedFrame, FrameStream

if TYPE_CHECKING:
    from mediasoup_py.consumer import Consumer
    from mediasoup_py.direct_transport import DirectTransport
    from mediasoup_py.producer import Producer
    from mediasoup_py.router import Router

__all__ = ["Recorder", "record"]

_logger = logging.getLogger("mediasoup_py.recorder")

Container = Literal["webm", "mkv"]
_CODECS: dict[Container, frozenset[str]] = {
    "webm": frozenset({"audio/opus", "video/vp8", "video/vp9", "video/av1"}),
    "mkv": frozenset({"audio/opus", "video/vp8", "video/vp9", "video/av1", "video/h264"}),
}
_FORMATS: dict[Container, str] = {"webm": "webm", "mkv": "matroska"}
# Raw-stream demuxers that read codec parameters (SPS/PPS, the sequence header) from a
# first keyframe, for the codecs whose Matroska CodecPrivate comes from them.
_PROBE_FORMATS = {"video/h264": "h264", "video/av1": "obu"}
_MUX_CODECS = {"video/vp8": "vp8", "video/vp9": "vp9"}
# Milliseconds: Matroska's default timestamp scale.
_TIME_BASE = fractions.Fraction(1, 1000)
# How long recording waits for every stream's first frame before it leaves one out (a muxer
# takes all its streams before the first packet).
STARTUP_WAIT_S = 3.0
# Where the first frame after a pause goes, after the last one before it (ms): an audio
# frame's length.
RESUME_STEP_MS = 20
# Clusters close at least this often, so the growing file is playable up to a second ago.
CLUSTER_SECONDS = 1


@dataclass
class _Track:
    """One recorded producer."""

    consumer: Consumer
    frames: FrameStream
    codec: str
    clock_rate: int
    pending: list[tuple[EncodedFrame, float]] = field(default_factory=list)
    stream: Any = None
    # The stream's timeline: (unwrapped RTP timestamp, wall clock) of its anchor frame.
    anchor: tuple[int, float] | None = None
    last_timestamp: int | None = None
    unwrapped: int = 0
    last_pts: int = -1
    needs_keyframe: bool = False
    written: int = 0
    dropped_paused: int = 0

    @property
    def is_video(self) -> bool:
        return self.codec.startswith("video/")

    def unwrap(self, timestamp: int) -> int:
        if self.last_timestamp is not None:
            self.unwrapped += ((timestamp - self.last_timestamp + 2**31) % 2**32) - 2**31
        else:
            self.unwrapped = timestamp
        self.last_timestamp = timestamp
        return self.unwrapped

    def wall_clock(self, frame: EncodedFrame, arrival: float) -> float:
        """Where the frame sits on the wall clock, by the stream's anchor."""
        timestamp = self.unwrap(frame.rtp_timestamp)
        if self.anchor is None:
            self.anchor = (
                timestamp,
                frame.capture_time if frame.capture_time is not None else arrival,
            )
        anchor_timestamp, anchor_time = self.anchor
        return anchor_time + (timestamp - anchor_timestamp) / self.clock_rate


class Recorder:
    """A recording in progress; ``record()`` makes one."""

    def __init__(
        self,
        transport: DirectTransport,
        tracks: list[_Track],
        path: Path,
        container: Container,
    ) -> None:
        import av

        self.path = path
        self.container = container
        self._transport = transport
        self._tracks = tracks
        self._output = av.open(
            str(path),
            "w",
            format=_FORMATS[container],
            options={"cluster_time_limit": str(CLUSTER_SECONDS * 1000), "flush_packets": "1"},
        )
        self._started = False
        self._origin: float | None = None
        self._paused_at: float | None = None
        # Time taken out of the timeline by pauses; set anew by the first frame after each.
        self._paused_total = 0.0
        self._resuming = False
        self._readers = [asyncio.ensure_future(self._read(track)) for track in tracks]
        for reader in self._readers:
            reader.add_done_callback(_log_failure)
        self._startup = asyncio.ensure_future(self._start_when_ready())
        self._stopped = False

    @property
    def paused(self) -> bool:
        """Whether recording is paused."""
        return self._paused_at is not None

    def pause(self) -> None:
        """Stops writing; the timeline resumes where it stopped."""
        if self._paused_at is None:
            self._paused_at = time.time()

    def resume(self) -> None:
        """Writes again, video from its next keyframe (asked for now)."""
        if self._paused_at is None:
            return
        self._paused_at = None
        self._resuming = True
        for track in self._tracks:
            if track.is_video:
                track.needs_keyframe = True
                self._spawn_keyframe_request(track)

    def stats(self) -> dict[str, Any]:
        """Frames written and dropped per stream, by codec."""
        return {
            "path": str(self.path),
            "streams": [
                {
                    "codec": track.codec,
                    "framesWritten": track.written,
                    "framesDroppedPaused": track.dropped_paused,
                    **track.frames.stats(),
                }
                for track in self._tracks
            ],
        }

    async def stop(self) -> None:
        """Finishes the file (its index and duration) and closes the consumers."""
        if self._stopped:
            return
        self._stopped = True
        for track in self._tracks:
            track.frames.close()
        await asyncio.gather(*self._readers, return_exceptions=True)
        self._startup.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._startup
        if not self._started:
            self._begin()
        self._output.close()
        self._transport.close()

    def _spawn_keyframe_request(self, track: _Track) -> None:
        task = asyncio.ensure_future(track.consumer.request_key_frame())
        task.add_done_callback(lambda done: done.cancelled() or done.exception())

    async def _read(self, track: _Track) -> None:
        async for frame in track.frames:
            arrival = time.time()
            if self._paused_at is not None:
                track.dropped_paused += 1
                continue
            if track.needs_keyframe:
                if not frame.keyframe:
                    track.dropped_paused += 1
                    continue
                track.needs_keyframe = False
            if not self._started:
                track.pending.append((frame, arrival))
                if all(t.pending for t in self._tracks):
                    self._begin()
                continue
            self._write(track, frame, arrival)

    async def _start_when_ready(self) -> None:
        await asyncio.sleep(STARTUP_WAIT_S)
        if not self._started:
            self._begin()

    def _begin(self) -> None:
        """Adds the streams that have a first frame, then writes what waited."""
        if self._started:
            return
        self._started = True
        starting = [track for track in self._tracks if track.pending]
        for track in starting:
            track.stream = self._add_stream(track, track.pending[0][0])
        timed = [
            (track.wall_clock(frame, arrival), track, frame)
            for track in starting
            for frame, arrival in track.pending
        ]
        # The recording starts when every stream has begun (video at its first keyframe):
        # earlier audio is left out, so the streams start together.
        starts = [min(t for t, owner, _ in timed if owner is track) for track in starting]
        self._origin = max(starts, default=None)
        for wall_clock, track, frame in sorted(timed, key=lambda entry: entry[0]):
            if self._origin is not None and wall_clock < self._origin:
                continue
            self._mux(track, frame, wall_clock)
        for track in self._tracks:
            track.pending.clear()

    def _add_stream(self, track: _Track, first: EncodedFrame) -> Any:
        import av

        codec = track.codec.lower()
        stream: Any
        if codec == "audio/opus":
            # An opus encoder context gives the stream its OpusHead (CodecPrivate); it never
            # encodes: packets are muxed as received.
            stream = self._output.add_stream("libopus", rate=48000, layout="stereo")
        elif codec in _PROBE_FORMATS:
            probe = av.open(io.BytesIO(first.data), format=_PROBE_FORMATS[codec])
            # Opaque: the probe's codec parameters (extradata) as they are, with no encoder
            # looked up by the decoder's name (AV1's is libdav1d, which has none).
            stream = self._output.add_stream_from_template(probe.streams.video[0], opaque=True)
            probe.close()
        else:
            [picture, *_] = first.decode() or [None]
            if picture is None:
                raise errors.UnsupportedError(f"{track.codec}: the first keyframe does not decode")
            stream = self._output.add_mux_stream(
                _MUX_CODECS[codec], width=picture.width, height=picture.height
            )
        stream.time_base = _TIME_BASE
        return stream

    def _write(self, track: _Track, frame: EncodedFrame, arrival: float) -> None:
        if track.stream is None:
            track.dropped_paused += 1
            return
        wall_clock = track.wall_clock(frame, arrival)
        if self._origin is not None and wall_clock < self._origin:
            # Captured before the recording starts (audio arriving after the first keyframe
            # it preceded): left out, as at the start, or it would be squeezed in at 0 ms.
            return
        self._mux(track, frame, wall_clock)

    def _mux(self, track: _Track, frame: EncodedFrame, wall_clock: float) -> None:
        import av

        origin = self._origin if self._origin is not None else wall_clock
        if self._resuming:
            # The first frame after a pause goes right after the last one written: the
            # timeline has no gap, and every stream shifts by the same time.
            last = max((t.last_pts for t in self._tracks), default=-1)
            self._paused_total = wall_clock - origin - (last + RESUME_STEP_MS) / 1000
            self._resuming = False
        pts = round((wall_clock - origin - self._paused_total) * 1000)
        pts = max(pts, track.last_pts + 1)
        track.last_pts = pts
        packet = av.Packet(frame.data)
        packet.stream = track.stream
        packet.pts = packet.dts = pts
        packet.time_base = _TIME_BASE
        packet.is_keyframe = frame.keyframe
        self._output.mux(packet)
        track.written += 1


def _log_failure(reader: asyncio.Future[None]) -> None:
    # A stream that cannot be written (a codec the muxer refuses) stops its reader; said
    # here, or the recording would just lack the stream.
    if not reader.cancelled() and reader.exception() is not None:
        _logger.error("recorder: a stream stopped", exc_info=reader.exception())


async def record(
    router: Router,
    producers: Iterable[Producer],
    path: str | Path,
    *,
    container: Container = "webm",
    max_queue: int = 256,
) -> Recorder:
    """Records ``producers`` (of ``router``) into ``path``: WebM (VP8, VP9, AV1, opus) or
    Matroska (``mkv``: those and H.264). ``UnsupportedError`` for a codec the container
    does not take."""
    if container not in _CODECS:
        raise errors.MediasoupTypeError("container: must be 'webm' or 'mkv'", "container")
    try:
        import av  # noqa: F401
    except ImportError as error:
        raise errors.UnsupportedError(
            "the recorder needs PyAV: pip install 'mediasoup_py[media]'"
        ) from error
    producers = list(producers)
    if not producers:
        raise errors.MediasoupTypeError("producers: give at least one", "producers")
    for producer in producers:
        mime = producer.rtp_parameters["codecs"][0]["mimeType"]
        if mime.lower() not in _CODECS[container]:
            raise errors.UnsupportedError(f"{container} does not take {mime}")
    transport = await router.create_direct_transport()
    tracks: list[_Track] = []
    try:
        for producer in producers:
            consumer = await transport.consume(
                producer_id=producer.id, rtp_capabilities=router.rtp_capabilities
            )
            codec = consumer.rtp_parameters["codecs"][0]
            tracks.append(
                _Track(
                    consumer,
                    consumer.frames(max_queue=max_queue),
                    codec["mimeType"],
                    codec["clockRate"],
                )
            )
        recorder = Recorder(transport, tracks, Path(path), container)
    except BaseException:
        transport.close()
        raise
    for track in tracks:
        if track.is_video:
            recorder._spawn_keyframe_request(track)
    return recorder
