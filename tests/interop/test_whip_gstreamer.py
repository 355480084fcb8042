"""simple-whip-client (GStreamer) publishes into a room over WHIP, VP8 with trickled
candidates (PATCH) and H.264 with its candidates in the offer; frames() on the room's side
gets every frame of the span it was read for and PyAV decodes them all; the client's
DELETE on SIGINT ends the session (tests/interop/whip_gstreamer.py)."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from tests.interop.netns import run_in_namespace

# The veth's address in the test's namespace (libnice gathers no loopback candidate).
MEDIA_ADDRESS = "10.91.0.1"


def add_veth(namespace: str) -> None:
    """A veth pair with both ends in the namespace: an interface libnice gathers a host
    candidate on, with no way out of the namespace."""
    for command in (
        ["link", "add", "whip0", "type", "veth", "peer", "name", "whip1"],
        ["addr", "add", f"{MEDIA_ADDRESS}/32", "dev", "whip0"],
        ["link", "set", "whip0", "up"],
        ["link", "set", "whip1", "up"],
    ):
        subprocess.run(["ip", "-n", namespace, *command], check=True)


@pytest.mark.parametrize(("codec", "trickle"), [("vp8", True), ("h264", False)])
def test_simple_whip_client_publishes_and_frames_decode(
    loopback_namespace: str, codec: str, trickle: bool
) -> None:
    add_veth(loopback_namespace)
    arguments = ["--codec", codec, "--media-address", MEDIA_ADDRESS]
    result: dict[str, Any] = run_in_namespace(
        loopback_namespace,
        "tests.interop.whip_gstreamer",
        *arguments,
        *([] if trickle else ["--no-trickle"]),
        timeout=90,
    )
    said = result["clientSaid"]
    assert "[WHIP] PeerConnection connected" in said, said
    assert result["codecs"] == {"audio": "audio/opus", "video": f"video/{codec.upper()}"}
    # POST 201; trickled candidates (PATCH with the session's ICE credentials, RFC 8840)
    # 204, not taken for an ICE restart; DELETE 200.
    exchanges = [tuple(exchange) for exchange in result["exchanges"]]
    patches = [status for method, status in exchanges if method == "PATCH"]
    assert exchanges[0] == ("POST", 201)
    assert exchanges[-1] == ("DELETE", 200)
    assert patches == ([204] * len(patches) if trickle else []), exchanges
    assert len(patches) >= trickle
    # Every frame of the span read (30 fps), the first a keyframe, all decoded.
    assert result["videoFrames"] == round(result["videoSpan"] * 30) + 1, result
    assert result["videoFrames"] >= 80
    assert result["firstIsKeyframe"]
    assert result["decodedVideo"] == result["videoFrames"]
    assert result["videoSizes"] == [[320, 240]]
    assert result["videoStats"]["framesLost"] == 0
    # 20 ms opus packets for as long as the video (and the time to first video frame).
    assert result["audioFrames"] >= result["videoSpan"] * 50 * 0.9
    assert result["decodedAudio"] == result["audioFrames"]
    assert result["audioRates"] == [48000]
    assert result["closedByDelete"]
    assert result["clientExit"] == 0
