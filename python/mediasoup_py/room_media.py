"""A room's media across the workers of the process (and, with a cluster, across nodes).

A :class:`~mediasoup_py.room.Room` given the process's workers uses one router on each
worker it needs. Each new transport goes to the least loaded worker (:class:`WorkerLoad`);
a producer is piped (``pipe_to_router``, RTX and NACK on) to each router where it has
consumers, once per router, and the pipe closes when its last consumer there goes
(:class:`~mediasoup_py.cluster.cascade.CascadePlanner` decides which pipes). Since the
copies are ordinary pipe producers with the producer's id, simulcast and SVC layers,
keyframe requests, scores and pause/resume work through them as through any pipe, and
clients cannot tell a spanning room from a one-router room. Data producers are piped the
same way (``pipe_to_router(data_producer_id=...)``, over the same PipeTransport pairs) to
each router where they have data consumers, and unpiped after the last one there.

A worker that dies takes its router, its transports and the producers on them (their
consumers elsewhere close, with ``consumerClosed``); the room goes on on the other workers,
and moves its home (the router of its audio observer) if it was there.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mediasoup_py import errors
from mediasoup_py.cluster.cascade import REMOTE, CascadePlanner, Hop
from mediasoup_py.events import EventEmitter

if TYPE_CHECKING:
    from mediasoup_py.consumer import Consumer
    from mediasoup_py.data_producer import DataProducer
    from mediasoup_py.pipe_to_router import PipeDataToRouterResult
    from mediasoup_py.producer import Producer
    from mediasoup_py.router import Router
    from mediasoup_py.rtp_parameters import RtpCodecCapability
    from mediasoup_py.transport import Transport
    from mediasoup_py.worker import Worker

__all__ = ["LOCAL_NODE", "RoomMedia", "WorkerLoad"]

_logger = logging.getLogger("mediasoup_py.room")

# The node id of a process that is not part of a cluster.
LOCAL_NODE = "local"

# How a pipe that crosses nodes is opened: (hop, destination router) -> the copy there.
CrossingOpener = Callable[[Hop, "Router"], Awaitable["Producer"]]


class WorkerLoad:
    """How busy each worker is, for placing new transports and rooms: the share of a core
    its thread used lately (what forwarding its packets costs, sampled with
    :meth:`sample_periodically`; in tenths, so that close figures tie), then the consumers
    on it (of every room: each a stream it forwards, counted the moment it is made, which a
    join storm needs before the CPU shows it), then its transports, then its routers; the
    counts come from the workers' observer events."""

    def __init__(self, workers: Sequence[Worker]) -> None:
        self._workers = list(workers)
        self._consumers: dict[int, int] = {}
        self._transports: dict[int, int] = {}
        self._routers: dict[int, int] = {}
        # Busy share of a core per worker over the last sample, and the CPU time then.
        self._busy: dict[int, float] = {}
        self._cpu_ms: dict[int, tuple[float, float]] = {}
        for worker in workers:
            self.watch(worker)

    def watch(self, worker: Worker) -> None:
        """Counts what is created on ``worker`` from now on."""
        self._consumers.setdefault(worker.id, 0)
        self._transports.setdefault(worker.id, 0)
        self._routers.setdefault(worker.id, 0)
        worker.observer.on("newrouter", lambda router: self._watch_router(worker.id, router))

    def _watch_router(self, worker_id: int, router: Router) -> None:
        self._routers[worker_id] += 1
        router.observer.once("close", lambda: self._add(self._routers, worker_id, -1))
        router.observer.on(
            "newtransport", lambda transport: self._watch_transport(worker_id, transport)
        )

    def _watch_transport(self, worker_id: int, transport: Transport) -> None:
        self._transports[worker_id] += 1
        transport.observer.once("close", lambda: self._add(self._transports, worker_id, -1))
        transport.observer.on(
            "newconsumer", lambda consumer: self._watch_consumer(worker_id, consumer)
        )

    def _watch_consumer(self, worker_id: int, consumer: Consumer) -> None:
        self._consumers[worker_id] += 1
        consumer.observer.once("close", lambda: self._add(self._consumers, worker_id, -1))

    @staticmethod
    def _add(counts: dict[int, int], worker_id: int, delta: int) -> None:
        counts[worker_id] = max(0, counts[worker_id] + delta)

    def load(self, worker: Worker) -> tuple[int, int, int]:
        """The worker's consumers, transports and routers."""
        return (
            self._consumers.get(worker.id, 0),
            self._transports.get(worker.id, 0),
            self._routers.get(worker.id, 0),
        )

    def busy(self, worker: Worker) -> float:
        """The share of a core the worker's thread used over the last sample (0 before)."""
        return self._busy.get(worker.id, 0.0)

    async def sample(self) -> None:
        """Reads each open worker's CPU time; the busy share is over the time since the
        previous sample."""
        now = time.monotonic()
        for worker in self._workers:
            if worker.closed:
                continue
            try:
                usage = await worker.get_resource_usage()
            except errors.MediasoupError:
                continue
            cpu_ms = float(usage["ru_utime"] + usage["ru_stime"])
            previous = self._cpu_ms.get(worker.id)
            self._cpu_ms[worker.id] = (now, cpu_ms)
            if previous is not None and now > previous[0]:
                self._busy[worker.id] = (cpu_ms - previous[1]) / 1000 / (now - previous[0])

    async def sample_periodically(self, interval: float = 2.0) -> None:
        """Samples every ``interval`` seconds until cancelled."""
        while True:
            await self.sample()
            await asyncio.sleep(interval)

    def least_loaded(self, workers: Sequence[Worker]) -> Worker:
        """The open worker with the least busy thread (in tenths of a core), then the
        fewest consumers, transports and routers, then the lowest number."""
        candidates = [worker for worker in workers if not worker.closed]
        if not candidates:
            raise errors.InvalidStateError("no worker left")
        return min(
            candidates,
            key=lambda worker: (round(self.busy(worker), 1), *self.load(worker), worker.id),
        )


@dataclass
class _OpenHop:
    """A pipe being opened or open: the copy it makes, and how to close it."""

    copy: asyncio.Future[Producer]
    close: Callable[[], None] | None = None
    closed: bool = False


@dataclass
class _DataCopy:
    """A data producer piped to one router: the pipe, and the data consumers there."""

    pipe: asyncio.Future[PipeDataToRouterResult]
    users: int = 0


class RoomMedia(EventEmitter):
    """The routers of one room and the copies of its producers on them. Events:
    ``routerclose`` (a router went with its worker), ``close`` (no router left)."""

    def __init__(
        self,
        home: Router,
        *,
        workers: Sequence[Worker] = (),
        media_codecs: list[RtpCodecCapability] | None = None,
        load: WorkerLoad | None = None,
        node_id: str = LOCAL_NODE,
    ) -> None:
        super().__init__()
        self._home = home
        self._workers = [worker for worker in workers if worker is not home.worker]
        self._workers.insert(0, home.worker)
        self._media_codecs = media_codecs
        self._load = load or WorkerLoad(self._workers)
        self._routers: dict[int, Router] = {}
        self._creating: dict[int, asyncio.Future[Router]] = {}
        self._router_of_transport: dict[str, Router] = {}
        self._planner = CascadePlanner(node_id)
        self._hops: dict[Hop, _OpenHop] = {}
        # The open pipes by the copy they make: (producer id, router id).
        self._copies: dict[tuple[str, str], _OpenHop] = {}
        # Origin producers of this node by id, and their routers' ids.
        self._origins: dict[str, tuple[Producer, str]] = {}
        self._crossing: CrossingOpener | None = None
        # Data producers piped to other routers of the room: (data producer id, router id).
        self._data_copies: dict[tuple[str, str], _DataCopy] = {}
        self._closed = False
        self._adopt(home)

    @property
    def home(self) -> Router:
        """The room's first router: its RTP capabilities are the room's, and its audio
        observer hears every audio producer of the room."""
        return self._home

    @property
    def routers(self) -> list[Router]:
        """The open routers of the room."""
        return list(self._routers.values())

    @property
    def spans(self) -> bool:
        """Whether the room may use more than one worker."""
        return len(self._workers) > 1 and self._media_codecs is not None

    def set_crossing_opener(self, opener: CrossingOpener) -> None:
        """How pipes from other nodes are opened (the cluster's link sets it)."""
        self._crossing = opener

    def router_of(self, transport: Transport) -> Router | None:
        """The router a transport of this room is on."""
        return self._router_of_transport.get(transport.id)

    async def router_for_transport(self, peer_router: Router | None = None) -> Router:
        """The router a new transport goes to: ``peer_router`` (where the peer's other
        transports are: a peer's media stays on one worker) while it is open, else the
        room's router on the least loaded worker (created on first use)."""
        if not self.spans:
            return self._home
        if peer_router is not None and self._routers.get(peer_router.worker.id) is peer_router:
            return peer_router
        worker = self._load.least_loaded(self._workers)
        router = self._routers.get(worker.id)
        if router is not None:
            return router
        pending = self._creating.get(worker.id)
        if pending is not None:
            return await pending
        future: asyncio.Future[Router] = asyncio.get_running_loop().create_future()
        self._creating[worker.id] = future
        try:
            router = await worker.create_router(media_codecs=self._media_codecs)
            self._adopt(router)
            future.set_result(router)
        except BaseException as error:
            future.set_exception(error)
            future.exception()
            raise
        finally:
            del self._creating[worker.id]
        return router

    def _adopt(self, router: Router) -> None:
        self._routers[router.worker.id] = router
        router.observer.on("newtransport", lambda transport: self._watch(router, transport))
        router.observer.once("close", lambda: self._on_router_closed(router))

    def _watch(self, router: Router, transport: Transport) -> None:
        from mediasoup_py.pipe_transport import PipeTransport

        self._router_of_transport[transport.id] = router
        transport.observer.once("close", lambda: self._router_of_transport.pop(transport.id, None))
        if isinstance(transport, PipeTransport):
            return  # Its producers are copies, not origins.
        transport.observer.on("newproducer", lambda producer: self._add_origin(router, producer))

    def _add_origin(self, router: Router, producer: Producer) -> None:
        self._origins[producer.id] = (producer, router.id)
        self._planner.add_producer(producer.id, self._planner.node_id, router.id)
        producer.observer.once("close", lambda: self._forget_producer(producer.id))

    def add_remote_producer(self, producer_id: str, node_id: str) -> None:
        """A producer of another node, consumable here once piped over."""
        self._planner.add_producer(producer_id, node_id, REMOTE)

    def remove_remote_producer(self, producer_id: str) -> None:
        """A producer of another node went: its copies here close (and their consumers,
        with ``producerclose``)."""
        self._forget_producer(producer_id)

    def remove_node(self, node_id: str) -> None:
        """Another node went: its producers' copies close."""
        for producer_id in self._planner.remove_node(node_id):
            self._forget_producer(producer_id)

    def _forget_producer(self, producer_id: str) -> None:
        self._origins.pop(producer_id, None)
        for hop in self._planner.remove_producer(producer_id):
            self._close_hop(hop)

    def origin_router_id(self, producer_id: str) -> str | None:
        """The id of the router a producer of this node is on."""
        origin = self._origins.get(producer_id)
        return origin[1] if origin else None

    def has_producer(self, producer_id: str) -> bool:
        return self._planner.has_producer(producer_id)

    async def acquire(self, producer_id: str, router: Router) -> Producer:
        """The producer's copy on ``router`` for one more consumer there (piped on first
        need); :meth:`release` it when that consumer goes."""
        if not self._planner.has_producer(producer_id):
            raise errors.UnknownIdError(
                f"producer_id: no producer {producer_id!r} in the room", "producer_id"
            )
        for hop in self._planner.acquire(producer_id, router.id):
            self._open_hop(hop)
        try:
            return await self._copy(producer_id, router.id)
        except BaseException:
            self.release(producer_id, router)
            raise

    def release(self, producer_id: str, router: Router) -> None:
        """One consumer of the producer on ``router`` went."""
        for hop in self._planner.release(producer_id, router.id):
            self._close_hop(hop)

    async def _copy(self, producer_id: str, router_id: str) -> Producer:
        origin = self._origins.get(producer_id)
        if origin is not None and origin[1] == router_id:
            return origin[0]
        opened = self._copies.get((producer_id, router_id))
        if opened is None:
            raise errors.InvalidStateError(f"producer {producer_id!r} has no copy on that router")
        return await asyncio.shield(opened.copy)

    async def acquire_data(self, data_producer: DataProducer, router: Router) -> DataProducer:
        """The data producer's copy on ``router`` (the producer itself on its own router),
        piped there on first need, for one more data consumer there; :meth:`release_data`
        it when that data consumer goes."""
        from mediasoup_py.pipe_to_router import pipe_data_to_router

        source = data_producer.transport.router
        if source is router:
            return data_producer
        key = (data_producer.id, router.id)
        copy = self._data_copies.get(key)
        if copy is None:
            copy = _DataCopy(
                asyncio.ensure_future(
                    pipe_data_to_router(
                        source,
                        data_producer_id=data_producer.id,
                        router=router,
                        listen_info=None,
                        enable_srtp=False,
                        # Data producer ids are worker-wide.
                        same_id=router.worker is not source.worker,
                    )
                )
            )
            self._data_copies[key] = copy
            copy.pipe.add_done_callback(lambda done: self._on_data_piped(key, copy, done))
        copy.users += 1
        try:
            piped = await asyncio.shield(copy.pipe)
        except BaseException:
            self.release_data(data_producer.id, router)
            raise
        return piped.pipe_data_producer

    def _on_data_piped(
        self, key: tuple[str, str], copy: _DataCopy, done: asyncio.Future[PipeDataToRouterResult]
    ) -> None:
        if done.cancelled() or done.exception() is not None:
            if self._data_copies.get(key) is copy:
                del self._data_copies[key]
            return

        def forget() -> None:
            if self._data_copies.get(key) is copy:
                del self._data_copies[key]

        # The copy goes with its original (or its pipe): the next data consumer pipes anew.
        done.result().pipe_data_producer.observer.once("close", forget)

    def release_data(self, data_producer_id: str, router: Router) -> None:
        """One data consumer of the data producer on ``router`` went: after the last, its
        pipe there closes."""
        key = (data_producer_id, router.id)
        copy = self._data_copies.get(key)
        if copy is None:
            return
        copy.users -= 1
        if copy.users > 0:
            return
        del self._data_copies[key]

        def close(done: asyncio.Future[PipeDataToRouterResult]) -> None:
            if not done.cancelled() and done.exception() is None:
                done.result().pipe_data_consumer.close()

        copy.pipe.add_done_callback(close)

    def _router_by_id(self, router_id: str) -> Router:
        for router in self._routers.values():
            if router.id == router_id:
                return router
        raise errors.InvalidStateError(f"router {router_id} is not in the room")

    def _open_hop(self, hop: Hop) -> None:
        future: asyncio.Future[Producer] = asyncio.get_running_loop().create_future()
        opened = _OpenHop(future)
        self._hops[hop] = opened
        self._copies[(hop.producer_id, hop.destination)] = opened
        task = asyncio.ensure_future(self._run_hop(hop, opened))
        task.add_done_callback(lambda done: done.cancelled() or done.exception())

    async def _run_hop(self, hop: Hop, opened: _OpenHop) -> None:
        try:
            destination = self._router_by_id(hop.destination)
            if hop.crosses_nodes:
                if self._crossing is None:
                    raise errors.InvalidStateError("this room is not linked to a cluster")
                copy = await self._crossing(hop, destination)
                opened.close = copy.close
            else:
                source = self._router_by_id(hop.source)
                await self._copy(hop.producer_id, hop.source)
                result = await source.pipe_to_router(
                    producer_id=hop.producer_id, router=destination, enable_rtx=True
                )
                copy = result.pipe_producer
                opened.close = result.pipe_consumer.close
        except BaseException as error:
            opened.copy.set_exception(error)
            opened.copy.exception()
            self._forget_hop(hop, opened)
            return
        if opened.closed:
            opened.close()
            opened.copy.set_exception(errors.InvalidStateError("the pipe was closed"))
            opened.copy.exception()
            return
        opened.copy.set_result(copy)

    def _forget_hop(self, hop: Hop, opened: _OpenHop) -> None:
        if self._hops.get(hop) is opened:
            del self._hops[hop]
        if self._copies.get((hop.producer_id, hop.destination)) is opened:
            del self._copies[(hop.producer_id, hop.destination)]

    def _close_hop(self, hop: Hop) -> None:
        opened = self._hops.get(hop)
        if opened is None:
            return
        self._forget_hop(hop, opened)
        opened.closed = True
        if opened.close is not None:
            opened.close()

    def _on_router_closed(self, router: Router) -> None:
        if self._routers.get(router.worker.id) is not router:
            return
        del self._routers[router.worker.id]
        if router.worker.closed and router.worker in self._workers:
            self._workers.remove(router.worker)
        gone, closed = self._planner.remove_router(router.id)
        for producer_id in gone:
            self._origins.pop(producer_id, None)
        for hop in closed:
            self._close_hop(hop)
        if self._closed:
            return
        if not self._routers:
            self._closed = True
            self.emit("close")
            return
        if router is self._home:
            self._home = next(iter(self._routers.values()))
        self.emit("routerclose", router)

    def close(self) -> None:
        """Closes every router of the room."""
        if self._closed:
            return
        self._closed = True
        for router in list(self._routers.values()):
            router.close()
        self.emit("close")

    def dump(self) -> dict[str, Any]:
        """The routers (by worker) and the pipes between them."""
        return {
            "routerIds": {worker_id: router.id for worker_id, router in self._routers.items()},
            "pipes": [
                {
                    "producerId": hop.producer_id,
                    "from": hop.source or hop.source_node,
                    "to": hop.destination,
                }
                for hop in self._planner.hops()
            ],
            "dataPipes": [
                {"dataProducerId": data_producer_id, "to": router_id, "dataConsumers": copy.users}
                for (data_producer_id, router_id), copy in self._data_copies.items()
            ],
        }
