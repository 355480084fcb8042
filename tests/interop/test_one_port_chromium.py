"""mediasoup-client v3 (npm) in headless Chromium through one port shared by two workers,
forced to ICE-TCP: the sending page's connection is accepted by the worker reading the port
and handed to the worker of its transport; both pages' media flows (see
``tests/interop/one_port_chromium.py``)."""

from __future__ import annotations

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
        assert transport["candidates"] == [["tcp", PORT]], transport
        assert transport["tuple"]["protocol"] == "tcp", transport
        assert transport["tuple"]["localPort"] == PORT, transport
    home, other = result["dump"]["workers"]
    # The sender's connection moved to the second worker whole.
    assert home["handedOver"] >= 1, result["dump"]
    assert home["tupleSockets"] == 0
    assert other["tupleSockets"] == 0
