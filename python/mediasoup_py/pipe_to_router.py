"""``Router.pipe_to_router``: a producer of one router made available on another (on the same
worker or another one), as mediasoup does it: a pair of PipeTransports linked over loopback
(or the given address), a pipe consumer on the source router and, on the destination, a
producer with the same id fed by it. Pausing, resuming and closing follow the original."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from mediasoup_py import errors

if TYPE_CHECKING:
    from mediasoup_py.consumer import Consumer
    from mediasoup_py.pipe_transport import PipeTransport
    from mediasoup_py.producer import Producer
    from mediasoup_py.router import Router
    from mediasoup_py.transport import ListenInfo

__all__ = ["PipeToRouterResult", "pipe_to_router"]

LOOPBACK: ListenInfo = {"protocol": "udp", "ip": "127.0.0.1"}


@dataclass(frozen=True)
class PipeToRouterResult:
    """The two halves of a piped producer."""

    pipe_consumer: Consumer
    pipe_producer: Producer


async def _linked_pipe_transports(
    source: Router, destination: Router, listen_info: ListenInfo, enable_srtp: bool
) -> tuple[PipeTransport, PipeTransport]:
    """The pair of PipeTransports between two routers, created and connected on first use
    and shared by every producer piped between them afterwards."""
    existing = source._pipe_transports.get(destination.id)
    if existing is not None:
        return existing
    local = await source.create_pipe_transport(listen_info=listen_info, enable_srtp=enable_srtp)
    try:
        remote = await destination.create_pipe_transport(
            listen_info=listen_info, enable_srtp=enable_srtp
        )
    except BaseException:
        local.close()
        raise
    try:
        await local.connect(
            ip=remote.tuple["localIp"],
            port=remote.tuple["localPort"],
            srtp_parameters=remote.srtp_parameters,
        )
        await remote.connect(
            ip=local.tuple["localIp"],
            port=local.tuple["localPort"],
            srtp_parameters=local.srtp_parameters,
        )
    except BaseException:
        local.close()
        remote.close()
        raise
    pair = (local, remote)
    source._pipe_transports[destination.id] = pair

    def forget() -> None:
        if source._pipe_transports.get(destination.id) == pair:
            del source._pipe_transports[destination.id]
        local.close()
        remote.close()

    local.observer.once("close", forget)
    remote.observer.once("close", forget)
    return pair


async def pipe_to_router(
    source: Router,
    *,
    producer_id: str,
    router: Router,
    listen_info: ListenInfo | None,
    enable_srtp: bool,
    enable_rtx: bool,
    same_id: bool = True,
) -> PipeToRouterResult:
    """See ``Router.pipe_to_router``. ``same_id=False`` gives the producer there an id of its
    own, for a destination on the same worker (whose producer ids are worker-wide); the
    caller keeps track of what it piped."""
    producer = source._producer(producer_id)
    if producer is None:
        raise errors.MediasoupTypeError(
            f"producer_id: producer with id {producer_id!r} not found", "producer_id"
        )
    if router is source:
        raise errors.MediasoupTypeError(
            "router: cannot pipe a producer to its own router", "router"
        )
    if same_id and router._producer(producer_id) is not None:
        raise errors.MediasoupTypeError(
            f"producer_id: producer {producer_id!r} is already piped to that router", "producer_id"
        )
    local, remote = await _linked_pipe_transports(
        source, router, listen_info or LOOPBACK, enable_srtp
    )
    pipe_consumer = await local.consume(
        producer_id=producer_id,
        rtp_capabilities=source.rtp_capabilities,
        enable_rtx=enable_rtx,
    )
    try:
        pipe_producer = await remote.produce(
            id=producer_id if same_id else None,
            kind=pipe_consumer.kind,
            rtp_parameters=pipe_consumer.rtp_parameters,
            paused=pipe_consumer.producer_paused,
            app_data=producer.app_data,
        )
    except BaseException:
        pipe_consumer.close()
        raise

    async def follow_pause() -> None:
        await pipe_producer.pause()

    async def follow_resume() -> None:
        await pipe_producer.resume()

    pipe_consumer.observer.once("close", pipe_producer.close)
    pipe_producer.observer.once("close", pipe_consumer.close)
    pipe_consumer.on("producerpause", lambda: source._spawn(follow_pause()))
    pipe_consumer.on("producerresume", lambda: source._spawn(follow_resume()))
    return PipeToRouterResult(pipe_consumer, pipe_producer)
