//! `WorkerChannel`: Python's handle on one worker thread. Requests go in as typed method
//! calls carrying a request id, addressed as mediasoup addresses them (worker, router,
//! transport, producer, consumer, observer); responses and events come out of `drain()` as
//! the dicts `_core.pyi` declares when the eventfd from `fileno()` is readable (asyncio's
//! `loop.add_reader`).

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use mediasoup_core::crypto::certificate::{DtlsCertificate, DtlsFingerprint, FingerprintAlgorithm};
use mediasoup_core::dtls::DtlsContext;
use mediasoup_core::rtc::audio_level_observer::AudioLevelOptions;
use mediasoup_core::rtc::layer_selector::Layers;
use mediasoup_core::rtc::webrtc_connection::{RemoteDtlsParameters, RemoteDtlsRole};
use mediasoup_core::sctp::{Ppid, Reliability, SctpConfig, StreamReliability};
use mediasoup_core::srtp::SrtpProfile;
use mediasoup_core::worker::log::{LogFilter, LogLevel, LogTag};
use mediasoup_core::worker::messages::{
    ConsumerRequest, DataConsumerRequest, DataProducerRequest, ListenAddress, ProducerRequest,
    Request, RouterRequest, RtpObserverOptions, RtpObserverRequest, TransportRequest, WebRtcListen,
    WebRtcServerRequest, WorkerEvent, WorkerRequest,
};
use mediasoup_core::worker::{PortChoice, WorkerHandle, WorkerSettings};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::errors::{type_error, InvalidStateError};
use crate::events::event_object;
use crate::specs::{ConsumerSpecInput, ProducerSpecInput, Spec};

/// The certificate generated once per process when none is configured (mediasoup makes one
/// per worker process; threads share it).
fn process_certificate() -> Result<&'static DtlsCertificate, String> {
    static CERTIFICATE: OnceLock<Result<DtlsCertificate, String>> = OnceLock::new();
    CERTIFICATE
        .get_or_init(|| DtlsCertificate::generate().map_err(|error| error.to_string()))
        .as_ref()
        .map_err(Clone::clone)
}

/// A transport's SCTP options from `(OS, MIS, maxMessageSize, sendBufferSize)`.
fn sctp_config((os, mis, max_message_size, send_buffer_size): (u16, u16, u32, u32)) -> SctpConfig {
    SctpConfig {
        os,
        mis,
        max_message_size,
        send_buffer_size,
        ..SctpConfig::default()
    }
}

/// A stream's delivery rules from mediasoup's `sctpStreamParameters` fields.
fn reliability(
    ordered: bool,
    max_packet_life_time: Option<u16>,
    max_retransmits: Option<u16>,
) -> StreamReliability {
    StreamReliability {
        ordered,
        reliability: match (max_packet_life_time, max_retransmits) {
            (Some(ms), _) => Reliability::MaxPacketLifeTime(ms),
            (None, Some(count)) => Reliability::MaxRetransmits(count),
            (None, None) => Reliability::Reliable,
        },
    }
}

fn parse_ip(ip: &str, field: &str) -> PyResult<IpAddr> {
    ip.parse()
        .map_err(|_| type_error(field, format!("{ip:?} is not an IP address")))
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
/// An address to listen on and its UDP and TCP port ranges, as Python gives them.
type ListenTriple = (String, Option<(u16, u16)>, Option<(u16, u16)>);

fn listen_addresses(listens: Vec<ListenTriple>) -> PyResult<Vec<ListenAddress>> {
    listens
        .into_iter()
        .map(|(ip, udp, tcp)| {
            Ok(ListenAddress {
                ip: parse_ip(&ip, "listen_infos.ip")?,
                udp: udp.map(port_choice),
                tcp: tcp.map(port_choice),
            })
        })
        .collect()
}

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

    fn worker(&self, id: u64, request: WorkerRequest) -> PyResult<()> {
        self.send(id, Request::Worker(request))
    }

    fn router(&self, id: u64, router_id: String, request: RouterRequest) -> PyResult<()> {
        self.send(id, Request::Router { router_id, request })
    }

    fn transport(&self, id: u64, transport_id: String, request: TransportRequest) -> PyResult<()> {
        self.send(
            id,
            Request::Transport {
                transport_id,
                request,
            },
        )
    }

    fn producer(
        &self,
        id: u64,
        router_id: String,
        producer_id: String,
        request: ProducerRequest,
    ) -> PyResult<()> {
        self.send(
            id,
            Request::Producer {
                router_id,
                producer_id,
                request,
            },
        )
    }

    fn consumer(
        &self,
        id: u64,
        router_id: String,
        consumer_id: String,
        request: ConsumerRequest,
    ) -> PyResult<()> {
        self.send(
            id,
            Request::Consumer {
                router_id,
                consumer_id,
                request,
            },
        )
    }

    fn data_producer(
        &self,
        id: u64,
        data_producer_id: String,
        request: DataProducerRequest,
    ) -> PyResult<()> {
        self.send(
            id,
            Request::DataProducer {
                data_producer_id,
                request,
            },
        )
    }

    fn data_consumer(
        &self,
        id: u64,
        data_consumer_id: String,
        request: DataConsumerRequest,
    ) -> PyResult<()> {
        self.send(
            id,
            Request::DataConsumer {
                data_consumer_id,
                request,
            },
        )
    }

    fn rtp_observer(
        &self,
        id: u64,
        router_id: String,
        observer_id: String,
        request: RtpObserverRequest,
    ) -> PyResult<()> {
        self.send(
            id,
            Request::RtpObserver {
                router_id,
                observer_id,
                request,
            },
        )
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
        let queue = self.handle()?.events();
        let list = PyList::empty(py);
        for event in queue.drain() {
            list.append(event_object(py, &event)?)?;
            // Its bytes are in Python's own object now: the worker reuses the buffer.
            if let WorkerEvent::DirectPacket { packet, .. } = event {
                queue.recycle(packet);
            }
        }
        Ok(list)
    }

    /// How many responses and events wait for `drain()` (the owner's backlog).
    fn queued_events(&self) -> PyResult<usize> {
        Ok(self.handle()?.events().len())
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

    // The worker's own requests.

    fn create_router(&self, request_id: u64, router_id: String) -> PyResult<()> {
        self.worker(request_id, WorkerRequest::CreateRouter { router_id })
    }

    /// `listens`: `(ip, udp, tcp)` per address; `udp`/`tcp`: None to not listen on the
    /// protocol, else a port range (see `port_choice`).
    #[pyo3(signature = (request_id, *, server_id, listens))]
    fn create_webrtc_server(
        &self,
        request_id: u64,
        server_id: String,
        listens: Vec<ListenTriple>,
    ) -> PyResult<()> {
        let request = WorkerRequest::CreateWebRtcServer {
            server_id,
            listens: listen_addresses(listens)?,
        };
        self.worker(request_id, request)
    }

    /// Joins a WebRtcServer another worker of the process created (its routers' WebRTC
    /// transports may then use it).
    fn join_webrtc_server(&self, request_id: u64, server_id: String) -> PyResult<()> {
        self.worker(request_id, WorkerRequest::JoinWebRtcServer { server_id })
    }

    /// This worker takes the place of the member of the WebRtcServer that read its port.
    fn rehome_webrtc_server(&self, request_id: u64, server_id: String) -> PyResult<()> {
        self.worker(request_id, WorkerRequest::RehomeWebRtcServer { server_id })
    }

    fn update_settings(
        &self,
        request_id: u64,
        log_level: &str,
        log_tags: Vec<String>,
    ) -> PyResult<()> {
        let log = log_filter(log_level, &log_tags)?;
        self.worker(request_id, WorkerRequest::UpdateSettings { log })
    }

    fn get_resource_usage(&self, request_id: u64) -> PyResult<()> {
        self.worker(request_id, WorkerRequest::GetResourceUsage)
    }

    fn dump(&self, request_id: u64) -> PyResult<()> {
        self.worker(request_id, WorkerRequest::Dump)
    }

    /// The debug hook that makes the worker thread panic (fault tests).
    fn debug_panic(&self, request_id: u64) -> PyResult<()> {
        self.worker(request_id, WorkerRequest::Panic)
    }

    // WebRtcServers.

    fn close_webrtc_server(&self, request_id: u64, server_id: String) -> PyResult<()> {
        let request = WebRtcServerRequest::Close;
        self.send(request_id, Request::WebRtcServer { server_id, request })
    }

    fn dump_webrtc_server(&self, request_id: u64, server_id: String) -> PyResult<()> {
        let request = WebRtcServerRequest::Dump;
        self.send(request_id, Request::WebRtcServer { server_id, request })
    }

    // Routers.

    fn close_router(&self, request_id: u64, router_id: String) -> PyResult<()> {
        self.router(request_id, router_id, RouterRequest::Close)
    }

    fn dump_router(&self, request_id: u64, router_id: String) -> PyResult<()> {
        self.router(request_id, router_id, RouterRequest::Dump)
    }

    /// `listens`: `(ip, udp, tcp)` per address (see `create_webrtc_server`).
    /// `sctp`: `(OS, MIS, maxMessageSize, sendBufferSize)` to carry DataChannels.
    #[pyo3(signature = (request_id, *, router_id, transport_id, listens, ice_consent_timeout, webrtc_server_id = None, sctp = None))]
    #[allow(clippy::too_many_arguments)]
    fn create_webrtc_transport(
        &self,
        request_id: u64,
        router_id: String,
        transport_id: String,
        listens: Option<Vec<ListenTriple>>,
        ice_consent_timeout: f64,
        webrtc_server_id: Option<String>,
        sctp: Option<(u16, u16, u32, u32)>,
    ) -> PyResult<()> {
        let listen = match (webrtc_server_id, listens) {
            (Some(server_id), _) => WebRtcListen::Server(server_id),
            (None, Some(listens)) => WebRtcListen::Own(listen_addresses(listens)?),
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
        let request = RouterRequest::CreateWebRtcTransport {
            transport_id,
            listen,
            ice_consent_timeout,
            sctp: sctp.map(sctp_config),
        };
        self.router(request_id, router_id, request)
    }

    /// `sctp`: `(OS, MIS, maxMessageSize, sendBufferSize)` to carry DataChannels over the
    /// RTP tuple (plain and pipe transports, as mediasoup).
    #[pyo3(signature = (request_id, *, router_id, transport_id, listen_ip, port, rtcp_mux, comedia, srtp_crypto_suite, sctp = None))]
    #[allow(clippy::too_many_arguments)]
    fn create_plain_transport(
        &self,
        request_id: u64,
        router_id: String,
        transport_id: String,
        listen_ip: &str,
        port: (u16, u16),
        rtcp_mux: bool,
        comedia: bool,
        srtp_crypto_suite: Option<&str>,
        sctp: Option<(u16, u16, u32, u32)>,
    ) -> PyResult<()> {
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
        let request = RouterRequest::CreatePlainTransport {
            transport_id,
            listen_ip: parse_ip(listen_ip, "listen_info.ip")?,
            port: port_choice(port),
            rtcp_mux,
            comedia,
            srtp_profile,
            sctp: sctp.map(sctp_config),
        };
        self.router(request_id, router_id, request)
    }

    fn create_direct_transport(
        &self,
        request_id: u64,
        router_id: String,
        transport_id: String,
    ) -> PyResult<()> {
        let request = RouterRequest::CreateDirectTransport { transport_id };
        self.router(request_id, router_id, request)
    }

    /// mediasoup's `createAudioLevelObserver({maxEntries, threshold, interval})`.
    fn create_audio_level_observer(
        &self,
        request_id: u64,
        router_id: String,
        observer_id: String,
        max_entries: usize,
        threshold: i8,
        interval_ms: u64,
    ) -> PyResult<()> {
        let options = RtpObserverOptions::AudioLevel(AudioLevelOptions {
            max_entries,
            threshold,
            interval: Duration::from_millis(interval_ms),
        });
        let request = RouterRequest::CreateRtpObserver {
            observer_id,
            options,
        };
        self.router(request_id, router_id, request)
    }

    /// mediasoup's `createActiveSpeakerObserver({interval})`.
    fn create_active_speaker_observer(
        &self,
        request_id: u64,
        router_id: String,
        observer_id: String,
        interval_ms: u64,
    ) -> PyResult<()> {
        let options = RtpObserverOptions::ActiveSpeaker {
            interval: Duration::from_millis(interval_ms),
        };
        let request = RouterRequest::CreateRtpObserver {
            observer_id,
            options,
        };
        self.router(request_id, router_id, request)
    }

    // Transports.

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
        let remote = RemoteDtlsParameters {
            role,
            fingerprint: DtlsFingerprint {
                algorithm,
                value: fingerprint,
            },
        };
        self.transport(
            request_id,
            transport_id,
            TransportRequest::ConnectWebRtc { remote },
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
        let ip = ip.map(|ip| parse_ip(ip, "ip")).transpose()?;
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
        let request = TransportRequest::ConnectPlain {
            remote_rtp,
            remote_rtcp,
            remote_srtp_key: srtp_key,
        };
        self.transport(request_id, transport_id, request)
    }

    fn restart_ice(&self, request_id: u64, transport_id: String) -> PyResult<()> {
        self.transport(request_id, transport_id, TransportRequest::RestartIce)
    }

    fn get_transport_stats(&self, request_id: u64, transport_id: String) -> PyResult<()> {
        self.transport(request_id, transport_id, TransportRequest::GetStats)
    }

    fn close_transport(&self, request_id: u64, transport_id: String) -> PyResult<()> {
        self.transport(request_id, transport_id, TransportRequest::Close)
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
        let request = TransportRequest::SetBitrates {
            max_incoming: (max_incoming > 0).then_some(max_incoming),
            outgoing: (min_outgoing > 0 || max_outgoing < u64::MAX)
                .then_some((min_outgoing, max_outgoing)),
        };
        self.transport(request_id, transport_id, request)
    }

    /// An RTP (or, with `rtcp`, RTCP) packet into a DirectTransport.
    fn send_direct_packet(
        &self,
        request_id: u64,
        transport_id: String,
        rtcp: bool,
        packet: Vec<u8>,
    ) -> PyResult<()> {
        let request = TransportRequest::SendDirectPacket { rtcp, packet };
        self.transport(request_id, transport_id, request)
    }

    /// A producer on the transport, described by `spec` (`_core.ProducerSpec`).
    fn produce(
        &self,
        request_id: u64,
        transport_id: String,
        producer_id: String,
        spec: Spec<ProducerSpecInput>,
        paused: bool,
    ) -> PyResult<()> {
        let request = TransportRequest::Produce {
            producer_id,
            spec: Box::new(spec.0.into_spec()?),
            paused,
        };
        self.transport(request_id, transport_id, request)
    }

    /// A consumer on the transport of a producer of its router, described by `spec`
    /// (`_core.ConsumerSpec`).
    fn consume(
        &self,
        request_id: u64,
        transport_id: String,
        consumer_id: String,
        producer_id: String,
        spec: Spec<ConsumerSpecInput>,
        paused: bool,
    ) -> PyResult<()> {
        let request = TransportRequest::Consume {
            consumer_id,
            producer_id,
            spec: Box::new(spec.0.into_spec()?),
            paused,
        };
        self.transport(request_id, transport_id, request)
    }

    /// A DataProducer on the transport: on SCTP stream `stream_id` with its delivery
    /// rules, or (`stream_id` None, a DirectTransport) from the application.
    #[pyo3(signature = (request_id, *, transport_id, data_producer_id, stream_id, ordered, max_packet_life_time, max_retransmits, paused))]
    #[allow(clippy::too_many_arguments)]
    fn produce_data(
        &self,
        request_id: u64,
        transport_id: String,
        data_producer_id: String,
        stream_id: Option<u16>,
        ordered: bool,
        max_packet_life_time: Option<u16>,
        max_retransmits: Option<u16>,
        paused: bool,
    ) -> PyResult<()> {
        let stream = stream_id.map(|stream_id| {
            (
                stream_id,
                reliability(ordered, max_packet_life_time, max_retransmits),
            )
        });
        let request = TransportRequest::ProduceData {
            data_producer_id,
            stream,
            paused,
        };
        self.transport(request_id, transport_id, request)
    }

    /// A DataConsumer on the transport of a data producer of the worker, on SCTP stream
    /// `stream_id` (or, None, for the application).
    #[pyo3(signature = (request_id, *, transport_id, data_consumer_id, data_producer_id, stream_id, ordered, max_packet_life_time, max_retransmits, paused, subchannels))]
    #[allow(clippy::too_many_arguments)]
    fn consume_data(
        &self,
        request_id: u64,
        transport_id: String,
        data_consumer_id: String,
        data_producer_id: String,
        stream_id: Option<u16>,
        ordered: bool,
        max_packet_life_time: Option<u16>,
        max_retransmits: Option<u16>,
        paused: bool,
        subchannels: Vec<u16>,
    ) -> PyResult<()> {
        let stream = stream_id.map(|stream_id| {
            (
                stream_id,
                reliability(ordered, max_packet_life_time, max_retransmits),
            )
        });
        let request = TransportRequest::ConsumeData {
            data_consumer_id,
            data_producer_id,
            stream,
            paused,
            subchannels,
        };
        self.transport(request_id, transport_id, request)
    }

    // Data producers and consumers.

    fn close_data_producer(&self, request_id: u64, data_producer_id: String) -> PyResult<()> {
        self.data_producer(request_id, data_producer_id, DataProducerRequest::Close)
    }

    fn set_data_producer_paused(
        &self,
        request_id: u64,
        data_producer_id: String,
        paused: bool,
    ) -> PyResult<()> {
        let request = DataProducerRequest::SetPaused(paused);
        self.data_producer(request_id, data_producer_id, request)
    }

    fn get_data_producer_stats(&self, request_id: u64, data_producer_id: String) -> PyResult<()> {
        self.data_producer(request_id, data_producer_id, DataProducerRequest::GetStats)
    }

    /// A message from the application through a direct data producer (`ppid` one of 51,
    /// 53, 56, 57).
    #[pyo3(signature = (request_id, data_producer_id, payload, ppid, subchannels, required_subchannel))]
    fn send_data(
        &self,
        request_id: u64,
        data_producer_id: String,
        payload: Vec<u8>,
        ppid: u32,
        subchannels: Vec<u16>,
        required_subchannel: Option<u16>,
    ) -> PyResult<()> {
        let ppid = Ppid::from_value(ppid)
            .filter(|ppid| *ppid != Ppid::Dcep)
            .ok_or_else(|| type_error("ppid", "must be 51, 53, 56 or 57"))?;
        let request = DataProducerRequest::Send {
            ppid,
            payload,
            subchannels,
            required_subchannel,
        };
        self.data_producer(request_id, data_producer_id, request)
    }

    fn close_data_consumer(&self, request_id: u64, data_consumer_id: String) -> PyResult<()> {
        self.data_consumer(request_id, data_consumer_id, DataConsumerRequest::Close)
    }

    fn set_data_consumer_paused(
        &self,
        request_id: u64,
        data_consumer_id: String,
        paused: bool,
    ) -> PyResult<()> {
        let request = DataConsumerRequest::SetPaused(paused);
        self.data_consumer(request_id, data_consumer_id, request)
    }

    fn set_data_consumer_subchannels(
        &self,
        request_id: u64,
        data_consumer_id: String,
        subchannels: Vec<u16>,
    ) -> PyResult<()> {
        let request = DataConsumerRequest::SetSubchannels(subchannels);
        self.data_consumer(request_id, data_consumer_id, request)
    }

    fn set_data_consumer_buffered_amount_low_threshold(
        &self,
        request_id: u64,
        data_consumer_id: String,
        threshold: usize,
    ) -> PyResult<()> {
        let request = DataConsumerRequest::SetBufferedAmountLowThreshold(threshold);
        self.data_consumer(request_id, data_consumer_id, request)
    }

    fn report_data_consumer_buffered_amount_low(
        &self,
        request_id: u64,
        data_consumer_id: String,
        reports: bool,
    ) -> PyResult<()> {
        let request = DataConsumerRequest::ReportBufferedAmountLow(reports);
        self.data_consumer(request_id, data_consumer_id, request)
    }

    fn get_data_consumer_stats(&self, request_id: u64, data_consumer_id: String) -> PyResult<()> {
        self.data_consumer(request_id, data_consumer_id, DataConsumerRequest::GetStats)
    }

    // Producers.

    fn set_producer_paused(
        &self,
        request_id: u64,
        router_id: String,
        producer_id: String,
        paused: bool,
    ) -> PyResult<()> {
        let request = ProducerRequest::SetPaused(paused);
        self.producer(request_id, router_id, producer_id, request)
    }

    fn close_producer(
        &self,
        request_id: u64,
        router_id: String,
        producer_id: String,
    ) -> PyResult<()> {
        self.producer(request_id, router_id, producer_id, ProducerRequest::Close)
    }

    fn get_producer_stats(
        &self,
        request_id: u64,
        router_id: String,
        producer_id: String,
    ) -> PyResult<()> {
        self.producer(
            request_id,
            router_id,
            producer_id,
            ProducerRequest::GetStats,
        )
    }

    /// `kinds`: bits of the trace kinds (rtp 1, keyframe 2, nack 4, pli 8, fir 16).
    fn set_producer_trace(
        &self,
        request_id: u64,
        router_id: String,
        producer_id: String,
        kinds: u8,
    ) -> PyResult<()> {
        let request = ProducerRequest::SetTrace(kinds);
        self.producer(request_id, router_id, producer_id, request)
    }

    // Consumers.

    fn set_consumer_paused(
        &self,
        request_id: u64,
        router_id: String,
        consumer_id: String,
        paused: bool,
    ) -> PyResult<()> {
        let request = ConsumerRequest::SetPaused(paused);
        self.consumer(request_id, router_id, consumer_id, request)
    }

    fn set_consumer_preferred_layers(
        &self,
        request_id: u64,
        router_id: String,
        consumer_id: String,
        spatial_layer: u8,
        temporal_layer: u8,
    ) -> PyResult<()> {
        let request = ConsumerRequest::SetPreferredLayers(Layers {
            spatial: spatial_layer,
            temporal: temporal_layer,
        });
        self.consumer(request_id, router_id, consumer_id, request)
    }

    fn set_consumer_priority(
        &self,
        request_id: u64,
        router_id: String,
        consumer_id: String,
        priority: u8,
    ) -> PyResult<()> {
        let request = ConsumerRequest::SetPriority(priority);
        self.consumer(request_id, router_id, consumer_id, request)
    }

    /// `kinds`: bits of the trace kinds (rtp 1, keyframe 2, nack 4, pli 8, fir 16).
    fn set_consumer_trace(
        &self,
        request_id: u64,
        router_id: String,
        consumer_id: String,
        kinds: u8,
    ) -> PyResult<()> {
        let request = ConsumerRequest::SetTrace(kinds);
        self.consumer(request_id, router_id, consumer_id, request)
    }

    fn get_consumer_stats(
        &self,
        request_id: u64,
        router_id: String,
        consumer_id: String,
    ) -> PyResult<()> {
        self.consumer(
            request_id,
            router_id,
            consumer_id,
            ConsumerRequest::GetStats,
        )
    }

    fn dump_consumer(
        &self,
        request_id: u64,
        router_id: String,
        consumer_id: String,
    ) -> PyResult<()> {
        self.consumer(request_id, router_id, consumer_id, ConsumerRequest::Dump)
    }

    fn request_key_frame(
        &self,
        request_id: u64,
        router_id: String,
        consumer_id: String,
    ) -> PyResult<()> {
        let request = ConsumerRequest::RequestKeyFrame;
        self.consumer(request_id, router_id, consumer_id, request)
    }

    fn close_consumer(
        &self,
        request_id: u64,
        router_id: String,
        consumer_id: String,
    ) -> PyResult<()> {
        self.consumer(request_id, router_id, consumer_id, ConsumerRequest::Close)
    }

    // RTP observers.

    fn close_rtp_observer(
        &self,
        request_id: u64,
        router_id: String,
        observer_id: String,
    ) -> PyResult<()> {
        self.rtp_observer(
            request_id,
            router_id,
            observer_id,
            RtpObserverRequest::Close,
        )
    }

    fn set_rtp_observer_paused(
        &self,
        request_id: u64,
        router_id: String,
        observer_id: String,
        paused: bool,
    ) -> PyResult<()> {
        let request = RtpObserverRequest::SetPaused(paused);
        self.rtp_observer(request_id, router_id, observer_id, request)
    }

    /// Adds (`observed`) or removes a producer of an RTP observer.
    fn set_rtp_observer_producer(
        &self,
        request_id: u64,
        router_id: String,
        observer_id: String,
        producer_id: String,
        observed: bool,
    ) -> PyResult<()> {
        let request = if observed {
            RtpObserverRequest::AddProducer(producer_id)
        } else {
            RtpObserverRequest::RemoveProducer(producer_id)
        };
        self.rtp_observer(request_id, router_id, observer_id, request)
    }

    /// Closes every transport and ends the thread (waits for it, without the GIL), then
    /// lets go of the thread's wake-up and event descriptors.
    fn close(&mut self, py: Python<'_>) {
        if let Some(mut handle) = self.handle.take() {
            py.detach(move || handle.close());
        }
    }
}
