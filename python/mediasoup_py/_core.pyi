"""Type stubs of the native module ``mediasoup_py._core`` (Rust, pyo3)."""

from typing import Any, Literal, NotRequired, TypedDict

from mediasoup_py.errors import MediasoupError

__version__: str

def classify_datagram(data: bytes) -> Literal["stun", "dtls", "rtp", "rtcp", "unknown"]: ...

class RtpPacket:
    def __init__(
        self,
        *,
        payload_type: int,
        sequence_number: int,
        timestamp: int,
        ssrc: int,
        marker: bool = False,
        csrcs: list[int] = ...,
        extensions: dict[int, bytes] | None = None,
        payload: bytes = b"",
        padding_len: int | None = None,
    ) -> None: ...
    @classmethod
    def parse(cls, data: bytes) -> RtpPacket: ...
    payload_type: int
    sequence_number: int
    timestamp: int
    ssrc: int
    marker: bool
    @property
    def csrcs(self) -> list[int]: ...
    @property
    def payload(self) -> bytes: ...
    @property
    def padding_len(self) -> int: ...
    @property
    def header_len(self) -> int: ...
    def header_extension(self, id: int) -> bytes | None: ...
    def header_extensions(self) -> dict[int, bytes]: ...
    def set_header_extension(self, id: int, value: bytes) -> None: ...
    def remove_header_extension(self, id: int) -> None: ...
    def remap_header_extension_ids(self, mapping: dict[int, int]) -> None: ...
    def rtx_encapsulate(self, payload_type: int, ssrc: int, sequence_number: int) -> RtpPacket: ...
    def rtx_decapsulate(self, payload_type: int, ssrc: int) -> RtpPacket: ...
    def is_keyframe(self, mime_type: str) -> bool: ...
    def to_bytes(self) -> bytes: ...
    def __bytes__(self) -> bytes: ...
    def __len__(self) -> int: ...

SRTP_PROFILES: list[str]

def srtp_key_and_salt_lengths(profile: str) -> tuple[int, int]: ...

class SrtpSession:
    def __init__(self, profile: str, key: bytes, salt: bytes) -> None: ...
    @property
    def profile(self) -> str: ...
    def protect(self, data: bytes) -> bytes: ...
    def unprotect(self, data: bytes) -> bytes: ...
    def protect_rtcp(self, data: bytes) -> bytes: ...
    def unprotect_rtcp(self, data: bytes) -> bytes: ...

class SctpAssociation:
    def __init__(
        self,
        *,
        os: int = 1024,
        mis: int = 1024,
        max_message_size: int = 262144,
        send_buffer_size: int = 262144,
    ) -> None: ...
    @property
    def state(self) -> str: ...
    def start(self, role: str) -> None: ...
    def handle_packet(self, packet: bytes, now: float) -> None: ...
    def handle_timeout(self, now: float) -> None: ...
    def poll_timeout(self) -> float | None: ...
    def poll_transmit(self, now: float) -> bytes | None: ...
    def poll_event(self) -> dict[str, Any] | None: ...
    def open_stream(
        self,
        stream_id: int,
        *,
        ordered: bool = True,
        max_packet_life_time: int | None = None,
        max_retransmits: int | None = None,
    ) -> None: ...
    def close_stream(self, stream_id: int) -> None: ...
    def send(self, stream_id: int, ppid: int, payload: bytes) -> None: ...
    def buffered_amount(self, stream_id: int) -> int: ...
    def set_buffered_amount_low_threshold(self, stream_id: int, threshold: int) -> None: ...
    def drops(self) -> dict[str, int]: ...
    def close(self) -> None: ...
    def is_released(self) -> bool: ...

def parse_rtcp(data: bytes) -> list[dict[str, object]]: ...
def serialize_rtcp(packets: object) -> bytes: ...

# What the worker is told about producers and consumers (see rust/binding/src/specs.rs).

class EncodingSpec(TypedDict):
    ssrc: int | None
    rid: str | None
    rtx_ssrc: int | None
    mapped_ssrc: int

class ProducerSpec(TypedDict):
    payload_types: list[tuple[int, int, str]]
    extension_ids: list[tuple[int, int]]
    mid: tuple[int, str] | None
    rid_extension_id: int | None
    repaired_rid_extension_id: int | None
    encodings: list[EncodingSpec]
    store_for_retransmission: bool
    clock_rate: int
    rtx_payload_types: list[tuple[int, int]]
    generate_nacks: bool
    transport_cc_extension_id: int | None
    remb_abs_send_time_extension_id: int | None
    audio_level_extension_id: int | None
    video_orientation_extension_id: int | None
    key_frame_request_delay_ms: int
    use_fir: bool
    dependency_descriptor_extension_id: int | None

class LayersSpec(TypedDict):
    svc: bool
    spatial_layers: int
    temporal_layers: int
    preferred_spatial_layer: int
    preferred_temporal_layer: int

class RtxSpec(TypedDict):
    ssrc: int
    payload_types: list[tuple[int, int]]

class ConsumerSpec(TypedDict):
    ssrc: int
    payload_types: list[int]
    extension_ids: list[int]
    mid: tuple[int, str] | None
    needs_key_frame: bool
    rtx: RtxSpec | None
    clock_rate: int
    cname: str
    transport_cc_extension_id: int | None
    mime_type: str
    layers: LayersSpec | None
    stream: int
    dependency_descriptor_extension_id: int | None

# What WorkerChannel.drain() returns (see rust/binding/src/events.rs).

class TupleData(TypedDict):
    localIp: str
    localAddress: str
    localPort: int
    remoteIp: str
    remotePort: int
    protocol: Literal["udp", "tcp"]

class ProducerStreamStatsData(TypedDict):
    """One producer stream's counters (``get_producer_stats``: ``stats`` is a list of these,
    by encoding). Bitrates in bits per second over 2.5 s; jitter in RTP timestamp units;
    ``fractionLost`` 0-255 (the last receiver report interval's)."""

    packetCount: int
    byteCount: int
    unknownPayloadTypeCount: int
    keyFrameRequestCount: int
    firCount: int
    repairedPacketCount: int
    retransmittedPacketCount: int
    discardedPacketCount: int
    rtxDiscardedPacketCount: int
    nackCount: int
    nackPacketCount: int
    jitter: int
    packetsLost: int
    fractionLost: int
    rtxSsrc: int | None
    bitrateByLayer: list[int]

class ConsumerStatsData(TypedDict):
    """A consumer's counters (``get_consumer_stats``: ``stats``). ``roundTripTime`` in ms,
    ``jitter``, ``fractionLost``, ``packetsLost`` and ``score`` from the endpoint's receiver
    reports; ``bitrate`` in bits per second over 2.5 s."""

    packetCount: int
    byteCount: int
    keyFrameRequestCount: int
    firCount: int
    nackCount: int
    nackPacketCount: int
    retransmittedPacketCount: int
    repairedPacketCount: int
    retransmissionRefusedCount: int
    discardedPacketCount: int
    rtxDiscardedPacketCount: int
    bitrate: int
    jitter: int
    roundTripTime: float | None
    fractionLost: int
    packetsLost: int
    score: int

class ConsumerDumpData(TypedDict):
    """A consumer's state in the worker (``dump_consumer``)."""

    paused: bool
    producerPaused: bool
    priority: int

class ResponseEvent(TypedDict):
    """The answer to a request: ``data`` (its shape depends on the request) or ``error``
    (the exception to raise)."""

    kind: Literal["response"]
    id: int
    data: NotRequired[dict[str, Any]]
    error: NotRequired[MediasoupError]

class TransportStateEvent(TypedDict):
    kind: Literal["transport"]
    transportId: str
    event: Literal["icestatechange", "dtlsstatechange", "sctpstatechange"]
    data: str
    dtlsRemoteCert: NotRequired[str | None]

class TransportTupleEvent(TypedDict):
    kind: Literal["transport"]
    transportId: str
    event: Literal["iceselectedtuplechange", "tuple", "rtcptuple"]
    data: TupleData

class ProducerScoreEvent(TypedDict):
    kind: Literal["producer"]
    routerId: str
    producerId: str
    event: Literal["score"]
    encodingIndex: int
    ssrc: int
    score: int

class VideoOrientationData(TypedDict):
    camera: bool
    flip: bool
    rotation: int

class VideoOrientationEvent(TypedDict):
    kind: Literal["producer"]
    routerId: str
    producerId: str
    event: Literal["videoorientationchange"]
    data: VideoOrientationData

class TraceData(TypedDict):
    type: Literal["rtp", "keyframe", "nack", "pli", "fir"]
    timestamp: int
    direction: Literal["in", "out"]
    info: dict[str, Any]

class ProducerTraceEvent(TypedDict):
    kind: Literal["producer"]
    routerId: str
    producerId: str
    event: Literal["trace"]
    data: TraceData

class ConsumerScoreEvent(TypedDict):
    kind: Literal["consumer"]
    routerId: str
    consumerId: str
    event: Literal["score"]
    score: int
    producerScore: int

class LayersData(TypedDict):
    spatialLayer: int
    temporalLayer: int

class ConsumerLayersEvent(TypedDict):
    kind: Literal["consumer"]
    routerId: str
    consumerId: str
    event: Literal["layerschange"]
    data: LayersData | None

class ConsumerTraceEvent(TypedDict):
    kind: Literal["consumer"]
    routerId: str
    consumerId: str
    event: Literal["trace"]
    data: TraceData

class VolumeData(TypedDict):
    producerId: str
    volume: int

class VolumesEvent(TypedDict):
    kind: Literal["rtpobserver"]
    routerId: str
    rtpObserverId: str
    event: Literal["volumes"]
    data: list[VolumeData]

class SilenceEvent(TypedDict):
    kind: Literal["rtpobserver"]
    routerId: str
    rtpObserverId: str
    event: Literal["silence"]

class DominantSpeakerData(TypedDict):
    producerId: str

class DominantSpeakerEvent(TypedDict):
    kind: Literal["rtpobserver"]
    routerId: str
    rtpObserverId: str
    event: Literal["dominantspeaker"]
    data: DominantSpeakerData

class DataConsumerEvent(TypedDict):
    """Something that happened to a DataConsumer: ``bufferedAmount`` with
    ``bufferedamountlow``, ``message`` and ``ppid`` with ``message``."""

    kind: Literal["dataconsumer"]
    dataConsumerId: str
    event: Literal[
        "dataproducerclose",
        "dataproducerpause",
        "dataproducerresume",
        "bufferedamountlow",
        "sctpsendbufferfull",
        "message",
    ]
    bufferedAmount: NotRequired[int]
    message: NotRequired[bytes]
    ppid: NotRequired[int]

class DirectPacketEvent(TypedDict):
    kind: Literal["direct"]
    transportId: str
    rtcp: bool
    packet: bytes

class LogEvent(TypedDict):
    kind: Literal["log"]
    level: Literal["debug", "warn", "error"]
    tag: str
    message: str

class ExitedEvent(TypedDict):
    kind: Literal["exited"]
    error: str | None

TransportEvent = TransportStateEvent | TransportTupleEvent
ProducerEvent = ProducerScoreEvent | VideoOrientationEvent | ProducerTraceEvent
ConsumerEvent = ConsumerScoreEvent | ConsumerLayersEvent | ConsumerTraceEvent
RtpObserverEvent = VolumesEvent | SilenceEvent | DominantSpeakerEvent
WorkerEvent = (
    ResponseEvent
    | TransportEvent
    | ProducerEvent
    | ConsumerEvent
    | RtpObserverEvent
    | DataConsumerEvent
    | DirectPacketEvent
    | LogEvent
    | ExitedEvent
)

class WorkerChannel:
    def __init__(
        self,
        *,
        name: str,
        rtc_min_port: int,
        rtc_max_port: int,
        log_level: str,
        log_tags: list[str],
        dtls_certificate_pem: bytes | None = None,
        dtls_private_key_pem: bytes | None = None,
    ) -> None: ...
    def fileno(self) -> int: ...
    def drain(self) -> list[WorkerEvent]: ...
    def queued_events(self) -> int: ...
    def dtls_fingerprints(self) -> list[dict[str, str]]: ...
    # The worker's own requests.
    def create_router(self, request_id: int, router_id: str) -> None: ...
    def create_webrtc_server(
        self,
        request_id: int,
        *,
        server_id: str,
        listens: list[tuple[str, tuple[int, int] | None, tuple[int, int] | None]],
    ) -> None: ...
    def join_webrtc_server(self, request_id: int, server_id: str) -> None: ...
    def rehome_webrtc_server(self, request_id: int, server_id: str) -> None: ...
    def update_settings(self, request_id: int, log_level: str, log_tags: list[str]) -> None: ...
    def get_resource_usage(self, request_id: int) -> None: ...
    def dump(self, request_id: int) -> None: ...
    def debug_panic(self, request_id: int) -> None: ...
    # WebRtcServers.
    def close_webrtc_server(self, request_id: int, server_id: str) -> None: ...
    def dump_webrtc_server(self, request_id: int, server_id: str) -> None: ...
    # Routers.
    def close_router(self, request_id: int, router_id: str) -> None: ...
    def dump_router(self, request_id: int, router_id: str) -> None: ...
    def create_webrtc_transport(
        self,
        request_id: int,
        *,
        router_id: str,
        transport_id: str,
        listens: list[tuple[str, tuple[int, int] | None, tuple[int, int] | None]] | None,
        ice_consent_timeout: float,
        webrtc_server_id: str | None = None,
        sctp: tuple[int, int, int, int] | None = None,
    ) -> None: ...
    def produce_data(
        self,
        request_id: int,
        *,
        transport_id: str,
        data_producer_id: str,
        stream_id: int | None,
        ordered: bool,
        max_packet_life_time: int | None,
        max_retransmits: int | None,
        paused: bool,
    ) -> None: ...
    def consume_data(
        self,
        request_id: int,
        *,
        transport_id: str,
        data_consumer_id: str,
        data_producer_id: str,
        stream_id: int | None,
        ordered: bool,
        max_packet_life_time: int | None,
        max_retransmits: int | None,
        paused: bool,
        subchannels: list[int],
    ) -> None: ...
    # Data producers and consumers.
    def close_data_producer(self, request_id: int, data_producer_id: str) -> None: ...
    def set_data_producer_paused(
        self, request_id: int, data_producer_id: str, paused: bool
    ) -> None: ...
    def get_data_producer_stats(self, request_id: int, data_producer_id: str) -> None: ...
    def send_data(
        self,
        request_id: int,
        data_producer_id: str,
        payload: bytes,
        ppid: int,
        subchannels: list[int],
        required_subchannel: int | None,
    ) -> None: ...
    def close_data_consumer(self, request_id: int, data_consumer_id: str) -> None: ...
    def set_data_consumer_paused(
        self, request_id: int, data_consumer_id: str, paused: bool
    ) -> None: ...
    def set_data_consumer_subchannels(
        self, request_id: int, data_consumer_id: str, subchannels: list[int]
    ) -> None: ...
    def set_data_consumer_buffered_amount_low_threshold(
        self, request_id: int, data_consumer_id: str, threshold: int
    ) -> None: ...
    def report_data_consumer_buffered_amount_low(
        self, request_id: int, data_consumer_id: str, reports: bool
    ) -> None: ...
    def get_data_consumer_stats(self, request_id: int, data_consumer_id: str) -> None: ...
    def create_plain_transport(
        self,
        request_id: int,
        *,
        router_id: str,
        transport_id: str,
        listen_ip: str,
        port: tuple[int, int],
        rtcp_mux: bool,
        comedia: bool,
        srtp_crypto_suite: str | None,
        sctp: tuple[int, int, int, int] | None = None,
    ) -> None: ...
    def create_direct_transport(
        self, request_id: int, router_id: str, transport_id: str
    ) -> None: ...
    def create_audio_level_observer(
        self,
        request_id: int,
        router_id: str,
        observer_id: str,
        max_entries: int,
        threshold: int,
        interval_ms: int,
    ) -> None: ...
    def create_active_speaker_observer(
        self, request_id: int, router_id: str, observer_id: str, interval_ms: int
    ) -> None: ...
    # Transports.
    def connect_webrtc_transport(
        self, request_id: int, *, transport_id: str, role: str, algorithm: str, fingerprint: str
    ) -> None: ...
    def connect_plain_transport(
        self,
        request_id: int,
        *,
        transport_id: str,
        ip: str | None,
        port: int | None,
        rtcp_port: int | None,
        srtp_key: bytes | None,
    ) -> None: ...
    def restart_ice(self, request_id: int, transport_id: str) -> None: ...
    def get_transport_stats(self, request_id: int, transport_id: str) -> None: ...
    def close_transport(self, request_id: int, transport_id: str) -> None: ...
    def set_transport_bitrates(
        self,
        request_id: int,
        transport_id: str,
        max_incoming: int,
        min_outgoing: int,
        max_outgoing: int,
    ) -> None: ...
    def send_direct_packet(
        self, request_id: int, transport_id: str, rtcp: bool, packet: bytes
    ) -> None: ...
    def produce(
        self,
        request_id: int,
        transport_id: str,
        producer_id: str,
        spec: ProducerSpec,
        paused: bool,
    ) -> None: ...
    def consume(
        self,
        request_id: int,
        transport_id: str,
        consumer_id: str,
        producer_id: str,
        spec: ConsumerSpec,
        paused: bool,
    ) -> None: ...
    # Producers.
    def set_producer_paused(
        self, request_id: int, router_id: str, producer_id: str, paused: bool
    ) -> None: ...
    def close_producer(self, request_id: int, router_id: str, producer_id: str) -> None: ...
    def get_producer_stats(self, request_id: int, router_id: str, producer_id: str) -> None: ...
    def set_producer_trace(
        self, request_id: int, router_id: str, producer_id: str, kinds: int
    ) -> None: ...
    # Consumers.
    def set_consumer_paused(
        self, request_id: int, router_id: str, consumer_id: str, paused: bool
    ) -> None: ...
    def set_consumer_preferred_layers(
        self,
        request_id: int,
        router_id: str,
        consumer_id: str,
        spatial_layer: int,
        temporal_layer: int,
    ) -> None: ...
    def set_consumer_priority(
        self, request_id: int, router_id: str, consumer_id: str, priority: int
    ) -> None: ...
    def set_consumer_trace(
        self, request_id: int, router_id: str, consumer_id: str, kinds: int
    ) -> None: ...
    def get_consumer_stats(self, request_id: int, router_id: str, consumer_id: str) -> None: ...
    def dump_consumer(self, request_id: int, router_id: str, consumer_id: str) -> None: ...
    def request_key_frame(self, request_id: int, router_id: str, consumer_id: str) -> None: ...
    def close_consumer(self, request_id: int, router_id: str, consumer_id: str) -> None: ...
    # RTP observers.
    def close_rtp_observer(self, request_id: int, router_id: str, observer_id: str) -> None: ...
    def set_rtp_observer_paused(
        self, request_id: int, router_id: str, observer_id: str, paused: bool
    ) -> None: ...
    def set_rtp_observer_producer(
        self, request_id: int, router_id: str, observer_id: str, producer_id: str, observed: bool
    ) -> None: ...
    def close(self) -> None: ...

class FrameAssembler:
    def __init__(
        self, mime_type: str, clock_rate: int, ssrc: int, max_reorder_delay: float = 0.15
    ) -> None: ...
    def push_rtp(self, packet: bytes, now: float) -> None: ...
    def push_rtcp(self, packet: bytes) -> None: ...
    def poll_frames(self) -> list[tuple[bytes, int, bool, int, int, float | None]]: ...
    def poll_keyframe_request(self) -> bool: ...
    def timeout(self) -> float | None: ...
    def handle_timeout(self, now: float) -> None: ...
    def counters(self) -> dict[str, int]: ...

class FramePacketizer:
    def __init__(
        self,
        mime_type: str,
        payload_type: int,
        ssrc: int,
        first_sequence_number: int,
        max_payload_size: int = 1100,
    ) -> None: ...
    def packetize(self, frame: bytes, timestamp: int, keyframe: bool) -> list[bytes]: ...
    def sender_report(self, unix_time: float, rtp_timestamp: int) -> bytes: ...
