"""Recording through PlainTransports, as mediasoup's recording FAQ does: ffmpeg streams VP8
and opus into PlainTransport producers, PlainTransport consumers send them on to a second
ffmpeg that writes them to a WebM file without re-encoding (benches/av_sync.py runs both).

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

from benches.av_sync import free_udp_port, mediasoup_py_session, record_marks
from tests.interop.ffmpeg_peer import probe

# Four marks (1 s, 3 s, 5 s, 7 s into the sender's timeline).
SECONDS = 8
# How far apart a flash and its beep may be in the recording (people notice audio leading
# video from about 45 ms, ITU-R BT.1359).
MAX_OFFSET_MS = 20


async def record(sender_reports: bool) -> dict[str, Any]:
    ports = {"video": free_udp_port(), "audio": free_udp_port()}
    session = await mediasoup_py_session(ports, sender_reports)
    try:
        with tempfile.TemporaryDirectory() as directory:
            marked = await record_marks(session, Path(directory), SECONDS)
            streams = await probe(marked.recording.path)
        stats = {kind: (await c.get_stats())[0] for kind, c in session.consumers.items()}
        return {"streams": streams, "marked": marked, "consumers": stats}
    finally:
        await session.close()


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
    marked = result["marked"]
    analysis = marked.analysis
    assert analysis.decode_errors == [], analysis
    assert analysis.timestamp_complaints == [], analysis
    assert analysis.frame_rate_complaints == [], analysis
    assert marked.fixed_timestamps == [], marked.recording.warnings
    # Every mark in the recording, flash and beep together. (Opus's 6.5 ms of encoder delay
    # shows too: the RTP recording has no header to tell the decoder to skip it; ffmpeg
    # recording ffmpeg directly shows the same.) Without the sender's reports the consumers
    # can only date each stream from its first packet's arrival, which a loaded machine
    # delays by tens of milliseconds: the marks are there, their offset is the fallback's.
    assert len(analysis.offsets_ms) >= len(analysis.flashes) >= 3, analysis
    if sender_reports:
        assert all(abs(offset) < MAX_OFFSET_MS for offset in analysis.offsets_ms), analysis
    assert result["consumers"]["video"]["packetCount"] > 0
