"""A Chromium sender (VP8 simulcast and opus, mediasoup-client) is watched over WHEP by an
aiortc viewer that decodes it, and recorded for 30 s by the recorder: ffprobe reads the
WebM while it grows and after, its duration is within 0.5 s of the time recorded, audio and
video start within 100 ms of each other, and every frame decodes
(tests/interop/chromium_whep_recorder.py)."""

from __future__ import annotations

from typing import Any

from tests.interop.netns import run_in_namespace

SECONDS = 30


def test_a_chromium_sender_is_watched_over_whep_and_recorded(loopback_namespace: str) -> None:
    result: dict[str, Any] = run_in_namespace(
        loopback_namespace,
        "tests.interop.chromium_whep_recorder",
        "--seconds",
        str(SECONDS),
        timeout=SECONDS + 100,
    )
    whep = result["whep"]
    assert whep["videoFrames"] == 30
    assert whep["videoSize"][0] > 0
    assert whep["audioRate"] == 48000
    codecs = sorted(s["codec_name"] for s in result["whileWriting"]["streams"])
    assert codecs == ["opus", "vp8"], result["whileWriting"]
    streams = result["after"]["streams"]
    assert sorted(s["codec_name"] for s in streams) == ["opus", "vp8"]
    duration = float(result["after"]["format"]["duration"])
    assert abs(duration - result["recorded"]) < 0.5, (duration, result)
    starts = [float(s["start_time"]) for s in streams]
    assert abs(starts[0] - starts[1]) < 0.1, starts
    assert result["decodeErrors"] == "", result["decodeErrors"]
