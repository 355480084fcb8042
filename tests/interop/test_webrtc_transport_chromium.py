"""Headless Chromium connects an RTCPeerConnection to a WebRtcTransport and its SRTP
decrypts. Chromium and the worker run in a network namespace with only ``lo``, created here
(the tests run as root, as CI does), so no packet can use another address of the machine."""

from __future__ import annotations

import pytest

from tests.interop.netns import run_in_namespace


@pytest.mark.parametrize("protocol", ["udp", "tcp"])
def test_chromium_connects_and_its_srtp_decrypts(loopback_namespace: str, protocol: str) -> None:
    result = run_in_namespace(
        loopback_namespace, "tests.interop.chromium_webrtc", "--protocol", protocol
    )
    assert result["iceState"] == "completed"
    assert result["dtlsState"] == "connected"
    assert result["tuple"] == {
        **result["tuple"],  # type: ignore[dict-item]
        "remoteIp": "127.0.0.1",
        "protocol": protocol,
    }
    assert result["rtpPacketsReceived"] >= 100  # type: ignore[operator]
    assert result["droppedDatagrams"]["srtp"] == 0  # type: ignore[index]
