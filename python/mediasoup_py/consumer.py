"""Consumers: one producer's track as one endpoint receives it, through that endpoint's
transport, with its own SSRC, MID and sequence numbers."""

from __future__ import annotations

import copy
import functools
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, TypedDict, cast

from mediasoup_py import _core, errors, ortc
from mediasoup_py.handle import TransportChild
from mediasoup_py.producer import (
    MID_URI,
    ProducerTraceEventType,
    ProducerType,
    rtp_stream_counters,
    trace_event_bits,
)
from mediasoup_py.supported_rtp_capabilities import DEPENDENCY_DESCRIPTOR_URI

if TYPE_CHECKING:
    from mediasoup_py.frames import FrameStream
    from mediasoup_py.producer import Producer
    from mediasoup_py.rtp_parameters import RtpParameters
    from mediasoup_py.transport import Transport

__all__ = ["Consumer", "ConsumerLayers", "ConsumerScore", "create_consumer"]


class ConsumerLayers(TypedDict):
    """Spatial and temporal layers of a simulcast consumer, as mediasoup names them."""

    spatialLayer: int
    temporalLayer: int


class ConsumerScore(TypedDict):
    """mediasoup's consumer score: of the stream it sends (from the endpoint's receiver
    reports) and of its producer's streams."""

    score: int
    producerScore: int
    producerScores: list[int]


class Consumer(TransportChild):
    """A consumer. Events: ``transportclose``, ``producerclose``, ``producerpause``,
    ``producerresume``, ``score``, ``layerschange`` (simulcast: the layers now sent, or
    ``None`` when nothing can be), ``trace``. Observer events: ``close``, ``pause``,
    ``resume``, ``score``, ``layerschange``, ``trace``."""

    _noun = "consumer"

    def __init__(
        self,
        transport: Transport,
        consumer_id: str,
        producer: Producer,
        rtp_parameters: RtpParameters,
        paused: bool,
        preferred_layers: ConsumerLayers | None,
        app_data: dict[str, Any],
        native_ids: list[str],
    ) -> None:
        super().__init__(transport, consumer_id, app_data)
        # The worker's consumers: one, or one per stream for a pipe consumer of simulcast.
        self._native_ids = native_ids
        self._producer = producer
        self._router_id = transport.router.id
        self._preferred_layers = preferred_layers
        self._current_layers: ConsumerLayers | None = None
        self._rtp_parameters = rtp_parameters
        self._paused = paused
        self._producer_paused = producer.paused
        self._priority = 1
        self._score: ConsumerScore = {
            "score": 10,
            "producerScore": 0,
            "producerScores": [entry["score"] for entry in producer.score],
        }

    @property
    def producer_id(self) -> str:
        """The id of the producer it consumes."""
        return self._producer.id

    @property
    def kind(self) -> Literal["audio", "video"]:
        """``audio`` or ``video``."""
        return self._producer.kind

    @property
    def rtp_parameters(self) -> RtpParameters:
        """What the endpoint receives: give these to the client's ``consume``."""
        return self._rtp_parameters

    @property
    def type(self) -> ProducerType:
        """The producer's type, as mediasoup reports it."""
        return self._producer.type

    @property
    def paused(self) -> bool:
        """Whether the consumer is paused."""
        return self._paused

    @property
    def preferred_layers(self) -> ConsumerLayers | None:
        """The layers a simulcast consumer aims at (``None`` for other consumers)."""
        return None if self._preferred_layers is None else {**self._preferred_layers}

    @property
    def current_layers(self) -> ConsumerLayers | None:
        """The layers a simulcast consumer sends now (``None`` before it starts, when
        nothing can be sent, and for other consumers)."""
        return None if self._current_layers is None else {**self._current_layers}

    @property
    def producer_paused(self) -> bool:
        """Whether its producer is paused."""
        return self._producer_paused

    @property
    def priority(self) -> int:
        """The priority set with ``set_priority`` (1 to 255)."""
        return self._priority

    @property
    def score(self) -> ConsumerScore:
        """Its score and its producer's (0-10 each)."""
        return {**self._score, "producerScores": list(self._score["producerScores"])}

    def __repr__(self) -> str:
        return f"<Consumer id={self._id} producer={self._producer.id} closed={self._closed}>"

    async def pause(self) -> None:
        """Stops sending to the endpoint."""
        await self._set_paused(True)

    async def resume(self) -> None:
        """Sends again, starting on a keyframe (video): one is requested from the producer."""
        await self._set_paused(False)

    async def _set_paused(self, paused: bool) -> None:
        self._check_open()
        native = self._worker._native
        await self._request_each(
            lambda request_id, native_id: native.set_consumer_paused(
                request_id, self._router_id, native_id, paused
            )
        )
        if self._paused == paused or self._closed:
            return
        self._paused = paused
        self.observer.emit("pause" if paused else "resume")

    async def set_preferred_layers(self, layers: ConsumerLayers) -> None:
        """A simulcast consumer's new target: the stream of ``spatialLayer`` (it switches at
        that stream's next keyframe, which it requests) with temporal layers up to
        ``temporalLayer`` (down at once, up at the next sync point). Values above what the
        producer sends are lowered to its highest."""
        self._check_open()
        if self._preferred_layers is None:
            raise errors.InvalidStateError(
                "set_preferred_layers() is for simulcast and SVC consumers"
            )
        preferred = _checked_layers(layers, "layers", self._producer)
        worker = self._worker
        native = worker._native
        await worker._request(
            lambda request_id: native.set_consumer_preferred_layers(
                request_id,
                self._router_id,
                self._id,
                preferred["spatialLayer"],
                preferred["temporalLayer"],
            )
        )
        self._preferred_layers = preferred

    async def enable_trace_event(self, types: list[ProducerTraceEventType]) -> None:
        """Emits ``trace`` events for these types: ``rtp`` and ``keyframe`` for packets sent
        to the endpoint, ``nack``, ``pli`` and ``fir`` for its feedback. An empty list stops
        them."""
        self._check_open()
        bits = trace_event_bits(types)
        native = self._worker._native
        await self._request_each(
            lambda request_id, native_id: native.set_consumer_trace(
                request_id, self._router_id, native_id, bits
            )
        )

    async def set_priority(self, priority: int) -> None:
        """Sets the share of the transport's bandwidth this consumer gets relative to
        others (1 to 255, mediasoup's range): when the estimate is short, simulcast and SVC
        consumers of higher priority get their layers first, climbing as many layer steps
        per turn as their priority."""
        if isinstance(priority, bool) or not isinstance(priority, int) or not 1 <= priority <= 255:
            raise errors.MediasoupTypeError("priority: must be an int in 1..255", "priority")
        self._check_open()
        native = self._worker._native
        await self._request_each(
            lambda request_id, native_id: native.set_consumer_priority(
                request_id, self._router_id, native_id, priority
            )
        )
        self._priority = priority

    async def unset_priority(self) -> None:
        """Back to priority 1."""
        await self.set_priority(1)

    def frames(self, *, max_queue: int = 64, max_reorder_delay: float = 0.15) -> FrameStream:
        """The encoded frames of a consumer on a DirectTransport, as an async iterator of
        :class:`mediasoup_py.frames.EncodedFrame` (at most ``max_queue`` waiting; older
        ones are dropped and counted when the reader lags)."""
        from mediasoup_py.direct_transport import DirectTransport
        from mediasoup_py.frames import FrameStream

        if not isinstance(self._transport, DirectTransport):
            raise errors.InvalidStateError("frames() is for consumers on a DirectTransport")
        self._check_open()
        return FrameStream(
            self, self._transport, max_queue=max_queue, max_reorder_delay=max_reorder_delay
        )

    async def explain(self) -> dict[str, Any]:
        """Why it sends what it sends (paused, producer layer inactive, bandwidth, keyframe
        pending...), from what the worker reports: a dict with ``reason`` and
        ``sentence`` (see :mod:`mediasoup_py.consumer_explanation`)."""
        from mediasoup_py.consumer_explanation import explain_consumer

        return await explain_consumer(self)

    async def request_key_frame(self) -> None:
        """Asks the producer's endpoint for a keyframe (PLI; at most one a second)."""
        self._check_open()
        native = self._worker._native
        await self._request_each(
            lambda request_id, native_id: native.request_key_frame(
                request_id, self._router_id, native_id
            )
        )

    async def dump(self) -> dict[str, Any]:
        """The consumer as its worker has it (part of mediasoup's ``dump()``): ids, kind,
        type and RTP parameters, with ``paused``, ``producerPaused`` and ``priority`` read
        from the worker (a pipe consumer of simulcast is paused when each of its worker
        consumers is; their priorities are one)."""
        self._check_open()
        worker = self._worker
        native = worker._native
        states: list[_core.ConsumerDumpData] = []
        for native_id in self._native_ids:
            response = await worker._request(
                functools.partial(
                    _with_id,
                    functools.partial(native.dump_consumer, router_id=self._router_id),
                    native_id,
                )
            )
            states.append(cast("_core.ConsumerDumpData", response))
        return {
            "id": self._id,
            "producerId": self._producer.id,
            "kind": self.kind,
            "type": self.type,
            "rtpParameters": copy.deepcopy(self._rtp_parameters),
            "paused": all(state["paused"] for state in states),
            "producerPaused": all(state["producerPaused"] for state in states),
            "priority": states[0]["priority"],
        }

    async def get_stats(self) -> list[dict[str, Any]]:
        """mediasoup's ``outbound-rtp`` entry of the stream sent to the endpoint (a pipe
        consumer of simulcast: one per stream), with the counters the worker keeps, followed
        by the producer's entries."""
        self._check_open()
        worker = self._worker
        native = worker._native
        entries = []
        for native_id, encoding in zip(
            self._native_ids, self._rtp_parameters["encodings"], strict=False
        ):
            data = await worker._request(
                functools.partial(
                    _with_id,
                    functools.partial(native.get_consumer_stats, router_id=self._router_id),
                    native_id,
                )
            )
            entries.append(self._stats_entry(encoding, data["stats"]))
        return [*entries, *(await self._producer.get_stats())]

    def _stats_entry(self, encoding: Any, stats: _core.ConsumerStatsData) -> dict[str, Any]:
        """mediasoup's fields in its order, then ``retransmissionRefusedCount``
        (mediasoup_py's own: NACKed packets not resent, over the retransmission budget)."""
        entry: dict[str, Any] = {
            "type": "outbound-rtp",
            "timestamp": int(time.time() * 1000),
            "ssrc": encoding["ssrc"],
        }
        if "rtx" in encoding:
            entry["rtxSsrc"] = encoding["rtx"]["ssrc"]
        entry.update(
            {
                "kind": self.kind,
                "mimeType": self._rtp_parameters["codecs"][0]["mimeType"],
                **rtp_stream_counters(stats),
                # In milliseconds, from the endpoint's receiver reports; 0 before one
                # answered a sender report (as mediasoup).
                "roundTripTime": stats["roundTripTime"] or 0,
            }
        )
        if stats["rtxDiscardedPacketCount"]:
            entry["rtxPacketsDiscarded"] = stats["rtxDiscardedPacketCount"]
        entry["score"] = stats["score"]
        entry["packetCount"] = stats["packetCount"]
        entry["byteCount"] = stats["byteCount"]
        entry["bitrate"] = stats["bitrate"]
        entry["retransmissionRefusedCount"] = stats["retransmissionRefusedCount"]
        return entry

    async def _request_each(self, send: Callable[[int, str], None]) -> None:
        """The same request to each of its worker consumers."""
        worker = self._worker
        for native_id in self._native_ids:
            for_id = functools.partial(_with_id_positional, send, native_id)
            await worker._request(for_id)

    def close(self) -> None:
        """Closes the consumer."""
        if self._closed:
            return
        native = self._worker._native
        for native_id in self._native_ids:
            self._worker._send_unawaited(
                functools.partial(
                    _with_id,
                    functools.partial(native.close_consumer, router_id=self._router_id),
                    native_id,
                )
            )
        self._close()

    def _close(self) -> None:
        self._closed = True
        self._transport._forget_consumer(self._id)
        self.observer.emit("close")

    def _on_producer_closed(self) -> None:
        if self._closed:
            return
        self._close()
        self.emit("producerclose")

    def _on_producer_paused(self, paused: bool) -> None:
        if self._producer_paused == paused:
            return
        self._producer_paused = paused
        self.emit("producerpause" if paused else "producerresume")

    def _on_worker_event(self, event: _core.ConsumerEvent) -> None:
        if event["event"] == "score":
            self._on_score(event["score"], event["producerScore"])
        elif event["event"] == "trace":
            self.emit("trace", event["data"])
            self.observer.emit("trace", event["data"])
        elif event["event"] == "layerschange":
            data = event["data"]
            layers: ConsumerLayers | None = (
                None
                if data is None
                else {"spatialLayer": data["spatialLayer"], "temporalLayer": data["temporalLayer"]}
            )
            self._current_layers = layers
            self.emit("layerschange", self.current_layers)
            self.observer.emit("layerschange", self.current_layers)

    def _on_score(self, score: int, producer_score: int) -> None:
        self._score = {**self._score, "score": score, "producerScore": producer_score}
        self.emit("score", self.score)
        self.observer.emit("score", self.score)

    def _on_producer_score(self, producer_scores: list[Any]) -> None:
        self._score = {**self._score, "producerScores": [e["score"] for e in producer_scores]}


def _with_id(send: Callable[..., None], native_id: str, request_id: int) -> None:
    """Sends a request about one of a consumer's worker consumers (``functools.partial``
    binds all but the request id)."""
    send(request_id, consumer_id=native_id)


def _with_id_positional(send: Callable[[int, str], None], native_id: str, request_id: int) -> None:
    """Sends a request built by a lambda over (request id, worker consumer id)."""
    send(request_id, native_id)


def _layer_counts(producer: Producer) -> tuple[int, int]:
    """The (spatial, temporal) layer counts of a simulcast or SVC producer: simulcast
    streams are its spatial layers, an SVC stream's are in its scalability mode."""
    encodings = producer.rtp_parameters["encodings"]
    spatial, temporal = ortc.scalability_layers(encodings[0].get("scalabilityMode"))
    if producer.type == "simulcast":
        spatial = len(encodings)
    return spatial, temporal


def _checked_layers(value: object, field: str, producer: Producer) -> ConsumerLayers:
    """``{"spatialLayer", "temporalLayer"}`` checked, with values clamped to the producer's
    layers and a missing temporal layer meaning the highest (as mediasoup)."""
    if not isinstance(value, dict):
        raise errors.MediasoupTypeError(f"{field}: must be a dict", field)
    spatial_layers, temporal_layers = _layer_counts(producer)

    def layer(name: str, default: int | None) -> int:
        found = value.get(name, default)
        if isinstance(found, bool) or not isinstance(found, int) or found < 0:
            raise errors.MediasoupTypeError(
                f"{field}.{name}: must be a non-negative int", f"{field}.{name}"
            )
        return found

    return {
        "spatialLayer": min(layer("spatialLayer", None), spatial_layers - 1),
        "temporalLayer": min(layer("temporalLayer", temporal_layers - 1), temporal_layers - 1),
    }


async def create_consumer(
    transport: Transport,
    *,
    producer_id: object,
    rtp_capabilities: object,
    paused: bool,
    mid: str | None,
    enable_rtx: bool | None,
    preferred_layers: object,
    pipe: bool,
    app_data: dict[str, Any] | None,
    announced: RtpParameters | None = None,
) -> Consumer:
    """``transport.consume``: the consumer's RTP parameters by mediasoup's rules, and the
    consumer in the worker. ``announced`` are parameters already computed for this
    producer and these capabilities and told to the client (the v2 protocol announces a
    consumer, SSRCs included, before the client gives it a transport)."""
    if not isinstance(producer_id, str):
        raise errors.MediasoupTypeError("producer_id: must be a string", "producer_id")
    producer = transport.router._producer(producer_id)
    if producer is None:
        raise errors.UnknownIdError(
            f"producer_id: producer with id {producer_id!r} not found", "producer_id"
        )
    if mid is not None and (not isinstance(mid, str) or not mid):
        raise errors.MediasoupTypeError("mid: must be a non-empty string", "mid")
    capabilities = ortc.validate_rtp_capabilities(rtp_capabilities)
    consumable = producer.consumable_rtp_parameters
    if announced is not None:
        rtp_parameters = copy.deepcopy(announced)
    elif pipe:
        rtp_parameters = ortc.get_pipe_consumer_rtp_parameters(consumable, bool(enable_rtx))
    else:
        if not ortc.can_consume(consumable, capabilities):
            raise errors.UnsupportedError(
                f"rtp_capabilities: cannot consume producer {producer_id!r} (no compatible codec)"
            )
        # mediasoup enables RTX for video consumers unless told otherwise.
        rtx = enable_rtx if enable_rtx is not None else producer.kind == "video"
        rtp_parameters = ortc.get_consumer_rtp_parameters(consumable, capabilities, False, rtx)
        rtp_parameters["mid"] = mid if mid is not None else transport._next_consumer_mid()
    mid_extension_id = next(
        (
            extension["id"]
            for extension in rtp_parameters["headerExtensions"]
            if extension["uri"] == MID_URI
        ),
        None,
    )
    consumer_mid = rtp_parameters.get("mid")
    encoding = rtp_parameters["encodings"][0]
    # A simulcast or SVC producer reaches a (non-pipe) consumer as layers it chooses among.
    layers: ConsumerLayers | None = None
    # The worker reads SVC layers from VP9's payload descriptor, and AV1's from the
    # dependency descriptor when the endpoint takes it; other SVC streams go out whole.
    dependency_descriptor_id = next(
        (
            extension["id"]
            for extension in rtp_parameters["headerExtensions"]
            if extension["uri"] == DEPENDENCY_DESCRIPTOR_URI
        ),
        None,
    )
    mime_type = rtp_parameters["codecs"][0]["mimeType"].lower()
    svc_readable = mime_type == "video/vp9" or (
        mime_type == "video/av1" and dependency_descriptor_id is not None
    )
    if not pipe and (producer.type == "simulcast" or (producer.type == "svc" and svc_readable)):
        spatial_layers, temporal_layers = _layer_counts(producer)
        layers = (
            _checked_layers(preferred_layers, "preferred_layers", producer)
            if preferred_layers is not None
            else {"spatialLayer": spatial_layers - 1, "temporalLayer": temporal_layers - 1}
        )
    layer_spec: _core.LayersSpec | None = None
    if layers is not None:
        spatial_layers, temporal_layers = _layer_counts(producer)
        layer_spec = {
            "svc": producer.type == "svc",
            "spatial_layers": spatial_layers,
            "temporal_layers": temporal_layers,
            "preferred_spatial_layer": layers["spatialLayer"],
            "preferred_temporal_layer": layers["temporalLayer"],
        }
    rtx_payload_types = [
        (int(codec["parameters"]["apt"]), codec["payloadType"])
        for codec in rtp_parameters["codecs"]
        if codec["mimeType"].lower().endswith("/rtx")
    ]
    consumer_id = str(uuid.uuid4())
    # A pipe consumer carries each of the producer's streams on its own SSRC: one worker
    # consumer per stream, the first under the consumer's id.
    encodings = rtp_parameters["encodings"] if pipe else [encoding]
    native_ids = [consumer_id, *(f"{consumer_id}/{index}" for index in range(1, len(encodings)))]
    worker = transport.router.worker
    native = worker._native
    for stream, (native_id, stream_encoding) in enumerate(zip(native_ids, encodings, strict=True)):
        rtx_ssrc = stream_encoding.get("rtx", {}).get("ssrc")
        spec: _core.ConsumerSpec = {
            "ssrc": stream_encoding["ssrc"],
            "payload_types": [
                codec["payloadType"]
                for codec in rtp_parameters["codecs"]
                if not codec["mimeType"].lower().endswith("/rtx")
            ],
            "extension_ids": [extension["id"] for extension in rtp_parameters["headerExtensions"]],
            "mid": (
                None
                if mid_extension_id is None or consumer_mid is None
                else (mid_extension_id, consumer_mid)
            ),
            "needs_key_frame": producer.kind == "video",
            "rtx": (
                None
                if rtx_ssrc is None or not rtx_payload_types
                else {"ssrc": rtx_ssrc, "payload_types": rtx_payload_types}
            ),
            "clock_rate": rtp_parameters["codecs"][0]["clockRate"],
            "cname": rtp_parameters["rtcp"].get("cname", ""),
            "transport_cc_extension_id": next(
                (
                    extension["id"]
                    for extension in rtp_parameters["headerExtensions"]
                    if extension["uri"] == ortc.TRANSPORT_WIDE_CC_URI
                ),
                None,
            ),
            "mime_type": rtp_parameters["codecs"][0]["mimeType"],
            "layers": layer_spec,
            "stream": stream,
            "dependency_descriptor_extension_id": dependency_descriptor_id,
        }
        await worker._request(
            functools.partial(
                native.consume,
                transport_id=transport.id,
                consumer_id=native_id,
                producer_id=producer.id,
                spec=spec,
                paused=paused,
            )
        )
    consumer = Consumer(
        transport,
        consumer_id,
        producer,
        rtp_parameters,
        paused,
        layers,
        app_data or {},
        native_ids,
    )
    transport._add_consumer(consumer)
    return consumer
