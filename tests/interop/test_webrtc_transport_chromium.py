"""Headless Chromium connects an RTCPeerConnection to a WebRtcTransport and its SRTP
decrypts. Chromium and the worker run in a network namespace with only ``lo``, created here
(the tests run as root, as CI does), so no packet can use another address of the machine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]


@pytest.fixture
def loopback_namespace() -> Iterator[str]:
    name = f"msp-{uuid.uuid4().hex[:8]}"
    created = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    assert created.returncode == 0, (
        "creating a network namespace needs root (CAP_SYS_ADMIN), as the test suite runs in "
        f"CI: {created.stderr.strip()}"
    )
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=True)


def run_in_namespace(namespace: str, protocol: str) -> dict[str, object]:
    completed = subprocess.run(
        [
            "ip",
            "netns",
            "exec",
            namespace,
            sys.executable,
            "-m",
            "tests.interop.chromium_webrtc",
            "--protocol",
            protocol,
        ],
        cwd=REPOSITORY,
        env={**os.environ, "PYTHONPATH": str(REPOSITORY)},
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    result: dict[str, object] = json.loads(completed.stdout)
    return result


@pytest.mark.parametrize("protocol", ["udp", "tcp"])
def test_chromium_connects_and_its_srtp_decrypts(loopback_namespace: str, protocol: str) -> None:
    result = run_in_namespace(loopback_namespace, protocol)
    assert result["iceState"] == "completed"
    assert result["dtlsState"] == "connected"
    assert result["tuple"] == {
        **result["tuple"],  # type: ignore[dict-item]
        "remoteIp": "127.0.0.1",
        "protocol": protocol,
    }
    assert result["rtpPacketsReceived"] >= 100  # type: ignore[operator]
    assert result["droppedDatagrams"]["srtp"] == 0  # type: ignore[index]
