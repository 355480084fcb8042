"""What every transport shares (mediasoup's Transport base): identity, closing, the worker
request plumbing, and the cascade when its router or worker closes."""

from __future__ import annotations

import abc
import ipaddress
import time
import uuid
from typing import TYPE_CHECKING, Any, Literal, NotRequired, TypedDict

from mediasoup_py import _core, errors
from mediasoup_py.consumer import Consumer, ConsumerLayers, create_consumer
from mediasoup_py.data_consumer import DataConsumer, create_data_consumer
from mediasoup_py.data_producer import DataProducer, create_data_producer
from mediasoup_py.handle import Handle
from mediasoup_py.host_addresses import check_listen_ip
from mediasoup_py.producer import Producer, create_producer
from mediasoup_py.sctp_parameters import (
    DEFAULT_MAX_SCTP_MESSAGE_SIZE,
    DEFAULT_NUM_SCTP_STREAMS,
    DEFAULT_SCTP_SEND_BUFFER_SIZE,
    SCTP_PORT,
    SctpParameters,
    validate_num_sctp_streams,
)

if TYPE_CHECKING:
    from mediasoup_py.router import Router
    from mediasoup_py.rtp_parameters import RtpCapabilities, RtpParameters

__all__ = [
    "ListenInfo",
    "PortRange",
    "SctpOptions",
    "Transport",
    "TransportTuple",
    "parse_ip",
    "parse_listen_infos",
    "port_range_of",
    "sctp_options",
    "tuple_of",
]


class SctpOptions(TypedDict):
    """A transport's SCTP as the worker takes it (from mediasoup's ``enableSctp``,
    ``numSctpStreams``, ``maxSctpMessageSize`` and ``sctpSendBufferSize``)."""

    OS: int
    MIS: int
    maxMessageSize: int
    sendBufferSize: int


def sctp_options(
    enable_sctp: object,
    num_sctp_streams: object,
    max_sctp_message_size: object,
    sctp_send_buffer_size: object,
) -> SctpOptions | None:
    """The checked SCTP options of a new transport (``None`` without ``enable_sctp``)."""
    if not isinstance(enable_sctp, bool):
        raise errors.MediasoupTypeError("enable_sctp: must be a bool", "enable_sctp")
    streams = validate_num_sctp_streams(num_sctp_streams or DEFAULT_NUM_SCTP_STREAMS)
    sizes = {}
    for name, value, default in (
        ("max_sctp_message_size", max_sctp_message_size, DEFAULT_MAX_SCTP_MESSAGE_SIZE),
        ("sctp_send_buffer_size", sctp_send_buffer_size, DEFAULT_SCTP_SEND_BUFFER_SIZE),
    ):
        value = default if value is None else value
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 2**30:
            raise errors.MediasoupTypeError(f"{name}: must be an int in 1..{2**30}", name)
        sizes[name] = value
    if not enable_sctp:
        return None
    return {
        "OS": streams["OS"],
        "MIS": streams["MIS"],
        "maxMessageSize": sizes["max_sctp_message_size"],
        "sendBufferSize": sizes["sctp_send_buffer_size"],
    }


class PortRange(TypedDict):
    """mediasoup's ``portRange``: pick a free port in ``min``..``max``."""

    min: int
    max: int


class ListenInfo(TypedDict):
    """Where a transport or server listens (mediasoup v3's TransportListenInfo): a fixed
    ``port``, a ``portRange``, or else a port from the worker's range."""

    protocol: Literal["udp", "tcp"]
    ip: str
    announcedAddress: NotRequired[str]
    port: NotRequired[int]
    portRange: NotRequired[PortRange]


class TransportTuple(TypedDict):
    """The 5-tuple media flows on; the remote half is absent until it is known."""

    localIp: str
    localAddress: str
    localPort: int
    remoteIp: NotRequired[str]
    remotePort: NotRequired[int]
    protocol: Literal["udp", "tcp"]


def tuple_of(data: _core.TupleData) -> TransportTuple:
    """The tuple the worker reported, as mediasoup's ``TransportTuple``."""
    return {
        "localIp": data["localIp"],
        "localAddress": data["localAddress"],
        "localPort": data["localPort"],
        "remoteIp": data["remoteIp"],
        "remotePort": data["remotePort"],
        "protocol": data["protocol"],
    }


def parse_ip(value: object, field: str) -> str:
    """A normalized IP address string, or a ``MediasoupTypeError`` naming ``field``."""
    if not isinstance(value, str):
        raise errors.MediasoupTypeError(f"{field}: must be an IP address string", field)
    try:
        return str(ipaddress.ip_address(value))
    except ValueError as error:
        message = f"{field}: {value!r} is not an IP address"
        raise errors.MediasoupTypeError(message, field) from error


def _port(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise errors.MediasoupTypeError(f"{field}: must be an int in 1..65535", field)
    return value


def _bitrate(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise errors.MediasoupTypeError(f"{field}: must be a non-negative int (bps)", field)
    return value


def parse_listen_infos(value: object, field: str = "listen_infos") -> list[ListenInfo]:
    """Checks a list of listen infos, naming the bad field."""
    if not isinstance(value, list) or not value:
        raise errors.MediasoupTypeError(f"{field}: must be a non-empty list", field)
    infos: list[ListenInfo] = []
    for index, info in enumerate(value):
        at = f"{field}[{index}]"
        if not isinstance(info, dict):
            raise errors.MediasoupTypeError(f"{at}: must be a dict", at)
        protocol = info.get("protocol", "udp")
        if protocol not in ("udp", "tcp"):
            message = f"{at}.protocol: must be 'udp' or 'tcp'"
            raise errors.MediasoupTypeError(message, f"{at}.protocol")
        checked: ListenInfo = {"protocol": protocol, "ip": parse_ip(info.get("ip"), f"{at}.ip")}
        check_listen_ip(checked["ip"], f"{at}.ip")
        announced = info.get("announcedAddress", info.get("announcedIp"))
        if announced is not None:
            if not isinstance(announced, str) or not announced:
                raise errors.MediasoupTypeError(
                    f"{at}.announcedAddress: must be a non-empty string", f"{at}.announcedAddress"
                )
            checked["announcedAddress"] = announced
        if info.get("port") is not None:
            checked["port"] = _port(info["port"], f"{at}.port")
        port_range = info.get("portRange")
        if port_range is not None:
            if not isinstance(port_range, dict):
                message = f"{at}.portRange: must be a dict"
                raise errors.MediasoupTypeError(message, f"{at}.portRange")
            low = _port(port_range.get("min"), f"{at}.portRange.min")
            high = _port(port_range.get("max"), f"{at}.portRange.max")
            if low > high:
                raise errors.MediasoupTypeError(
                    f"{at}.portRange: min is above max", f"{at}.portRange"
                )
            checked["portRange"] = {"min": low, "max": high}
        infos.append(checked)
    return infos


def port_range_of(info: ListenInfo) -> tuple[int, int]:
    """The port choice the worker takes: (0, 0) for its own range, (p, p) for ``port``,
    (min, max) for ``portRange``."""
    if "port" in info:
        return (info["port"], info["port"])
    if "portRange" in info:
        return (info["portRange"]["min"], info["portRange"]["max"])
    return (0, 0)


# mediasoup's transport stats fields the worker always counts (bytes, and bits per second
# over mediasoup's windows: the last second for every datagram, the last 2.5 s for RTP by
# kind: media, RTX, probation).
_MEDIASOUP_TRANSPORT_COUNTERS = (
    "bytesReceived",
    "recvBitrate",
    "bytesSent",
    "sendBitrate",
    "rtpBytesReceived",
    "rtpRecvBitrate",
    "rtpBytesSent",
    "rtpSendBitrate",
    "rtxBytesReceived",
    "rtxRecvBitrate",
    "rtxBytesSent",
    "rtxSendBitrate",
    "probationBytesSent",
    "probationSendBitrate",
)
# Those reported once measured (bandwidth estimates, transport-wide loss shares 0-1) or set
# by the application (bitrate bounds).
_MEDIASOUP_TRANSPORT_OPTIONALS = (
    "availableOutgoingBitrate",
    "availableIncomingBitrate",
    "maxIncomingBitrate",
    "maxOutgoingBitrate",
    "minOutgoingBitrate",
    "rtpPacketLossReceived",
    "rtpPacketLossSent",
)


class Transport(Handle, abc.ABC):
    """Base of WebRtcTransport and PlainTransport. Events: ``routerclose``. Observer events:
    ``close``."""

    _noun = "transport"

    def __init__(self, router: Router, transport_id: str, app_data: dict[str, Any]) -> None:
        super().__init__(transport_id, app_data)
        self._router = router
        self._worker = router.worker
        # mediasoup numbers consumer MIDs per transport from 0, wrapping at 10^8.
        self._next_mid = 0
        # The application's bitrate bounds (bits per second, 0: none).
        self._max_incoming_bitrate = 0
        self._min_outgoing_bitrate = 0
        self._max_outgoing_bitrate = 0
        self._producers_cname: str | None = None
        # SCTP (DataChannels), when the transport was made with it.
        self._sctp: SctpOptions | None = None
        self._sctp_state: str | None = None
        # The stream ids its SCTP data consumers hold (the server chooses them, mediasoup's
        # way: the next free one after the last given).
        self._sctp_stream_ids: set[int] = set()
        self._next_sctp_stream_id = 0

    @property
    def router(self) -> Router:
        """The router it belongs to."""
        return self._router

    def close(self) -> None:
        """Closes the transport and frees its ports."""
        if self._closed:
            return
        self._mark_closed()
        native = self._worker._native
        # Sent now, so later requests (e.g. a new transport on the freed port) follow it.
        self._worker._send_unawaited(
            lambda request_id: native.close_transport(request_id, self._id)
        )
        self.observer.emit("close")

    async def produce(
        self,
        *,
        kind: Literal["audio", "video"],
        rtp_parameters: RtpParameters,
        id: str | None = None,
        paused: bool = False,
        key_frame_request_delay: int = 0,
        app_data: dict[str, Any] | None = None,
    ) -> Producer:
        """Receives a track from the endpoint: ``rtp_parameters`` is what the client's
        ``transport.produce()`` signaled (mediasoup-client's ``produce`` event). Raises
        ``MediasoupTypeError`` naming a bad field and ``UnsupportedError`` for codecs the
        router does not have. ``key_frame_request_delay`` (ms) spaces the keyframe requests
        sent to the client: requests arriving sooner are sent together when it ends."""
        self._check_open()
        producer = await create_producer(
            self,
            kind=kind,
            rtp_parameters=rtp_parameters,
            producer_id=id,
            paused=paused,
            key_frame_request_delay=key_frame_request_delay,
            app_data=app_data,
        )
        self.observer.emit("newproducer", producer)
        return producer

    async def consume(
        self,
        *,
        producer_id: str,
        rtp_capabilities: RtpCapabilities,
        paused: bool = False,
        mid: str | None = None,
        enable_rtx: bool | None = None,
        preferred_layers: ConsumerLayers | None = None,
        app_data: dict[str, Any] | None = None,
    ) -> Consumer:
        """Sends a producer's track to the endpoint, whose device has
        ``rtp_capabilities``; give the consumer's ``id``, ``kind`` and ``rtp_parameters``
        to the client's ``consume()``. mediasoup's advice holds: create it ``paused`` and
        resume once the client has it, so the first frame is a keyframe it can decode."""
        return await self._consume(
            producer_id=producer_id,
            rtp_capabilities=rtp_capabilities,
            paused=paused,
            mid=mid,
            enable_rtx=enable_rtx,
            preferred_layers=preferred_layers,
            pipe=self._is_pipe,
            app_data=app_data,
        )

    async def _consume(self, **options: Any) -> Consumer:
        """A consumer on this transport (``create_consumer``'s options): ``consume``'s, and
        the v2 protocol's, whose parameters (SSRCs included) the client was told before it
        had a transport (``announced``)."""
        self._check_open()
        consumer = await create_consumer(self, **options)
        self.observer.emit("newconsumer", consumer)
        return consumer

    # Pipe transports override this: their consumers carry the producer's stream as is.
    _is_pipe = False

    async def set_max_incoming_bitrate(self, bitrate: int) -> None:
        """Asks the endpoint to send at most ``bitrate`` bits per second in all (a REMB,
        which browsers take as a ceiling even when transport-cc drives their estimate), and
        enforces it: RTP beyond 1.5 times the ceiling, once a 2 s burst of that is spent, is
        dropped rather than forwarded (counted in the stats' ``droppedDatagrams``
        ``overMaxIncomingBitrate``). 0 removes the limit."""
        self._max_incoming_bitrate = _bitrate(bitrate, "bitrate")
        await self._send_bitrates()

    async def set_max_outgoing_bitrate(self, bitrate: int) -> None:
        """Allocates the consumers at most ``bitrate`` bits per second in all, whatever the
        estimate says; 0 removes the limit."""
        bitrate = _bitrate(bitrate, "bitrate")
        if bitrate and bitrate < self._min_outgoing_bitrate:
            raise errors.MediasoupTypeError(
                "bitrate: must be at least the minimum outgoing bitrate", "bitrate"
            )
        self._max_outgoing_bitrate = bitrate
        await self._send_bitrates()

    async def set_min_outgoing_bitrate(self, bitrate: int) -> None:
        """Allocates the consumers at least ``bitrate`` bits per second in all, whatever
        the estimate says; 0 removes the floor."""
        bitrate = _bitrate(bitrate, "bitrate")
        if self._max_outgoing_bitrate and bitrate > self._max_outgoing_bitrate:
            raise errors.MediasoupTypeError(
                "bitrate: must be at most the maximum outgoing bitrate", "bitrate"
            )
        self._min_outgoing_bitrate = bitrate
        await self._send_bitrates()

    async def _send_bitrates(self) -> None:
        self._check_open()
        native = self._worker._native
        await self._worker._request(
            lambda request_id: native.set_transport_bitrates(
                request_id,
                self._id,
                self._max_incoming_bitrate,
                self._min_outgoing_bitrate,
                self._max_outgoing_bitrate,
            )
        )

    @abc.abstractmethod
    async def get_stats(self) -> list[dict[str, Any]]:
        """mediasoup-style statistics of the transport (one entry, of its kind)."""

    # Its producers, consumers, data producers and data consumers are in the router's
    # registry (the one table of each kind); the worker hands their events to the handler
    # each subscribes with.

    def _add_producer(self, producer: Producer) -> None:
        self._router._objects.producers.add(producer)
        self._worker._subscribe(producer.id, producer._on_worker_event)

    def _forget_producer(self, producer_id: str) -> None:
        self._router._objects.producers.forget(producer_id)
        self._worker._unsubscribe(producer_id)

    def _add_consumer(self, consumer: Consumer) -> None:
        self._router._objects.consumers.add(consumer)
        self._worker._subscribe(consumer.id, consumer._on_worker_event)

    def _forget_consumer(self, consumer_id: str) -> None:
        self._router._objects.consumers.forget(consumer_id)
        self._worker._unsubscribe(consumer_id)

    def _producers(self) -> list[Producer]:
        return self._router._objects.producers_on(self)

    def _consumers(self) -> list[Consumer]:
        return self._router._objects.consumers_on(self)

    def _cname_for_producers(self, cname: str | None) -> str:
        """mediasoup's rule: a transport's producers share one CNAME (so receivers keep
        their tracks in sync): the first one given, else a random one."""
        if self._producers_cname is None:
            self._producers_cname = cname or uuid.uuid4().hex[:8]
        return self._producers_cname

    def _ssrc_in_use(self, ssrc: int) -> bool:
        return any(
            encoding.get("ssrc") == ssrc or encoding.get("rtx", {}).get("ssrc") == ssrc
            for producer in self._producers()
            for encoding in producer.rtp_parameters["encodings"]
        )

    def _next_consumer_mid(self) -> str:
        mid = str(self._next_mid)
        self._next_mid = (self._next_mid + 1) % 100_000_000
        return mid

    async def _native_stats(self, kind: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """The worker's counters for this transport, and the mediasoup stats entry of type
        ``kind`` with the fields every transport reports."""
        self._check_open()
        native = self._worker._native
        data = await self._worker._request(
            lambda request_id: native.get_transport_stats(request_id, self._id)
        )
        stats: dict[str, Any] = data["stats"]
        entry = {
            "type": kind,
            "transportId": self._id,
            "timestamp": int(time.time() * 1000),
        }
        # mediasoup's fields, in its order; the optional ones only when known or set, as
        # mediasoup.
        entry.update({name: stats[name] for name in _MEDIASOUP_TRANSPORT_COUNTERS})
        entry.update(
            {
                name: stats[name]
                for name in _MEDIASOUP_TRANSPORT_OPTIONALS
                if stats[name] is not None
            }
        )
        # mediasoup_py's own counters.
        entry.update(
            {
                "rtpPacketsReceived": stats["rtpPacketsReceived"],
                "rtcpPacketsReceived": stats["rtcpPacketsReceived"],
                "rtcpPacketsMalformed": stats["rtcpPacketsMalformed"],
                "datagramsReceived": stats["datagramsReceived"],
                "datagramsSent": stats["datagramsSent"],
                "droppedDatagrams": stats["droppedDatagrams"],
            }
        )
        # mediasoup_py's own: what its SCTP association dropped, incoming and outgoing.
        if stats["sctpDroppedMessages"] is not None:
            entry["sctpDroppedMessages"] = stats["sctpDroppedMessages"]
        return stats, entry

    # DataChannels.

    # A DirectTransport's data producers and consumers are the application's ("direct").
    _data_direct = False

    @property
    def sctp_parameters(self) -> SctpParameters | None:
        """What its SCTP offers the client (mediasoup's ``sctpParameters``: give it to the
        client's transport), ``None`` without SCTP."""
        if self._sctp is None:
            return None
        return {
            "port": SCTP_PORT,
            "OS": self._sctp["OS"],
            "MIS": self._sctp["MIS"],
            "maxMessageSize": self._sctp["maxMessageSize"],
        }

    @property
    def sctp_state(self) -> str | None:
        """``"new"``, ``"connecting"``, ``"connected"``, ``"failed"``, ``"closed"``;
        ``None`` without SCTP."""
        return self._sctp_state

    def _enable_sctp(self, options: SctpOptions | None) -> None:
        self._sctp = options
        self._sctp_state = "new" if options is not None else None

    async def produce_data(
        self,
        *,
        sctp_stream_parameters: dict[str, Any] | None = None,
        label: str = "",
        protocol: str = "",
        id: str | None = None,
        paused: bool = False,
        app_data: dict[str, Any] | None = None,
    ) -> DataProducer:
        """Receives a DataChannel's messages: ``sctp_stream_parameters`` is what the
        client's ``produceData`` signaled (the stream it sends on). On a DirectTransport
        there are none: the application sends with ``DataProducer.send``."""
        self._check_open()
        if not self._data_direct and self._sctp is None:
            raise errors.InvalidStateError("SCTP is not enabled on this transport")
        producer = await create_data_producer(
            self,
            sctp_stream_parameters=sctp_stream_parameters,
            label=label,
            protocol=protocol,
            data_producer_id=id,
            paused=paused,
            app_data=app_data,
            direct=self._data_direct,
        )
        self.observer.emit("newdataproducer", producer)
        return producer

    async def consume_data(
        self,
        *,
        data_producer_id: str,
        ordered: bool | None = None,
        max_packet_life_time: int | None = None,
        max_retransmits: int | None = None,
        paused: bool = False,
        subchannels: list[int] | None = None,
        app_data: dict[str, Any] | None = None,
    ) -> DataConsumer:
        """Sends a data producer's messages to the endpoint, on an SCTP stream the
        transport chooses (give the consumer's ``sctp_stream_parameters``, ``label`` and
        ``protocol`` to the client's ``consumeData``), or, on a DirectTransport, to the
        application (its ``message`` events). The delivery rules are the producer's unless
        given."""
        self._check_open()
        if not self._data_direct and self._sctp is None:
            raise errors.InvalidStateError("SCTP is not enabled on this transport")
        producer = self._router._find_data_producer(data_producer_id)
        stream_id = None if self._data_direct else self._allocate_sctp_stream_id()
        try:
            consumer = await create_data_consumer(
                self,
                data_producer=producer,
                stream_id=stream_id,
                ordered=ordered,
                max_packet_life_time=max_packet_life_time,
                max_retransmits=max_retransmits,
                paused=paused,
                subchannels=subchannels,
                app_data=app_data,
            )
        except BaseException:
            if stream_id is not None:
                self._sctp_stream_ids.discard(stream_id)
            raise
        self.observer.emit("newdataconsumer", consumer)
        return consumer

    def _allocate_sctp_stream_id(self) -> int:
        assert self._sctp is not None
        count = self._sctp["MIS"]
        for offset in range(count):
            stream_id = (self._next_sctp_stream_id + offset) % count
            if stream_id not in self._sctp_stream_ids:
                self._sctp_stream_ids.add(stream_id)
                self._next_sctp_stream_id = stream_id + 1
                return stream_id
        raise errors.LimitExceededError("sctp_streams", count)

    def _add_data_producer(self, producer: DataProducer) -> None:
        self._router._objects.data_producers.add(producer)

    def _forget_data_producer(self, producer_id: str) -> None:
        self._router._objects.data_producers.forget(producer_id)

    def _add_data_consumer(self, consumer: DataConsumer) -> None:
        self._router._objects.data_consumers.add(consumer)
        self._worker._subscribe(consumer.id, consumer._on_worker_event)

    def _forget_data_consumer(self, consumer_id: str) -> None:
        consumer = self._router._objects.data_consumers.forget(consumer_id)
        self._worker._unsubscribe(consumer_id)
        parameters = consumer.sctp_stream_parameters if consumer is not None else None
        if parameters is not None:
            self._sctp_stream_ids.discard(parameters["streamId"])

    def _mark_closed(self) -> None:
        self._closed = True
        self._router._forget_transport(self._id)
        self._worker._forget_transport(self._id)
        objects = self._router._objects
        # The worker closed them with the transport (and the consumers of its producers).
        for producer in objects.producers_on(self):
            producer._on_transport_closed()
        for consumer in objects.consumers_on(self):
            consumer._on_transport_closed()
        # Its data consumers end with it (``transportclose``), then its data producers, whose
        # consumers elsewhere hear ``dataproducerclose``, as mediasoup orders them.
        for data_consumer in objects.data_consumers_on(self):
            data_consumer._on_transport_closed()
        for data_producer in objects.data_producers_on(self):
            data_producer._on_transport_closed()
            for data_consumer in objects.data_consumers_of(data_producer):
                data_consumer._on_data_producer_closed()
        if self._sctp_state is not None:
            self._sctp_state = "closed"

    def _on_router_closed(self, notify_worker: bool = True) -> None:
        if self._closed:
            return
        if notify_worker:
            self.close()
        else:
            self._mark_closed()
            self.observer.emit("close")
        self.emit("routerclose")

    def _on_direct_packet(self, rtcp: bool, packet: bytes) -> None:
        """A packet for the owner of a DirectTransport (only those send any)."""

    def _on_channel_event(self, event: _core.TransportEvent | _core.DirectPacketEvent) -> None:
        """What the worker sends it: a packet for a DirectTransport's owner, or a state
        change."""
        if event["kind"] == "direct":
            self._on_direct_packet(event["rtcp"], event["packet"])
        else:
            self._on_worker_event(event)

    def _on_worker_event(self, event: _core.TransportEvent) -> None:
        """A state change from the worker; subclasses record it, then it is emitted."""
        name = event["event"]
        if name == "sctpstatechange":
            self._sctp_state = event["data"]  # type: ignore[assignment]
        self.emit(name, event["data"])
        self.observer.emit(name, event["data"])
