"""mediasoup-client 2.x (npm, unmodified) in headless Chromium against mediasoup_py's v2
protocol, through the v2 example app's WebSocket: two pages call each other (one sends three
simulcast streams), a preferred profile moves the receiver across them, and a page that
closes is gone from the other page and from the server."""

from __future__ import annotations

from typing import Any

from tests.interop.netns import run_in_namespace


def test_two_mediasoup_client_v2_pages_call_each_other(loopback_namespace: str) -> None:
    result: dict[str, Any] = run_in_namespace(
        loopback_namespace, "tests.interop.chromium_v2_room", timeout=160
    )
    for name in ("alice", "bob"):
        seen = result["seen"][name]
        assert seen["video"]["framesDecoded"] >= 30, result["seen"]
        assert seen["video"]["frameWidth"] > 0
        assert seen["audio"]["totalSamplesReceived"] > 0
        # The fake microphone's beep arrives as sound, not silence.
        assert seen["audio"]["totalAudioEnergy"] > 0
    assert result["aliceProducers"] == {
        "audio": {"type": "simple", "encodings": 1},
        "video": {"type": "simulcast", "encodings": 3},
    }
    # Each profile selects its stream, and the decoder keeps going (about 20 fps each).
    for index, profile in enumerate(("low", "medium", "high")):
        switched = result["profiles"][profile]
        assert switched["layers"]["spatialLayer"] == index, result["profiles"]
        assert switched["framesDecodedIn2s"] >= 20, result["profiles"]
    assert result["gone"] == {"tiles": [], "serverPeers": ["bob"]}
    (bob,) = result["dump"]["peers"]
    assert bob["consumerIds"] == []
