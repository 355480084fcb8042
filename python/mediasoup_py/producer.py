"""Producers: a client's audio or video track entering a router through a transport.

The router's payload types, header extension ids and SSRCs are what every consumer sees, so a
producer is mostly its mapping from the client's numbers to the router's (mediasoup's
``rtpMapping``), held by the worker, plus the "consumable" RTP parameters consumers are built
from.
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any, Literal, NotRequired, TypedDict

from mediasoup_py import _core, errors, ortc
from mediasoup_py.handle import TransportChild
from mediasoup_py.supported_rtp_capabilities import DEPENDENCY_DESCRIPTOR_URI

if TYPE_CHECKING:
    from mediasoup_py.consumer import Consumer
    from mediasoup_py.frames import FrameSender
    from mediasoup_py.rtp_parameters import RtpParameters
    from mediasoup_py.transport import Transport

__all__ = [
    "Producer",
    "ProducerScore",
    "ProducerTraceEventType",
    "ProducerType",
    "ProducerVideoOrientation",
    "create_producer",
    "trace_event_bits",
]

ProducerType = Literal["simple", "simulcast", "svc"]

ProducerTraceEventType = Literal["rtp", "keyframe", "nack", "pli", "fir"]

# The worker's bit for each trace event type.
_TRACE_BITS: dict[str, int] = {"rtp": 1, "keyframe": 2, "nack": 4, "pli": 8, "fir": 16}


def trace_event_bits(types: object) -> int:
    """The worker's set of trace event types (producers' and consumers' alike)."""
    if not isinstance(types, list):
        raise errors.MediasoupTypeError("types: must be a list", "types")
    bits = 0
    for index, kind in enumerate(types):
        if not isinstance(kind, str) or kind not in _TRACE_BITS:
            raise errors.MediasoupTypeError(
                f"types[{index}]: unknown trace event type {kind!r}", f"types[{index}]"
            )
        bits |= _TRACE_BITS[kind]
    return bits


class ProducerVideoOrientation(TypedDict):
    """A ``videoorientationchange``: how the sender's camera is held."""

    camera: bool
    flip: bool
    rotation: int


class ProducerScore(TypedDict):
    """The score (0-10) of one of a producer's streams, as mediasoup reports it."""

    encodingIdx: int
    ssrc: int
    rid: NotRequired[str]
    score: int


MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"
RID_URI = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
REPAIRED_RID_URI = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"
AUDIO_LEVEL_URI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
VIDEO_ORIENTATION_URI = "urn:3gpp:video-orientation"


def _producer_type(rtp_parameters: RtpParameters) -> ProducerType:
    encodings = rtp_parameters["encodings"]
    if len(encodings) > 1:
        return "simulcast"
    scalability_mode = encodings[0].get("scalabilityMode", "") if encodings else ""
    # "L3T3", "S2T1_KEY": more than one spatial layer in one stream is SVC.
    if len(scalability_mode) > 1 and scalability_mode[0] in "LS":
        spatial = scalability_mode[1:].split("T", 1)[0]
        if spatial.isdigit() and int(spatial) > 1:
            return "svc"
    return "simple"


def _extension_id(rtp_parameters: RtpParameters, uri: str) -> int | None:
    return next(
        (
            extension["id"]
            for extension in rtp_parameters["headerExtensions"]
            if extension["uri"] == uri
        ),
        None,
    )


class Producer(TransportChild):
    """A producer. Events: ``transportclose``, ``score``, ``videoorientationchange``,
    ``trace``. Observer events: ``close``, ``pause``, ``resume``, ``score``,
    ``videoorientationchange``, ``trace``."""

    _noun = "producer"

    def __init__(
        self,
        transport: Transport,
        producer_id: str,
        kind: Literal["audio", "video"],
        rtp_parameters: RtpParameters,
        consumable_rtp_parameters: RtpParameters,
        paused: bool,
        app_data: dict[str, Any],
    ) -> None:
        super().__init__(transport, producer_id, app_data)
        self._router_id = transport.router.id
        self._frame_sender: FrameSender | None = None
        self._kind: Literal["audio", "video"] = kind
        self._rtp_parameters = rtp_parameters
        self._consumable_rtp_parameters = consumable_rtp_parameters
        self._type = _producer_type(rtp_parameters)
        self._paused = paused
        # Per encoding index.
        self._score: dict[int, ProducerScore] = {}

    @property
    def kind(self) -> Literal["audio", "video"]:
        """``audio`` or ``video``."""
        return self._kind

    @property
    def rtp_parameters(self) -> RtpParameters:
        """The RTP parameters the client produces with (its payload types and ids)."""
        return self._rtp_parameters

    @property
    def consumable_rtp_parameters(self) -> RtpParameters:
        """The stream in router terms: what consumers' parameters are derived from."""
        return self._consumable_rtp_parameters

    @property
    def type(self) -> ProducerType:
        """``simple``, ``simulcast`` or ``svc``."""
        return self._type

    @property
    def paused(self) -> bool:
        """Whether the producer is paused (its consumers receive nothing)."""
        return self._paused

    @property
    def score(self) -> list[ProducerScore]:
        """The score of each of its streams (encodings) from what the worker receives (0-10:
        the delivered share of packets; a stream appears with its first report)."""
        return [self._score[index] for index in sorted(self._score)]

    def __repr__(self) -> str:
        return f"<Producer id={self._id} kind={self._kind} closed={self._closed}>"

    async def pause(self) -> None:
        """Stops forwarding to every consumer; their ``producerpause`` fires."""
        await self._set_paused(True)

    async def resume(self) -> None:
        """Forwards again (each consumer restarts on a keyframe); ``producerresume`` fires."""
        await self._set_paused(False)

    async def _set_paused(self, paused: bool) -> None:
        self._check_open()
        worker = self._worker
        native = worker._native
        await worker._request(
            lambda request_id: native.set_producer_paused(
                request_id, self._router_id, self._id, paused
            )
        )
        if self._paused == paused or self._closed:
            return
        self._paused = paused
        self.observer.emit("pause" if paused else "resume")
        for consumer in self._consumers():
            consumer._on_producer_paused(paused)

    async def enable_trace_event(self, types: list[ProducerTraceEventType]) -> None:
        """Emits ``trace`` events (mediasoup's shape: ``type``, ``timestamp``, ``direction``,
        ``info``) for these types: ``rtp`` and ``keyframe`` for received packets, ``nack``,
        ``pli`` and ``fir`` for feedback sent to the client. An empty list stops them."""
        self._check_open()
        bits = trace_event_bits(types)
        worker = self._worker
        native = worker._native
        await worker._request(
            lambda request_id: native.set_producer_trace(
                request_id, self._router_id, self._id, bits
            )
        )

    def send(self, packet: bytes) -> None:
        """Feeds an RTP packet to a producer on a DirectTransport, as its endpoint would."""
        from mediasoup_py.direct_transport import DirectTransport

        if not isinstance(self._transport, DirectTransport):
            raise errors.InvalidStateError("send() is for producers on a DirectTransport")
        self._check_open()
        self._transport._send_packet(packet, rtcp=False)

    async def send_frame(self, data: bytes, timestamp: int, *, keyframe: bool = False) -> None:
        """Publishes one encoded frame (opus, VP8, VP9, H264 Annex B, AV1 temporal unit)
        with this RTP timestamp from a producer on a DirectTransport: packetized, paced,
        with sender reports (see :class:`mediasoup_py.frames.FrameSender`)."""
        from mediasoup_py.direct_transport import DirectTransport
        from mediasoup_py.frames import FrameSender

        if not isinstance(self._transport, DirectTransport):
            raise errors.InvalidStateError("send_frame() is for producers on a DirectTransport")
        self._check_open()
        if self._frame_sender is None:
            self._frame_sender = FrameSender(self, self._transport)
        await self._frame_sender.send_frame(data, timestamp, keyframe=keyframe)

    async def get_stats(self) -> list[dict[str, Any]]:
        """mediasoup's ``inbound-rtp`` entries, one per stream (encoding), with the
        counters the worker keeps (mediasoup's fields, then ``unknownPayloadTypeCount``,
        mediasoup_py's own)."""
        self._check_open()
        worker = self._worker
        native = worker._native
        data = await worker._request(
            lambda request_id: native.get_producer_stats(request_id, self._router_id, self._id)
        )
        codec = self._consumable_rtp_parameters["codecs"][0]
        entries = []
        streams: list[_core.ProducerStreamStatsData] = data["stats"]
        for index, stats in enumerate(streams):
            encoding = self._rtp_parameters["encodings"][index]
            entry: dict[str, Any] = {
                "type": "inbound-rtp",
                "timestamp": int(time.time() * 1000),
            }
            if index in self._score:
                entry["ssrc"] = self._score[index]["ssrc"]
            elif "ssrc" in encoding:
                entry["ssrc"] = encoding["ssrc"]
            if stats["rtxSsrc"] is not None:
                entry["rtxSsrc"] = stats["rtxSsrc"]
            if "rid" in encoding:
                entry["rid"] = encoding["rid"]
            entry.update(
                {
                    "kind": self._kind,
                    "mimeType": codec["mimeType"],
                    **rtp_stream_counters(stats),
                    # mediasoup measures a producer's round trip only from RTCP XR (DLRR),
                    # which mediasoup_py does not exchange: 0, as mediasoup reports it
                    # without one.
                    "roundTripTime": 0,
                }
            )
            if stats["rtxDiscardedPacketCount"]:
                entry["rtxPacketsDiscarded"] = stats["rtxDiscardedPacketCount"]
            entry["score"] = self._score[index]["score"] if index in self._score else 0
            entry["packetCount"] = stats["packetCount"]
            entry["byteCount"] = stats["byteCount"]
            entry.update(_bitrates(stats["bitrateByLayer"], index, encoding))
            entry["unknownPayloadTypeCount"] = stats["unknownPayloadTypeCount"]
            entries.append(entry)
        return entries

    def close(self) -> None:
        """Closes the producer and every consumer of it (their ``producerclose`` fires)."""
        if self._closed:
            return
        native = self._worker._native
        self._worker._send_unawaited(
            lambda request_id: native.close_producer(request_id, self._router_id, self._id)
        )
        self._close()

    def _close(self) -> None:
        self._closed = True
        self._transport._forget_producer(self._id)
        for consumer in self._consumers():
            consumer._on_producer_closed()
        self.observer.emit("close")

    def _on_score(self, index: int, ssrc: int, score: int) -> None:
        entry: ProducerScore = {"encodingIdx": index, "ssrc": ssrc, "score": score}
        encoding = self._rtp_parameters["encodings"][index]
        if "rid" in encoding:
            entry["rid"] = encoding["rid"]
        self._score[index] = entry
        self.emit("score", self.score)
        self.observer.emit("score", self.score)
        for consumer in self._consumers():
            consumer._on_producer_score(self.score)

    def _on_worker_event(self, event: _core.ProducerEvent) -> None:
        if event["event"] == "score":
            self._on_score(event["encodingIndex"], event["ssrc"], event["score"])
        else:
            self.emit(event["event"], event["data"])
            self.observer.emit(event["event"], event["data"])

    def _consumers(self) -> list[Consumer]:
        """Its consumers, from the router's registry (pipe consumers included)."""
        return self._router._objects.consumers_of(self)


# How the worker lays out a stream's per-layer bitrates: [spatial * 4 + temporal].
_WORKER_TEMPORAL_LAYERS = 4


def _bitrates(by_layer: list[int], index: int, encoding: Any) -> dict[str, Any]:
    """mediasoup's ``bitrate`` and ``bitrateByLayer`` of one stream: per ``"spatial.temporal"``
    the bitrate of that layer and those it depends on (lower temporal layers, and for SVC lower
    spatial ones). A simulcast stream's spatial layer is its encoding index."""
    spatial_layers, temporal_layers = ortc.scalability_layers(encoding.get("scalabilityMode"))
    layers: dict[str, int] = {}
    for spatial in range(spatial_layers):
        for temporal in range(temporal_layers):
            key = f"{index + spatial}.{temporal}"
            layers[key] = sum(
                by_layer[s * _WORKER_TEMPORAL_LAYERS + t]
                for s in range(spatial + 1)
                for t in range(temporal + 1)
            )
    return {"bitrate": sum(by_layer), "bitrateByLayer": layers}


async def create_producer(
    transport: Transport,
    *,
    kind: object,
    rtp_parameters: object,
    producer_id: str | None,
    paused: bool,
    key_frame_request_delay: int,
    app_data: dict[str, Any] | None,
) -> Producer:
    """``transport.produce``: checks the parameters, maps them onto the router's
    capabilities and creates the producer in the worker."""
    if kind not in ("audio", "video"):
        raise errors.MediasoupTypeError("kind: must be 'audio' or 'video'", "kind")
    if (
        not isinstance(key_frame_request_delay, int)
        or isinstance(key_frame_request_delay, bool)
        or not 0 <= key_frame_request_delay <= 60_000
    ):
        raise errors.MediasoupTypeError(
            "key_frame_request_delay: must be an integer number of ms in 0..60000",
            "key_frame_request_delay",
        )
    parameters = ortc.validate_rtp_parameters(rtp_parameters)
    for index, codec in enumerate(parameters["codecs"]):
        if not codec["mimeType"].lower().startswith(f"{kind}/"):
            raise errors.MediasoupTypeError(
                f"rtp_parameters.codecs[{index}].mimeType: not a {kind} codec",
                f"rtp_parameters.codecs[{index}].mimeType",
            )
    router = transport.router
    if producer_id is None:
        producer_id = str(uuid.uuid4())
    elif router._producer(producer_id) is not None:
        raise errors.MediasoupTypeError(
            f"producer_id: a producer with id {producer_id!r} already exists", "producer_id"
        )
    for index, encoding in enumerate(parameters["encodings"]):
        ssrc = encoding.get("ssrc")
        if ssrc is not None and transport._ssrc_in_use(ssrc):
            raise errors.MediasoupTypeError(
                f"rtp_parameters.encodings[{index}].ssrc: SSRC {ssrc} is already used by "
                "another producer on this transport",
                f"rtp_parameters.encodings[{index}].ssrc",
            )
    parameters["rtcp"]["cname"] = transport._cname_for_producers(parameters["rtcp"].get("cname"))
    capabilities = router.rtp_capabilities
    mapping = ortc.get_producer_rtp_parameters_mapping(parameters, capabilities)
    consumable = ortc.get_consumable_rtp_parameters(kind, parameters, capabilities, mapping)

    codecs_by_payload_type = {codec["payloadType"]: codec for codec in parameters["codecs"]}
    router_codecs = {codec["preferredPayloadType"]: codec for codec in capabilities["codecs"]}
    payload_types = [
        (
            entry["payloadType"],
            entry["mappedPayloadType"],
            router_codecs[entry["mappedPayloadType"]]["mimeType"],
        )
        for entry in mapping["codecs"]
        if not codecs_by_payload_type[entry["payloadType"]]["mimeType"].lower().endswith("/rtx")
    ]
    router_extension_ids = {
        extension["uri"]: extension["preferredId"]
        for extension in capabilities["headerExtensions"]
        if extension["kind"] == kind
    }
    extension_ids = [
        (extension["id"], router_extension_ids[extension["uri"]])
        for extension in parameters["headerExtensions"]
        if extension["uri"] in router_extension_ids
    ]
    # One stream per encoding; a simulcast consumer picks among them.
    encodings: list[_core.EncodingSpec] = [
        {
            "ssrc": encoding.get("ssrc"),
            "rid": encoding.get("rid"),
            "rtx_ssrc": encoding.get("rtx", {}).get("ssrc"),
            "mapped_ssrc": mapped["mappedSsrc"],
        }
        for encoding, mapped in zip(parameters["encodings"], mapping["encodings"], strict=True)
    ]
    rtx_payload_types = [
        (codec["payloadType"], int(codec["parameters"]["apt"]))
        for codec in parameters["codecs"]
        if codec["mimeType"].lower().endswith("/rtx")
    ]
    media_feedback = next(
        codec["rtcpFeedback"]
        for codec in parameters["codecs"]
        if not codec["mimeType"].lower().endswith("/rtx")
    )

    def router_extension_id(uri: str) -> int | None:
        # The worker reads these after rewriting the packet to the router's ids.
        return router_extension_ids.get(uri) if _extension_id(parameters, uri) else None

    def negotiated(type_: str, parameter: str) -> bool:
        return any(
            feedback["type"] == type_ and feedback.get("parameter", "") == parameter
            for feedback in media_feedback
        )

    transport_cc_extension_id = (
        _extension_id(parameters, ortc.TRANSPORT_WIDE_CC_URI)
        if negotiated("transport-cc", "")
        else None
    )
    mid_extension_id = _extension_id(parameters, MID_URI)
    mid = parameters.get("mid")
    spec: _core.ProducerSpec = {
        "payload_types": payload_types,
        "extension_ids": extension_ids,
        "mid": None if mid_extension_id is None or mid is None else (mid_extension_id, mid),
        "rid_extension_id": _extension_id(parameters, RID_URI),
        "repaired_rid_extension_id": _extension_id(parameters, REPAIRED_RID_URI),
        "encodings": encodings,
        # Consumers answer NACKs from these; mediasoup retransmits video only.
        "store_for_retransmission": kind == "video",
        "clock_rate": consumable["codecs"][0]["clockRate"],
        "rtx_payload_types": rtx_payload_types,
        # As mediasoup: NACK the sender when its codec negotiated plain NACK.
        "generate_nacks": negotiated("nack", ""),
        "transport_cc_extension_id": transport_cc_extension_id,
        # Without transport-cc the sender estimates its bandwidth from our REMBs.
        "remb_abs_send_time_extension_id": (
            _extension_id(parameters, ortc.ABS_SEND_TIME_URI)
            if transport_cc_extension_id is None and negotiated("goog-remb", "")
            else None
        ),
        "audio_level_extension_id": router_extension_id(AUDIO_LEVEL_URI),
        "video_orientation_extension_id": router_extension_id(VIDEO_ORIENTATION_URI),
        "key_frame_request_delay_ms": key_frame_request_delay,
        # As mediasoup: PLI when the client takes it, else FIR.
        "use_fir": not negotiated("nack", "pli") and negotiated("ccm", "fir"),
        "dependency_descriptor_extension_id": router_extension_id(DEPENDENCY_DESCRIPTOR_URI),
    }
    worker = transport.router.worker
    native = worker._native
    producer_id_ = producer_id
    await worker._request(
        lambda request_id: native.produce(request_id, transport.id, producer_id_, spec, paused)
    )
    producer = Producer(
        transport, producer_id, kind, parameters, consumable, paused, app_data or {}
    )
    transport._add_producer(producer)
    return producer


def rtp_stream_counters(
    stats: _core.ProducerStreamStatsData | _core.ConsumerStatsData,
) -> dict[str, Any]:
    """mediasoup's RTP stream counters from the worker's, in mediasoup's order: the part a
    producer's ``inbound-rtp`` entry and a consumer's ``outbound-rtp`` entry share."""
    return {
        "packetsLost": stats["packetsLost"],
        "fractionLost": stats["fractionLost"],
        "jitter": stats["jitter"],
        "packetsDiscarded": stats["discardedPacketCount"],
        "packetsRetransmitted": stats["retransmittedPacketCount"],
        "packetsRepaired": stats["repairedPacketCount"],
        "nackCount": stats["nackCount"],
        "nackPacketCount": stats["nackPacketCount"],
        "pliCount": stats["keyFrameRequestCount"] - stats["firCount"],
        "firCount": stats["firCount"],
    }
