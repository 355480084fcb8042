//! The transports a worker can hold, behind one interface for the event loop.

use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::time::Instant;

use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};

use super::messages::{TransportEvent, TransportStats};
use super::plain_transport::WorkerPlainTransport;
use super::udp_batch::{RecvBatch, SendBatch};
use super::webrtc_transport::{
    WorkerWebRtcTransport, FIRST_TCP_CONNECTION_INDEX, MAX_TCP_CONNECTIONS, TCP_LISTENER_INDEX,
    UDP_INDEX,
};
use crate::ice::TransportProtocol;

/// Tokens per transport slot: token = slot * TOKENS_PER_SLOT + socket index.
pub const TOKENS_PER_SLOT: usize = FIRST_TCP_CONNECTION_INDEX + MAX_TCP_CONNECTIONS;

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

    /// Bound addresses, to return to the port allocator.
    pub fn locals(&self) -> Vec<(TransportProtocol, SocketAddr)> {
        match self {
            WorkerTransport::WebRtc(transport) => transport.locals(),
            WorkerTransport::Plain(transport) => transport
                .locals()
                .into_iter()
                .map(|address| (TransportProtocol::Udp, address))
                .collect(),
        }
    }

    /// Registers the listening sockets for readability at `slot`'s tokens.
    pub fn register(&mut self, registry: &Registry, slot: usize) -> std::io::Result<()> {
        let base = slot * TOKENS_PER_SLOT;
        match self {
            WorkerTransport::WebRtc(transport) => {
                if let Some(socket) = transport.udp() {
                    registry.register(
                        &mut SourceFd(&socket.as_raw_fd()),
                        Token(base + UDP_INDEX),
                        Interest::READABLE,
                    )?;
                }
                if let Some(listener) = transport.tcp_mut() {
                    registry.register(
                        listener,
                        Token(base + TCP_LISTENER_INDEX),
                        Interest::READABLE,
                    )?;
                }
            }
            WorkerTransport::Plain(transport) => {
                for (index, socket) in transport.sockets().enumerate() {
                    registry.register(
                        &mut SourceFd(&socket.as_raw_fd()),
                        Token(base + index),
                        Interest::READABLE,
                    )?;
                }
            }
        }
        Ok(())
    }

    /// Says goodbye on the wire where the protocol has a way to, and deregisters every
    /// socket (deregistering sockets about to close cannot usefully fail).
    pub fn close(&mut self, registry: &Registry, send: &mut SendBatch) {
        match self {
            WorkerTransport::WebRtc(transport) => {
                transport.close(registry, send);
                if let Some(socket) = transport.udp() {
                    let _ = registry.deregister(&mut SourceFd(&socket.as_raw_fd()));
                }
                if let Some(listener) = transport.tcp_mut() {
                    let _ = registry.deregister(listener);
                }
            }
            // Plain RTP has no goodbye message; closing the sockets is all.
            WorkerTransport::Plain(transport) => {
                for socket in transport.sockets() {
                    let _ = registry.deregister(&mut SourceFd(&socket.as_raw_fd()));
                }
            }
        }
    }

    /// Socket `index` of `slot` is ready.
    #[allow(clippy::too_many_arguments)]
    pub fn on_ready(
        &mut self,
        slot: usize,
        index: usize,
        writable: bool,
        registry: &Registry,
        receive: &mut RecvBatch,
        send: &mut SendBatch,
        now: Instant,
        events: &mut Vec<TransportEvent>,
    ) {
        match self {
            WorkerTransport::WebRtc(transport) => transport.on_ready(
                index,
                writable,
                registry,
                slot * TOKENS_PER_SLOT,
                receive,
                send,
                now,
                events,
            ),
            WorkerTransport::Plain(transport) => {
                // A socket error (e.g. ICMP unreachable reported on read) ends this read only.
                let _ = transport.on_readable(index, receive, events);
            }
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
}
