//! The transports a worker can hold, behind one interface for the event loop.

use std::net::{SocketAddr, UdpSocket};
use std::time::Instant;

use super::messages::{TransportEvent, TransportStats};
use super::plain_transport::WorkerPlainTransport;
use super::udp_batch::{RecvBatch, SendBatch};
use super::webrtc_transport::WorkerWebRtcTransport;

/// A transport in a worker slot (boxed: transports hold SRTP and cipher state, and slots
/// move when the slot vector grows).
#[derive(Debug)]
pub enum WorkerTransport {
    /// ICE-lite + DTLS + SRTP.
    WebRtc(Box<WorkerWebRtcTransport>),
    /// Plain (S)RTP.
    Plain(Box<WorkerPlainTransport>),
}

impl WorkerTransport {
    /// The caller's id.
    pub fn id(&self) -> &str {
        match self {
            WorkerTransport::WebRtc(transport) => &transport.id,
            WorkerTransport::Plain(transport) => &transport.id,
        }
    }

    /// Its sockets, in token order.
    pub fn sockets(&self) -> Vec<&UdpSocket> {
        match self {
            WorkerTransport::WebRtc(transport) => vec![transport.socket()],
            WorkerTransport::Plain(transport) => transport.sockets().collect(),
        }
    }

    /// Bound addresses, to return to the port allocator.
    pub fn locals(&self) -> Vec<SocketAddr> {
        match self {
            WorkerTransport::WebRtc(transport) => vec![transport.local()],
            WorkerTransport::Plain(transport) => transport.locals(),
        }
    }

    /// Socket `index` is readable.
    pub fn on_readable(
        &mut self,
        index: usize,
        receive: &mut RecvBatch,
        send: &mut SendBatch,
        now: Instant,
        events: &mut Vec<TransportEvent>,
    ) -> std::io::Result<()> {
        match self {
            WorkerTransport::WebRtc(transport) => transport.on_readable(receive, send, now, events),
            WorkerTransport::Plain(transport) => transport.on_readable(index, receive, events),
        }
    }

    /// When the transport's timers need it next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self {
            WorkerTransport::WebRtc(transport) => transport.connection.poll_timeout(),
            WorkerTransport::Plain(_) => None,
        }
    }

    /// Runs due timers.
    pub fn on_timer(
        &mut self,
        send: &mut SendBatch,
        now: Instant,
        events: &mut Vec<TransportEvent>,
    ) {
        if let WorkerTransport::WebRtc(transport) = self {
            transport.on_timer(send, now, events);
        }
    }

    /// Counters and states.
    pub fn stats(&self) -> TransportStats {
        match self {
            WorkerTransport::WebRtc(transport) => transport.stats(),
            WorkerTransport::Plain(transport) => transport.stats(),
        }
    }

    /// Says goodbye on the wire where the protocol has a way to.
    pub fn close(&mut self, send: &mut SendBatch) {
        match self {
            WorkerTransport::WebRtc(transport) => transport.close(send),
            // Plain RTP has no goodbye message; closing the socket is all.
            WorkerTransport::Plain(_) => {}
        }
    }
}
