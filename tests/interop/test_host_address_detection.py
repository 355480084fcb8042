"""``rtc_ipv4=True`` picks the host's first non-internal IPv4 address (mediasoup v2's
detection): the test makes a network namespace with a veth pair to a second namespace, the
veth's address being the only non-internal one, and runs the scenario
(tests/interop/host_address_detection.py) there; and in a namespace with only ``lo`` the
setting is an error naming it. The addresses are from 198.18.0.0/15 (RFC 2544, for tests), on
no network: both ends are namespaces made here."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.interop.netns import run_in_namespace

HOST_ADDRESS = "198.18.0.1"
PEER_ADDRESS = "198.18.0.2"


@pytest.fixture
def veth_namespace(loopback_namespace: str) -> Iterator[str]:
    """The loopback namespace with a veth to another namespace: HOST_ADDRESS/24 on its end."""
    peer = f"msp-{uuid.uuid4().hex[:8]}"
    suffix = uuid.uuid4().hex[:6]
    subprocess.run(["ip", "netns", "add", peer], check=True)
    try:
        commands = [
            [
                "ip",
                "-n",
                loopback_namespace,
                "link",
                "add",
                f"host{suffix}",
                "type",
                "veth",
                "peer",
                "name",
                f"peer{suffix}",
                "netns",
                peer,
            ],
            [
                "ip",
                "-n",
                loopback_namespace,
                "addr",
                "add",
                f"{HOST_ADDRESS}/24",
                "dev",
                f"host{suffix}",
            ],
            ["ip", "-n", peer, "addr", "add", f"{PEER_ADDRESS}/24", "dev", f"peer{suffix}"],
            ["ip", "-n", peer, "link", "set", "lo", "up"],
            ["ip", "-n", peer, "link", "set", f"peer{suffix}", "up"],
            ["ip", "-n", loopback_namespace, "link", "set", f"host{suffix}", "up"],
        ]
        for command in commands:
            subprocess.run(command, check=True)
        yield loopback_namespace
    finally:
        subprocess.run(["ip", "netns", "del", peer], check=True)


def test_rtc_ipv4_true_picks_the_namespaces_address(veth_namespace: str) -> None:
    result: dict[str, Any] = run_in_namespace(
        veth_namespace, "tests.interop.host_address_detection"
    )
    assert result["listenInfos"] == [{"protocol": "udp", "ip": HOST_ADDRESS}]
    assert result["serverListenInfos"] == [{"protocol": "udp", "ip": HOST_ADDRESS}]
    (candidate,) = result["candidates"]
    assert candidate["address"] == HOST_ADDRESS
    assert result["tuple"]["localAddress"] == HOST_ADDRESS
    assert result["tuple"]["remoteIp"] == HOST_ADDRESS


def test_rtc_ipv4_true_without_an_address_names_the_setting(loopback_namespace: str) -> None:
    result = run_in_namespace(loopback_namespace, "tests.interop.host_address_detection", "--none")
    assert result["field"] == "rtc_ipv4"
    assert "no non-internal IPv4 address" in str(result["error"])
