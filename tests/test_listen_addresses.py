"""Several listen addresses per WebRTC transport and per WebRtcServer (mediasoup's
``listenInfos`` with more than one IP, and both address families at once): every address
gets its candidates, and a server's IPv4 and IPv6 wildcards share one port number."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable

import pytest

import mediasoup_py
from mediasoup_py import errors


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(scenario())  # type: ignore[arg-type]


def test_a_transport_gets_candidates_on_every_listen_address() -> None:
    async def scenario() -> None:
        worker = await mediasoup_py.create_worker(rtc_min_port=43500, rtc_max_port=43599)
        try:
            router = await worker.create_router()
            transport = await router.create_webrtc_transport(
                listen_infos=[
                    {"protocol": "udp", "ip": "127.0.0.1"},
                    {"protocol": "tcp", "ip": "127.0.0.1"},
                    {"protocol": "udp", "ip": "::1", "announcedAddress": "v6.sfu.test"},
                ]
            )
            candidates = transport.ice_candidates
            assert [(c["protocol"], c["address"]) for c in candidates] == [
                ("udp", "127.0.0.1"),
                ("udp", "v6.sfu.test"),
                ("tcp", "127.0.0.1"),
            ]
            priorities = [c["priority"] for c in candidates]
            assert priorities == sorted(priorities, reverse=True)
            assert len(set(priorities)) == 3
            assert all(43500 <= c["port"] <= 43599 for c in candidates)
            # Each one is bound: a client reaches the IPv6 one.
            v6 = candidates[1]
            probe = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
            probe.connect(("::1", v6["port"]))
            probe.close()
            stats = (await transport.get_stats())[0]
            assert stats["iceState"] == "new"
        finally:
            worker.close()

    run(scenario)


def test_a_server_shares_one_port_number_across_both_wildcards() -> None:
    port = 43777

    async def scenario() -> None:
        first = await mediasoup_py.create_worker(rtc_min_port=43600, rtc_max_port=43649)
        second = await mediasoup_py.create_worker(rtc_min_port=43650, rtc_max_port=43699)
        try:
            server = await first.create_webrtc_server(
                listen_infos=[
                    {"protocol": protocol, "ip": ip, "port": port, "announcedAddress": name}  # type: ignore[misc]
                    for ip, name in (("0.0.0.0", "v4.sfu.test"), ("::", "v6.sfu.test"))
                    for protocol in ("udp", "tcp")
                ],
                share_with=[second],
            )
            assert sorted((e["protocol"], e["ip"], e["port"]) for e in server.listening) == [
                ("tcp", "0.0.0.0", port),
                ("tcp", "::", port),
                ("udp", "0.0.0.0", port),
                ("udp", "::", port),
            ]
            router = await second.create_router()
            transport = await router.create_webrtc_transport(webrtc_server=server)
            assert sorted((c["protocol"], c["address"]) for c in transport.ice_candidates) == [
                ("tcp", "v4.sfu.test"),
                ("tcp", "v6.sfu.test"),
                ("udp", "v4.sfu.test"),
                ("udp", "v6.sfu.test"),
            ]
            # A port the server holds is refused to anyone else, sharing or not.
            with pytest.raises(errors.ResourceError):
                await second.create_webrtc_server(
                    listen_infos=[{"protocol": "udp", "ip": "127.0.0.1", "port": port}]
                )
            taken = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            with pytest.raises(OSError, match="in use"):
                taken.bind(("127.0.0.1", port))
            taken.close()
            server.close()
            await asyncio.sleep(0.2)
            # Closed on every worker, the port is free again.
            free = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            free.bind(("127.0.0.1", port))
            free.close()
        finally:
            first.close()
            second.close()

    run(scenario)
