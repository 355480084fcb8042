//! A WebRtcServer's sockets: one UDP socket and/or one TCP listener shared by many
//! WebRtcTransports (mediasoup 3.10+), for deployments that can open only a port or two, and
//! shared here by several workers of the process (each a *member* of the server).
//!
//! The first worker (the home member) binds the ports and reads them. A packet is routed by
//! [`ServerRoutes`] (ICE username fragment, then validated tuple); one for a transport of
//! another member is handed to that worker: a UDP datagram as a copy, an ICE-TCP connection
//! whole (the stream moves, so that worker reads and writes it itself from then on). Every
//! member sends from the shared UDP socket. Once ICE validates a UDP tuple, its member opens
//! a socket on the same address and port connected to the client ([`TupleSockets`]): the
//! kernel delivers a connected socket the datagrams of its peer before any unconnected one,
//! so from then on the client's packets reach the worker that owns its transport directly,
//! as with a port per transport, and the home member only sees checks before validation.
//!
//! If the home member's worker dies, another member takes its place ([`Handed::Sockets`]):
//! it binds the port again and reads it, and every member sends from the new socket (the
//! old one, unread, must close: it would still get its share of new clients' datagrams).
//! The other members' transports go on meanwhile, on their connected sockets.

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use super::socket_set::{SocketSet, FIRST_TCP_CONNECTION_INDEX};
use super::tcp_connection::TcpConnection;
use super::tuple_sockets::{TupleSockets, MAX_TUPLE_SOCKETS};
use crate::ice::{MemberDirectory, ServerRoutes, TransportProtocol, TransportTuple};
use crate::packet::demux::{classify, DatagramKind};

/// TCP connections a server member holds at once, across its transports.
pub const MAX_SERVER_TCP_CONNECTIONS: usize = 256;
/// Socket index of a member's first connected UDP socket.
pub const FIRST_TUPLE_SOCKET_INDEX: usize = FIRST_TCP_CONNECTION_INDEX + MAX_SERVER_TCP_CONNECTIONS;
/// Tokens per server slot of a worker.
pub const TOKENS_PER_SERVER: usize = FIRST_TUPLE_SOCKET_INDEX + MAX_TUPLE_SOCKETS;

/// What one member hands another.
#[derive(Debug)]
pub enum Handed {
    /// A UDP datagram for one of its transports.
    Datagram {
        /// Where it came from and arrived.
        tuple: TransportTuple,
        /// Its bytes.
        bytes: Vec<u8>,
    },
    /// An ICE-TCP connection whose first frames are for one of its transports.
    Connection {
        /// The connection (its stream deregistered from the giver's loop).
        connection: TcpConnection,
        /// The frames read so far, in order.
        frames: Vec<Vec<u8>>,
    },
    /// The server's new UDP sockets (another member took the home member's place): send
    /// from these.
    Sockets(Vec<Arc<UdpSocket>>),
}

/// Something handed to a member of the server with this id.
#[derive(Debug)]
pub struct Handoff {
    /// The server's id.
    pub server_id: String,
    /// What.
    pub handed: Handed,
}

/// How a handoff reaches a worker (its command channel and waker).
pub type Mailbox = Box<dyn Fn(Handoff) -> bool + Send + Sync>;

/// A server as its members share it: its sockets' addresses, the UDP socket every member
/// sends from, the directory of which member owns what, and how to reach each member.
pub struct SharedWebRtcServer {
    id: String,
    /// The home member's UDP sockets, for the members to send from.
    udp: Mutex<Vec<Arc<UdpSocket>>>,
    locals: Vec<(TransportProtocol, SocketAddr)>,
    /// Which member owns each username fragment and validated tuple.
    pub directory: Arc<MemberDirectory>,
    mailboxes: Mutex<Vec<Option<Mailbox>>>,
}

impl std::fmt::Debug for SharedWebRtcServer {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("SharedWebRtcServer")
            .field("id", &self.id)
            .field("locals", &self.locals)
            .finish_non_exhaustive()
    }
}

/// The servers of the process, by id, so other workers can join them.
fn servers() -> &'static Mutex<HashMap<String, Weak<SharedWebRtcServer>>> {
    static SERVERS: std::sync::OnceLock<Mutex<HashMap<String, Weak<SharedWebRtcServer>>>> =
        std::sync::OnceLock::new();
    SERVERS.get_or_init(Mutex::default)
}

impl SharedWebRtcServer {
    /// A server on the home member's sockets (`udp` shared for sending, `locals` where it
    /// listens), registered for other workers to join; `None` if the id is taken.
    pub fn publish(
        id: String,
        udp: Vec<Arc<UdpSocket>>,
        locals: Vec<(TransportProtocol, SocketAddr)>,
        home: Mailbox,
    ) -> Option<Arc<Self>> {
        let mut servers = servers().lock().unwrap_or_else(PoisonError::into_inner);
        servers.retain(|_, server| server.strong_count() > 0);
        if servers.contains_key(&id) {
            return None;
        }
        let server = Arc::new(SharedWebRtcServer {
            id: id.clone(),
            udp: Mutex::new(udp),
            locals,
            directory: Arc::default(),
            mailboxes: Mutex::new(vec![Some(home)]),
        });
        servers.insert(id, Arc::downgrade(&server));
        Some(server)
    }

    /// The server with this id, joined as a new member reached through `mailbox`: the
    /// server and the member's index.
    pub fn join(id: &str, mailbox: Mailbox) -> Option<(Arc<Self>, usize)> {
        let server = {
            let servers = servers().lock().unwrap_or_else(PoisonError::into_inner);
            servers.get(id)?.upgrade()?
        };
        let member = {
            let mut mailboxes = server
                .mailboxes
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            mailboxes.push(Some(mailbox));
            mailboxes.len() - 1
        };
        Some((server, member))
    }

    /// Where it listens: UDP, then TCP.
    pub fn locals(&self) -> &[(TransportProtocol, SocketAddr)] {
        &self.locals
    }

    /// The UDP sockets every member sends from.
    pub fn udp(&self) -> Vec<Arc<UdpSocket>> {
        self.udp
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Member `home` took the home member's place with these sockets: every other member
    /// is handed them.
    pub fn rehome(&self, home: usize, udp: Vec<Arc<UdpSocket>>) {
        *self.udp.lock().unwrap_or_else(PoisonError::into_inner) = udp.clone();
        let members = self
            .mailboxes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        for member in (0..members).filter(|member| *member != home) {
            self.hand_over(member, Handed::Sockets(udp.clone()));
        }
    }

    /// Hands `handed` to member `member`; false if that member left (the caller drops it).
    pub fn hand_over(&self, member: usize, handed: Handed) -> bool {
        let mailboxes = self
            .mailboxes
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(Some(mailbox)) = mailboxes.get(member) else {
            return false;
        };
        mailbox(Handoff {
            server_id: self.id.clone(),
            handed,
        })
    }

    /// Member `member` left: nothing more is handed to it.
    pub fn leave(&self, member: usize) {
        let mut mailboxes = self
            .mailboxes
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(mailbox) = mailboxes.get_mut(member) {
            *mailbox = None;
        }
    }
}

/// A worker's membership of a WebRtcServer: the sockets it reads (the home member: the
/// shared ones and the ICE-TCP connections it accepted; another member: the connections
/// handed to it) and its connected UDP sockets, with its routing tables.
#[derive(Debug)]
pub struct WorkerWebRtcServer {
    /// The server.
    pub shared: Arc<SharedWebRtcServer>,
    /// This worker's index among the members.
    pub member: usize,
    /// Whether this worker reads the server's port (the creating worker, or the one that
    /// took its place).
    pub home: bool,
    /// Its sockets.
    pub sockets: SocketSet,
    /// Its sockets connected to clients of validated UDP tuples.
    pub tuple_sockets: TupleSockets,
    /// Routing state.
    pub routes: ServerRoutes,
    /// Datagrams no transport claimed, dropped.
    pub unrouted: UnroutedDatagrams,
    /// Datagrams and connections handed to other members.
    pub handed_over: u64,
}

impl WorkerWebRtcServer {
    /// Member `member` of `shared` on `sockets`.
    pub fn new(shared: Arc<SharedWebRtcServer>, member: usize, sockets: SocketSet) -> Self {
        let routes = ServerRoutes::new(member, Arc::clone(&shared.directory));
        WorkerWebRtcServer {
            shared,
            member,
            home: member == 0,
            sockets,
            tuple_sockets: TupleSockets::default(),
            routes,
            unrouted: UnroutedDatagrams::default(),
            handed_over: 0,
        }
    }
}

/// Datagrams a WebRtcServer dropped because no transport claimed them (an unknown username
/// fragment, a tuple ICE never validated), by what they looked like (RFC 7983).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UnroutedDatagrams {
    /// STUN.
    pub stun: u64,
    /// DTLS records.
    pub dtls: u64,
    /// RTP or RTCP.
    pub media: u64,
    /// Anything else.
    pub unknown: u64,
}

impl UnroutedDatagrams {
    /// Counts one dropped datagram.
    pub fn count(&mut self, packet: &[u8]) {
        let counter = match classify(packet) {
            DatagramKind::Stun => &mut self.stun,
            DatagramKind::Dtls => &mut self.dtls,
            DatagramKind::Rtp | DatagramKind::Rtcp => &mut self.media,
            DatagramKind::Unknown => &mut self.unknown,
        };
        *counter += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unrouted_datagrams_are_counted_by_what_they_look_like() {
        let mut unrouted = UnroutedDatagrams::default();
        let mut stun = [0u8; 20];
        stun[4..8].copy_from_slice(&0x2112_A442u32.to_be_bytes());
        let dtls = [22u8, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        let rtp = [0x80u8, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1];
        for packet in [&stun[..], &dtls, &rtp, &[], &[0x42, 0x42]] {
            unrouted.count(packet);
        }
        assert_eq!(
            unrouted,
            UnroutedDatagrams {
                stun: 1,
                dtls: 1,
                media: 1,
                unknown: 2
            }
        );
    }
}
