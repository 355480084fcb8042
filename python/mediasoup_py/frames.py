"""Encoded frames in Python: what a DirectTransport consumer receives, put back together
(``consumer.frames()``), and frames a Python program publishes through a DirectTransport
producer (``FrameSender``).

Reassembly and packetization run in Rust (``mediasoup_py._core.FrameAssembler`` and
``FramePacketizer`` over ``rtc::frames``): opus (RFC 7587), VP8 (RFC 7741), VP9 (RFC 9628),
H.264 (RFC 6184: single NAL unit, STAP-A, FU-A; frames as Annex B) and AV1 (the AV1 RTP
specification; temporal units in the low-overhead format). A frame that lost a packet is
dropped and counted; video then waits for a keyframe and asks the producer for one.

Back-pressure: each stream keeps at most ``max_queue`` frames for the reader; when Python
reads too slowly the oldest are dropped and counted (``stats()["framesDroppedQueue"]``),
and the worker never waits. A video frame needs the frames before it back to a keyframe, so
dropping one drops the queued frames up to the next keyframe, and with none queued the
stream skips to the next keyframe and asks for one: what the reader gets always decodes.
The packets reach Python through the DirectTransport's packet bridge (bounded: see
``DirectTransport.get_stats()``'s ``packetsDroppedOwnerBehind``) and are assembled on the
asyncio thread, in Rust, holding the GIL for the call.

``frame.decode()`` decodes with PyAV (the ``media`` extra), in stream order.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from mediasoup_py import _core, errors

if TYPE_CHECKING:
    from mediasoup_py.consumer import Consumer
    from mediasoup_py.direct_transport import DirectTransport
    from mediasoup_py.producer import Producer

__all__ = ["EncodedFrame", "FrameSender", "FrameStream"]

# The FFmpeg decoder of each codec, as PyAV names them.
_DECODERS = {
    "audio/opus": "libopus",
    "video/vp8": "libvpx",
    "video/vp9": "libvpx-vp9",
    "video/h264": "h264",
    "video/av1": "libdav1d",
}
FRAME_CODECS = frozenset(_DECODERS)


class _Decoder:
    """One stream's PyAV decoder, created on first use."""

    def __init__(self, mime_type: str) -> None:
        self._mime_type = mime_type.lower()
        self._context: Any = None

    def decode(self, data: bytes) -> list[Any]:
        try:
            import av
        except ImportError as error:
            raise errors.UnsupportedError(
                "frame.decode() needs PyAV: pip install 'mediasoup_py[media]'"
            ) from error
        if self._context is None:
            self._context = av.CodecContext.create(_DECODERS[self._mime_type], "r")
        return list(self._context.decode(av.Packet(data)))


@dataclass(frozen=True)
class EncodedFrame:
    """One encoded frame of a stream."""

    kind: Literal["audio", "video"]
    #: The codec's mime type (``video/VP8``...).
    codec: str
    #: The frame as decoders take it (Annex B for H.264, a temporal unit for AV1).
    data: bytes
    rtp_timestamp: int
    #: When the sender captured it (Unix seconds, from its sender reports), once known.
    capture_time: float | None
    keyframe: bool
    spatial_layer: int
    temporal_layer: int
    _decoder: _Decoder | None = field(default=None, repr=False, compare=False)

    def decode(self) -> list[Any]:
        """The ``av.VideoFrame`` or ``av.AudioFrame`` objects this frame decodes to (PyAV,
        the ``media`` extra). Frames decode in stream order, each once: a video frame
        depends on those before it since the last keyframe."""
        if self._decoder is None:
            raise errors.InvalidStateError("this frame has no stream decoder")
        return self._decoder.decode(self.data)


class FrameStream:
    """The frames of a DirectTransport consumer, as an async iterator (``consumer.frames()``).

    Iteration ends when the consumer closes. ``stats()`` has the assembler's counters and
    the frames dropped because the reader fell ``max_queue`` frames behind."""

    def __init__(
        self,
        consumer: Consumer,
        transport: DirectTransport,
        *,
        max_queue: int = 64,
        max_reorder_delay: float = 0.15,
    ) -> None:
        if max_queue < 1:
            raise errors.MediasoupTypeError("max_queue: must be at least 1", "max_queue")
        parameters = consumer.rtp_parameters
        codec = parameters["codecs"][0]
        if codec["mimeType"].lower() not in FRAME_CODECS:
            raise errors.UnsupportedError(
                f"{codec['mimeType']} has no frame format (opus, VP8, VP9, H264, AV1)"
            )
        self._consumer = consumer
        self._transport = transport
        self._kind: Literal["audio", "video"] = consumer.kind
        self._codec = codec["mimeType"]
        ssrc = parameters["encodings"][0]["ssrc"]
        self._assembler = _core.FrameAssembler(
            codec["mimeType"], codec["clockRate"], ssrc, max_reorder_delay
        )
        self._decoder = _Decoder(codec["mimeType"])
        self._queue: collections.deque[EncodedFrame] = collections.deque()
        self._max_queue = max_queue
        self._dropped = 0
        # Video only: frames are skipped until a keyframe after the queue dropped one.
        self._awaiting_keyframe = False
        self._waiter: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._closed = False
        self._loop = asyncio.get_running_loop()
        self._tasks: set[asyncio.Task[None]] = set()
        consumer.on("rtp", self._on_rtp)
        transport.on("rtcp", self._on_rtcp)
        consumer.observer.on("close", self._on_close)

    def __aiter__(self) -> FrameStream:
        return self

    async def __anext__(self) -> EncodedFrame:
        while not self._queue:
            if self._closed:
                raise StopAsyncIteration
            self._waiter = self._loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._queue.popleft()

    def stats(self) -> dict[str, int]:
        """The assembler's counters and ``framesDroppedQueue``."""
        counters: dict[str, int] = self._assembler.counters()
        counters["framesDroppedQueue"] = self._dropped
        counters["framesQueued"] = len(self._queue)
        return counters

    def close(self) -> None:
        """Stops taking frames; iteration ends once the queued ones are read."""
        if self._closed:
            return
        self._closed = True
        self._consumer.off("rtp", self._on_rtp)
        self._transport.off("rtcp", self._on_rtcp)
        if self._timer is not None:
            self._timer.cancel()
        self._wake()

    def _on_close(self) -> None:
        self.close()

    def _on_rtp(self, packet: bytes) -> None:
        self._assembler.push_rtp(packet, self._loop.time())
        self._collect()

    def _on_rtcp(self, packet: bytes) -> None:
        self._assembler.push_rtcp(packet)

    def _on_timer(self) -> None:
        self._timer = self._timer_at = None
        self._assembler.handle_timeout(self._loop.time())
        self._collect()

    def _collect(self) -> None:
        for (
            data,
            timestamp,
            keyframe,
            spatial,
            temporal,
            capture_time,
        ) in self._assembler.poll_frames():
            if len(self._queue) >= self._max_queue:
                self._drop_oldest(keyframe)
            if self._awaiting_keyframe:
                if not keyframe:
                    self._dropped += 1
                    continue
                self._awaiting_keyframe = False
            self._queue.append(
                EncodedFrame(
                    self._kind,
                    self._codec,
                    data,
                    timestamp,
                    capture_time,
                    keyframe,
                    spatial,
                    temporal,
                    self._decoder,
                )
            )
        if self._assembler.poll_keyframe_request():
            self._ask_keyframe()
        deadline = self._assembler.timeout()
        if deadline is not None and (self._timer_at is None or deadline < self._timer_at):
            if self._timer is not None:
                self._timer.cancel()
            self._timer_at = deadline
            self._timer = self._loop.call_at(deadline, self._on_timer)
        if self._queue:
            self._wake()

    def _drop_oldest(self, incoming_keyframe: bool) -> None:
        """Makes room for a frame: audio frames stand alone; a video frame takes with it the
        queued frames that depend on it, up to the next keyframe (the incoming one if none
        is queued, else one asked for)."""
        self._queue.popleft()
        self._dropped += 1
        if self._kind == "audio":
            return
        while self._queue and not self._queue[0].keyframe:
            self._queue.popleft()
            self._dropped += 1
        if not self._queue and not incoming_keyframe:
            self._awaiting_keyframe = True
            self._ask_keyframe()

    def _ask_keyframe(self) -> None:
        if self._consumer.closed:
            return
        task = asyncio.ensure_future(self._request_keyframe())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _request_keyframe(self) -> None:
        with contextlib.suppress(errors.MediasoupError):
            await self._consumer.request_key_frame()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


# Sender reports go out this often (RFC 3550's 5 s minimum is for shared sessions; WebRTC
# senders send about one a second, which lets receivers line streams up soon).
SENDER_REPORT_INTERVAL_S = 1.0
# Packets sent back to back before yielding to the loop: a 1080p keyframe of ~200 packets
# goes out in bursts rather than at once.
PACING_BURST = 16


class FrameSender:
    """Sends frames through a DirectTransport producer: packetized in Rust, paced in bursts,
    with a sender report each second that pairs the wall clock with the stream's RTP
    timestamps (so receivers line it up with other streams)."""

    def __init__(
        self,
        producer: Producer,
        transport: DirectTransport,
        *,
        max_payload_size: int = 1100,
    ) -> None:
        parameters = producer.rtp_parameters
        codec = parameters["codecs"][0]
        ssrc = parameters["encodings"][0].get("ssrc")
        if ssrc is None:
            raise errors.MediasoupTypeError(
                "rtp_parameters.encodings[0].ssrc: send_frame needs the stream's SSRC",
                "rtp_parameters.encodings[0].ssrc",
            )
        self._producer = producer
        self._transport = transport
        self._clock_rate = codec["clockRate"]
        self._packetizer = _core.FramePacketizer(
            codec["mimeType"],
            codec["payloadType"],
            ssrc,
            secrets.randbits(16),
            max_payload_size,
        )
        # The last frame's RTP timestamp and when it was sent, for sender reports.
        self._last: tuple[int, float] | None = None
        self._next_report = 0.0
        self.frames_sent = 0

    async def send_frame(self, data: bytes, timestamp: int, *, keyframe: bool = False) -> None:
        """Sends one frame with this RTP timestamp (the codec's clock; 90 kHz for video,
        48 kHz for opus). ``MediasoupTypeError`` when the frame is not in the codec's
        format (an Annex B stream for H.264, a temporal unit for AV1)."""
        packets = self._packetizer.packetize(bytes(data), timestamp & 0xFFFFFFFF, keyframe)
        now = time.time()
        self._last = (timestamp, now)
        if now >= self._next_report:
            self._send_report(now)
        for index, packet in enumerate(packets):
            if index and index % PACING_BURST == 0:
                await asyncio.sleep(0)
            self._producer.send(packet)
        self.frames_sent += 1

    def _send_report(self, now: float) -> None:
        if self._last is None:
            return
        timestamp, sent_at = self._last
        rtp_now = (timestamp + round((now - sent_at) * self._clock_rate)) & 0xFFFFFFFF
        self._transport.send_rtcp(self._packetizer.sender_report(now, rtp_now))
        self._next_report = now + SENDER_REPORT_INTERVAL_S
