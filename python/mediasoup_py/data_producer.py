"""DataProducers: an endpoint's DataChannel messages entering a router (``type`` ``"sctp"``:
on one SCTP stream of its transport), or the application's (``"direct"``: sent with
:meth:`DataProducer.send` through a DirectTransport). The worker routes each message to the
producer's DataConsumers on its own threads; Python sees none of them.
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any, Literal

from mediasoup_py import errors
from mediasoup_py.handle import TransportChild
from mediasoup_py.sctp_parameters import (
    SctpStreamParameters,
    data_message,
    validate_label,
    validate_sctp_stream_parameters,
    validate_subchannels,
)

if TYPE_CHECKING:
    from mediasoup_py.data_consumer import DataConsumer
    from mediasoup_py.transport import Transport

__all__ = ["DataProducer", "DataProducerType", "create_data_producer"]

DataProducerType = Literal["sctp", "direct"]


class DataProducer(TransportChild):
    """A data producer. Events: ``transportclose``. Observer events: ``close``, ``pause``,
    ``resume``."""

    _noun = "data producer"

    def __init__(
        self,
        transport: Transport,
        data_producer_id: str,
        kind: DataProducerType,
        sctp_stream_parameters: SctpStreamParameters | None,
        label: str,
        protocol: str,
        paused: bool,
        app_data: dict[str, Any],
    ) -> None:
        super().__init__(transport, data_producer_id, app_data)
        self._type: DataProducerType = kind
        self._sctp_stream_parameters = sctp_stream_parameters
        self._label = label
        self._protocol = protocol
        self._paused = paused
        self._consumers: dict[str, DataConsumer] = {}

    def __repr__(self) -> str:
        return f"<DataProducer id={self._id} type={self._type} label={self._label!r}>"

    @property
    def type(self) -> DataProducerType:
        """``"sctp"`` or ``"direct"``."""
        return self._type

    @property
    def sctp_stream_parameters(self) -> SctpStreamParameters | None:
        """The SCTP stream its messages arrive on (``None`` for a direct one)."""
        return self._sctp_stream_parameters

    @property
    def label(self) -> str:
        """The DataChannel's label."""
        return self._label

    @property
    def protocol(self) -> str:
        """The DataChannel's subprotocol."""
        return self._protocol

    @property
    def paused(self) -> bool:
        """Whether its messages are held back from its consumers."""
        return self._paused

    async def pause(self) -> None:
        """Stops forwarding its messages (its consumers hear ``dataproducerpause``)."""
        await self._set_paused(True)

    async def resume(self) -> None:
        """Forwards its messages again (``dataproducerresume``)."""
        await self._set_paused(False)

    async def _set_paused(self, paused: bool) -> None:
        self._check_open()
        worker = self._worker
        native = worker._native
        await worker._request(
            lambda request_id: native.set_data_producer_paused(request_id, self._id, paused)
        )
        if self._paused != paused:
            self._paused = paused
            self.observer.emit("pause" if paused else "resume")

    def send(
        self,
        message: str | bytes,
        ppid: int | None = None,
        subchannels: list[int] | None = None,
        required_subchannel: int | None = None,
    ) -> None:
        """Sends a message from the application (direct data producers only): ``str`` as
        text (PPID 51, 56 when empty), bytes as binary (53, 57); with ``subchannels``, only
        consumers in one of them get it, and with ``required_subchannel`` only those in
        that one."""
        self._check_open()
        if self._type != "direct":
            raise errors.InvalidStateError("send() is for direct data producers")
        payload, checked_ppid = data_message(message, ppid)
        channels = validate_subchannels(subchannels)
        required = None
        if required_subchannel is not None:
            (required,) = validate_subchannels([required_subchannel], "required_subchannel")
        worker = self._worker
        native = worker._native
        worker._send_unawaited(
            lambda request_id: native.send_data(
                request_id, self._id, payload, checked_ppid, channels, required
            )
        )

    async def get_stats(self) -> list[dict[str, Any]]:
        """mediasoup's ``data-producer`` entry: messages and bytes received; and
        mediasoup_py's ``droppedMessages``: messages that arrived on its stream and were
        dropped before it, over its transport's ``maxSctpMessageSize`` (``tooLarge``) or
        with a PPID WebRTC does not define (``unknownPpid``)."""
        self._check_open()
        worker = self._worker
        native = worker._native
        stats = await worker._request(
            lambda request_id: native.get_data_producer_stats(request_id, self._id)
        )
        return [
            {
                "type": "data-producer",
                "timestamp": int(time.time() * 1000),
                "label": self._label,
                "protocol": self._protocol,
                "messagesReceived": stats["messagesReceived"],
                "bytesReceived": stats["bytesReceived"],
                "droppedMessages": stats["droppedMessages"],
            }
        ]

    def dump(self) -> dict[str, Any]:
        """Its state, mediasoup's way."""
        dump: dict[str, Any] = {
            "id": self._id,
            "type": self._type,
            "label": self._label,
            "protocol": self._protocol,
            "paused": self._paused,
            "dataConsumerIds": list(self._consumers),
        }
        if self._sctp_stream_parameters is not None:
            dump["sctpStreamParameters"] = self._sctp_stream_parameters
        return dump

    def close(self) -> None:
        """Closes it; its consumers hear ``dataproducerclose``."""
        if self._closed:
            return
        worker = self._worker
        native = worker._native
        worker._send_unawaited(lambda request_id: native.close_data_producer(request_id, self._id))
        self._close()
        for consumer in list(self._consumers.values()):
            consumer._on_data_producer_closed()

    def _close(self) -> None:
        self._closed = True
        self._transport._forget_data_producer(self._id)
        self.observer.emit("close")

    def _add_consumer(self, consumer: DataConsumer) -> None:
        self._consumers[consumer.id] = consumer

    def _forget_consumer(self, consumer_id: str) -> None:
        self._consumers.pop(consumer_id, None)


async def create_data_producer(
    transport: Transport,
    *,
    sctp_stream_parameters: object,
    label: object,
    protocol: object,
    data_producer_id: str | None,
    paused: bool,
    app_data: dict[str, Any] | None,
    direct: bool,
) -> DataProducer:
    """A data producer on ``transport`` (SCTP unless ``direct``), once the worker has it."""
    stream: SctpStreamParameters | None = None
    if not direct:
        stream = validate_sctp_stream_parameters(sctp_stream_parameters)
    elif sctp_stream_parameters is not None:
        raise errors.MediasoupTypeError(
            "sctp_stream_parameters: a DirectTransport takes none", "sctp_stream_parameters"
        )
    checked_label = validate_label(label, "label")
    checked_protocol = validate_label(protocol, "protocol")
    if app_data is not None and not isinstance(app_data, dict):
        raise errors.MediasoupTypeError("app_data: must be a dict", "app_data")
    new_id = data_producer_id or str(uuid.uuid4())
    worker = transport.router.worker
    native = worker._native
    await worker._request(
        lambda request_id: native.produce_data(
            request_id,
            transport_id=transport.id,
            data_producer_id=new_id,
            stream_id=stream["streamId"] if stream else None,
            ordered=stream["ordered"] if stream else True,
            max_packet_life_time=stream.get("maxPacketLifeTime") if stream else None,
            max_retransmits=stream.get("maxRetransmits") if stream else None,
            paused=paused,
        )
    )
    producer = DataProducer(
        transport,
        new_id,
        "direct" if direct else "sctp",
        stream,
        checked_label,
        checked_protocol,
        paused,
        app_data or {},
    )
    transport._add_data_producer(producer)
    return producer
