"""The metrics endpoint: a scrape during a call (an aiortc publisher over WHIP, served by
aiohttp with /metrics beside it) shows the worker's CPU and the room's datagrams and bytes;
with 500 consumers in a room the scrape has the same bounded label sets as with one, and
no consumer id."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import aiohttp
import aioice.ice
import pytest
from aiohttp import web
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

import mediasoup_py
from mediasoup_py.metrics import Metrics
from mediasoup_py.whip import WhipEndpoint, add_aiohttp_routes
from tests.interop.aiortc_client import wait_for
from tests.opus_direct import OPUS, opus_rtp_parameters

LOOPBACK_UDP: Any = [{"protocol": "udp", "ip": "127.0.0.1"}]
VP8: Any = {"kind": "video", "mimeType": "video/VP8", "clockRate": 90000}
HTTP_PORT = 18432


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])


def sample(text: str, name: str, **labels: str) -> float:
    """The value of the sample of ``name`` with these labels (and maybe others)."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        if all(f'{key}="{value}"' in line for key, value in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


async def scrape_during_a_call() -> str:
    worker = await mediasoup_py.create_worker(rtc_min_port=45000, rtc_max_port=45999)
    router = await worker.create_router(media_codecs=[OPUS, VP8])

    async def router_for(room: str) -> mediasoup_py.Router:
        return router

    metrics = Metrics([worker], room_of=lambda r: "stage")
    endpoint = WhipEndpoint(router_for=router_for, listen_infos=LOOPBACK_UDP)
    app = web.Application()
    add_aiohttp_routes(app, endpoint)
    app.router.add_get("/metrics", metrics.aiohttp_handler)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", HTTP_PORT).start()
    publisher = RTCPeerConnection()
    publisher.addTransceiver(AudioStreamTrack(), direction="sendonly")
    publisher.addTransceiver(VideoStreamTrack(), direction="sendonly")
    try:
        async with aiohttp.ClientSession() as http:
            await publisher.setLocalDescription(await publisher.createOffer())
            async with http.post(
                f"http://127.0.0.1:{HTTP_PORT}/whip/stage",
                data=publisher.localDescription.sdp,
                headers={"Content-Type": "application/sdp"},
            ) as response:
                assert response.status == 201
                answer = await response.text()
            await publisher.setRemoteDescription(RTCSessionDescription(answer, "answer"))

            async def flowing() -> bool:
                [session] = endpoint.sessions.values()
                (stats,) = await session.transport.get_stats()
                return bool(stats["rtpPacketsReceived"] > 100)

            await wait_for(flowing, "media from the WHIP publisher")
            async with http.get(f"http://127.0.0.1:{HTTP_PORT}/metrics") as response:
                assert response.status == 200
                assert response.headers["Content-Type"].startswith("text/plain")
                return await response.text()
    finally:
        await publisher.close()
        endpoint.close()
        await runner.cleanup()
        worker.close()


def test_a_scrape_during_a_call_shows_the_worker_and_the_room() -> None:
    text = asyncio.run(scrape_during_a_call())
    worker = re.search(r'mediasoup_py_worker_cpu_seconds_total\{.*worker="(\d+)"', text)
    assert worker, text
    labels = {"worker": worker.group(1)}
    assert sample(text, "mediasoup_py_worker_cpu_seconds_total", **labels) > 0
    assert sample(text, "mediasoup_py_worker_context_switches_total", **labels) > 0
    assert sample(text, "mediasoup_py_worker_request_seconds", **labels) > 0
    # The control plane keeps up during a call: nothing waits for its loop at the scrape.
    assert sample(text, "mediasoup_py_worker_events_queued", **labels) < 1000
    assert sample(text, "mediasoup_py_worker_objects", type="producers", **labels) == 2
    room = {"room": "stage", "transport_type": "webrtc"}
    assert sample(text, "mediasoup_py_transport_datagrams_total", direction="in", **room) > 100
    assert sample(text, "mediasoup_py_transport_bytes_total", direction="in", **room) > 5_000
    assert sample(text, "mediasoup_py_transport_bytes_total", direction="out", **room) > 0
    assert sample(text, "mediasoup_py_transport_rtp_packets_received_total", **room) > 100
    assert sample(text, "mediasoup_py_transport_dropped_datagrams_total", reason="srtp") == 0


async def label_sets_with(consumers: int) -> tuple[set[str], float, str]:
    worker = await mediasoup_py.create_worker()
    try:
        router = await worker.create_router(media_codecs=[OPUS])
        sender = await router.create_direct_transport()
        producer = await sender.produce(
            kind="audio",
            rtp_parameters=opus_rtp_parameters(1111),
        )
        receivers = [await router.create_direct_transport() for _ in range(5)]
        ids = []
        for index in range(consumers):
            consumer = await receivers[index % 5].consume(
                producer_id=producer.id, rtp_capabilities=router.rtp_capabilities
            )
            ids.append(consumer.id)
        metrics = Metrics([worker], room_of=lambda r: "big")
        started = time.perf_counter()
        text = (await metrics.scrape()).decode()
        elapsed = time.perf_counter() - started
        assert not any(consumer_id in text for consumer_id in ids)
        series = {
            line.rsplit(" ", 1)[0]
            for line in text.splitlines()
            if line and not line.startswith("#") and "_created" not in line
        }
        return series, elapsed, text
    finally:
        worker.close()


def test_label_sets_stay_bounded_with_500_consumers() -> None:
    one, _, _ = asyncio.run(label_sets_with(1))
    many, elapsed, text = asyncio.run(label_sets_with(500))
    normalised = {re.sub(r'worker="\d+"', 'worker="w"', s) for s in many}
    assert normalised == {re.sub(r'worker="\d+"', 'worker="w"', s) for s in one}
    assert len(many) < 80
    assert sample(text, "mediasoup_py_worker_objects", type="consumers") == 500
    # Six transports are read: the scrape's cost does not grow with the consumers.
    assert elapsed < 1.0


def test_the_grafana_dashboard_reads_metrics_the_endpoint_serves() -> None:
    import json
    from pathlib import Path

    dashboard = json.loads(
        (Path(__file__).resolve().parents[2] / "deploy" / "grafana-dashboard.json").read_text()
    )
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    used = {name for expr in exprs for name in re.findall(r"mediasoup_py_\w+", expr)}
    _, _, text = asyncio.run(label_sets_with(1))
    served = set(re.findall(r"^(mediasoup_py_\w+?)(?:\{| )", text, re.M))
    assert used, exprs
    assert used <= served, used - served
