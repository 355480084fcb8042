//! What goes into a worker (requests, each addressed to the entity that answers it, as
//! mediasoup's handler ids do) and what comes out (responses and events), as plain Rust
//! values; the Python binding converts them.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::log::{LogFilter, LogLevel, LogTag};
use super::ports::PortChoice;
use super::webrtc_server::UnroutedDatagrams;
use crate::dtls::DtlsState;
use crate::ice::{IceParameters, IceState, TransportProtocol, TransportTuple};
use crate::rtc::consumer::{ConsumerSpec, ConsumerStats};
use crate::rtc::data_consumer::DataConsumerStats;
use crate::rtc::data_producer::DataProducerStats;
use crate::rtc::producer_stream::{ProducerSpec, ProducerStats};
use crate::rtc::rate_meter::RateMeter;
pub use crate::rtc::request_error::RequestError;
use crate::rtc::router::{ConsumerDump, RouterResponse, TransportFigures};
pub use crate::rtc::router::{
    ConsumerRequest, ProducerRequest, RouterDump, RouterEvent, RtpObserverOptions,
    RtpObserverReport, RtpObserverRequest,
};
use crate::rtc::webrtc_connection::{DropCounters, RemoteDtlsParameters};
use crate::sctp::{
    Ppid, SctpConfig, SctpDropCounters, SctpRefusedCounters, SctpState, StreamReliability,
};
use crate::srtp::SrtpProfile;

/// Matches a response to its request.
pub type RequestId = u64;

/// A request to a worker, addressed to what answers it.
#[derive(Debug, Clone)]
pub enum Request {
    /// To the worker itself.
    Worker(WorkerRequest),
    /// To a WebRtcServer.
    WebRtcServer {
        /// The server.
        server_id: String,
        /// What it is asked.
        request: WebRtcServerRequest,
    },
    /// To a router.
    Router {
        /// The router.
        router_id: String,
        /// What it is asked.
        request: RouterRequest,
    },
    /// To a transport (of any router of the worker: transport ids are unique per worker).
    Transport {
        /// The transport.
        transport_id: String,
        /// What it is asked.
        request: TransportRequest,
    },
    /// To a producer of a router.
    Producer {
        /// Its router.
        router_id: String,
        /// The producer.
        producer_id: String,
        /// What it is asked.
        request: ProducerRequest,
    },
    /// To a consumer of a router.
    Consumer {
        /// Its router.
        router_id: String,
        /// The consumer.
        consumer_id: String,
        /// What it is asked.
        request: ConsumerRequest,
    },
    /// To a DataProducer (of any transport of the worker).
    DataProducer {
        /// The data producer.
        data_producer_id: String,
        /// What it is asked.
        request: DataProducerRequest,
    },
    /// To a DataConsumer.
    DataConsumer {
        /// The data consumer.
        data_consumer_id: String,
        /// What it is asked.
        request: DataConsumerRequest,
    },
    /// To an RTP observer of a router.
    RtpObserver {
        /// Its router.
        router_id: String,
        /// The observer.
        observer_id: String,
        /// What it is asked.
        request: RtpObserverRequest,
    },
}

/// A request the worker answers itself.
#[derive(Debug, Clone)]
pub enum WorkerRequest {
    /// Creates a router.
    CreateRouter {
        /// The id the caller chose (unique per worker).
        router_id: String,
    },
    /// Creates a WebRtcServer: shared sockets for many WebRTC transports.
    CreateWebRtcServer {
        /// The id the caller chose.
        server_id: String,
        /// Where it listens.
        listens: Vec<ListenAddress>,
    },
    /// Joins this worker to a WebRtcServer another worker of the process created, so its
    /// routers' WebRTC transports can use that server's ports too.
    JoinWebRtcServer {
        /// The server's id.
        server_id: String,
    },
    /// This worker, a member of the WebRtcServer, takes the place of the member that read
    /// its port (that worker died): it binds the port again and reads it.
    RehomeWebRtcServer {
        /// The server's id.
        server_id: String,
    },
    /// CPU and memory use of the worker thread.
    GetResourceUsage,
    /// mediasoup's `updateSettings({logLevel, logTags})`.
    UpdateSettings {
        /// The new log filter.
        log: LogFilter,
    },
    /// The worker's routers, servers and transports.
    Dump,
    /// A debug hook: makes the worker thread panic, so tests (here and from Python) can
    /// check that a dead worker is reported and that other workers keep serving.
    Panic,
}

/// A request to a WebRtcServer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebRtcServerRequest {
    /// Closes it and the transports on it.
    Close,
    /// What it dropped.
    Dump,
}

/// A request to a router.
#[derive(Debug, Clone)]
pub enum RouterRequest {
    /// Closes it with everything on it.
    Close,
    /// Its transports, producers with their consumers, and observers.
    Dump,
    /// Creates a WebRTC transport, on its own ports or on a WebRtcServer.
    CreateWebRtcTransport {
        /// The id the caller chose (unique per worker).
        transport_id: String,
        /// Where it listens.
        listen: WebRtcListen,
        /// mediasoup's `iceConsentTimeout`; `None` disables consent expiry.
        ice_consent_timeout: Option<Duration>,
        /// DataChannels over DTLS (`enableSctp` and its options), or `None`.
        sctp: Option<SctpConfig>,
    },
    /// Creates a PlainTransport listening on `listen_ip`.
    CreatePlainTransport {
        /// The id the caller chose (unique per worker).
        transport_id: String,
        /// The address to bind.
        listen_ip: IpAddr,
        /// The RTP port (the RTCP port, without rtcp-mux, comes from the worker's range).
        port: PortChoice,
        /// RTP and RTCP on one port (default) or two.
        rtcp_mux: bool,
        /// Learn the remote address from the first packet.
        comedia: bool,
        /// With SRTP: the suite (our key is generated by the transport).
        srtp_profile: Option<SrtpProfile>,
        /// DataChannels over the RTP tuple (`enableSctp` and its options), or `None`.
        sctp: Option<SctpConfig>,
    },
    /// Creates a DirectTransport.
    CreateDirectTransport {
        /// The id the caller chose.
        transport_id: String,
    },
    /// Creates an RTP observer (audio level or active speaker).
    CreateRtpObserver {
        /// The id the caller chose.
        observer_id: String,
        /// Its kind and settings.
        options: RtpObserverOptions,
    },
}

/// A request to a transport.
#[derive(Debug, Clone)]
pub enum TransportRequest {
    /// Closes it (DTLS close_notify), its consumers, its producers and their consumers.
    Close,
    /// Its counters and states.
    GetStats,
    /// A WebRtcTransport's `connect({dtlsParameters})`.
    ConnectWebRtc {
        /// The client's role and fingerprint.
        remote: RemoteDtlsParameters,
    },
    /// A WebRtcTransport's new ICE credentials.
    RestartIce,
    /// A PlainTransport's `connect({ip, port, rtcpPort, srtpParameters})`.
    ConnectPlain {
        /// Remote RTP address (not with comedia).
        remote_rtp: Option<SocketAddr>,
        /// Remote RTCP address without rtcp-mux.
        remote_rtcp: Option<SocketAddr>,
        /// The remote key || salt, with SRTP.
        remote_srtp_key: Option<Vec<u8>>,
    },
    /// A packet from the owner into a DirectTransport, as if an endpoint had sent it.
    SendDirectPacket {
        /// RTCP rather than RTP.
        rtcp: bool,
        /// The packet.
        packet: Vec<u8>,
    },
    /// Bounds its bitrates (mediasoup's `setMaxIncomingBitrate`, `setMaxOutgoingBitrate`,
    /// `setMinOutgoingBitrate`).
    SetBitrates {
        /// What its endpoint is asked not to send above (`None`: no limit).
        max_incoming: Option<u64>,
        /// What its consumers are allocated within: (min, max), `None`: no bounds.
        outgoing: Option<(u64, u64)>,
    },
    /// Creates a producer receiving on it.
    Produce {
        /// The id the caller chose.
        producer_id: String,
        /// Payload types, extension ids and SSRCs, resolved against the router.
        spec: Box<ProducerSpec>,
        /// Whether it starts paused.
        paused: bool,
    },
    /// Creates a DataProducer receiving on it: on an SCTP stream, or (on a DirectTransport,
    /// `stream` `None`) from the application.
    ProduceData {
        /// The id the caller chose.
        data_producer_id: String,
        /// Its SCTP stream and delivery rules.
        stream: Option<(u16, StreamReliability)>,
        /// Whether it starts paused.
        paused: bool,
    },
    /// Creates a DataConsumer of a data producer of the worker, sending on it.
    ConsumeData {
        /// The id the caller chose.
        data_consumer_id: String,
        /// The data producer it consumes.
        data_producer_id: String,
        /// Its SCTP stream (chosen by the caller) and delivery rules; `None` on a
        /// DirectTransport.
        stream: Option<(u16, StreamReliability)>,
        /// Whether it starts paused.
        paused: bool,
        /// The subchannels it is in.
        subchannels: Vec<u16>,
    },
    /// Creates a consumer of a producer of its router, sending on it.
    Consume {
        /// The id the caller chose.
        consumer_id: String,
        /// The producer it consumes.
        producer_id: String,
        /// What the endpoint accepts.
        spec: Box<ConsumerSpec>,
        /// Whether it starts paused.
        paused: bool,
    },
}

/// One address a WebRTC transport or WebRtcServer listens on, with its ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenAddress {
    /// The address to bind.
    pub ip: IpAddr,
    /// The UDP port, or `None` for no UDP.
    pub udp: Option<PortChoice>,
    /// The TCP port (ICE-TCP passive candidates, RFC 6544), or `None` for no TCP.
    pub tcp: Option<PortChoice>,
}

/// A request to a DataProducer.
#[derive(Debug, Clone)]
pub enum DataProducerRequest {
    /// Closes it; its consumers hear `dataproducerclose`.
    Close,
    /// Pauses (`true`) or resumes it.
    SetPaused(bool),
    /// Its counters.
    GetStats,
    /// A message from the application (a DirectTransport's data producer).
    Send {
        /// What it is.
        ppid: Ppid,
        /// Its bytes.
        payload: Vec<u8>,
        /// Only consumers in one of these subchannels get it (none: every consumer).
        subchannels: Vec<u16>,
        /// Only consumers in this subchannel get it.
        required_subchannel: Option<u16>,
    },
}

/// A request to a DataConsumer.
#[derive(Debug, Clone)]
pub enum DataConsumerRequest {
    /// Closes it (its SCTP stream is reset).
    Close,
    /// Pauses (`true`) or resumes it.
    SetPaused(bool),
    /// Its counters and the bytes queued on its stream.
    GetStats,
    /// The queued bytes at or under which `bufferedamountlow` is reported.
    SetBufferedAmountLowThreshold(usize),
    /// Reports `bufferedamountlow` to the owner (`true`, once it listens) or not.
    ReportBufferedAmountLow(bool),
    /// The subchannels it is in.
    SetSubchannels(Vec<u16>),
}

/// Where a WebRTC transport listens.
#[derive(Debug, Clone)]
pub enum WebRtcListen {
    /// Its own ports, on each of these addresses (candidates on every one).
    Own(Vec<ListenAddress>),
    /// The sockets of this WebRtcServer.
    Server(String),
}

/// A successful answer.
#[derive(Debug, Clone)]
pub enum Response {
    /// The request needed no data back.
    Done,
    /// A WebRTC transport exists: its credentials and bound address.
    WebRtcTransportCreated {
        /// ICE credentials to announce.
        ice_parameters: IceParameters,
        /// The bound addresses, UDP first.
        locals: Vec<(TransportProtocol, SocketAddr)>,
    },
    /// A WebRtcServer exists.
    WebRtcServerCreated {
        /// The bound addresses, UDP first.
        locals: Vec<(TransportProtocol, SocketAddr)>,
    },
    /// A PlainTransport exists.
    PlainTransportCreated {
        /// The bound RTP address.
        local: SocketAddr,
        /// The bound RTCP address without rtcp-mux.
        rtcp_local: Option<SocketAddr>,
        /// Our SRTP key || salt, to announce in `srtpParameters`.
        srtp_key: Option<Vec<u8>>,
    },
    /// New ICE credentials after a restart.
    IceRestarted(IceParameters),
    /// A transport's statistics.
    TransportStats(Box<TransportStats>),
    /// The worker thread's resource use.
    ResourceUsage(ResourceUsage),
    /// A producer's counters, per stream.
    ProducerStats(Vec<ProducerStats>),
    /// A consumer's counters.
    ConsumerStats(ConsumerStats),
    /// A consumer's state.
    ConsumerDump(ConsumerDump),
    /// A data producer's counters.
    DataProducerStats(DataProducerStats),
    /// A data consumer's counters.
    DataConsumerStats {
        /// Messages and bytes sent.
        stats: DataConsumerStats,
        /// Bytes queued on its SCTP stream.
        buffered_amount: usize,
    },
    /// The worker's objects.
    WorkerDump {
        /// Router ids.
        router_ids: Vec<String>,
        /// WebRtcServer ids.
        webrtc_server_ids: Vec<String>,
        /// Transport ids, of every router.
        transport_ids: Vec<String>,
    },
    /// A router's objects.
    RouterDump {
        /// Its transports' ids.
        transport_ids: Vec<String>,
        /// Its producers with their consumers, and its observers.
        dump: RouterDump,
    },
    /// A WebRtcServer's counters.
    WebRtcServerDump {
        /// Datagrams no transport claimed.
        unrouted: UnroutedDatagrams,
        /// Datagrams and ICE-TCP connections this worker handed to another member.
        handed_over: u64,
        /// Sockets this worker holds connected to clients of validated UDP tuples.
        tuple_sockets: usize,
    },
}

impl From<RouterResponse> for Response {
    fn from(response: RouterResponse) -> Self {
        match response {
            RouterResponse::Done => Response::Done,
            RouterResponse::ProducerStats(stats) => Response::ProducerStats(stats),
            RouterResponse::ConsumerStats(stats) => Response::ConsumerStats(stats),
            RouterResponse::ConsumerDump(dump) => Response::ConsumerDump(dump),
        }
    }
}

/// What a transport has done, in mediasoup's stats terms.
#[derive(Debug, Clone, Default)]
pub struct TransportStats {
    /// Datagrams received on the transport's socket.
    pub datagrams_received: u64,
    /// Bytes received.
    pub bytes_received: u64,
    /// Datagrams sent.
    pub datagrams_sent: u64,
    /// Bytes sent.
    pub bytes_sent: u64,
    /// RTP packets that authenticated and decrypted.
    pub rtp_packets_received: u64,
    /// RTCP packets that authenticated and decrypted.
    pub rtcp_packets_received: u64,
    /// Of those, compounds with a packet whose framing or contents do not parse (the packets
    /// that parsed were still used, as mediasoup does).
    pub rtcp_packets_malformed: u64,
    /// Dropped datagrams by reason.
    pub drops: DropCounters,
    /// ICE state.
    pub ice_state: Option<IceState>,
    /// Where media goes.
    pub ice_selected_tuple: Option<TransportTuple>,
    /// DTLS state.
    pub dtls_state: Option<DtlsState>,
    /// A PlainTransport's RTP tuple.
    pub tuple: Option<TransportTuple>,
    /// A PlainTransport's RTCP tuple without rtcp-mux.
    pub rtcp_tuple: Option<TransportTuple>,
    /// What its router knows: bitrates the endpoint can send and take, the application's
    /// bounds, losses by transport-wide numbers, RTP and RTX by kind, and the RTP packets
    /// its producers sent above its `max_incoming_bitrate` (dropped, not forwarded).
    pub routing: TransportFigures,
    /// Bytes received (every datagram), for the bitrate over the last second.
    pub received_rate: RateMeter,
    /// Bytes sent (every datagram), likewise.
    pub sent_rate: RateMeter,
    /// Bits per second received and sent over the last second, as of the stats request
    /// (from `received_rate` and `sent_rate`).
    pub bitrates: (u64, u64),
    /// A DirectTransport's packets dropped because its owner had too many waiting.
    pub packets_dropped_owner_behind: u64,
    /// With SCTP: what its association dropped of what arrived, and refused to send.
    pub sctp: Option<(SctpDropCounters, SctpRefusedCounters)>,
}

impl TransportStats {
    /// Counts a datagram of `len` bytes received `now`.
    pub fn count_received(&mut self, len: usize, now: Instant) {
        self.datagrams_received += 1;
        self.bytes_received += len as u64;
        self.received_rate.record(len, now);
    }

    /// Counts `datagrams` of `bytes` in all sent `now`.
    pub fn count_sent(&mut self, datagrams: u64, bytes: u64, now: Instant) {
        self.datagrams_sent += datagrams;
        self.bytes_sent += bytes;
        if bytes > 0 {
            self.sent_rate.record(bytes as usize, now);
        }
    }
}

/// `getrusage(RUSAGE_THREAD)` of the worker thread, in mediasoup's field names.
#[derive(Debug, Clone, Copy, Default)]
pub struct ResourceUsage {
    /// User CPU time, ms.
    pub ru_utime: u64,
    /// System CPU time, ms.
    pub ru_stime: u64,
    /// Maximum resident set size of the process, KiB.
    pub ru_maxrss: u64,
    /// Voluntary context switches.
    pub ru_nvcsw: u64,
    /// Involuntary context switches.
    pub ru_nivcsw: u64,
}

/// A state change of a transport.
#[derive(Debug, Clone)]
pub enum TransportEvent {
    /// `icestatechange`.
    IceStateChanged(IceState),
    /// `iceselectedtuplechange`.
    IceSelectedTupleChanged(TransportTuple),
    /// A PlainTransport's `tuple` event.
    Tuple(TransportTuple),
    /// A PlainTransport's `rtcptuple` event.
    RtcpTuple(TransportTuple),
    /// `dtlsstatechange`, with the peer certificate (DER) when connected.
    DtlsStateChanged {
        /// The new state.
        state: DtlsState,
        /// The peer certificate, when `state` is connected.
        remote_certificate_der: Option<Vec<u8>>,
        /// Why, when `state` is failed.
        failure_reason: Option<String>,
    },
    /// `sctpstatechange`.
    SctpStateChanged(SctpState),
}

/// Something that happened to a DataConsumer.
#[derive(Debug, Clone)]
pub enum DataConsumerEvent {
    /// Its data producer closed (so did it).
    DataProducerClosed,
    /// Its data producer paused (`true`) or resumed.
    DataProducerPaused(bool),
    /// The bytes queued on its stream fell to its threshold.
    BufferedAmountLow(usize),
    /// A message was refused: the transport's send buffer is full.
    SendBufferFull,
    /// A message for the application (a DirectTransport's data consumer).
    Message {
        /// What it is.
        ppid: Ppid,
        /// Its bytes.
        payload: bytes::Bytes,
    },
}

/// How a worker thread ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkerExit {
    /// `close()` was called.
    Closed,
    /// The thread panicked or its event loop failed; the message says why.
    Died(String),
}

/// Everything a worker tells its owner.
#[derive(Debug, Clone)]
pub enum WorkerEvent {
    /// The answer to a request.
    Response {
        /// The request's id.
        id: RequestId,
        /// The answer, or why the request failed.
        result: Result<Response, RequestError>,
    },
    /// A transport changed state.
    Transport {
        /// The transport.
        transport_id: String,
        /// What changed.
        event: TransportEvent,
    },
    /// Something about a router's producers, consumers or observers.
    Router {
        /// The router.
        router_id: String,
        /// What happened.
        event: RouterEvent,
    },
    /// Something happened to a DataConsumer.
    DataConsumer {
        /// The data consumer.
        data_consumer_id: String,
        /// What happened.
        event: DataConsumerEvent,
    },
    /// A packet a DirectTransport sends (a consumer's RTP, or RTCP), for its owner.
    DirectPacket {
        /// The DirectTransport.
        transport_id: Arc<str>,
        /// RTCP rather than RTP.
        rtcp: bool,
        /// The packet.
        packet: Vec<u8>,
    },
    /// A log record that passed the worker's filter.
    Log {
        /// Its level.
        level: LogLevel,
        /// Its subsystem.
        tag: LogTag,
        /// The text.
        message: String,
    },
    /// The worker thread ended; nothing follows.
    Exited(WorkerExit),
}
