"""A simulcast Chromium sender (mediasoup-client v3, fake camera as three VP8 encodings, fake
microphone) recorded by ffmpeg through PlainTransport consumers while the video consumer moves
from the top stream to the bottom one, the middle one and back
(tests/interop/chromium_simulcast_recording.py): every switch happens, and ffmpeg neither has to
fix a timestamp while recording nor finds one out of order reading the file back, which decodes
whole.
ffmpeg aligns the two streams by the consumers' sender reports, so those stay on one timeline
across the switches too."""

from __future__ import annotations

from typing import Any

from tests.interop.netns import run_in_namespace


def test_a_simulcast_chromium_sender_switched_between_streams_records_cleanly(
    loopback_namespace: str,
) -> None:
    result: dict[str, Any] = run_in_namespace(
        loopback_namespace, "tests.interop.chromium_simulcast_recording", timeout=240
    )
    assert [switch["spatialLayer"] for switch in result["switches"]] == [2, 0, 1, 2], result
    assert result["recorderFixes"] == [], result
    assert result["readingComplaints"] == [], result
    # Reading it back on a grid of its nominal 30 fps, as `ffmpeg -i FILE -f null -` does,
    # can complain where Chromium's fake camera, on a busy machine, captured two frames less
    # than 33 ms apart: the sender's timing, which goes through unchanged (the packets above
    # are in order in the file's own time base). Counted, not required empty.
    print(f"frame-rate grid complaints: {len(result['frameRateComplaints'])}")
    assert result["decodeErrors"] == [], result
    streams = {stream["codec_type"]: stream for stream in result["streams"]}
    assert streams["video"]["codec_name"] == "vp8"
    assert int(streams["video"]["nb_read_frames"]) > 100, result["streams"]
    assert int(streams["audio"]["nb_read_frames"]) > 200, result["streams"]
