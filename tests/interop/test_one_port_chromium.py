"""mediasoup-client v3 (npm) in headless Chromium through one port shared by two workers,
forced to ICE-TCP: the sending page's connection is accepted by the worker reading the port
and handed to the worker of its transport; both pages' media flows (see
``tests/interop/one_port_chromium.py``)."""

from __future__ import annotations

import subprocess
from typing import Any

from tests.interop.netns import run_in_namespace

PORT = 45321


def test_chromium_forced_to_tcp_reaches_transports_on_two_workers_through_one_port(
    loopback_namespace: str,
) -> None:
    result: dict[str, Any] = run_in_namespace(
        loopback_namespace, "tests.interop.one_port_chromium", timeout=120
    )
    assert result["framesDecoded"] >= 60, result
    assert result["audioPacketsReceived"] >= 100, result
    transports = result["transports"]
    assert transports["send"]["worker"] == 1
    assert transports["recv"]["worker"] == 0
    for transport in transports.values():
        # Offered the one TCP port alone, and connected over it.
        assert transport["candidates"] == [["tcp", "127.0.0.1", PORT]], transport
        assert transport["tuple"]["protocol"] == "tcp", transport
        assert transport["tuple"]["localPort"] == PORT, transport
    home, other = result["dump"]["workers"]
    # The sender's connection moved to the second worker whole.
    assert home["handedOver"] >= 1, result["dump"]
    assert home["tupleSockets"] == 0
    assert other["tupleSockets"] == 0


def test_chromium_reaches_one_port_over_ipv6_loopback_and_ipv4(loopback_namespace: str) -> None:
    """Dual stack: the server listens on 127.0.0.1 and ::1 with one port number; every
    transport has candidates on both families; the sending page, given only the IPv6 ones,
    connects to ::1 over IPv6, and media flows to the other page.

    Chromium's --allow-loopback-in-peer-connection adds the IPv4 loopback to what it gathers
    on, not ::1, so the namespace gets an IPv6 address Chromium does gather on: a ULA on a
    veth pair whose both ends are in the namespace (traffic to a local address goes through
    lo; nothing leaves the namespace)."""
    for command in (
        ["link", "add", "msp-v6a", "type", "veth", "peer", "name", "msp-v6b"],
        ["addr", "add", "fd00:5eed::1/64", "dev", "msp-v6a", "nodad"],
        ["link", "set", "msp-v6a", "up"],
        ["link", "set", "msp-v6b", "up"],
    ):
        subprocess.run(["ip", "-n", loopback_namespace, *command], check=True)
    result: dict[str, Any] = run_in_namespace(
        loopback_namespace,
        "tests.interop.one_port_chromium",
        "--udp",
        "--dual-stack",
        timeout=120,
    )
    assert result["framesDecoded"] >= 60, result
    transports = result["transports"]
    for transport in transports.values():
        assert {(c[0], c[1]) for c in transport["candidates"]} == {
            ("udp", "127.0.0.1"),
            ("tcp", "127.0.0.1"),
            ("udp", "::1"),
            ("tcp", "::1"),
        }, transport
        assert transport["tuple"]["localPort"] == PORT
    sender = transports["send"]["tuple"]
    assert sender["localAddress"] == "::1", sender
    assert sender["remoteIp"] == "fd00:5eed::1", sender
    assert sender["protocol"] == "udp", sender
    # The sender's IPv6 tuple has its connected socket on the second worker.
    assert result["dump"]["workers"][1]["tupleSockets"] >= 1, result["dump"]
