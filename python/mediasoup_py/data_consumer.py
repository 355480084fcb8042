"""DataConsumers: a DataProducer's messages leaving a router to one endpoint (``type``
``"sctp"``: on an SCTP stream the server chose, which the client opens as a negotiated
DataChannel), or to the application (``"direct"``: each message a ``message`` event on a
DirectTransport's consumer).
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any, Literal

from mediasoup_py import _core, errors
from mediasoup_py.handle import TransportChild
from mediasoup_py.sctp_parameters import (
    SctpStreamParameters,
    data_consumer_sctp_stream_parameters,
    validate_subchannels,
)

if TYPE_CHECKING:
    from mediasoup_py.data_producer import DataProducer
    from mediasoup_py.events import Handler
    from mediasoup_py.transport import Transport

__all__ = ["DataConsumer", "DataConsumerType", "create_data_consumer"]

DataConsumerType = Literal["sctp", "direct"]


class DataConsumer(TransportChild):
    """A data consumer. Events: ``transportclose``, ``dataproducerclose``,
    ``dataproducerpause``, ``dataproducerresume``, ``message`` (direct consumers: the
    message, ``bytes``, and its PPID), ``bufferedamountlow`` (the bytes still queued),
    ``sctpsendbufferfull``. Observer events: ``close``, ``pause``, ``resume``.

    ``bufferedamountlow`` is reported from its first listener on: until then the worker
    keeps the acknowledgements of its stream to itself (one would otherwise wake the
    control plane for nearly every message)."""

    _noun = "data consumer"

    def __init__(
        self,
        transport: Transport,
        data_consumer_id: str,
        data_producer: DataProducer,
        kind: DataConsumerType,
        sctp_stream_parameters: SctpStreamParameters | None,
        paused: bool,
        subchannels: list[int],
        app_data: dict[str, Any],
    ) -> None:
        super().__init__(transport, data_consumer_id, app_data)
        self._data_producer = data_producer
        self._type: DataConsumerType = kind
        self._sctp_stream_parameters = sctp_stream_parameters
        self._paused = paused
        self._data_producer_paused = data_producer.paused
        self._subchannels = subchannels
        self._reports_buffered_amount_low = False

    def __repr__(self) -> str:
        return f"<DataConsumer id={self._id} type={self._type} label={self.label!r}>"

    def on(self, event: str, handler: Handler) -> Handler:
        self._listen(event)
        return super().on(event, handler)

    def once(self, event: str, handler: Handler) -> Handler:
        self._listen(event)
        return super().once(event, handler)

    def _listen(self, event: str) -> None:
        if event != "bufferedamountlow" or self._reports_buffered_amount_low or self._closed:
            return
        self._reports_buffered_amount_low = True
        native = self._worker._native
        self._worker._send_unawaited(
            lambda request_id: native.report_data_consumer_buffered_amount_low(
                request_id, self._id, True
            )
        )

    @property
    def data_producer_id(self) -> str:
        """The data producer it consumes."""
        return self._data_producer.id

    @property
    def type(self) -> DataConsumerType:
        """``"sctp"`` or ``"direct"``."""
        return self._type

    @property
    def sctp_stream_parameters(self) -> SctpStreamParameters | None:
        """The SCTP stream it sends on (give it to the client's ``consumeData``)."""
        return self._sctp_stream_parameters

    @property
    def label(self) -> str:
        """Its data producer's label."""
        return self._data_producer.label

    @property
    def protocol(self) -> str:
        """Its data producer's subprotocol."""
        return self._data_producer.protocol

    @property
    def paused(self) -> bool:
        """Whether it was paused."""
        return self._paused

    @property
    def data_producer_paused(self) -> bool:
        """Whether its data producer is paused."""
        return self._data_producer_paused

    @property
    def subchannels(self) -> list[int]:
        """The subchannels whose messages it gets (mediasoup 3.13's addressing)."""
        return list(self._subchannels)

    async def pause(self) -> None:
        """Stops sending to the endpoint."""
        await self._set_paused(True)

    async def resume(self) -> None:
        """Sends to the endpoint again."""
        await self._set_paused(False)

    async def _set_paused(self, paused: bool) -> None:
        self._check_open()
        worker = self._worker
        native = worker._native
        await worker._request(
            lambda request_id: native.set_data_consumer_paused(request_id, self._id, paused)
        )
        if self._paused != paused:
            self._paused = paused
            self.observer.emit("pause" if paused else "resume")

    async def set_subchannels(self, subchannels: list[int]) -> None:
        """Which subchannels it is in."""
        self._check_open()
        checked = validate_subchannels(subchannels)
        worker = self._worker
        native = worker._native
        await worker._request(
            lambda request_id: native.set_data_consumer_subchannels(request_id, self._id, checked)
        )
        self._subchannels = checked

    async def add_subchannel(self, subchannel: int) -> None:
        """Joins one more subchannel."""
        await self.set_subchannels([*self._subchannels, subchannel])

    async def remove_subchannel(self, subchannel: int) -> None:
        """Leaves a subchannel."""
        await self.set_subchannels([s for s in self._subchannels if s != subchannel])

    async def get_buffered_amount(self) -> int:
        """Bytes queued on its SCTP stream (sent and not acknowledged, or not yet sent)."""
        return int((await self._native_stats())["bufferedAmount"])

    async def set_buffered_amount_low_threshold(self, threshold: int) -> None:
        """The queued bytes at or under which ``bufferedamountlow`` is emitted."""
        self._check_open()
        if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 0:
            raise errors.MediasoupTypeError("threshold: must be an int >= 0", "threshold")
        worker = self._worker
        native = worker._native
        await worker._request(
            lambda request_id: native.set_data_consumer_buffered_amount_low_threshold(
                request_id, self._id, threshold
            )
        )

    async def _native_stats(self) -> dict[str, Any]:
        self._check_open()
        worker = self._worker
        native = worker._native
        stats: dict[str, Any] = await worker._request(
            lambda request_id: native.get_data_consumer_stats(request_id, self._id)
        )
        return stats

    async def get_stats(self) -> list[dict[str, Any]]:
        """mediasoup's ``data-consumer`` entry: messages and bytes sent, bytes queued; and
        mediasoup_py's ``droppedMessages``: messages not sent because the transport's SCTP
        send buffer was full (``sendBufferFull``), they exceeded its
        ``maxSctpMessageSize`` (``tooLarge``), or its association was down or the stream
        closed (``notSent``)."""
        stats = await self._native_stats()
        return [
            {
                "type": "data-consumer",
                "timestamp": int(time.time() * 1000),
                "label": self.label,
                "protocol": self.protocol,
                "messagesSent": stats["messagesSent"],
                "bytesSent": stats["bytesSent"],
                "bufferedAmount": stats["bufferedAmount"],
                "droppedMessages": stats["droppedMessages"],
            }
        ]

    def dump(self) -> dict[str, Any]:
        """Its state, mediasoup's way."""
        dump: dict[str, Any] = {
            "id": self._id,
            "dataProducerId": self.data_producer_id,
            "type": self._type,
            "label": self.label,
            "protocol": self.protocol,
            "paused": self._paused,
            "dataProducerPaused": self._data_producer_paused,
            "subchannels": list(self._subchannels),
        }
        if self._sctp_stream_parameters is not None:
            dump["sctpStreamParameters"] = self._sctp_stream_parameters
        return dump

    def close(self) -> None:
        """Closes it (its SCTP stream is reset)."""
        if self._closed:
            return
        worker = self._worker
        native = worker._native
        worker._send_unawaited(lambda request_id: native.close_data_consumer(request_id, self._id))
        self._close()

    def _close(self) -> None:
        self._closed = True
        self._transport._forget_data_consumer(self._id)
        self._data_producer._forget_consumer(self._id)
        self.observer.emit("close")

    def _on_data_producer_closed(self) -> None:
        if self._closed:
            return
        self._close()
        self.emit("dataproducerclose")

    def _on_worker_event(self, event: _core.DataConsumerEvent) -> None:
        name = event["event"]
        if name == "message":
            self.emit("message", event.get("message", b""), event.get("ppid"))
        elif name == "dataproducerclose":
            self._on_data_producer_closed()
        elif name in ("dataproducerpause", "dataproducerresume"):
            paused = name == "dataproducerpause"
            if self._data_producer_paused != paused:
                self._data_producer_paused = paused
                self.emit(name)
        elif name == "bufferedamountlow":
            self.emit(name, event.get("bufferedAmount", 0))
        elif name == "sctpsendbufferfull":
            self.emit(name)


async def create_data_consumer(
    transport: Transport,
    *,
    data_producer: DataProducer,
    stream_id: int | None,
    ordered: bool | None,
    max_packet_life_time: int | None,
    max_retransmits: int | None,
    paused: bool,
    subchannels: object,
    app_data: dict[str, Any] | None,
) -> DataConsumer:
    """A consumer of ``data_producer`` on ``transport``: SCTP on ``stream_id`` (which the
    transport chose) unless ``stream_id`` is ``None`` (a DirectTransport)."""
    stream: SctpStreamParameters | None = None
    if stream_id is not None:
        stream = data_consumer_sctp_stream_parameters(
            data_producer.sctp_stream_parameters,
            stream_id,
            ordered=ordered,
            max_packet_life_time=max_packet_life_time,
            max_retransmits=max_retransmits,
        )
    checked_subchannels = validate_subchannels(subchannels)
    if app_data is not None and not isinstance(app_data, dict):
        raise errors.MediasoupTypeError("app_data: must be a dict", "app_data")
    new_id = str(uuid.uuid4())
    worker = transport.router.worker
    native = worker._native
    await worker._request(
        lambda request_id: native.consume_data(
            request_id,
            transport_id=transport.id,
            data_consumer_id=new_id,
            data_producer_id=data_producer.id,
            stream_id=stream["streamId"] if stream else None,
            ordered=stream["ordered"] if stream else True,
            max_packet_life_time=stream.get("maxPacketLifeTime") if stream else None,
            max_retransmits=stream.get("maxRetransmits") if stream else None,
            paused=paused,
            subchannels=checked_subchannels,
        )
    )
    consumer = DataConsumer(
        transport,
        new_id,
        data_producer,
        "sctp" if stream is not None else "direct",
        stream,
        paused,
        checked_subchannels,
        app_data or {},
    )
    data_producer._add_consumer(consumer)
    transport._add_data_consumer(consumer)
    return consumer
