//! What `WorkerChannel.drain()` returns: each response and event as a dict of the shape
//! `_core.pyi` declares for it (mediasoup's field names), built with pythonize from the
//! structs here. Failed requests carry the exception `errors::request_error` made.

use mediasoup_core::dtls::DtlsState;
use mediasoup_core::ice::{IceParameters, TransportProtocol, TransportTuple};
use mediasoup_core::rtc::consumer::ConsumerStats;
use mediasoup_core::rtc::producer_stream::ProducerStats;
use mediasoup_core::rtc::producer_trace::{ProducerTrace, TraceInfo};
use mediasoup_core::worker::messages::{
    DataConsumerEvent, Response, RouterEvent, RtpObserverReport, TransportEvent, TransportStats,
    WorkerEvent, WorkerExit,
};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use serde::Serialize;

use crate::errors::request_error;

/// Converts a value to Python objects; a failure here is a bug in these structs.
fn python<'py>(py: Python<'py>, value: &impl Serialize) -> PyResult<Bound<'py, PyAny>> {
    pythonize::pythonize(py, value)
        .map_err(|error| pyo3::exceptions::PyRuntimeError::new_err(error.to_string()))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TupleOut {
    local_ip: String,
    local_address: String,
    local_port: u16,
    remote_ip: String,
    remote_port: u16,
    protocol: &'static str,
}

impl From<&TransportTuple> for TupleOut {
    fn from(tuple: &TransportTuple) -> Self {
        TupleOut {
            local_ip: tuple.local.ip().to_string(),
            local_address: tuple.local.ip().to_string(),
            local_port: tuple.local.port(),
            remote_ip: tuple.remote.ip().to_string(),
            remote_port: tuple.remote.port(),
            protocol: tuple.protocol.as_str(),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct IceParametersOut<'a> {
    username_fragment: &'a str,
    password: &'a str,
    ice_lite: bool,
}

impl<'a> From<&'a IceParameters> for IceParametersOut<'a> {
    fn from(parameters: &'a IceParameters) -> Self {
        IceParametersOut {
            username_fragment: &parameters.username_fragment,
            password: &parameters.password,
            ice_lite: true,
        }
    }
}

#[derive(Serialize)]
struct ListeningOut {
    protocol: &'static str,
    ip: String,
    port: u16,
}

fn listening(locals: &[(TransportProtocol, std::net::SocketAddr)]) -> Vec<ListeningOut> {
    locals
        .iter()
        .map(|(protocol, local)| ListeningOut {
            protocol: protocol.as_str(),
            ip: local.ip().to_string(),
            port: local.port(),
        })
        .collect()
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DroppedOut {
    stun: u64,
    dtls: u64,
    media_not_ready: u64,
    srtp: u64,
    unknown: u64,
    over_max_incoming_bitrate: u64,
    sctp_unexpected: u64,
}

/// What an SCTP association dropped of what arrived (mediasoup_py's own counters).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SctpIncomingDropsOut {
    not_connected: u64,
    malformed: u64,
    extra_init: u64,
    stream_out_of_range: u64,
    invalid_dcep: u64,
    unknown_ppid: u64,
    too_large: u64,
}

/// Messages an SCTP association refused to send (mediasoup_py's own counters).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SctpOutgoingDropsOut {
    send_buffer_full: u64,
    too_large: u64,
    not_connected: u64,
    stream_closed: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SctpDropsOut {
    incoming: SctpIncomingDropsOut,
    outgoing: SctpOutgoingDropsOut,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TransportStatsOut {
    datagrams_received: u64,
    bytes_received: u64,
    datagrams_sent: u64,
    bytes_sent: u64,
    rtp_packets_received: u64,
    rtcp_packets_received: u64,
    rtcp_packets_malformed: u64,
    packets_dropped_owner_behind: u64,
    recv_bitrate: u64,
    send_bitrate: u64,
    rtp_bytes_received: u64,
    rtp_recv_bitrate: u64,
    rtp_bytes_sent: u64,
    rtp_send_bitrate: u64,
    rtx_bytes_received: u64,
    rtx_recv_bitrate: u64,
    rtx_bytes_sent: u64,
    rtx_send_bitrate: u64,
    probation_bytes_sent: u64,
    probation_send_bitrate: u64,
    available_outgoing_bitrate: Option<u64>,
    available_incoming_bitrate: Option<u64>,
    max_incoming_bitrate: Option<u64>,
    max_outgoing_bitrate: Option<u64>,
    min_outgoing_bitrate: Option<u64>,
    rtp_packet_loss_received: Option<f64>,
    rtp_packet_loss_sent: Option<f64>,
    dropped_datagrams: DroppedOut,
    ice_state: Option<&'static str>,
    ice_selected_tuple: Option<TupleOut>,
    dtls_state: Option<&'static str>,
    tuple: Option<TupleOut>,
    rtcp_tuple: Option<TupleOut>,
    sctp_dropped_messages: Option<SctpDropsOut>,
}

impl From<&TransportStats> for TransportStatsOut {
    fn from(stats: &TransportStats) -> Self {
        let routing = &stats.routing;
        let traffic = &routing.traffic;
        // The application's bounds as mediasoup reports them: only those that are set.
        let (min_outgoing, max_outgoing) = routing.outgoing_bounds.unwrap_or((0, u64::MAX));
        TransportStatsOut {
            datagrams_received: stats.datagrams_received,
            bytes_received: stats.bytes_received,
            datagrams_sent: stats.datagrams_sent,
            bytes_sent: stats.bytes_sent,
            rtp_packets_received: stats.rtp_packets_received,
            rtcp_packets_received: stats.rtcp_packets_received,
            rtcp_packets_malformed: stats.rtcp_packets_malformed,
            packets_dropped_owner_behind: stats.packets_dropped_owner_behind,
            recv_bitrate: stats.bitrates.0,
            send_bitrate: stats.bitrates.1,
            rtp_bytes_received: traffic.rtp_received.bytes,
            rtp_recv_bitrate: traffic.rtp_received.bitrate,
            rtp_bytes_sent: traffic.rtp_sent.bytes,
            rtp_send_bitrate: traffic.rtp_sent.bitrate,
            rtx_bytes_received: traffic.rtx_received.bytes,
            rtx_recv_bitrate: traffic.rtx_received.bitrate,
            rtx_bytes_sent: traffic.rtx_sent.bytes,
            rtx_send_bitrate: traffic.rtx_sent.bitrate,
            // mediasoup's padding probes: mediasoup_py probes by trying one layer more
            // (`UpgradeTrials`), never with padding packets, so it sends none.
            probation_bytes_sent: 0,
            probation_send_bitrate: 0,
            available_outgoing_bitrate: routing.available_outgoing_bitrate,
            available_incoming_bitrate: routing.available_incoming_bitrate,
            max_incoming_bitrate: routing.max_incoming_bitrate,
            max_outgoing_bitrate: (max_outgoing < u64::MAX).then_some(max_outgoing),
            min_outgoing_bitrate: (min_outgoing > 0).then_some(min_outgoing),
            rtp_packet_loss_received: routing.rtp_packet_loss_received,
            rtp_packet_loss_sent: routing.rtp_packet_loss_sent,
            dropped_datagrams: DroppedOut {
                stun: stats.drops.stun,
                dtls: stats.drops.dtls,
                media_not_ready: stats.drops.media_not_ready,
                srtp: stats.drops.srtp,
                unknown: stats.drops.unknown,
                over_max_incoming_bitrate: routing.rtp_packets_over_max_incoming,
                sctp_unexpected: stats.drops.application_data,
            },
            ice_state: stats.ice_state.map(|state| state.as_str()),
            ice_selected_tuple: stats.ice_selected_tuple.as_ref().map(TupleOut::from),
            dtls_state: stats.dtls_state.map(DtlsState::as_str),
            tuple: stats.tuple.as_ref().map(TupleOut::from),
            rtcp_tuple: stats.rtcp_tuple.as_ref().map(TupleOut::from),
            sctp_dropped_messages: stats.sctp.map(|(incoming, outgoing)| SctpDropsOut {
                incoming: SctpIncomingDropsOut {
                    not_connected: incoming.not_connected,
                    malformed: incoming.malformed,
                    extra_init: incoming.extra_init,
                    stream_out_of_range: incoming.stream_out_of_range,
                    invalid_dcep: incoming.invalid_dcep,
                    unknown_ppid: incoming.unknown_ppid,
                    too_large: incoming.too_large,
                },
                outgoing: SctpOutgoingDropsOut {
                    send_buffer_full: outgoing.send_buffer_full,
                    too_large: outgoing.too_large,
                    not_connected: outgoing.not_connected,
                    stream_closed: outgoing.stream_closed,
                },
            }),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProducerStatsOut {
    packet_count: u64,
    byte_count: u64,
    unknown_payload_type_count: u64,
    key_frame_request_count: u64,
    fir_count: u64,
    repaired_packet_count: u64,
    retransmitted_packet_count: u64,
    discarded_packet_count: u64,
    rtx_discarded_packet_count: u64,
    nack_count: u64,
    nack_packet_count: u64,
    jitter: u32,
    packets_lost: i64,
    fraction_lost: u8,
    rtx_ssrc: Option<u32>,
    bitrate_by_layer: Vec<u64>,
}

impl From<&ProducerStats> for ProducerStatsOut {
    fn from(stats: &ProducerStats) -> Self {
        ProducerStatsOut {
            packet_count: stats.packets,
            byte_count: stats.bytes,
            unknown_payload_type_count: stats.unknown_payload_type,
            key_frame_request_count: stats.key_frame_requests,
            fir_count: stats.fir_requests,
            repaired_packet_count: stats.repaired_packets,
            retransmitted_packet_count: stats.retransmitted,
            discarded_packet_count: stats.discarded,
            rtx_discarded_packet_count: stats.rtx_discarded,
            nack_count: stats.nacks,
            nack_packet_count: stats.nacked_packets,
            jitter: stats.jitter,
            packets_lost: stats.packets_lost,
            fraction_lost: stats.fraction_lost,
            rtx_ssrc: stats.rtx_ssrc,
            bitrate_by_layer: stats.bitrate_by_layer.to_vec(),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ConsumerStatsOut {
    packet_count: u64,
    byte_count: u64,
    key_frame_request_count: u64,
    fir_count: u64,
    nack_count: u64,
    nack_packet_count: u64,
    retransmitted_packet_count: u64,
    repaired_packet_count: u64,
    retransmission_refused_count: u64,
    discarded_packet_count: u64,
    rtx_discarded_packet_count: u64,
    bitrate: u64,
    jitter: u32,
    round_trip_time: Option<f64>,
    fraction_lost: u8,
    packets_lost: i32,
    score: u8,
}

impl From<&ConsumerStats> for ConsumerStatsOut {
    fn from(stats: &ConsumerStats) -> Self {
        ConsumerStatsOut {
            packet_count: stats.packets,
            byte_count: stats.bytes,
            key_frame_request_count: stats.key_frame_requests,
            fir_count: stats.fir_requests,
            nack_count: stats.nacks,
            nack_packet_count: stats.nacked_packets,
            retransmitted_packet_count: stats.retransmitted_packets,
            repaired_packet_count: stats.repaired_packets,
            retransmission_refused_count: stats.retransmissions_refused,
            discarded_packet_count: stats.discarded,
            rtx_discarded_packet_count: stats.rtx_discarded,
            bitrate: stats.bitrate,
            jitter: stats.jitter,
            round_trip_time: stats.round_trip_time_ms,
            fraction_lost: stats.fraction_lost,
            packets_lost: stats.packets_lost,
            score: stats.score,
        }
    }
}

/// What a response carries, by request.
#[derive(Serialize)]
#[serde(untagged, rename_all_fields = "camelCase")]
enum ResponseOut<'a> {
    WebRtcTransportCreated {
        ice_parameters: IceParametersOut<'a>,
        listening: Vec<ListeningOut>,
    },
    Listening {
        listening: Vec<ListeningOut>,
    },
    PlainTransportCreated {
        local_ip: String,
        local_port: u16,
        rtcp_local_port: Option<u16>,
        #[serde(with = "serde_bytes")]
        srtp_key: Option<&'a [u8]>,
    },
    IceRestarted {
        ice_parameters: IceParametersOut<'a>,
    },
    TransportStats {
        stats: Box<TransportStatsOut>,
    },
    #[serde(rename_all = "snake_case")]
    ResourceUsage {
        ru_utime: u64,
        ru_stime: u64,
        ru_maxrss: u64,
        ru_nvcsw: u64,
        ru_nivcsw: u64,
    },
    ProducerStats {
        stats: Vec<ProducerStatsOut>,
    },
    ConsumerStats {
        stats: ConsumerStatsOut,
    },
    ConsumerDump {
        paused: bool,
        producer_paused: bool,
        priority: u8,
    },
    DataProducerStats {
        messages_received: u64,
        bytes_received: u64,
        dropped_messages: DataProducerDropsOut,
    },
    DataConsumerStats {
        messages_sent: u64,
        bytes_sent: u64,
        buffered_amount: usize,
        dropped_messages: DataConsumerDropsOut,
    },
    WorkerDump {
        router_ids: &'a [String],
        webrtc_server_ids: &'a [String],
        transport_ids: &'a [String],
    },
    RouterDump {
        transport_ids: &'a [String],
        /// Each producer's id with its consumers' ids.
        producers: Vec<ProducerConsumersOut<'a>>,
        rtp_observer_ids: &'a [String],
    },
    WebRtcServerDump {
        unrouted_datagrams: UnroutedOut,
        handed_over: u64,
        tuple_sockets: usize,
    },
    Done {},
}

/// Messages dropped before a DataProducer (mediasoup_py's own counters).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DataProducerDropsOut {
    too_large: u64,
    unknown_ppid: u64,
}

/// Messages a DataConsumer did not send (mediasoup_py's own counters).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DataConsumerDropsOut {
    send_buffer_full: u64,
    too_large: u64,
    not_sent: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProducerConsumersOut<'a> {
    producer_id: &'a str,
    consumer_ids: &'a [String],
}

#[derive(Serialize)]
struct UnroutedOut {
    stun: u64,
    dtls: u64,
    media: u64,
    unknown: u64,
}

fn response_out(response: &Response) -> ResponseOut<'_> {
    match response {
        Response::Done => ResponseOut::Done {},
        Response::WebRtcTransportCreated {
            ice_parameters,
            locals,
        } => ResponseOut::WebRtcTransportCreated {
            ice_parameters: ice_parameters.into(),
            listening: listening(locals),
        },
        Response::WebRtcServerCreated { locals } => ResponseOut::Listening {
            listening: listening(locals),
        },
        Response::PlainTransportCreated {
            local,
            rtcp_local,
            srtp_key,
        } => ResponseOut::PlainTransportCreated {
            local_ip: local.ip().to_string(),
            local_port: local.port(),
            rtcp_local_port: rtcp_local.map(|address| address.port()),
            srtp_key: srtp_key.as_deref(),
        },
        Response::IceRestarted(parameters) => ResponseOut::IceRestarted {
            ice_parameters: parameters.into(),
        },
        Response::TransportStats(stats) => ResponseOut::TransportStats {
            stats: Box::new(stats.as_ref().into()),
        },
        Response::ResourceUsage(usage) => ResponseOut::ResourceUsage {
            ru_utime: usage.ru_utime,
            ru_stime: usage.ru_stime,
            ru_maxrss: usage.ru_maxrss,
            ru_nvcsw: usage.ru_nvcsw,
            ru_nivcsw: usage.ru_nivcsw,
        },
        Response::ProducerStats(streams) => ResponseOut::ProducerStats {
            stats: streams.iter().map(ProducerStatsOut::from).collect(),
        },
        Response::ConsumerStats(stats) => ResponseOut::ConsumerStats {
            stats: stats.into(),
        },
        Response::ConsumerDump(dump) => ResponseOut::ConsumerDump {
            paused: dump.paused,
            producer_paused: dump.producer_paused,
            priority: dump.priority,
        },
        Response::DataProducerStats(stats) => ResponseOut::DataProducerStats {
            messages_received: stats.messages_received,
            bytes_received: stats.bytes_received,
            dropped_messages: DataProducerDropsOut {
                too_large: stats.dropped.too_large,
                unknown_ppid: stats.dropped.unknown_ppid,
            },
        },
        Response::DataConsumerStats {
            stats,
            buffered_amount,
        } => ResponseOut::DataConsumerStats {
            messages_sent: stats.messages_sent,
            bytes_sent: stats.bytes_sent,
            buffered_amount: *buffered_amount,
            dropped_messages: DataConsumerDropsOut {
                send_buffer_full: stats.dropped.send_buffer_full,
                too_large: stats.dropped.too_large,
                not_sent: stats.dropped.not_sent,
            },
        },
        Response::WorkerDump {
            router_ids,
            webrtc_server_ids,
            transport_ids,
        } => ResponseOut::WorkerDump {
            router_ids,
            webrtc_server_ids,
            transport_ids,
        },
        Response::RouterDump {
            transport_ids,
            dump,
        } => ResponseOut::RouterDump {
            transport_ids,
            producers: dump
                .producers
                .iter()
                .map(|(producer_id, consumer_ids)| ProducerConsumersOut {
                    producer_id,
                    consumer_ids,
                })
                .collect(),
            rtp_observer_ids: &dump.rtp_observer_ids,
        },
        Response::WebRtcServerDump {
            unrouted,
            handed_over,
            tuple_sockets,
        } => ResponseOut::WebRtcServerDump {
            unrouted_datagrams: UnroutedOut {
                stun: unrouted.stun,
                dtls: unrouted.dtls,
                media: unrouted.media,
                unknown: unrouted.unknown,
            },
            handed_over: *handed_over,
            tuple_sockets: *tuple_sockets,
        },
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RtpPacketOut {
    payload_type: u8,
    sequence_number: u16,
    timestamp: u32,
    marker: bool,
    ssrc: u32,
    is_key_frame: bool,
    size: usize,
    payload_size: usize,
}

#[derive(Serialize)]
#[serde(untagged, rename_all_fields = "camelCase")]
enum TraceInfoOut {
    Rtp {
        rtp_packet: RtpPacketOut,
        is_rtx: bool,
    },
    KeyFrameRequest {
        ssrc: u32,
        #[serde(skip_serializing_if = "Option::is_none")]
        sequence_number: Option<u8>,
    },
    Nack {
        ssrc: u32,
        lost: usize,
    },
}

/// A `trace` event's data, in mediasoup's shape.
#[derive(Serialize)]
struct TraceOut {
    r#type: &'static str,
    timestamp: u64,
    direction: &'static str,
    info: TraceInfoOut,
}

impl From<&ProducerTrace> for TraceOut {
    fn from(trace: &ProducerTrace) -> Self {
        let info = match &trace.info {
            TraceInfo::Rtp {
                payload_type,
                sequence_number,
                timestamp,
                marker,
                ssrc,
                is_key_frame,
                size,
                payload_size,
                is_rtx,
            } => TraceInfoOut::Rtp {
                rtp_packet: RtpPacketOut {
                    payload_type: *payload_type,
                    sequence_number: *sequence_number,
                    timestamp: *timestamp,
                    marker: *marker,
                    ssrc: *ssrc,
                    is_key_frame: *is_key_frame,
                    size: *size,
                    payload_size: *payload_size,
                },
                is_rtx: *is_rtx,
            },
            TraceInfo::KeyFrameRequest {
                ssrc,
                fir_sequence_number,
            } => TraceInfoOut::KeyFrameRequest {
                ssrc: *ssrc,
                sequence_number: *fir_sequence_number,
            },
            TraceInfo::Nack { ssrc, lost } => TraceInfoOut::Nack {
                ssrc: *ssrc,
                lost: *lost,
            },
        };
        TraceOut {
            r#type: trace.kind.name(),
            timestamp: trace.timestamp_ms,
            direction: if trace.incoming { "in" } else { "out" },
            info,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LayersOut {
    spatial_layer: u8,
    temporal_layer: u8,
}

#[derive(Serialize)]
struct OrientationOut {
    camera: bool,
    flip: bool,
    rotation: u16,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VolumeOut<'a> {
    producer_id: &'a str,
    volume: i8,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DominantSpeakerOut<'a> {
    producer_id: &'a str,
}

/// An event about a producer, consumer or observer of a router: `kind`, `routerId`, the
/// entity's id under its own key, `event`, and what the event says.
#[derive(Serialize)]
#[serde(untagged, rename_all_fields = "camelCase")]
enum RouterEventOut<'a> {
    ProducerScore {
        kind: &'static str,
        router_id: &'a str,
        producer_id: &'a str,
        event: &'static str,
        encoding_index: u8,
        ssrc: u32,
        score: u8,
    },
    ConsumerScore {
        kind: &'static str,
        router_id: &'a str,
        consumer_id: &'a str,
        event: &'static str,
        score: u8,
        producer_score: u8,
    },
    Producer {
        kind: &'static str,
        router_id: &'a str,
        producer_id: &'a str,
        event: &'static str,
        data: ProducerData,
    },
    Consumer {
        kind: &'static str,
        router_id: &'a str,
        consumer_id: &'a str,
        event: &'static str,
        data: Option<ConsumerData>,
    },
    RtpObserver {
        kind: &'static str,
        router_id: &'a str,
        rtp_observer_id: &'a str,
        event: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        data: Option<ObserverData<'a>>,
    },
}

#[derive(Serialize)]
#[serde(untagged)]
enum ProducerData {
    Orientation(OrientationOut),
    Trace(TraceOut),
}

#[derive(Serialize)]
#[serde(untagged)]
enum ConsumerData {
    Layers(LayersOut),
    Trace(TraceOut),
}

#[derive(Serialize)]
#[serde(untagged)]
enum ObserverData<'a> {
    Volumes(Vec<VolumeOut<'a>>),
    DominantSpeaker(DominantSpeakerOut<'a>),
}

fn router_event_out<'a>(router_id: &'a str, event: &'a RouterEvent) -> RouterEventOut<'a> {
    match event {
        RouterEvent::ProducerScore {
            producer_id,
            stream,
            ssrc,
            score,
        } => RouterEventOut::ProducerScore {
            kind: "producer",
            router_id,
            producer_id,
            event: "score",
            encoding_index: *stream,
            ssrc: ssrc.0,
            score: *score,
        },
        RouterEvent::ConsumerScore {
            consumer_id,
            score,
            producer_score,
        } => RouterEventOut::ConsumerScore {
            kind: "consumer",
            router_id,
            consumer_id,
            event: "score",
            score: *score,
            producer_score: *producer_score,
        },
        RouterEvent::VideoOrientationChange {
            producer_id,
            orientation,
        } => RouterEventOut::Producer {
            kind: "producer",
            router_id,
            producer_id,
            event: "videoorientationchange",
            data: ProducerData::Orientation(OrientationOut {
                camera: orientation.camera,
                flip: orientation.flip,
                rotation: orientation.rotation,
            }),
        },
        RouterEvent::ProducerTrace { producer_id, trace } => RouterEventOut::Producer {
            kind: "producer",
            router_id,
            producer_id,
            event: "trace",
            data: ProducerData::Trace(trace.into()),
        },
        RouterEvent::ConsumerTrace { consumer_id, trace } => RouterEventOut::Consumer {
            kind: "consumer",
            router_id,
            consumer_id,
            event: "trace",
            data: Some(ConsumerData::Trace(trace.into())),
        },
        RouterEvent::ConsumerLayersChange {
            consumer_id,
            layers,
        } => RouterEventOut::Consumer {
            kind: "consumer",
            router_id,
            consumer_id,
            event: "layerschange",
            data: layers.map(|layers| {
                ConsumerData::Layers(LayersOut {
                    spatial_layer: layers.spatial,
                    temporal_layer: layers.temporal,
                })
            }),
        },
        RouterEvent::RtpObserver {
            observer_id,
            report,
        } => {
            let (name, data) = match report {
                RtpObserverReport::Volumes(volumes) => (
                    "volumes",
                    Some(ObserverData::Volumes(
                        volumes
                            .iter()
                            .map(|(producer_id, volume)| VolumeOut {
                                producer_id,
                                volume: *volume,
                            })
                            .collect(),
                    )),
                ),
                RtpObserverReport::Silence => ("silence", None),
                RtpObserverReport::DominantSpeaker(producer_id) => (
                    "dominantspeaker",
                    Some(ObserverData::DominantSpeaker(DominantSpeakerOut {
                        producer_id,
                    })),
                ),
            };
            RouterEventOut::RtpObserver {
                kind: "rtpobserver",
                router_id,
                rtp_observer_id: observer_id,
                event: name,
                data,
            }
        }
    }
}

/// A transport's state change: `{"kind": "transport", "transportId", "event", "data"}`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TransportEventOut<'a> {
    kind: &'static str,
    transport_id: &'a str,
    event: &'static str,
    data: TransportData,
    #[serde(skip_serializing_if = "Option::is_none")]
    dtls_remote_cert: Option<Option<String>>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum TransportData {
    State(&'static str),
    Tuple(TupleOut),
}

fn transport_event_out<'a>(transport_id: &'a str, event: &TransportEvent) -> TransportEventOut<'a> {
    let (name, data, certificate) = match event {
        TransportEvent::IceStateChanged(state) => {
            ("icestatechange", TransportData::State(state.as_str()), None)
        }
        TransportEvent::IceSelectedTupleChanged(tuple) => (
            "iceselectedtuplechange",
            TransportData::Tuple(tuple.into()),
            None,
        ),
        TransportEvent::Tuple(tuple) => ("tuple", TransportData::Tuple(tuple.into()), None),
        TransportEvent::RtcpTuple(tuple) => ("rtcptuple", TransportData::Tuple(tuple.into()), None),
        TransportEvent::SctpStateChanged(state) => (
            "sctpstatechange",
            TransportData::State(state.as_str()),
            None,
        ),
        TransportEvent::DtlsStateChanged {
            state,
            remote_certificate_der,
            failure_reason: _,
        } => {
            let pem = remote_certificate_der
                .as_deref()
                .and_then(|der| openssl::x509::X509::from_der(der).ok())
                .and_then(|certificate| certificate.to_pem().ok())
                .map(|pem| String::from_utf8_lossy(&pem).into_owned());
            (
                "dtlsstatechange",
                TransportData::State(state.as_str()),
                Some(pem),
            )
        }
    };
    TransportEventOut {
        kind: "transport",
        transport_id,
        event: name,
        data,
        dtls_remote_cert: certificate,
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DirectPacketOut<'a> {
    kind: &'static str,
    transport_id: &'a str,
    rtcp: bool,
    #[serde(with = "serde_bytes")]
    packet: &'a [u8],
}

/// Something that happened to a DataConsumer: `{"kind": "dataconsumer", "dataConsumerId",
/// "event", ...}` with `bufferedAmount` for `bufferedamountlow`, `message` and `ppid` for
/// `message`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DataConsumerEventOut<'a> {
    kind: &'static str,
    data_consumer_id: &'a str,
    event: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    buffered_amount: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none", with = "serde_bytes")]
    message: Option<&'a [u8]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ppid: Option<u32>,
}

fn data_consumer_event_out<'a>(
    data_consumer_id: &'a str,
    event: &'a DataConsumerEvent,
) -> DataConsumerEventOut<'a> {
    let mut out = DataConsumerEventOut {
        kind: "dataconsumer",
        data_consumer_id,
        event: "",
        buffered_amount: None,
        message: None,
        ppid: None,
    };
    out.event = match event {
        DataConsumerEvent::DataProducerClosed => "dataproducerclose",
        DataConsumerEvent::DataProducerPaused(true) => "dataproducerpause",
        DataConsumerEvent::DataProducerPaused(false) => "dataproducerresume",
        DataConsumerEvent::BufferedAmountLow(amount) => {
            out.buffered_amount = Some(*amount);
            "bufferedamountlow"
        }
        DataConsumerEvent::SendBufferFull => "sctpsendbufferfull",
        DataConsumerEvent::Message { ppid, payload } => {
            out.message = Some(payload);
            out.ppid = Some(ppid.value());
            "message"
        }
    };
    out
}

#[derive(Serialize)]
struct LogOut<'a> {
    kind: &'static str,
    level: &'static str,
    tag: &'static str,
    message: &'a str,
}

#[derive(Serialize)]
struct ExitedOut<'a> {
    kind: &'static str,
    error: Option<&'a str>,
}

/// One response or event as the dict `_core.pyi` declares for it.
pub fn event_object<'py>(py: Python<'py>, event: &WorkerEvent) -> PyResult<Bound<'py, PyAny>> {
    match event {
        WorkerEvent::Response { id, result } => {
            let dict = PyDict::new(py);
            dict.set_item("kind", "response")?;
            dict.set_item("id", id)?;
            match result {
                Ok(response) => dict.set_item("data", python(py, &response_out(response))?)?,
                Err(error) => dict.set_item("error", request_error(error).into_value(py))?,
            }
            Ok(dict.into_any())
        }
        WorkerEvent::Transport {
            transport_id,
            event,
        } => python(py, &transport_event_out(transport_id, event)),
        WorkerEvent::Router { router_id, event } => python(py, &router_event_out(router_id, event)),
        WorkerEvent::DataConsumer {
            data_consumer_id,
            event,
        } => python(py, &data_consumer_event_out(data_consumer_id, event)),
        WorkerEvent::DirectPacket {
            transport_id,
            rtcp,
            packet,
        } => python(
            py,
            &DirectPacketOut {
                kind: "direct",
                transport_id,
                rtcp: *rtcp,
                packet,
            },
        ),
        WorkerEvent::Log {
            level,
            tag,
            message,
        } => python(
            py,
            &LogOut {
                kind: "log",
                level: level.as_str(),
                tag: tag.as_str(),
                message,
            },
        ),
        WorkerEvent::Exited(exit) => python(
            py,
            &ExitedOut {
                kind: "exited",
                error: match exit {
                    WorkerExit::Closed => None,
                    WorkerExit::Died(message) => Some(message),
                },
            },
        ),
    }
}
