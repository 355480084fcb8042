"""A Python bot's send_frame reaches headless Chromium, which decodes it: ffmpeg's VP8
frames, read with frames() and republished frame by frame (tests/interop/chromium_send_frame.py)."""

from __future__ import annotations

from typing import Any

from tests.interop.netns import run_in_namespace


def test_chromium_decodes_what_a_python_bot_sends_with_send_frame(loopback_namespace: str) -> None:
    result: dict[str, Any] = run_in_namespace(
        loopback_namespace, "tests.interop.chromium_send_frame"
    )
    assert result["video"]["framesDecoded"] >= 60, result
    assert (result["video"]["frameWidth"], result["video"]["frameHeight"]) == (320, 240)
    assert result["relayed"] >= 60
