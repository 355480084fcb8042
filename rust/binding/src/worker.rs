//! `WorkerChannel`: Python's handle on one worker thread. Requests go in as typed method
//! calls carrying a request id; responses and events come out of `drain()` as dicts when the
//! eventfd from `fileno()` is readable (asyncio's `loop.add_reader`).

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use mediasoup_core::crypto::certificate::{DtlsCertificate, DtlsFingerprint, FingerprintAlgorithm};
use mediasoup_core::dtls::{DtlsContext, DtlsState};
use mediasoup_core::ice::{IceParameters, IceState, TransportProtocol, TransportTuple};
use mediasoup_core::packet::codecs::PayloadCodec;
use mediasoup_core::rtc::audio_level_observer::AudioLevelOptions;
use mediasoup_core::rtc::consumer::{ConsumerSpec, ConsumerStats, LayerSpec, RtxSpec};
use mediasoup_core::rtc::layer_selector::Layers;
use mediasoup_core::rtc::producer::{ProducerRtx, ProducerSpec, ProducerStats};
use mediasoup_core::rtc::producer_trace::{ProducerTrace, TraceInfo};
use mediasoup_core::rtc::webrtc_connection::{RemoteDtlsParameters, RemoteDtlsRole};
use mediasoup_core::srtp::SrtpProfile;
use mediasoup_core::worker::log::{LogFilter, LogLevel, LogTag};
use mediasoup_core::worker::messages::{
    Request, Response, RoutingNotice, RtpObserverOptions, RtpObserverReport, ScoreChange,
    TransportEvent, TransportStats, WebRtcListen, WorkerEvent, WorkerExit,
};
use mediasoup_core::worker::{PortChoice, WorkerHandle, WorkerSettings};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::errors::type_error;

pyo3::import_exception!(mediasoup_py.errors, InvalidStateError);

/// The certificate generated once per process when none is configured (mediasoup makes one
/// per worker process; threads share it).
fn process_certificate() -> Result<&'static DtlsCertificate, String> {
    static CERTIFICATE: OnceLock<Result<DtlsCertificate, String>> = OnceLock::new();
    CERTIFICATE
        .get_or_init(|| DtlsCertificate::generate().map_err(|error| error.to_string()))
        .as_ref()
        .map_err(Clone::clone)
}

fn ice_state_name(state: IceState) -> &'static str {
    state.as_str()
}

/// A producer `trace` event's data, in mediasoup's shape.
fn trace_dict<'py>(py: Python<'py>, trace: &ProducerTrace) -> PyResult<Bound<'py, PyDict>> {
    let data = PyDict::new(py);
    data.set_item("type", trace.kind.name())?;
    data.set_item("timestamp", trace.timestamp_ms)?;
    data.set_item("direction", if trace.incoming { "in" } else { "out" })?;
    let info = PyDict::new(py);
    match &trace.info {
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
        } => {
            let packet = PyDict::new(py);
            packet.set_item("payloadType", payload_type)?;
            packet.set_item("sequenceNumber", sequence_number)?;
            packet.set_item("timestamp", timestamp)?;
            packet.set_item("marker", marker)?;
            packet.set_item("ssrc", ssrc)?;
            packet.set_item("isKeyFrame", is_key_frame)?;
            packet.set_item("size", size)?;
            packet.set_item("payloadSize", payload_size)?;
            info.set_item("rtpPacket", packet)?;
            info.set_item("isRtx", is_rtx)?;
        }
        TraceInfo::KeyFrameRequest {
            ssrc,
            fir_sequence_number,
        } => {
            info.set_item("ssrc", ssrc)?;
            if let Some(sequence_number) = fir_sequence_number {
                info.set_item("sequenceNumber", sequence_number)?;
            }
        }
        TraceInfo::Nack { ssrc, lost } => {
            info.set_item("ssrc", ssrc)?;
            info.set_item("lost", lost)?;
        }
    }
    data.set_item("info", info)?;
    Ok(data)
}

fn tuple_dict<'py>(py: Python<'py>, tuple: &TransportTuple) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("localIp", tuple.local.ip().to_string())?;
    dict.set_item("localAddress", tuple.local.ip().to_string())?;
    dict.set_item("localPort", tuple.local.port())?;
    dict.set_item("remoteIp", tuple.remote.ip().to_string())?;
    dict.set_item("remotePort", tuple.remote.port())?;
    dict.set_item("protocol", tuple.protocol.as_str())?;
    Ok(dict)
}

fn ice_parameters_dict<'py>(
    py: Python<'py>,
    parameters: &IceParameters,
) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("usernameFragment", &parameters.username_fragment)?;
    dict.set_item("password", &parameters.password)?;
    dict.set_item("iceLite", true)?;
    Ok(dict)
}

fn stats_dict<'py>(py: Python<'py>, stats: &TransportStats) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("datagramsReceived", stats.datagrams_received)?;
    dict.set_item("bytesReceived", stats.bytes_received)?;
    dict.set_item("datagramsSent", stats.datagrams_sent)?;
    dict.set_item("bytesSent", stats.bytes_sent)?;
    dict.set_item("rtpPacketsReceived", stats.rtp_packets_received)?;
    dict.set_item("rtcpPacketsReceived", stats.rtcp_packets_received)?;
    dict.set_item("rtcpPacketsMalformed", stats.rtcp_packets_malformed)?;
    dict.set_item("availableOutgoingBitrate", stats.available_outgoing_bitrate)?;
    let drops = PyDict::new(py);
    drops.set_item("stun", stats.drops.stun)?;
    drops.set_item("dtls", stats.drops.dtls)?;
    drops.set_item("mediaNotReady", stats.drops.media_not_ready)?;
    drops.set_item("srtp", stats.drops.srtp)?;
    drops.set_item("unknown", stats.drops.unknown)?;
    drops.set_item(
        "overMaxIncomingBitrate",
        stats.rtp_packets_over_max_incoming_bitrate,
    )?;
    dict.set_item("droppedDatagrams", drops)?;
    dict.set_item("iceState", stats.ice_state.map(ice_state_name))?;
    dict.set_item(
        "iceSelectedTuple",
        stats
            .ice_selected_tuple
            .as_ref()
            .map(|tuple| tuple_dict(py, tuple))
            .transpose()?,
    )?;
    dict.set_item("dtlsState", stats.dtls_state.map(DtlsState::as_str))?;
    dict.set_item(
        "tuple",
        stats
            .tuple
            .as_ref()
            .map(|tuple| tuple_dict(py, tuple))
            .transpose()?,
    )?;
    dict.set_item(
        "rtcpTuple",
        stats
            .rtcp_tuple
            .as_ref()
            .map(|tuple| tuple_dict(py, tuple))
            .transpose()?,
    )?;
    Ok(dict)
}

fn listening_list<'py>(
    py: Python<'py>,
    locals: &[(TransportProtocol, std::net::SocketAddr)],
) -> PyResult<Bound<'py, PyList>> {
    let listening = PyList::empty(py);
    for (protocol, local) in locals {
        let entry = PyDict::new(py);
        entry.set_item("protocol", protocol.as_str())?;
        entry.set_item("ip", local.ip().to_string())?;
        entry.set_item("port", local.port())?;
        listening.append(entry)?;
    }
    Ok(listening)
}

fn producer_stats_dict<'py>(
    py: Python<'py>,
    stats: &ProducerStats,
) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("packetCount", stats.packets)?;
    dict.set_item("byteCount", stats.bytes)?;
    dict.set_item("unknownPayloadTypeCount", stats.unknown_payload_type)?;
    dict.set_item("keyFrameRequestCount", stats.key_frame_requests)?;
    dict.set_item("repairedPacketCount", stats.repaired_packets)?;
    dict.set_item("nackCount", stats.nacks)?;
    dict.set_item("nackPacketCount", stats.nacked_packets)?;
    dict.set_item("bitrateByLayer", stats.bitrate_by_layer.to_vec())?;
    Ok(dict)
}

fn consumer_stats_dict<'py>(
    py: Python<'py>,
    stats: &ConsumerStats,
) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("packetCount", stats.packets)?;
    dict.set_item("byteCount", stats.bytes)?;
    dict.set_item("keyFrameRequestCount", stats.key_frame_requests)?;
    dict.set_item("nackCount", stats.nacks)?;
    dict.set_item("nackPacketCount", stats.nacked_packets)?;
    dict.set_item("retransmittedPacketCount", stats.retransmitted_packets)?;
    dict.set_item("retransmissionRefusedCount", stats.retransmissions_refused)?;
    dict.set_item("roundTripTime", stats.round_trip_time_ms)?;
    dict.set_item("fractionLost", stats.fraction_lost)?;
    dict.set_item("packetsLost", stats.packets_lost)?;
    dict.set_item("score", stats.score)?;
    Ok(dict)
}

fn response_dict<'py>(py: Python<'py>, response: &Response) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    match response {
        Response::Done => {}
        Response::WebRtcTransportCreated {
            ice_parameters,
            locals,
        } => {
            dict.set_item("iceParameters", ice_parameters_dict(py, ice_parameters)?)?;
            dict.set_item("listening", listening_list(py, locals)?)?;
        }
        Response::WebRtcServerCreated { locals } => {
            dict.set_item("listening", listening_list(py, locals)?)?;
        }
        Response::PlainTransportCreated {
            local,
            rtcp_local,
            srtp_key,
        } => {
            dict.set_item("localIp", local.ip().to_string())?;
            dict.set_item("localPort", local.port())?;
            dict.set_item("rtcpLocalPort", rtcp_local.map(|address| address.port()))?;
            dict.set_item(
                "srtpKey",
                srtp_key
                    .as_deref()
                    .map(|key| pyo3::types::PyBytes::new(py, key)),
            )?;
        }
        Response::IceRestarted(parameters) => {
            dict.set_item("iceParameters", ice_parameters_dict(py, parameters)?)?;
        }
        Response::TransportStats(stats) => {
            dict.set_item("stats", stats_dict(py, stats)?)?;
        }
        Response::ResourceUsage(usage) => {
            dict.set_item("ru_utime", usage.ru_utime)?;
            dict.set_item("ru_stime", usage.ru_stime)?;
            dict.set_item("ru_maxrss", usage.ru_maxrss)?;
            dict.set_item("ru_nvcsw", usage.ru_nvcsw)?;
            dict.set_item("ru_nivcsw", usage.ru_nivcsw)?;
        }
        Response::ProducerStats(streams) => {
            let list = PyList::empty(py);
            for stats in streams {
                list.append(producer_stats_dict(py, stats)?)?;
            }
            dict.set_item("stats", list)?;
        }
        Response::ConsumerStats(stats) => {
            dict.set_item("stats", consumer_stats_dict(py, stats)?)?;
        }
        Response::Dump { transport_ids } => {
            dict.set_item("transportIds", transport_ids.clone())?;
        }
        Response::WebRtcServerDump { unrouted } => {
            let counters = PyDict::new(py);
            counters.set_item("stun", unrouted.stun)?;
            counters.set_item("dtls", unrouted.dtls)?;
            counters.set_item("media", unrouted.media)?;
            counters.set_item("unknown", unrouted.unknown)?;
            dict.set_item("unroutedDatagrams", counters)?;
        }
    }
    Ok(dict)
}

fn event_dict<'py>(py: Python<'py>, event: &WorkerEvent) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    match event {
        WorkerEvent::Response { id, result } => {
            dict.set_item("kind", "response")?;
            dict.set_item("id", id)?;
            match result {
                Ok(response) => dict.set_item("data", response_dict(py, response)?)?,
                Err(error) => dict.set_item("error", error)?,
            }
        }
        WorkerEvent::Transport {
            transport_id,
            event,
        } => {
            dict.set_item("kind", "transport")?;
            dict.set_item("transportId", transport_id)?;
            match event {
                TransportEvent::IceStateChanged(state) => {
                    dict.set_item("event", "icestatechange")?;
                    dict.set_item("data", state.as_str())?;
                }
                TransportEvent::Tuple(tuple) => {
                    dict.set_item("event", "tuple")?;
                    dict.set_item("data", tuple_dict(py, tuple)?)?;
                }
                TransportEvent::RtcpTuple(tuple) => {
                    dict.set_item("event", "rtcptuple")?;
                    dict.set_item("data", tuple_dict(py, tuple)?)?;
                }
                TransportEvent::IceSelectedTupleChanged(tuple) => {
                    dict.set_item("event", "iceselectedtuplechange")?;
                    dict.set_item("data", tuple_dict(py, tuple)?)?;
                }
                TransportEvent::DtlsStateChanged {
                    state,
                    remote_certificate_der,
                    failure_reason: _,
                } => {
                    dict.set_item("event", "dtlsstatechange")?;
                    dict.set_item("data", state.as_str())?;
                    let pem = remote_certificate_der
                        .as_deref()
                        .and_then(|der| openssl::x509::X509::from_der(der).ok())
                        .and_then(|certificate| certificate.to_pem().ok())
                        .map(|pem| String::from_utf8_lossy(&pem).into_owned());
                    dict.set_item("dtlsRemoteCert", pem)?;
                }
            }
        }
        WorkerEvent::Score(ScoreChange::Producer {
            id,
            stream,
            ssrc,
            score,
        }) => {
            dict.set_item("kind", "producer")?;
            dict.set_item("producerId", id)?;
            dict.set_item("event", "score")?;
            dict.set_item("encodingIndex", stream)?;
            dict.set_item("ssrc", ssrc)?;
            dict.set_item("score", score)?;
        }
        WorkerEvent::Score(ScoreChange::Consumer {
            id,
            score,
            producer_score,
        }) => {
            dict.set_item("kind", "consumer")?;
            dict.set_item("consumerId", id)?;
            dict.set_item("event", "score")?;
            dict.set_item("score", score)?;
            dict.set_item("producerScore", producer_score)?;
        }
        WorkerEvent::Routing(RoutingNotice::VideoOrientationChange {
            producer_id,
            orientation,
        }) => {
            dict.set_item("kind", "producer")?;
            dict.set_item("producerId", producer_id)?;
            dict.set_item("event", "videoorientationchange")?;
            let data = PyDict::new(py);
            data.set_item("camera", orientation.camera)?;
            data.set_item("flip", orientation.flip)?;
            data.set_item("rotation", orientation.rotation)?;
            dict.set_item("data", data)?;
        }
        WorkerEvent::Routing(RoutingNotice::ConsumerLayersChange {
            consumer_id,
            layers,
        }) => {
            dict.set_item("kind", "consumer")?;
            dict.set_item("consumerId", consumer_id)?;
            dict.set_item("event", "layerschange")?;
            match layers {
                Some(layers) => {
                    let data = PyDict::new(py);
                    data.set_item("spatialLayer", layers.spatial)?;
                    data.set_item("temporalLayer", layers.temporal)?;
                    dict.set_item("data", data)?;
                }
                None => dict.set_item("data", py.None())?,
            }
        }
        WorkerEvent::Routing(RoutingNotice::ConsumerTrace { consumer_id, trace }) => {
            dict.set_item("kind", "consumer")?;
            dict.set_item("consumerId", consumer_id)?;
            dict.set_item("event", "trace")?;
            dict.set_item("data", trace_dict(py, trace)?)?;
        }
        WorkerEvent::Routing(RoutingNotice::Trace { producer_id, trace }) => {
            dict.set_item("kind", "producer")?;
            dict.set_item("producerId", producer_id)?;
            dict.set_item("event", "trace")?;
            dict.set_item("data", trace_dict(py, trace)?)?;
        }
        WorkerEvent::Routing(RoutingNotice::RtpObserver {
            observer_id,
            report,
        }) => {
            dict.set_item("kind", "rtpobserver")?;
            dict.set_item("rtpObserverId", observer_id)?;
            match report {
                RtpObserverReport::Volumes(volumes) => {
                    dict.set_item("event", "volumes")?;
                    let list = PyList::empty(py);
                    for (producer_id, volume) in volumes {
                        let entry = PyDict::new(py);
                        entry.set_item("producerId", producer_id)?;
                        entry.set_item("volume", volume)?;
                        list.append(entry)?;
                    }
                    dict.set_item("data", list)?;
                }
                RtpObserverReport::Silence => dict.set_item("event", "silence")?,
                RtpObserverReport::DominantSpeaker(producer_id) => {
                    dict.set_item("event", "dominantspeaker")?;
                    let data = PyDict::new(py);
                    data.set_item("producerId", producer_id)?;
                    dict.set_item("data", data)?;
                }
            }
        }
        WorkerEvent::DirectPacket {
            transport_id,
            rtcp,
            packet,
        } => {
            dict.set_item("kind", "direct")?;
            dict.set_item("transportId", transport_id)?;
            dict.set_item("rtcp", rtcp)?;
            dict.set_item("packet", pyo3::types::PyBytes::new(py, packet))?;
        }
        WorkerEvent::Log {
            level,
            tag,
            message,
        } => {
            dict.set_item("kind", "log")?;
            dict.set_item("level", level.as_str())?;
            dict.set_item("tag", tag.as_str())?;
            dict.set_item("message", message)?;
        }
        WorkerEvent::Exited(exit) => {
            dict.set_item("kind", "exited")?;
            match exit {
                WorkerExit::Closed => dict.set_item("error", py.None())?,
                WorkerExit::Died(message) => dict.set_item("error", message)?,
            }
        }
    }
    Ok(dict)
}

/// A listen info's port as Python passes it: (0, 0) for the worker's range, (p, p) for
/// `port`, (min, max) for `portRange`.
fn port_choice(range: (u16, u16)) -> PortChoice {
    match range {
        (0, 0) => PortChoice::WorkerRange,
        (min, max) if min == max => PortChoice::Fixed(min),
        (min, max) => PortChoice::Within(min, max),
    }
}

/// mediasoup's `logLevel` and `logTags`, checked.
fn log_filter(level: &str, tags: &[String]) -> PyResult<LogFilter> {
    let level = LogLevel::from_name(level).ok_or_else(|| {
        type_error(
            "log_level",
            format!("{level:?} is not one of debug, warn, error, none"),
        )
    })?;
    let tags = tags
        .iter()
        .map(|tag| {
            LogTag::from_name(tag).ok_or_else(|| {
                type_error("log_tags", format!("{tag:?} is not a mediasoup log tag"))
            })
        })
        .collect::<PyResult<Vec<_>>>()?;
    Ok(LogFilter::new(level, tags))
}

/// A producer's RTX stream as Python passes it: (SSRC if signaled, [(RTX PT, media PT)]).
/// One encoding of a producer: (SSRC if signaled, RID if any, RTX SSRC if signaled, the
/// SSRC consumers see).
type EncodingArgument = (Option<u32>, Option<String>, Option<u32>, u32);

/// One worker thread, as the Python `Worker` drives it.
#[pyclass(module = "mediasoup_py._core", name = "WorkerChannel")]
pub struct PyWorkerChannel {
    /// Dropped at `close()`, so a closed worker holds no descriptors even while Python
    /// still references it.
    handle: Option<WorkerHandle>,
    fingerprints: Vec<DtlsFingerprint>,
}

impl std::fmt::Debug for PyWorkerChannel {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("WorkerChannel")
            .finish_non_exhaustive()
    }
}

impl PyWorkerChannel {
    fn handle(&self) -> PyResult<&WorkerHandle> {
        self.handle
            .as_ref()
            .ok_or_else(|| InvalidStateError::new_err("worker closed"))
    }

    fn send(&self, id: u64, request: Request) -> PyResult<()> {
        self.handle()?
            .request(id, request)
            .map_err(|error| InvalidStateError::new_err(error.to_string()))
    }
}

#[pymethods]
impl PyWorkerChannel {
    /// Starts a worker thread. `dtls_certificate_pem`/`dtls_private_key_pem` give the DTLS
    /// identity; without them a certificate generated once per process is used.
    #[new]
    #[pyo3(signature = (*, name, rtc_min_port, rtc_max_port, log_level, log_tags, dtls_certificate_pem = None, dtls_private_key_pem = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        name: String,
        rtc_min_port: u16,
        rtc_max_port: u16,
        log_level: &str,
        log_tags: Vec<String>,
        dtls_certificate_pem: Option<Vec<u8>>,
        dtls_private_key_pem: Option<Vec<u8>>,
    ) -> PyResult<Self> {
        let log = log_filter(log_level, &log_tags)?;
        let loaded;
        let certificate = match (dtls_certificate_pem, dtls_private_key_pem) {
            (Some(certificate), Some(key)) => {
                loaded = DtlsCertificate::from_pem(&certificate, &key)
                    .map_err(|error| type_error("dtls_certificate_file", error.to_string()))?;
                &loaded
            }
            (None, None) => process_certificate().map_err(PyRuntimeError::new_err)?,
            _ => {
                return Err(type_error(
                    "dtls_private_key_file",
                    "give both dtls_certificate_file and dtls_private_key_file, or neither",
                ))
            }
        };
        if rtc_min_port == 0 || rtc_min_port > rtc_max_port {
            return Err(type_error(
                "rtc_min_port",
                format!("invalid port range {rtc_min_port}..={rtc_max_port}"),
            ));
        }
        let context = DtlsContext::new(certificate, &SrtpProfile::ALL)
            .map_err(|error| PyRuntimeError::new_err(error.to_string()))?;
        let handle = WorkerHandle::spawn(
            WorkerSettings {
                name,
                rtc_min_port,
                rtc_max_port,
                log,
            },
            Arc::new(context),
        )
        .map_err(|error| PyRuntimeError::new_err(error.to_string()))?;
        Ok(Self {
            handle: Some(handle),
            fingerprints: certificate.fingerprints().to_vec(),
        })
    }

    /// The eventfd to watch; readable when `drain()` has something.
    fn fileno(&self) -> PyResult<i32> {
        Ok(self.handle()?.events().fd())
    }

    /// Every response and event queued since the last call, as dicts.
    fn drain<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let events = self.handle()?.events().drain();
        let list = PyList::empty(py);
        for event in &events {
            list.append(event_dict(py, event)?)?;
        }
        Ok(list)
    }

    /// The DTLS fingerprints this worker presents, in mediasoup's form.
    fn dtls_fingerprints<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for fingerprint in &self.fingerprints {
            let dict = PyDict::new(py);
            dict.set_item("algorithm", fingerprint.algorithm.name())?;
            dict.set_item("value", &fingerprint.value)?;
            list.append(dict)?;
        }
        Ok(list)
    }

    /// `udp`/`tcp`: None to not listen on the protocol, else a port range (see
    /// `port_choice`).
    #[pyo3(signature = (request_id, *, transport_id, listen_ip, udp, tcp, ice_consent_timeout, webrtc_server_id = None))]
    #[allow(clippy::too_many_arguments)]
    fn create_webrtc_transport(
        &self,
        request_id: u64,
        transport_id: String,
        listen_ip: Option<&str>,
        udp: Option<(u16, u16)>,
        tcp: Option<(u16, u16)>,
        ice_consent_timeout: f64,
        webrtc_server_id: Option<String>,
    ) -> PyResult<()> {
        let listen = match (webrtc_server_id, listen_ip) {
            (Some(server_id), _) => WebRtcListen::Server(server_id),
            (None, Some(ip)) => WebRtcListen::Own {
                ip: ip.parse().map_err(|_| {
                    type_error("listen_infos.ip", format!("{ip:?} is not an IP address"))
                })?,
                udp: udp.map(port_choice),
                tcp: tcp.map(port_choice),
            },
            (None, None) => {
                return Err(type_error(
                    "listen_infos",
                    "a WebRTC transport needs listen_infos or a webrtc_server",
                ))
            }
        };
        if !(ice_consent_timeout == 0.0 || (10.0..=60.0).contains(&ice_consent_timeout)) {
            return Err(type_error(
                "ice_consent_timeout",
                "must be 0 (disabled) or between 10 and 60 seconds",
            ));
        }
        let ice_consent_timeout =
            (ice_consent_timeout > 0.0).then(|| Duration::from_secs_f64(ice_consent_timeout));
        self.send(
            request_id,
            Request::CreateWebRtcTransport {
                transport_id,
                listen,
                ice_consent_timeout,
            },
        )
    }

    #[pyo3(signature = (request_id, *, transport_id, role, algorithm, fingerprint))]
    fn connect_webrtc_transport(
        &self,
        request_id: u64,
        transport_id: String,
        role: &str,
        algorithm: &str,
        fingerprint: String,
    ) -> PyResult<()> {
        let role = match role {
            "auto" => RemoteDtlsRole::Auto,
            "client" => RemoteDtlsRole::Client,
            "server" => RemoteDtlsRole::Server,
            other => {
                return Err(type_error(
                    "dtlsParameters.role",
                    format!("{other:?} is not one of auto, client, server"),
                ))
            }
        };
        let algorithm = FingerprintAlgorithm::from_name(algorithm).ok_or_else(|| {
            type_error(
                "dtlsParameters.fingerprints[0].algorithm",
                format!("{algorithm:?} is not one of sha-1, sha-224, sha-256, sha-384, sha-512"),
            )
        })?;
        self.send(
            request_id,
            Request::ConnectWebRtcTransport {
                transport_id,
                remote: RemoteDtlsParameters {
                    role,
                    fingerprint: DtlsFingerprint {
                        algorithm,
                        value: fingerprint,
                    },
                },
            },
        )
    }

    #[pyo3(signature = (request_id, *, transport_id, listen_ip, port, rtcp_mux, comedia, srtp_crypto_suite))]
    #[allow(clippy::too_many_arguments)]
    fn create_plain_transport(
        &self,
        request_id: u64,
        transport_id: String,
        listen_ip: &str,
        port: (u16, u16),
        rtcp_mux: bool,
        comedia: bool,
        srtp_crypto_suite: Option<&str>,
    ) -> PyResult<()> {
        let listen_ip: IpAddr = listen_ip.parse().map_err(|_| {
            type_error(
                "listen_info.ip",
                format!("{listen_ip:?} is not an IP address"),
            )
        })?;
        let srtp_profile = srtp_crypto_suite
            .map(crate::srtp::profile_from_name)
            .transpose()
            .map_err(|_| {
                type_error(
                    "srtp_crypto_suite",
                    "must be AEAD_AES_256_GCM, AEAD_AES_128_GCM, AES_CM_128_HMAC_SHA1_80 or \
                     AES_CM_128_HMAC_SHA1_32",
                )
            })?;
        self.send(
            request_id,
            Request::CreatePlainTransport {
                transport_id,
                listen_ip,
                port: port_choice(port),
                rtcp_mux,
                comedia,
                srtp_profile,
            },
        )
    }

    #[pyo3(signature = (request_id, *, transport_id, ip, port, rtcp_port, srtp_key))]
    fn connect_plain_transport(
        &self,
        request_id: u64,
        transport_id: String,
        ip: Option<&str>,
        port: Option<u16>,
        rtcp_port: Option<u16>,
        srtp_key: Option<Vec<u8>>,
    ) -> PyResult<()> {
        let ip: Option<IpAddr> = ip
            .map(|ip| {
                ip.parse()
                    .map_err(|_| type_error("ip", format!("{ip:?} is not an IP address")))
            })
            .transpose()?;
        let remote_rtp = match (ip, port) {
            (Some(ip), Some(port)) => Some(std::net::SocketAddr::new(ip, port)),
            (None, None) => None,
            (Some(_), None) => return Err(type_error("port", "required with ip")),
            (None, Some(_)) => return Err(type_error("ip", "required with port")),
        };
        let remote_rtcp = match (ip, rtcp_port) {
            (Some(ip), Some(port)) => Some(std::net::SocketAddr::new(ip, port)),
            (None, Some(_)) => return Err(type_error("ip", "required with rtcp_port")),
            _ => None,
        };
        self.send(
            request_id,
            Request::ConnectPlainTransport {
                transport_id,
                remote_rtp,
                remote_rtcp,
                remote_srtp_key: srtp_key,
            },
        )
    }

    /// `udp`/`tcp`: None to not listen on the protocol, else a port range (see
    /// `port_choice`).
    #[pyo3(signature = (request_id, *, server_id, listen_ip, udp, tcp))]
    fn create_webrtc_server(
        &self,
        request_id: u64,
        server_id: String,
        listen_ip: &str,
        udp: Option<(u16, u16)>,
        tcp: Option<(u16, u16)>,
    ) -> PyResult<()> {
        let listen_ip: IpAddr = listen_ip.parse().map_err(|_| {
            type_error(
                "listen_infos.ip",
                format!("{listen_ip:?} is not an IP address"),
            )
        })?;
        self.send(
            request_id,
            Request::CreateWebRtcServer {
                server_id,
                listen_ip,
                udp: udp.map(port_choice),
                tcp: tcp.map(port_choice),
            },
        )
    }

    /// `payload_types`: (client PT, router PT, router codec MIME type) per media codec;
    /// `extension_ids`: (client id, router id) per header extension the router knows;
    /// `rid`: (RID extension id, RID) of the forwarded encoding when the client sends RIDs;
    /// `rtx`: (RTX SSRC if signaled, [(client RTX PT, client media PT)]).
    #[pyo3(signature = (request_id, *, transport_id, producer_id, payload_types, extension_ids, mid_extension_id, mid, rid_extension_id, repaired_rid_extension_id, encodings, store_for_retransmission, clock_rate, rtx_payload_types, generate_nacks, transport_cc_extension_id, remb_abs_send_time_extension_id, audio_level_extension_id, video_orientation_extension_id, key_frame_request_delay_ms, use_fir, paused, dependency_descriptor_extension_id = None))]
    #[allow(clippy::too_many_arguments)]
    fn create_producer(
        &self,
        request_id: u64,
        transport_id: String,
        producer_id: String,
        payload_types: Vec<(u8, u8, String)>,
        extension_ids: Vec<(u8, u8)>,
        mid_extension_id: Option<u8>,
        mid: Option<String>,
        rid_extension_id: Option<u8>,
        repaired_rid_extension_id: Option<u8>,
        encodings: Vec<EncodingArgument>,
        store_for_retransmission: bool,
        clock_rate: u32,
        rtx_payload_types: Option<Vec<(u8, u8)>>,
        generate_nacks: bool,
        transport_cc_extension_id: Option<u8>,
        remb_abs_send_time_extension_id: Option<u8>,
        audio_level_extension_id: Option<u8>,
        video_orientation_extension_id: Option<u8>,
        key_frame_request_delay_ms: u64,
        use_fir: bool,
        paused: bool,
        dependency_descriptor_extension_id: Option<u8>,
    ) -> PyResult<()> {
        let payload_types: Vec<_> = payload_types
            .into_iter()
            .map(|(client, router, mime_type)| {
                (client, router, PayloadCodec::from_mime_type(&mime_type))
            })
            .collect();
        let specs = encodings
            .into_iter()
            .map(|(ssrc, rid, rtx_ssrc, mapped_ssrc)| ProducerSpec {
                payload_types: payload_types.clone(),
                extension_ids: extension_ids.clone(),
                mid_extension_id,
                mid: mid.clone(),
                rid: rid_extension_id.zip(rid),
                repaired_rid_extension_id,
                ssrc,
                mapped_ssrc,
                store_for_retransmission,
                clock_rate,
                rtx: rtx_payload_types.clone().map(|payload_types| ProducerRtx {
                    ssrc: rtx_ssrc,
                    payload_types,
                }),
                generate_nacks,
                transport_cc_extension_id,
                remb_abs_send_time_extension_id,
                audio_level_extension_id,
                video_orientation_extension_id,
                key_frame_request_delay: Duration::from_millis(key_frame_request_delay_ms),
                use_fir,
                dependency_descriptor_extension_id,
            })
            .collect();
        self.send(
            request_id,
            Request::CreateProducer {
                transport_id,
                producer_id,
                specs,
                paused,
            },
        )
    }

    /// `payload_types` and `extension_ids` are the router's that the endpoint accepted;
    /// `mid` is (MID extension id, MID) when the endpoint negotiated the extension; `rtx` is
    /// (RTX SSRC, [(media PT, RTX PT)]) when it accepted RTX; `stream` is the producer
    /// stream a consumer without `layers` carries.
    #[pyo3(signature = (request_id, *, transport_id, consumer_id, producer_id, ssrc, payload_types, extension_ids, mid, needs_key_frame, rtx, clock_rate, cname, transport_cc_extension_id, mime_type, layers, paused, stream = 0, dependency_descriptor_extension_id = None))]
    #[allow(clippy::too_many_arguments)]
    fn create_consumer(
        &self,
        request_id: u64,
        transport_id: String,
        consumer_id: String,
        producer_id: String,
        ssrc: u32,
        payload_types: Vec<u8>,
        extension_ids: Vec<u8>,
        mid: Option<(u8, String)>,
        needs_key_frame: bool,
        rtx: Option<(u32, Vec<(u8, u8)>)>,
        clock_rate: u32,
        cname: String,
        transport_cc_extension_id: Option<u8>,
        mime_type: String,
        layers: Option<(bool, u8, u8, u8, u8)>,
        paused: bool,
        stream: u8,
        dependency_descriptor_extension_id: Option<u8>,
    ) -> PyResult<()> {
        self.send(
            request_id,
            Request::CreateConsumer {
                transport_id,
                consumer_id,
                producer_id,
                spec: Box::new(ConsumerSpec {
                    ssrc,
                    payload_types,
                    extension_ids,
                    mid,
                    needs_key_frame,
                    rtx: rtx.map(|(ssrc, payload_types)| RtxSpec {
                        ssrc,
                        payload_types,
                    }),
                    clock_rate,
                    cname,
                    transport_cc_extension_id,
                    codec: PayloadCodec::from_mime_type(&mime_type),
                    layers: layers.map(
                        |(svc, spatial_layers, temporal_layers, spatial, temporal)| LayerSpec {
                            svc,
                            spatial_layers,
                            temporal_layers,
                            preferred: Layers { spatial, temporal },
                        },
                    ),
                    stream,
                    dependency_descriptor_extension_id,
                }),
                paused,
            },
        )
    }

    /// `max_incoming` 0: no limit; `outgoing` (min, max), max 0: no maximum.
    fn set_transport_bitrates(
        &self,
        request_id: u64,
        transport_id: String,
        max_incoming: u64,
        min_outgoing: u64,
        max_outgoing: u64,
    ) -> PyResult<()> {
        let max_outgoing = if max_outgoing == 0 {
            u64::MAX
        } else {
            max_outgoing
        };
        self.send(
            request_id,
            Request::SetTransportBitrates {
                transport_id,
                max_incoming: (max_incoming > 0).then_some(max_incoming),
                outgoing: (min_outgoing > 0 || max_outgoing < u64::MAX)
                    .then_some((min_outgoing, max_outgoing)),
            },
        )
    }

    fn set_consumer_preferred_layers(
        &self,
        request_id: u64,
        consumer_id: String,
        spatial_layer: u8,
        temporal_layer: u8,
    ) -> PyResult<()> {
        self.send(
            request_id,
            Request::SetConsumerPreferredLayers {
                consumer_id,
                layers: Layers {
                    spatial: spatial_layer,
                    temporal: temporal_layer,
                },
            },
        )
    }

    fn set_producer_paused(
        &self,
        request_id: u64,
        producer_id: String,
        paused: bool,
    ) -> PyResult<()> {
        self.send(
            request_id,
            Request::SetProducerPaused {
                producer_id,
                paused,
            },
        )
    }

    fn set_consumer_paused(
        &self,
        request_id: u64,
        consumer_id: String,
        paused: bool,
    ) -> PyResult<()> {
        self.send(
            request_id,
            Request::SetConsumerPaused {
                consumer_id,
                paused,
            },
        )
    }

    fn close_producer(&self, request_id: u64, producer_id: String) -> PyResult<()> {
        self.send(request_id, Request::CloseProducer { producer_id })
    }

    fn close_consumer(&self, request_id: u64, consumer_id: String) -> PyResult<()> {
        self.send(request_id, Request::CloseConsumer { consumer_id })
    }

    fn get_producer_stats(&self, request_id: u64, producer_id: String) -> PyResult<()> {
        self.send(request_id, Request::GetProducerStats { producer_id })
    }

    fn get_consumer_stats(&self, request_id: u64, consumer_id: String) -> PyResult<()> {
        self.send(request_id, Request::GetConsumerStats { consumer_id })
    }

    /// `kinds`: bits of the trace kinds (rtp 1, keyframe 2, nack 4, pli 8, fir 16).
    fn set_producer_trace(&self, request_id: u64, producer_id: String, kinds: u8) -> PyResult<()> {
        self.send(request_id, Request::SetProducerTrace { producer_id, kinds })
    }

    /// `kinds`: bits of the trace kinds (rtp 1, keyframe 2, nack 4, pli 8, fir 16).
    fn set_consumer_trace(&self, request_id: u64, consumer_id: String, kinds: u8) -> PyResult<()> {
        self.send(request_id, Request::SetConsumerTrace { consumer_id, kinds })
    }

    fn set_consumer_priority(
        &self,
        request_id: u64,
        consumer_id: String,
        priority: u8,
    ) -> PyResult<()> {
        self.send(
            request_id,
            Request::SetConsumerPriority {
                consumer_id,
                priority,
            },
        )
    }

    /// mediasoup's `createAudioLevelObserver({maxEntries, threshold, interval})`.
    fn create_audio_level_observer(
        &self,
        request_id: u64,
        observer_id: String,
        max_entries: usize,
        threshold: i8,
        interval_ms: u64,
    ) -> PyResult<()> {
        let options = AudioLevelOptions {
            max_entries,
            threshold,
            interval: Duration::from_millis(interval_ms),
        };
        self.send(
            request_id,
            Request::CreateRtpObserver {
                observer_id,
                options: RtpObserverOptions::AudioLevel(options),
            },
        )
    }

    /// mediasoup's `createActiveSpeakerObserver({interval})`.
    fn create_active_speaker_observer(
        &self,
        request_id: u64,
        observer_id: String,
        interval_ms: u64,
    ) -> PyResult<()> {
        self.send(
            request_id,
            Request::CreateRtpObserver {
                observer_id,
                options: RtpObserverOptions::ActiveSpeaker {
                    interval: Duration::from_millis(interval_ms),
                },
            },
        )
    }

    fn close_rtp_observer(&self, request_id: u64, observer_id: String) -> PyResult<()> {
        self.send(request_id, Request::CloseRtpObserver { observer_id })
    }

    fn set_rtp_observer_paused(
        &self,
        request_id: u64,
        observer_id: String,
        paused: bool,
    ) -> PyResult<()> {
        self.send(
            request_id,
            Request::SetRtpObserverPaused {
                observer_id,
                paused,
            },
        )
    }

    /// Adds (`observed`) or removes a producer of an RTP observer.
    fn set_rtp_observer_producer(
        &self,
        request_id: u64,
        observer_id: String,
        producer_id: String,
        observed: bool,
    ) -> PyResult<()> {
        self.send(
            request_id,
            Request::SetRtpObserverProducer {
                observer_id,
                producer_id,
                observed,
            },
        )
    }

    fn request_key_frame(&self, request_id: u64, consumer_id: String) -> PyResult<()> {
        self.send(request_id, Request::RequestKeyFrame { consumer_id })
    }

    fn create_direct_transport(&self, request_id: u64, transport_id: String) -> PyResult<()> {
        self.send(request_id, Request::CreateDirectTransport { transport_id })
    }

    /// An RTP (or, with `rtcp`, RTCP) packet into a DirectTransport.
    fn send_direct_packet(
        &self,
        request_id: u64,
        transport_id: String,
        rtcp: bool,
        packet: Vec<u8>,
    ) -> PyResult<()> {
        self.send(
            request_id,
            Request::SendDirectPacket {
                transport_id,
                rtcp,
                packet,
            },
        )
    }

    fn close_webrtc_server(&self, request_id: u64, server_id: String) -> PyResult<()> {
        self.send(request_id, Request::CloseWebRtcServer { server_id })
    }

    fn dump_webrtc_server(&self, request_id: u64, server_id: String) -> PyResult<()> {
        self.send(request_id, Request::DumpWebRtcServer { server_id })
    }

    fn restart_ice(&self, request_id: u64, transport_id: String) -> PyResult<()> {
        self.send(request_id, Request::RestartIce { transport_id })
    }

    fn get_transport_stats(&self, request_id: u64, transport_id: String) -> PyResult<()> {
        self.send(request_id, Request::GetTransportStats { transport_id })
    }

    fn close_transport(&self, request_id: u64, transport_id: String) -> PyResult<()> {
        self.send(request_id, Request::CloseTransport { transport_id })
    }

    fn update_settings(
        &self,
        request_id: u64,
        log_level: &str,
        log_tags: Vec<String>,
    ) -> PyResult<()> {
        let log = log_filter(log_level, &log_tags)?;
        self.send(request_id, Request::UpdateSettings { log })
    }

    fn get_resource_usage(&self, request_id: u64) -> PyResult<()> {
        self.send(request_id, Request::GetResourceUsage)
    }

    fn dump(&self, request_id: u64) -> PyResult<()> {
        self.send(request_id, Request::Dump)
    }

    /// The debug hook that makes the worker thread panic (fault tests).
    fn debug_panic(&self, request_id: u64) -> PyResult<()> {
        self.send(request_id, Request::Panic)
    }

    /// Closes every transport and ends the thread (waits for it, without the GIL), then
    /// lets go of the thread's wake-up and event descriptors.
    fn close(&mut self, py: Python<'_>) {
        if let Some(mut handle) = self.handle.take() {
            py.detach(move || handle.close());
        }
    }
}
