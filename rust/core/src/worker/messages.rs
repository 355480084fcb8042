//! What goes into a worker (requests) and what comes out (responses and events), as plain
//! Rust values; the Python binding converts them to and from dicts.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::dtls::DtlsState;
use crate::ice::{IceParameters, IceState, TransportTuple};
use crate::rtc::webrtc_connection::{DropCounters, RemoteDtlsParameters};

/// Matches a response to its request.
pub type RequestId = u64;

/// A request to a worker.
#[derive(Debug, Clone)]
pub enum Request {
    /// Creates a WebRTC transport listening on `listen_ip` at a port from the worker's range.
    CreateWebRtcTransport {
        /// The id the caller chose (unique per worker).
        transport_id: String,
        /// The address to bind.
        listen_ip: IpAddr,
        /// mediasoup's `iceConsentTimeout`; `None` disables consent expiry.
        ice_consent_timeout: Option<Duration>,
    },
    /// The client's `connect({dtlsParameters})`.
    ConnectWebRtcTransport {
        /// The transport.
        transport_id: String,
        /// Its role and fingerprint.
        remote: RemoteDtlsParameters,
    },
    /// New ICE credentials.
    RestartIce {
        /// The transport.
        transport_id: String,
    },
    /// Counters and states of a transport.
    GetTransportStats {
        /// The transport.
        transport_id: String,
    },
    /// Closes a transport and frees its port.
    CloseTransport {
        /// The transport.
        transport_id: String,
    },
    /// CPU and memory use of the worker thread.
    GetResourceUsage,
    /// The worker's objects.
    Dump,
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
        /// The bound UDP address.
        local: SocketAddr,
    },
    /// New ICE credentials after a restart.
    IceRestarted(IceParameters),
    /// A transport's statistics.
    TransportStats(TransportStats),
    /// The worker thread's resource use.
    ResourceUsage(ResourceUsage),
    /// The transport ids on this worker.
    Dump {
        /// Transport ids.
        transport_ids: Vec<String>,
    },
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
    /// Dropped datagrams by reason.
    pub drops: DropCounters,
    /// ICE state.
    pub ice_state: Option<IceState>,
    /// Where media goes.
    pub ice_selected_tuple: Option<TransportTuple>,
    /// DTLS state.
    pub dtls_state: Option<DtlsState>,
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
    /// `dtlsstatechange`, with the peer certificate (DER) when connected.
    DtlsStateChanged {
        /// The new state.
        state: DtlsState,
        /// The peer certificate, when `state` is connected.
        remote_certificate_der: Option<Vec<u8>>,
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
        result: Result<Response, String>,
    },
    /// A transport changed state.
    Transport {
        /// The transport.
        transport_id: String,
        /// What changed.
        event: TransportEvent,
    },
    /// The worker thread ended; nothing follows.
    Exited(WorkerExit),
}
