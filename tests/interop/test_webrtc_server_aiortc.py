"""A WebRtcServer shared by two WebRtcTransports, each with its own aiortc client: both
connect through the same UDP port and each transport gets only its client's media."""

from __future__ import annotations

import asyncio
from typing import Any

import aioice.ice
import pytest

import mediasoup_py
from mediasoup_py import errors
from tests.interop.aiortc_client import start_client, wait_for


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    # aioice drops exactly "127.0.0.1" from host candidates; tests must stay on loopback.
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])


async def two_clients_one_port() -> dict[str, Any]:
    worker = await mediasoup_py.create_worker(rtc_min_port=48000, rtc_max_port=48099)
    try:
        server = await worker.create_webrtc_server(
            listen_infos=[
                {"protocol": "udp", "ip": "127.0.0.1"},
                {"protocol": "tcp", "ip": "127.0.0.1", "announcedAddress": "sfu.test"},
            ]
        )
        router = await worker.create_router()
        first = await router.create_webrtc_transport(webrtc_server=server)
        second = await router.create_webrtc_transport(webrtc_server=server)
        ports = {tuple(c["port"] for c in t.ice_candidates) for t in (first, second)}
        tcp_addresses = [c["address"] for c in first.ice_candidates if c["protocol"] == "tcp"]
        clients = [await start_client(first), await start_client(second)]
        try:

            async def both_flowing() -> bool:
                stats = [(await t.get_stats())[0] for t in (first, second)]
                return all(s["rtpPacketsReceived"] >= 20 for s in stats)

            await wait_for(both_flowing, "media on both transports")
            stats = [(await t.get_stats())[0] for t in (first, second)]
            tuples = [t.ice_selected_tuple for t in (first, second)]
            unhandled: list[object] = []
            server.observer.on("webrtctransportunhandled", unhandled.append)
            closed: list[str] = []
            second.on("listenserverclose", lambda: closed.append(second.id))
            server.close()
            with pytest.raises(errors.InvalidStateError):
                await second.get_stats()
            return {
                "ports": ports,
                "tcp_addresses": tcp_addresses,
                "stats": stats,
                "tuples": tuples,
                "closed": closed,
                "unhandled": unhandled,
                "second": second,
            }
        finally:
            for client in clients:
                await client.close()
    finally:
        worker.close()


def test_two_transports_share_the_server_port() -> None:
    result = asyncio.run(two_clients_one_port())
    # One set of ports for both transports: the server's.
    assert len(result["ports"]) == 1
    assert result["tcp_addresses"] == ["sfu.test"]
    first, second = result["stats"]
    assert first["iceState"] == second["iceState"] == "completed"
    # Each transport saw its own client only: different client tuples, no SRTP failures.
    assert result["tuples"][0]["remotePort"] != result["tuples"][1]["remotePort"]
    for stats in (first, second):
        assert stats["droppedDatagrams"]["srtp"] == 0
        assert stats["droppedDatagrams"]["mediaNotReady"] == 0
    assert result["closed"] == [result["second"].id]
    assert result["second"] in result["unhandled"]
