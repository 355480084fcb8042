"""Prometheus/OpenMetrics metrics of an SFU process (``prometheus-client``, the ``metrics``
extra), for a dashboard (``deploy/grafana-dashboard.json`` reads these names).

``Metrics(workers)`` reads, on each scrape, every worker's thread CPU time and context
switches and its request round trip (the time a request takes through the worker's event
loop and back: how late the media thread answers), and each open transport's datagrams,
bytes, RTP/RTCP packets and dropped datagrams by reason, summed per worker and per room.
Labels are bounded whatever the load: worker, room (the first ``max_rooms`` rooms by name,
then ``"other"``), transport type, direction and drop reason; never a transport, producer or
consumer id. Counters stay monotonic across closed transports: a transport's last counts
are kept when it goes away.

``await metrics.scrape()`` returns the exposition text; ``metrics.aiohttp_handler`` serves
it (the demo mounts it at ``/metrics``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from mediasoup_py import errors

if TYPE_CHECKING:
    from aiohttp import web

    from mediasoup_py.router import Router
    from mediasoup_py.transport import Transport
    from mediasoup_py.worker import Worker

__all__ = ["Metrics"]

OTHER_ROOM = "other"
_TRANSPORT_COUNTERS = {
    "datagrams": ("datagramsReceived", "datagramsSent"),
    "bytes": ("bytesReceived", "bytesSent"),
}
# (field, metric name suffix) of per-transport counters that have one direction.
_RECEIVE_COUNTERS = {
    "rtpPacketsReceived": "rtp_packets_received",
    "rtcpPacketsReceived": "rtcp_packets_received",
    "rtcpPacketsMalformed": "rtcp_packets_malformed",
}

# (worker, room, transport type) -> counter name -> value.
Totals = dict[tuple[str, str, str], dict[str, float]]


@dataclass
class _Snapshot:
    """What one scrape read."""

    cpu: dict[str, tuple[float, float]] = field(default_factory=dict)
    context_switches: dict[str, tuple[int, int]] = field(default_factory=dict)
    request_seconds: dict[str, float] = field(default_factory=dict)
    events_queued: dict[str, int] = field(default_factory=dict)
    objects: dict[tuple[str, str], int] = field(default_factory=dict)
    totals: Totals = field(default_factory=dict)
    control_loop_lag: float = 0.0
    scrape_seconds: float = 0.0


class Metrics(Collector):
    """The metrics of the workers that ``workers`` lists (an iterable, or a callable
    returning one, for workers that come and go). ``room_of(router)`` names a router's room
    (its id by default)."""

    def __init__(
        self,
        workers: Iterable[Worker] | Callable[[], Iterable[Worker]],
        *,
        room_of: Callable[[Router], str] | None = None,
        max_rooms: int = 50,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self._workers = workers if callable(workers) else (lambda: list(workers))
        self._room_of = room_of or (lambda router: router.id)
        self._max_rooms = max_rooms
        self._rooms: set[str] = set()
        # A transport's last counts, kept under its labels, and the counts of transports
        # that closed since (so totals never go back).
        self._last: dict[str, tuple[tuple[str, str, str], dict[str, float]]] = {}
        self._retired: Totals = defaultdict(lambda: defaultdict(float))
        self._snapshot = _Snapshot()
        self._lock = asyncio.Lock()
        self.registry = registry or CollectorRegistry()
        self.registry.register(self)

    content_type = CONTENT_TYPE_LATEST

    def _room_label(self, router: Router) -> str:
        room = self._room_of(router)
        if room in self._rooms:
            return room
        if len(self._rooms) < self._max_rooms:
            self._rooms.add(room)
            return room
        return OTHER_ROOM

    async def refresh(self) -> None:
        """Reads the workers and transports now."""
        async with self._lock:
            started = time.perf_counter()
            snapshot = _Snapshot(control_loop_lag=await _control_loop_lag())
            seen: set[str] = set()
            totals: Totals = defaultdict(lambda: defaultdict(float))
            for worker in list(self._workers()):
                if worker.closed:
                    continue
                await self._read_worker(worker, snapshot, totals, seen)
            for transport_id in set(self._last) - seen:
                labels, counts = self._last.pop(transport_id)
                for name, value in counts.items():
                    self._retired[labels][name] += value
            for labels, counts in self._retired.items():
                for name, value in counts.items():
                    totals[labels][name] += value
            snapshot.totals = {labels: dict(counts) for labels, counts in totals.items()}
            snapshot.scrape_seconds = time.perf_counter() - started
            self._snapshot = snapshot

    async def _read_worker(
        self, worker: Worker, snapshot: _Snapshot, totals: Totals, seen: set[str]
    ) -> None:
        worker_label = str(worker.id)
        with contextlib.suppress(errors.MediasoupError):
            sent_at = time.perf_counter()
            usage = await worker.get_resource_usage()
            snapshot.request_seconds[worker_label] = time.perf_counter() - sent_at
            snapshot.cpu[worker_label] = (usage["ru_utime"] / 1000, usage["ru_stime"] / 1000)
            snapshot.context_switches[worker_label] = (usage["ru_nvcsw"], usage["ru_nivcsw"])
            snapshot.events_queued[worker_label] = worker.queued_events
        routers = worker._each_router()
        registries = [router._objects for router in routers]
        snapshot.objects[(worker_label, "routers")] = len(routers)
        snapshot.objects[(worker_label, "transports")] = sum(len(r.transports) for r in registries)
        snapshot.objects[(worker_label, "producers")] = sum(len(r.producers) for r in registries)
        snapshot.objects[(worker_label, "consumers")] = sum(len(r.consumers) for r in registries)
        for router in routers:
            room = self._room_label(router)
            for transport in router._objects.transports.all():
                counts = await _transport_counts(transport)
                if counts is None:
                    continue
                labels = (worker_label, room, counts.pop("type"))
                self._last[transport.id] = (labels, counts)
                seen.add(transport.id)
                for name, value in counts.items():
                    totals[labels][name] += value

    async def scrape(self) -> bytes:
        """Refreshes and renders the exposition text."""
        await self.refresh()
        return generate_latest(self.registry)

    async def aiohttp_handler(self, request: web.Request) -> web.Response:
        """An aiohttp handler serving the metrics (mount it at ``/metrics``)."""
        from aiohttp import web

        body = await self.scrape()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    def collect(self) -> Iterator[Metric]:
        """The metrics of the last refresh (prometheus-client's collector interface)."""
        snapshot = self._snapshot
        cpu = CounterMetricFamily(
            "mediasoup_py_worker_cpu_seconds",
            "CPU time of each worker's media thread",
            labels=["worker", "mode"],
        )
        switches = CounterMetricFamily(
            "mediasoup_py_worker_context_switches",
            "Context switches of each worker's media thread",
            labels=["worker", "kind"],
        )
        for worker, (user, system) in snapshot.cpu.items():
            cpu.add_metric([worker, "user"], user)
            cpu.add_metric([worker, "system"], system)
        for worker, (voluntary, involuntary) in snapshot.context_switches.items():
            switches.add_metric([worker, "voluntary"], voluntary)
            switches.add_metric([worker, "involuntary"], involuntary)
        request = GaugeMetricFamily(
            "mediasoup_py_worker_request_seconds",
            "Round trip of a request through each worker's event loop at the last scrape",
            labels=["worker"],
        )
        for worker, seconds in snapshot.request_seconds.items():
            request.add_metric([worker], seconds)
        queued = GaugeMetricFamily(
            "mediasoup_py_worker_events_queued",
            "Responses, events and DirectTransport packets each worker holds for the control "
            "plane, not yet taken by its asyncio loop (a backlog means the loop is behind)",
            labels=["worker"],
        )
        for worker, count in snapshot.events_queued.items():
            queued.add_metric([worker], count)
        objects = GaugeMetricFamily(
            "mediasoup_py_worker_objects",
            "Routers, transports, producers and consumers open on each worker",
            labels=["worker", "type"],
        )
        for (worker, kind), count in snapshot.objects.items():
            objects.add_metric([worker, kind], count)
        yield from (cpu, switches, request, queued, objects)
        yield from _transport_families(snapshot.totals)
        lag = GaugeMetricFamily(
            "mediasoup_py_control_loop_lag_seconds",
            "How late the asyncio loop of the control plane ran a callback at the last scrape",
        )
        lag.add_metric([], snapshot.control_loop_lag)
        scrape = GaugeMetricFamily(
            "mediasoup_py_scrape_seconds", "How long the last refresh of these metrics took"
        )
        scrape.add_metric([], snapshot.scrape_seconds)
        yield from (lag, scrape)


def _transport_families(totals: Totals) -> Iterator[Metric]:
    labels = ["worker", "room", "transport_type"]
    for name in _TRANSPORT_COUNTERS:
        family = CounterMetricFamily(
            f"mediasoup_py_transport_{name}",
            f"{name.capitalize()} received and sent by transports",
            labels=[*labels, "direction"],
        )
        for key, counts in totals.items():
            family.add_metric([*key, "in"], counts.get(f"{name}_in", 0.0))
            family.add_metric([*key, "out"], counts.get(f"{name}_out", 0.0))
        yield family
    for suffix in _RECEIVE_COUNTERS.values():
        family = CounterMetricFamily(
            f"mediasoup_py_transport_{suffix}",
            f"{suffix.replace('_', ' ').capitalize()} by transports",
            labels=labels,
        )
        for key, counts in totals.items():
            family.add_metric(list(key), counts.get(suffix, 0.0))
        yield family
    dropped = CounterMetricFamily(
        "mediasoup_py_transport_dropped_datagrams",
        "Datagrams transports dropped, by reason",
        labels=[*labels, "reason"],
    )
    for key, counts in totals.items():
        for name, value in counts.items():
            if name.startswith("dropped:"):
                dropped.add_metric([*key, name.removeprefix("dropped:")], value)
    yield dropped


async def _transport_counts(transport: Transport) -> dict[str, Any] | None:
    try:
        (stats,) = await transport.get_stats()
    except (errors.MediasoupError, ValueError):
        return None
    counts: dict[str, Any] = {"type": str(stats["type"]).removesuffix("-transport")}
    for name, (received, sent) in _TRANSPORT_COUNTERS.items():
        counts[f"{name}_in"] = float(stats.get(received, 0))
        counts[f"{name}_out"] = float(stats.get(sent, 0))
    for stat, suffix in _RECEIVE_COUNTERS.items():
        counts[suffix] = float(stats.get(stat, 0))
    for reason, value in stats.get("droppedDatagrams", {}).items():
        counts[f"dropped:{reason}"] = float(value)
    if "packetsDroppedOwnerBehind" in stats:
        counts["dropped:ownerBehind"] = float(stats["packetsDroppedOwnerBehind"])
    return counts


async def _control_loop_lag() -> float:
    """How long a callback scheduled now waits for the asyncio loop."""
    loop = asyncio.get_running_loop()
    ran = loop.create_future()
    scheduled = loop.time()
    loop.call_soon(ran.set_result, scheduled)
    await ran
    return loop.time() - scheduled
