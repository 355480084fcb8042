//! The transports a worker can hold, behind one interface for the event loop.

use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::time::Instant;

use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};

use super::direct_transport::WorkerDirectTransport;
use super::forward_queue::ForwardQueue;
use super::messages::{TransportEvent, TransportStats};
use super::plain_transport::WorkerPlainTransport;
use super::udp_batch::RecvBatch;
use super::webrtc_transport::{TransportSockets, WorkerWebRtcTransport, MAX_TCP_CONNECTIONS};
use crate::ice::TransportProtocol;

/// Tokens per transport slot: token = slot * TOKENS_PER_SLOT + socket index.
pub const TOKENS_PER_SLOT: usize =
    super::socket_set::FIRST_TCP_CONNECTION_INDEX + MAX_TCP_CONNECTIONS;

/// A transport in a worker slot (boxed: transports hold SRTP and cipher state, and slots
/// move when the slot vector grows).
#[derive(Debug)]
pub enum WorkerTransport {
    /// ICE-lite + DTLS + SRTP.
    WebRtc(Box<WorkerWebRtcTransport>),
    /// Plain (S)RTP.
    Plain(Box<WorkerPlainTransport>),
    /// Packets to and from the owner, no sockets.
    Direct(Box<WorkerDirectTransport>),
}

impl WorkerTransport {
    /// The caller's id.
    pub fn id(&self) -> &str {
        match self {
            WorkerTransport::WebRtc(transport) => &transport.id,
            WorkerTransport::Plain(transport) => &transport.id,
            WorkerTransport::Direct(transport) => &transport.id,
        }
    }

    /// Addresses this transport bound itself, to return to the port allocator (none for a
    /// transport on a WebRtcServer).
    pub fn locals(&self) -> Vec<(TransportProtocol, SocketAddr)> {
        match self {
            WorkerTransport::WebRtc(transport) => match &transport.sockets {
                TransportSockets::Own(sockets) => sockets.locals(),
                TransportSockets::Server(_) => Vec::new(),
            },
            WorkerTransport::Plain(transport) => transport
                .locals()
                .into_iter()
                .map(|address| (TransportProtocol::Udp, address))
                .collect(),
            WorkerTransport::Direct(_) => Vec::new(),
        }
    }

    /// Registers its own listening sockets at `slot`'s tokens.
    pub fn register(&mut self, registry: &Registry, slot: usize) -> std::io::Result<()> {
        let base = slot * TOKENS_PER_SLOT;
        match self {
            WorkerTransport::WebRtc(transport) => match &mut transport.sockets {
                TransportSockets::Own(sockets) => sockets.register(registry, base),
                TransportSockets::Server(_) => Ok(()),
            },
            WorkerTransport::Plain(transport) => {
                for (index, socket) in transport.sockets().enumerate() {
                    registry.register(
                        &mut SourceFd(&socket.as_raw_fd()),
                        Token(base + index),
                        Interest::READABLE,
                    )?;
                }
                Ok(())
            }
            WorkerTransport::Direct(_) => Ok(()),
        }
    }

    /// Deregisters its own sockets (they are about to close; failures cannot matter).
    pub fn deregister(&mut self, registry: &Registry) {
        match self {
            WorkerTransport::WebRtc(transport) => {
                if let TransportSockets::Own(sockets) = &mut transport.sockets {
                    sockets.deregister(registry);
                }
            }
            WorkerTransport::Plain(transport) => {
                for socket in transport.sockets() {
                    let _ = registry.deregister(&mut SourceFd(&socket.as_raw_fd()));
                }
            }
            WorkerTransport::Direct(_) => {}
        }
    }

    /// A PlainTransport socket is readable (WebRTC transports are read through their
    /// socket sets by the event loop): reads one batch, media going to `forward` under
    /// `slot`. Returns whether more may be waiting.
    pub fn on_plain_readable(
        &mut self,
        index: usize,
        slot: usize,
        receive: &mut RecvBatch,
        forward: &mut ForwardQueue,
        events: &mut Vec<TransportEvent>,
    ) -> bool {
        match self {
            // A socket error (e.g. ICMP unreachable reported on read) ends this read only.
            WorkerTransport::Plain(transport) => transport
                .on_readable(index, slot, receive, forward, events)
                .unwrap_or(false),
            WorkerTransport::WebRtc(_) | WorkerTransport::Direct(_) => false,
        }
    }

    /// When the transport's timers need it next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self {
            WorkerTransport::WebRtc(transport) => transport.state.connection.poll_timeout(),
            WorkerTransport::Plain(_) | WorkerTransport::Direct(_) => None,
        }
    }

    /// Counts an RTCP compound that did not parse whole.
    pub fn count_malformed_rtcp(&mut self) {
        match self {
            WorkerTransport::WebRtc(transport) => transport.state.count_malformed_rtcp(),
            WorkerTransport::Plain(transport) => transport.count_malformed_rtcp(),
            WorkerTransport::Direct(transport) => transport.count_malformed_rtcp(),
        }
    }

    /// Counters and states.
    pub fn stats(&self) -> TransportStats {
        match self {
            WorkerTransport::WebRtc(transport) => transport.state.stats(),
            WorkerTransport::Plain(transport) => transport.stats(),
            WorkerTransport::Direct(transport) => transport.stats(),
        }
    }
}
