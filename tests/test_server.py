"""``Server``: workers with their share of the port range, rooms placed by load (idle
workers: in turn), typed errors for bad options, and a close that takes everything down."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import mediasoup_py

OPUS: list[dict[str, Any]] = [
    {"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2}
]


def test_rooms_go_round_robin_over_workers_and_close_with_the_server() -> None:
    async def scenario() -> dict[str, Any]:
        server = await mediasoup_py.Server.create(
            num_workers=2, rtc_min_port=48100, rtc_max_port=48199
        )
        created: list[mediasoup_py.Room] = []
        server.on("newroom", created.append)
        rooms = [await server.create_room(OPUS) for _ in range(3)]  # type: ignore[arg-type]
        workers = [room.router.worker for room in rooms]
        # A transport of a room on the second worker gets a port from the second half.
        transport = await rooms[1].router.create_webrtc_transport(
            listen_infos=[{"protocol": "udp", "ip": "127.0.0.1"}]  # type: ignore[list-item]
        )
        port = transport.ice_candidates[0]["port"]
        rooms[0].close()
        open_rooms = len(server.rooms)
        server.close()
        return {
            "distinct": workers[0] is not workers[1] and workers[0] is workers[2],
            "created": len(created),
            "port": port,
            "openRooms": open_rooms,
            "closed": [room.closed for room in rooms],
            "workersClosed": [worker.closed for worker in server.workers],
        }

    result = asyncio.run(scenario())
    assert result["distinct"]
    assert result["created"] == 3
    assert 48150 <= result["port"] <= 48199
    assert result["openRooms"] == 2
    assert result["closed"] == [True, True, True]
    assert result["workersClosed"] == [True, True]


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"num_workers": 0}, "num_workers"),
        ({"rtc_ipv4": False, "rtc_ipv6": False}, "rtc_ipv4"),
        ({"rtc_ipv4": 7}, "rtc_ipv4"),
        ({"num_workers": 4, "rtc_min_port": 48100, "rtc_max_port": 48104}, "rtc_max_port"),
    ],
)
def test_bad_options_get_typed_errors(options: dict[str, Any], field: str) -> None:
    with pytest.raises(mediasoup_py.errors.MediasoupTypeError) as raised:
        asyncio.run(mediasoup_py.Server.create(**options))
    assert raised.value.field == field


def test_closing_the_server_closes_every_websocket_as_going_away_at_once() -> None:
    """``Server.close()`` under a SignalingServer: 10 clients in a call (each with a transport
    each way, consuming the others' producers) are closed with 1001 within a second."""
    from tests.signaling_harness import serving

    async def scenario() -> tuple[float, list[int | None]]:
        async with serving(mediasoup_py.Limits(), honest=False) as served:
            clients = []
            for index in range(10):
                client = await served.connect("call", f"p{index}")
                capabilities = (await client.request("getRouterRtpCapabilities"))["data"]
                await client.request("createWebRtcTransport", {"consuming": True})
                send = await client.request("createWebRtcTransport", {"producing": True})
                await client.request("join", {"rtpCapabilities": capabilities})
                await client.request(
                    "produce",
                    {
                        "transportId": send["data"]["id"],
                        "kind": "audio",
                        "rtpParameters": {
                            "codecs": [
                                {
                                    "mimeType": "audio/opus",
                                    "payloadType": 100,
                                    "clockRate": 48000,
                                    "channels": 2,
                                }
                            ],
                            "encodings": [{"ssrc": 5000 + index}],
                        },
                    },
                )
                clients.append(client)
            server = served.signaling.server
            assert server is not None
            started = asyncio.get_running_loop().time()
            server.close()
            await asyncio.wait_for(asyncio.gather(*(client.closed for client in clients)), 5)
            took = asyncio.get_running_loop().time() - started
            return took, [client.socket.close_code for client in clients]

    took, codes = asyncio.run(scenario())
    assert codes == [1001] * 10
    assert took < 1.0, took
