"""mediasoup_py's recorder with Chromium sending VP9 and AV1 (mediasoup-client v3; one stream,
and three spatial layers as mediasoup-demo sends them), with opus, for 10 s
(tests/interop/chromium_codec_recording.py): ffprobe reads the WebM while it grows and
after, its duration is within 0.5 s of the time recorded, audio and video start within
100 ms of each other, and every frame decodes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.interop.netns import run_in_namespace

SECONDS = 10


@pytest.mark.parametrize(
    ("codec", "layers"),
    [("video/VP9", "single"), ("video/AV1", "single"), ("video/VP9", "svc"), ("video/AV1", "svc")],
)
def test_a_chromium_vp9_or_av1_sender_is_recorded(
    loopback_namespace: str, codec: str, layers: str
) -> None:
    result: dict[str, Any] = run_in_namespace(
        loopback_namespace,
        "tests.interop.chromium_codec_recording",
        *["--codec", codec, "--layers", layers, "--seconds", str(SECONDS)],
        timeout=SECONDS + 100,
    )
    assert result["sent"] == codec
    name = codec.split("/")[1].lower()
    for probe in (result["whileWriting"], result["after"]):
        assert sorted(s["codec_name"] for s in probe["streams"]) == sorted([name, "opus"]), probe
    streams = result["after"]["streams"]
    duration = float(result["after"]["format"]["duration"])
    assert abs(duration - result["recorded"]) < 0.5, (duration, result)
    starts = [float(s["start_time"]) for s in streams]
    assert abs(starts[0] - starts[1]) < 0.1, starts
    # With the recorder's counts (frames lost, malformed, dropped from its queue, waiting for
    # a keyframe): an error on every frame from some point on is a lost reference.
    assert result["decodeErrors"] == "", (result["decodeErrors"][:1500], result["recorder"])
    video, audio = result["recorder"]["streams"]
    # Chromium's fake camera: 20 to 30 fps on this machine; 20 ms opus packets.
    assert video["framesWritten"] >= SECONDS * 15, video
    assert audio["framesWritten"] >= SECONDS * 45, audio
