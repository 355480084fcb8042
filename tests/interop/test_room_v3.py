"""A Room speaking mediasoup-demo's v3 protocol with two clients nobody here wrote:
mediasoup-client v3 (npm) in headless Chromium and pymediasoup (PyPI) over aiortc join the
same room, each sends video and audio, and each decodes the other's; when the Python client
leaves, the page hears it."""

from __future__ import annotations

from typing import Any

from tests.interop.netns import run_in_namespace


def test_mediasoup_client_and_pymediasoup_call_each_other(loopback_namespace: str) -> None:
    result: dict[str, Any] = run_in_namespace(loopback_namespace, "tests.interop.room_clients")
    assert result["peersAtBrowserJoin"] == []
    assert [peer["id"] for peer in result["peersAtPythonJoin"]] == ["chromium"]
    assert result["pythonConsumerKinds"] == ["audio", "video"]
    assert result["pythonDecodedFrames"] == 30
    assert result["pageVideo"]["framesDecoded"] >= 30, result
    assert result["pageVideo"]["frameWidth"] == 640  # aiortc's test pattern
    assert result["pageAudioPackets"] >= 50
    # The page heard the Python peer come, send, and go.
    for method in ("newPeer", "peerClosed", "consumerClosed", "consumerScore"):
        assert method in result["pageNotifications"], result["pageNotifications"]
    assert "producerScore" in result["pythonNotifications"], result["pythonNotifications"]
    assert result["peersBeforeLeave"] == 2
    assert result["peersAfterLeave"] == ["chromium"]
