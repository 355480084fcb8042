"""Recording through PlainTransports, as mediasoup's recording examples do: ffmpeg streams VP8
and opus into PlainTransport producers, PlainTransport consumers send them on to a second
ffmpeg that writes them to a WebM file without re-encoding.

ffmpeg's recorder aligns its streams by the consumers' sender reports, which it gets ahead of
the first packet of each; the recording must have growing timestamps throughout (ffmpeg
neither fixes any while recording nor complains of any when reading the file), every frame
decodable, and, when the sender's reports reach the producers (their transports have an RTCP
port of their own), its video and audio as aligned as the sender had them: the sender flashes
and beeps at the same instants, and the recording shows them within 20 ms of each other.
Without the sender's reports (rtcp-mux, where ffmpeg's RTCP, sent from another port, is
dropped) consumers date the streams from their first packets' arrival: the timestamps must
still be clean."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

import pytest

import mediasoup_py
from benches.av_sync import analyse, marked_sender_command
from tests.interop.ffmpeg_peer import (
    free_udp_port,
    probe,
    producer_parameters,
    recorder_sdp,
    recording,
    rtp_output,
)

MEDIA_CODECS: list[dict[str, Any]] = [
    {"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2},
    {"kind": "video", "mimeType": "video/VP8", "clockRate": 90000},
]
# Four marks (1 s, 3 s, 5 s, 7 s into the sender's timeline).
SECONDS = 8
LOOPBACK = {"protocol": "udp", "ip": "127.0.0.1"}
# How far apart a flash and its beep may be in the recording (people notice audio leading
# video from about 45 ms, ITU-R BT.1359).
MAX_OFFSET_MS = 20


async def record(sender_reports: bool) -> dict[str, Any]:
    worker = await mediasoup_py.create_worker(rtc_min_port=47400, rtc_max_port=47499)
    try:
        router = await worker.create_router(media_codecs=MEDIA_CODECS)  # type: ignore[arg-type]
        inputs: dict[str, Any] = {}
        consumers: dict[str, mediasoup_py.Consumer] = {}
        streams = []
        for kind in ("video", "audio"):
            source = await router.create_plain_transport(
                listen_info=LOOPBACK,  # type: ignore[arg-type]
                comedia=True,
                rtcp_mux=not sender_reports,
            )
            producer = await source.produce(kind=kind, rtp_parameters=producer_parameters(kind))  # type: ignore[arg-type]
            inputs[kind] = source
            sink = await router.create_plain_transport(listen_info=LOOPBACK)  # type: ignore[arg-type]
            port = free_udp_port()
            await sink.connect(ip="127.0.0.1", port=port)
            consumer = await sink.consume(
                producer_id=producer.id, rtp_capabilities=router.rtp_capabilities, paused=True
            )
            consumers[kind] = consumer
            streams.append((kind, port, consumer.rtp_parameters))
        with tempfile.TemporaryDirectory() as directory:
            sdp = recorder_sdp(streams)  # type: ignore[arg-type]
            async with recording(sdp, Path(directory), "out.webm", SECONDS) as output:
                for consumer in consumers.values():
                    await consumer.resume()
                sender = await asyncio.create_subprocess_exec(
                    *marked_sender_command(
                        rtp_output(inputs["video"]),
                        rtp_output(inputs["audio"]),
                        seconds=SECONDS + 4,
                    ),
                    stdout=asyncio.subprocess.DEVNULL,
                )
                try:
                    # A loaded machine encodes slower than real time: the recorder stops
                    # after SECONDS of media, however long they take to come.
                    await asyncio.wait_for(sender.wait(), timeout=SECONDS * 5 + 30)
                finally:
                    if sender.returncode is None:
                        sender.terminate()
                        await sender.wait()
            return {
                "streams": await probe(output.path),
                "recording": await analyse(output.path),
                "recorderWarnings": output.warnings,
                "consumers": {kind: (await c.get_stats())[0] for kind, c in consumers.items()},
            }
    finally:
        worker.close()


@pytest.mark.parametrize(
    "sender_reports", [True, False], ids=["sender-reports", "no-sender-reports"]
)
def test_plain_transport_consumers_feed_an_ffmpeg_recording_in_sync(sender_reports: bool) -> None:
    result = asyncio.run(asyncio.wait_for(record(sender_reports), SECONDS * 5 + 120))
    streams = {stream["codec_type"]: stream for stream in result["streams"]}
    video, audio = streams["video"], streams["audio"]
    assert (video["codec_name"], video["width"], video["height"]) == ("vp8", 320, 240)
    # About SECONDS of 30 fps video, every frame decodable from the first keyframe on.
    assert int(video["nb_read_frames"]) >= 25 * (SECONDS - 1), result
    assert audio["codec_name"] == "opus"
    assert int(audio["nb_read_frames"]) >= 40 * (SECONDS - 1), result
    recording = result["recording"]
    assert recording.decode_errors == [], recording
    assert recording.timestamp_complaints == [], recording
    fixed = [line for line in result["recorderWarnings"] if "DTS" in line or "PTS" in line]
    assert fixed == [], result["recorderWarnings"]
    # Every mark in the recording, flash and beep together. (Opus's 6.5 ms of encoder delay
    # shows too: the RTP recording has no header to tell the decoder to skip it; ffmpeg
    # recording ffmpeg directly shows the same.) Without the sender's reports the consumers
    # can only date each stream from its first packet's arrival, which a loaded machine
    # delays by tens of milliseconds: the marks are there, their offset is the fallback's.
    assert len(recording.offsets_ms) >= len(recording.flashes) >= 3, recording
    if sender_reports:
        assert all(abs(offset) < MAX_OFFSET_MS for offset in recording.offsets_ms), recording
    assert result["consumers"]["video"]["packetCount"] > 0
