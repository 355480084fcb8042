"""pytest-benchmark: what the Python API costs a service, per call, on a real worker: creating
and closing a WebRTC transport, producing and consuming on it, a v3 protocol request through a
Room, and a v2 one. benches/api_costs.py compares the same operations with mediasoup's from
Node in one run, and benches/run.py's setup times 500 transports and consumers on both;
these figures track our own costs between changes.
Run: .venv/bin/pytest benches/test_api_costs.py --benchmark-only
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

import mediasoup_py
from benches.api_costs import (
    LOOPBACK,
    MEDIA_CODECS,
    create_and_close_a_webrtc_transport,
    produce_and_consume_vp8,
)
from mediasoup_py import protocol

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
    per_call(benchmark, loop, lambda: create_and_close_a_webrtc_transport(router))


def test_produce_and_consume(
    benchmark: BenchmarkFixture, loop: asyncio.AbstractEventLoop, router: mediasoup_py.Router
) -> None:
    transport = loop.run_until_complete(router.create_webrtc_transport(listen_infos=LOOPBACK))
    per_call(benchmark, loop, lambda: produce_and_consume_vp8(router, transport))
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
