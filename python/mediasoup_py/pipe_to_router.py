"""``Router.pipe_to_router``: a producer or data producer of one router made available on
another (on the same worker or another one), as mediasoup does it: a pair of PipeTransports
linked over loopback (or the given address), a pipe consumer (pipe data consumer) on the
source router and, on the destination, a producer (data producer) with the same id fed by
it. Closing follows the original both ways; pausing and resuming follow it too.

The pair carries SCTP unless ``enable_sctp=False`` (mediasoup's default is on), so data
producers are piped over the same pair as media."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from mediasoup_py import errors

if TYPE_CHECKING:
    from mediasoup_py.consumer import Consumer
    from mediasoup_py.data_consumer import DataConsumer
    from mediasoup_py.data_producer import DataProducer
    from mediasoup_py.pipe_transport import PipeTransport
    from mediasoup_py.producer import Producer
    from mediasoup_py.router import Router
    from mediasoup_py.sctp_parameters import NumSctpStreams
    from mediasoup_py.transport import ListenInfo

__all__ = [
    "PipeDataToRouterResult",
    "PipeToRouterResult",
    "pipe_data_to_router",
    "pipe_to_router",
]

LOOPBACK: ListenInfo = {"protocol": "udp", "ip": "127.0.0.1"}


@dataclass(frozen=True)
class PipeToRouterResult:
    """The two halves of a piped producer."""

    pipe_consumer: Consumer
    pipe_producer: Producer


@dataclass(frozen=True)
class PipeDataToRouterResult:
    """The two halves of a piped data producer (mediasoup's ``pipeDataConsumer`` and
    ``pipeDataProducer``)."""

    pipe_data_consumer: DataConsumer
    pipe_data_producer: DataProducer


def _sctp_initiator_last(
    pair: tuple[PipeTransport, PipeTransport],
) -> tuple[PipeTransport, PipeTransport]:
    """The pair ordered so the end that sends SCTP's INIT (the one whose address sorts
    lower, as the worker decides) connects last: its INIT then finds the other end ready,
    instead of being dropped and repeated a retransmission timeout later."""

    def address(transport: PipeTransport) -> tuple[int, int, int]:
        ip = ipaddress.ip_address(transport.tuple["localIp"])
        return (ip.version, int(ip), transport.tuple["localPort"])

    first, second = pair
    return (first, second) if address(first) > address(second) else (second, first)


async def _linked_pipe_transports(
    source: Router,
    destination: Router,
    listen_info: ListenInfo,
    enable_srtp: bool,
    enable_sctp: bool = True,
    num_sctp_streams: NumSctpStreams | None = None,
) -> tuple[PipeTransport, PipeTransport]:
    """The pair of PipeTransports between two routers, created and connected on first use
    and shared by every producer and data producer piped between them afterwards."""
    existing = source._pipe_pair(destination.id)
    if existing is not None:
        return existing
    local = await source.create_pipe_transport(
        listen_info=listen_info,
        enable_srtp=enable_srtp,
        enable_sctp=enable_sctp,
        num_sctp_streams=num_sctp_streams,
    )
    try:
        remote = await destination.create_pipe_transport(
            listen_info=listen_info,
            enable_srtp=enable_srtp,
            enable_sctp=enable_sctp,
            num_sctp_streams=num_sctp_streams,
        )
    except BaseException:
        local.close()
        raise
    first, last = _sctp_initiator_last((local, remote))
    try:
        for end, other in ((first, last), (last, first)):
            await end.connect(
                ip=other.tuple["localIp"],
                port=other.tuple["localPort"],
                srtp_parameters=other.srtp_parameters,
            )
    except BaseException:
        local.close()
        remote.close()
        raise
    pair = (local, remote)
    source._keep_pipe_pair(destination.id, pair)

    def forget() -> None:
        source._drop_pipe_pair(destination.id, pair)
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
    enable_sctp: bool = True,
    num_sctp_streams: NumSctpStreams | None = None,
) -> PipeToRouterResult:
    """See ``Router.pipe_to_router``. ``same_id=False`` gives the producer there an id of its
    own, for a destination on the same worker (whose producer ids are worker-wide); the
    caller keeps track of what it piped."""
    producer = source._producer(producer_id)
    if producer is None:
        raise errors.UnknownIdError(
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
        source, router, listen_info or LOOPBACK, enable_srtp, enable_sctp, num_sctp_streams
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

    _link_ends(source, pipe_consumer, pipe_producer, "producer")
    return PipeToRouterResult(pipe_consumer, pipe_producer)


async def pipe_data_to_router(
    source: Router,
    *,
    data_producer_id: str,
    router: Router,
    listen_info: ListenInfo | None,
    enable_srtp: bool,
    enable_sctp: bool = True,
    num_sctp_streams: NumSctpStreams | None = None,
    same_id: bool = True,
) -> PipeDataToRouterResult:
    """See ``Router.pipe_to_router``: a data producer's messages carried over the pair's
    SCTP association (a pipe data consumer here on a stream it chooses, a data producer
    there on that stream, with the original's label, protocol and app data)."""
    data_producer = source._objects.data_producers.get(data_producer_id)
    if data_producer is None or data_producer.closed:
        raise errors.UnknownIdError(
            f"data_producer_id: data producer with id {data_producer_id!r} not found",
            "data_producer_id",
        )
    if router is source:
        raise errors.MediasoupTypeError(
            "router: cannot pipe a data producer to its own router", "router"
        )
    if same_id and router._objects.data_producers.get(data_producer_id) is not None:
        raise errors.MediasoupTypeError(
            f"data_producer_id: data producer {data_producer_id!r} is already piped to that router",
            "data_producer_id",
        )
    local, remote = await _linked_pipe_transports(
        source, router, listen_info or LOOPBACK, enable_srtp, enable_sctp, num_sctp_streams
    )
    if local.sctp_parameters is None:
        raise errors.InvalidStateError(
            "the pipe transports to that router were made without SCTP (enable_sctp=False)"
        )
    pipe_data_consumer = await local.consume_data(data_producer_id=data_producer_id)
    try:
        pipe_data_producer = await remote.produce_data(
            id=data_producer_id if same_id else None,
            sctp_stream_parameters=cast(
                "dict[str, Any] | None", pipe_data_consumer.sctp_stream_parameters
            ),
            label=pipe_data_consumer.label,
            protocol=pipe_data_consumer.protocol,
            paused=pipe_data_consumer.data_producer_paused,
            app_data=data_producer.app_data,
        )
    except BaseException:
        pipe_data_consumer.close()
        raise
    if data_producer.closed:
        pipe_data_producer.close()
        raise errors.InvalidStateError("original data producer closed")

    _link_ends(source, pipe_data_consumer, pipe_data_producer, "dataproducer")
    return PipeDataToRouterResult(pipe_data_consumer, pipe_data_producer)


def _link_ends(
    source: Router,
    pipe_consumer: Consumer | DataConsumer,
    pipe_producer: Producer | DataProducer,
    original: str,
) -> None:
    """A pipe's two ends close together, and the copy follows the original's pause and
    resume, which its pipe consumer hears as ``{original}pause``/``{original}resume``."""
    pipe_consumer.observer.once("close", pipe_producer.close)
    pipe_producer.observer.once("close", pipe_consumer.close)
    pipe_consumer.on(f"{original}pause", lambda: source._spawn(pipe_producer.pause()))
    pipe_consumer.on(f"{original}resume", lambda: source._spawn(pipe_producer.resume()))
