"""A bot participant for the demo: ``python -m mediasoup_py.demo.bot --url http://127.0.0.1:8080
--room demo``. It joins like a browser does (pymediasoup over aiortc, the v3 protocol over the
demo's WebSocket), sends a test pattern and a tone (or a media file), and can record what it
receives. Useful to try the demo alone, for load, and in tests.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fractions
import itertools
import logging
import math
import sys
import time
import uuid
from array import array
from typing import Any

import aiohttp
import aioice.ice
from aiortc.contrib.media import MediaPlayer, MediaRecorder
from aiortc.mediastreams import AudioStreamTrack, MediaStreamTrack, VideoStreamTrack
from av import AudioFrame
from pymediasoup import Device
from pymediasoup.handlers.aiortc_handler import AiortcHandler
from pymediasoup.models.transport import DtlsParameters
from pymediasoup.rtp_parameters import RtpCapabilities, RtpParameters

from mediasoup_py import protocol

__all__ = ["Bot", "Tone"]

_logger = logging.getLogger("mediasoup_py.demo.bot")

SAMPLE_RATE = 48000
FRAME_SAMPLES = 960  # 20 ms


class _RecordedTrack(MediaStreamTrack):
    """A remote track as the recorder reads it, ordered around the first video frame: the
    video track (``announce``) sets ``first_frame`` when it hands that frame over; the audio
    track hands nothing over before that (without ``first_frame``, it does not wait). Counts
    the frames it hands over in ``recorded``, by kind."""

    def __init__(
        self,
        source: MediaStreamTrack,
        recorded: dict[str, int],
        first_frame: asyncio.Event | None = None,
        announce: bool = False,
    ) -> None:
        super().__init__()
        self.kind = source.kind
        self._source = source
        self._recorded = recorded
        self._first_frame = first_frame
        self._announce = announce

    async def recv(self) -> Any:
        if self._first_frame is not None and not self._announce:
            await self._first_frame.wait()
        frame = await self._source.recv()
        if self._first_frame is not None and self._announce:
            self._first_frame.set()
        self._recorded[self.kind] = self._recorded.get(self.kind, 0) + 1
        return frame


class Tone(AudioStreamTrack):
    """A 440 Hz sine at ``amplitude`` (of full scale), paced in real time; the amplitude can
    change while it plays."""

    def __init__(self, amplitude: float = 0.3) -> None:
        super().__init__()
        self.amplitude = amplitude
        self._samples = 0
        self._started_at: float | None = None

    async def recv(self) -> AudioFrame:
        if self._started_at is None:
            self._started_at = time.monotonic()
        due = self._started_at + self._samples / SAMPLE_RATE
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        scale = self.amplitude * 32767
        step = 2 * math.pi * 440 / SAMPLE_RATE
        wave = array(
            "h",
            (round(scale * math.sin(step * (self._samples + n))) for n in range(FRAME_SAMPLES)),
        )
        frame = AudioFrame(format="s16", layout="mono", samples=FRAME_SAMPLES)
        frame.planes[0].update(wave.tobytes())
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self._samples
        frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
        self._samples += FRAME_SAMPLES
        return frame


class Bot:
    """One participant: connect, join, send tracks, receive what the room offers."""

    def __init__(
        self,
        url: str,
        room: str,
        name: str,
        recorder: MediaRecorder | None,
        token: str | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.room = room
        self.name = name
        # With a join token, the server takes the peer id (and name) from it.
        self.token = token
        self.peer_id = f"bot-{uuid.uuid4().hex[:8]}"
        self.recorder = recorder
        self.consumers: list[Any] = []
        self.notifications: list[protocol.Notification] = []
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._socket: aiohttp.ClientWebSocketResponse | None = None
        self._session: aiohttp.ClientSession | None = None
        self._reader: asyncio.Task[None] | None = None
        self._device: Device | None = None
        self._send_transport: Any = None
        self._recv_transport: Any = None
        self._handling: set[asyncio.Task[None]] = set()
        self._recording_started = False
        # Remote tracks to record, by kind (the first of each).
        self._to_record: dict[str, MediaStreamTrack] = {}
        # Frames handed to the recorder so far, by kind.
        self.recorded: dict[str, int] = {}

    async def _request(self, method: str, data: dict[str, Any]) -> dict[str, Any]:
        assert self._socket is not None
        request_id = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        await self._socket.send_json(
            {"request": True, "id": request_id, "method": method, "data": data}
        )
        answer: dict[str, Any] = protocol.parse_response(await asyncio.wait_for(future, 15))["data"]
        return answer

    async def _read(self) -> None:
        assert self._socket is not None
        async for message in self._socket:
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            data = message.json()
            if data.get("response"):
                future = self._pending.pop(data.get("id"), None)
                if future is not None and not future.done():
                    future.set_result(data)
            elif data.get("request"):
                task = asyncio.ensure_future(self._answer(data))
                self._handling.add(task)
                task.add_done_callback(self._handling.discard)
            elif data.get("notification"):
                self.notifications.append(protocol.parse_notification(data))

    async def _answer(self, message: dict[str, Any]) -> None:
        assert self._socket is not None
        request = protocol.parse_request(message)
        if request["method"] != "newConsumer":
            error = ValueError(f"unknown method {request['method']!r}")
            await self._socket.send_json(protocol.error_response(request["id"], error))
            return
        data = request["data"]
        consumer = await self._recv_transport.consume(
            id=data["id"],
            producerId=data["producerId"],
            kind=data["kind"],
            rtpParameters=RtpParameters(**data["rtpParameters"]),
        )
        self.consumers.append(consumer)
        self._record(consumer)
        await self._socket.send_json(protocol.ok_response(request["id"], {}))

    def _record(self, consumer: Any) -> None:
        """Records the first remote video and audio tracks together (the audio alone when no
        video comes within two seconds). aiortc's recorder writes the container header with
        the first packet it muxes and sizes the video stream from the first video frame, so
        the audio waits for that frame (:class:`_RecordedTrack`)."""
        if self.recorder is None or self._recording_started:
            return
        self._to_record[consumer.kind] = consumer.track
        if "video" in self._to_record and "audio" in self._to_record:
            self._start_recorder()
        elif consumer.kind == "audio":
            asyncio.get_running_loop().call_later(2.0, self._start_recorder)

    def _start_recorder(self) -> None:
        if self.recorder is None or self._recording_started:
            return
        self._recording_started = True
        video, audio = self._to_record.get("video"), self._to_record.get("audio")
        if video is not None:
            first_frame = asyncio.Event()
            self.recorder.addTrack(_RecordedTrack(video, self.recorded, first_frame, announce=True))
            if audio is not None:
                self.recorder.addTrack(_RecordedTrack(audio, self.recorded, first_frame))
        elif audio is not None:
            self.recorder.addTrack(_RecordedTrack(audio, self.recorded))
        task = asyncio.ensure_future(self.recorder.start())
        self._handling.add(task)
        task.add_done_callback(self._handling.discard)

    def _wire(self, transport: Any) -> None:
        @transport.on("connect")  # type: ignore[untyped-decorator]
        async def on_connect(dtlsParameters: DtlsParameters) -> None:
            await self._request(
                "connectWebRtcTransport",
                {
                    "transportId": transport.id,
                    "dtlsParameters": dtlsParameters.model_dump(exclude_none=True),
                },
            )

    async def join(self, tracks: list[MediaStreamTrack]) -> list[dict[str, Any]]:
        """Connects, joins and sends ``tracks``; returns the peers already there."""
        self._session = aiohttp.ClientSession()
        ws_url = self.url.replace("http", "ws", 1) + "/ws"
        params = {"roomId": self.room}
        if self.token is None:
            params["peerId"] = self.peer_id
        else:
            params["token"] = self.token
        self._socket = await self._session.ws_connect(ws_url, params=params)
        self._reader = asyncio.ensure_future(self._read())
        capabilities = await self._request("getRouterRtpCapabilities", {})
        self._device = Device(handlerFactory=AiortcHandler.createFactory(tracks=tracks))
        await self._device.load(RtpCapabilities(**capabilities))
        send = await self._request("createWebRtcTransport", {"producing": True})
        self._send_transport = self._device.createSendTransport(**{**send, "iceServers": []})
        self._wire(self._send_transport)

        @self._send_transport.on("produce")  # type: ignore[untyped-decorator]
        async def on_produce(kind: str, rtpParameters: RtpParameters, appData: Any) -> str:
            data = await self._request(
                "produce",
                {
                    "transportId": self._send_transport.id,
                    "kind": kind,
                    "rtpParameters": rtpParameters.model_dump(exclude_none=True),
                    "appData": appData,
                },
            )
            producer_id: str = data["id"]
            return producer_id

        recv = await self._request("createWebRtcTransport", {"consuming": True})
        self._recv_transport = self._device.createRecvTransport(**{**recv, "iceServers": []})
        self._wire(self._recv_transport)
        device_capabilities = self._device.rtpCapabilities
        assert device_capabilities is not None
        joined = await self._request(
            "join",
            {
                "displayName": self.name,
                "device": {"name": "mediasoup_py bot"},
                "rtpCapabilities": device_capabilities.model_dump(exclude_none=True),
            },
        )
        for track in tracks:
            await self._send_transport.produce(track=track, stopTracks=False)
        peers: list[dict[str, Any]] = joined["peers"]
        return peers

    async def close(self) -> None:
        """Leaves: stops recording, closes transports and the WebSocket."""
        if self.recorder is not None and self._recording_started:
            await self.recorder.stop()
        for transport in (self._send_transport, self._recv_transport):
            if transport is not None:
                await transport.close()
        if self._socket is not None:
            await self._socket.close()
        if self._reader is not None:
            self._reader.cancel()
        if self._session is not None:
            await self._session.close()


def include_loopback_candidates() -> None:
    """aioice leaves 127.0.0.1 out of its host candidates; a bot talking to a demo on the same
    machine (or in a namespace with only ``lo``) needs it."""
    original = aioice.ice.get_host_addresses

    def with_loopback(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        addresses: list[str] = original(use_ipv4, use_ipv6)
        return ["127.0.0.1", *addresses] if use_ipv4 else addresses

    aioice.ice.get_host_addresses = with_loopback


async def run(arguments: argparse.Namespace) -> int:
    if arguments.include_loopback:
        include_loopback_candidates()
    tracks: list[MediaStreamTrack] = []
    player = None
    if arguments.file:
        player = MediaPlayer(arguments.file)
        tracks = [track for track in (player.video, player.audio) if track is not None]
    elif not arguments.receive_only:
        tracks = [VideoStreamTrack(), Tone()]
    recorder = MediaRecorder(arguments.record) if arguments.record else None
    bot = Bot(arguments.url, arguments.room, arguments.name, recorder, arguments.token)
    try:
        peers = await bot.join(tracks)
        _logger.info("joined room %r with %d peers there", arguments.room, len(peers))
        deadline = asyncio.get_running_loop().time() + arguments.seconds
        while asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(min(5.0, arguments.seconds))
            _logger.info("receiving %d tracks", len(bot.consumers))
    finally:
        await bot.close()
        if player is not None:
            for track in tracks:
                track.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mediasoup_py.demo.bot",
        description="A demo participant that sends a test pattern and a tone.",
    )
    parser.add_argument("--url", default="http://127.0.0.1:8080", help="the demo's URL")
    parser.add_argument("--room", default="demo")
    parser.add_argument("--name", default="bot")
    parser.add_argument("--file", help="send this media file instead (aiortc's MediaPlayer)")
    parser.add_argument("--receive-only", action="store_true", help="send nothing")
    parser.add_argument("--record", help="record what it receives to this file")
    parser.add_argument("--seconds", type=float, default=3600, help="how long to stay")
    parser.add_argument("--token", help="a join token (mediasoup-py token)")
    parser.add_argument(
        "--include-loopback",
        action="store_true",
        help="offer 127.0.0.1 as an ICE candidate (for a demo on this machine)",
    )
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(run(arguments))
    return 0


if __name__ == "__main__":
    sys.exit(main())
