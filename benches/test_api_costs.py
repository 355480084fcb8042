"""pytest-benchmark: what the Python API costs a service, per call, on a real worker: creating
and closing a WebRTC transport, producing and consuming on it, a v3 protocol request through a
Room, and a v2 one. mediasoup's equivalents from Node are compared by benches/run.py's setup
times (500 transports and consumers); these figures track our own costs between changes.
Run: .venv/bin/pytest benches/test_api_costs.py --benchmark-only
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

import mediasoup_py
from mediasoup_py import protocol

LOOPBACK: Any = [{"protocol": "udp", "ip": "127.0.0.1"}]
MEDIA_CODECS: Any = [
    {"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2},
    {"kind": "video", "mimeType": "video/VP8", "clockRate": 90000},
]
VP8: Any = {
    "codecs": [{"mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000}],
    "encodings": [{"ssrc": 1111}],
}
CALLS = 50


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture(scope="module")
def router(loop: asyncio.AbstractEventLoop) -> Iterator[mediasoup_py.Router]:
    worker = loop.run_until_complete(
        mediasoup_py.create_worker(rtc_min_port=49500, rtc_max_port=49999)
    )
    yield loop.run_until_complete(worker.create_router(media_codecs=MEDIA_CODECS))
    worker.close()


def per_call(
    benchmark: BenchmarkFixture,
    loop: asyncio.AbstractEventLoop,
    call: Callable[[], Awaitable[Any]],
) -> None:
    """Benchmarks CALLS calls of ``call`` per round; the figure is per call."""

    async def calls() -> None:
        for _ in range(CALLS):
            await call()

    benchmark.extra_info["packets_per_round"] = CALLS
    benchmark(lambda: loop.run_until_complete(calls()))


def test_create_and_close_a_webrtc_transport(
    benchmark: BenchmarkFixture, loop: asyncio.AbstractEventLoop, router: mediasoup_py.Router
) -> None:
    async def call() -> None:
        transport = await router.create_webrtc_transport(listen_infos=LOOPBACK)
        transport.close()

    per_call(benchmark, loop, call)


def test_produce_and_consume(
    benchmark: BenchmarkFixture, loop: asyncio.AbstractEventLoop, router: mediasoup_py.Router
) -> None:
    transport = loop.run_until_complete(router.create_webrtc_transport(listen_infos=LOOPBACK))

    async def call() -> None:
        producer = await transport.produce(kind="video", rtp_parameters=VP8)
        consumer = await transport.consume(
            producer_id=producer.id, rtp_capabilities=router.rtp_capabilities
        )
        consumer.close()
        producer.close()

    per_call(benchmark, loop, call)
    transport.close()


class Channel:
    async def request(self, message: protocol.Request) -> protocol.Response:
        return protocol.ok_response(message["id"], {})

    def notify(self, message: protocol.Notification) -> None:
        return


def test_a_v3_request_through_a_room(
    benchmark: BenchmarkFixture, loop: asyncio.AbstractEventLoop, router: mediasoup_py.Router
) -> None:
    room = loop.run_until_complete(mediasoup_py.Room.create(router, listen_infos=LOOPBACK))
    peer = room.create_peer("bench", Channel())
    message = protocol.request("getRouterRtpCapabilities", {})

    async def call() -> None:
        response = await peer.receive_request(message)
        assert response["ok"]

    per_call(benchmark, loop, call)
    peer.close()


def test_a_v2_request_through_a_room(
    benchmark: BenchmarkFixture, loop: asyncio.AbstractEventLoop, router: mediasoup_py.Router
) -> None:
    room = loop.run_until_complete(mediasoup_py.Room.create(router, listen_infos=LOOPBACK))

    async def call() -> None:
        await room.receive_request({"method": "queryRoom", "target": "room"})

    per_call(benchmark, loop, call)
