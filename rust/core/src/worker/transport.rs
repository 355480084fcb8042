//! What the event loop asks of a transport, whatever its kind: read its sockets, send RTP and
//! RTCP its router gives it, run its timers, answer the requests about it that are its own
//! (connect, ICE restart, a packet from the owner), report its counters and state changes,
//! close. The loop holds `Box<dyn Transport>` and never asks which kind it has; routing
//! (producers, consumers, bitrates) is its router's business, not the transport's.

use std::net::SocketAddr;
use std::time::Instant;

use mio::Registry;

use super::egress_queue::EgressQueue;
use super::event_queue::EventQueue;
use super::forward_queue::ForwardQueue;
use super::messages::{Response, TransportEvent, TransportRequest, TransportStats, WorkerEvent};
use super::udp_batch::{RecvBatch, SendBatch};
use super::webrtc_server::WorkerWebRtcServer;
use super::webrtc_transport::{WebRtcTransportState, MAX_TCP_CONNECTIONS};
use crate::ice::TransportProtocol;
use crate::rtc::request_error::RequestError;
use crate::sctp::{SctpAssociation, SctpConfig};

/// Tokens per transport slot: token = slot * TOKENS_PER_SLOT + socket index.
pub const TOKENS_PER_SLOT: usize =
    super::socket_set::FIRST_TCP_CONNECTION_INDEX + MAX_TCP_CONNECTIONS;

/// The worker's I/O state a transport reads and sends with.
#[derive(Debug)]
pub struct TransportIo<'a> {
    /// The transport's slot (its tokens and its name in the forward queue).
    pub slot: usize,
    /// Now.
    pub now: Instant,
    /// Where sockets register.
    pub registry: &'a Registry,
    /// The WebRtcServers, whose sockets transports on them use.
    pub servers: &'a mut [Option<WorkerWebRtcServer>],
    /// Receive buffers.
    pub receive: &'a mut RecvBatch,
    /// Answers sent at once (STUN, DTLS, RTCP).
    pub send: &'a mut SendBatch,
    /// Media sent when the routing phase ends.
    pub egress: &'a mut EgressQueue,
    /// What was decrypted, for the routing phase.
    pub forward: &'a mut ForwardQueue,
    /// The owner's events (a DirectTransport's packets go there).
    pub events: &'a EventQueue<WorkerEvent>,
}

/// A transport in a worker slot.
pub trait Transport: std::fmt::Debug + Send {
    /// The caller's id.
    fn id(&self) -> &str;

    /// Addresses it bound itself, to return to the port allocator when it closes (none on
    /// a WebRtcServer).
    fn locals(&self) -> Vec<(TransportProtocol, SocketAddr)>;

    /// Registers its own sockets at tokens from `token_base` on.
    fn register(&mut self, registry: &Registry, token_base: usize) -> std::io::Result<()>;

    /// Deregisters its own sockets (they are about to close; failures cannot matter).
    fn deregister(&mut self, registry: &Registry);

    /// Socket `index` is ready: one read (a receive batch, or a TCP chunk), what it
    /// decrypted going to `io.forward`. Whether more may be waiting.
    fn read(&mut self, index: usize, writable: bool, io: &mut TransportIo<'_>) -> bool;

    /// Sends RTP (`buffer[..len]`, with room for the SRTP tag) to its endpoint, queued until
    /// the routing phase ends.
    fn send_rtp(&mut self, buffer: &mut [u8], len: usize, io: &mut TransportIo<'_>);

    /// Sends an RTCP compound (`buffer[..len]`, with room for the SRTCP trailer) to its
    /// endpoint by the end of the worker's round (the egress queue is sent then, and before
    /// any socket closes).
    fn send_rtcp(&mut self, buffer: &mut [u8], len: usize, io: &mut TransportIo<'_>);

    /// When its timers need it next.
    fn poll_timeout(&self) -> Option<Instant> {
        None
    }

    /// Runs its timers.
    fn on_timeout(&mut self, _io: &mut TransportIo<'_>) {}

    /// Answers a request about it that is its own (not its router's): connect, ICE restart,
    /// a packet from the owner.
    fn handle_request(
        &mut self,
        request: TransportRequest,
        io: &mut TransportIo<'_>,
    ) -> Result<Response, RequestError>;

    /// Counts an RTCP compound that did not parse whole.
    fn count_malformed_rtcp(&mut self);

    /// Counters and states.
    fn stats(&self) -> TransportStats;

    /// State changes since the last call.
    fn collect_events(&mut self, events: &mut Vec<TransportEvent>);

    /// Says goodbye to its endpoint (DTLS close_notify) before it goes.
    fn close(&mut self, _io: &mut TransportIo<'_>) {}

    /// The WebRtcServer slot whose sockets it uses, if any.
    fn webrtc_server(&self) -> Option<usize> {
        None
    }

    /// Its WebRTC connection, when a WebRtcServer routes it a datagram (only WebRTC
    /// transports on a server get any).
    fn webrtc_state(&mut self) -> Option<&mut WebRtcTransportState> {
        None
    }

    /// Its SCTP association's options, when it carries DataChannels.
    fn sctp_config(&self) -> Option<SctpConfig> {
        None
    }

    /// Runs `operation` on its SCTP association (open or close a stream, send, read its
    /// events) and sends what that queued; `None` without SCTP.
    fn with_sctp(
        &mut self,
        _io: &mut TransportIo<'_>,
        _operation: &mut dyn FnMut(&mut SctpAssociation),
    ) -> Option<()> {
        None
    }
}

/// The error for a request a transport of this kind does not answer.
pub fn not_for_this_kind(request: &TransportRequest, kind: &str) -> RequestError {
    RequestError::InvalidState(format!(
        "a {kind} does not take {}",
        match request {
            TransportRequest::ConnectWebRtc { .. } => "a WebRTC connect",
            TransportRequest::RestartIce => "an ICE restart",
            TransportRequest::ConnectPlain { .. } => "a plain connect",
            TransportRequest::SendDirectPacket { .. } => "packets from the owner",
            TransportRequest::Close
            | TransportRequest::GetStats
            | TransportRequest::SetBitrates { .. }
            | TransportRequest::Produce { .. }
            | TransportRequest::Consume { .. }
            | TransportRequest::ProduceData { .. }
            | TransportRequest::ConsumeData { .. } => "this request",
        }
    ))
}
