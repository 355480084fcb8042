//! A PlainTransport (or PipeTransport) as the worker holds it: its RTP socket (and RTCP
//! socket without rtcp-mux), its plain connection with our SRTP key, and its counters.
//! With SCTP, DataChannels travel on the RTP socket's tuple as plain UDP payloads (never
//! SRTP-protected, as mediasoup sends them on plain and pipe transports); what the
//! association sends leaves at once, through the worker's egress queue.
//!
//! Once the remote end is known (`connect` with an address, or learned by comedia), two more
//! sockets on the RTP socket's address and port, connected to that end, carry what goes there
//! and receive what it sends ([`ConnectedSockets`]): the kernel then skips the route lookup
//! and the hashed IP identification it does for every datagram from an unconnected socket
//! (14% of a copy's CPU at fan-out 500 as measured in docs/benchmarks.md). The RTP socket
//! stays open and read, so datagrams from anyone else still reach the transport to be
//! counted.

use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};

use super::egress_queue::EgressQueue;
use super::forward_queue::PacketKind;
use super::messages::{Response, TransportEvent, TransportRequest, TransportStats};
use super::transport::{not_for_this_kind, Transport, TransportIo, TOKENS_PER_SLOT};
use super::tuple_sockets::connect_reusable_udp;
use super::udp_batch::{recv_batch, BATCH};
use crate::ice::TransportProtocol;
use crate::rtc::datagram_sink::DatagramSink;
use crate::rtc::plain_connection::{
    is_sctp_packet, PlainConnection, PlainConnectionEvent, PlainSocket, SrtpKeys,
};
use crate::rtc::request_error::RequestError;
use crate::rtc::webrtc_connection::{DropCounters, Received};
use crate::sctp::{SctpAssociation, SctpConfig};
use crate::srtp::SrtpProfile;

/// Queues datagrams for one socket in the worker's egress queue (media is sent when the
/// routing phase ends; SCTP and RTCP flush it at once).
struct DeferredSink<'a> {
    queue: &'a mut EgressQueue,
    socket: &'a UdpSocket,
    /// The socket connected to the remote end, if open, and that end: what goes there
    /// leaves from it.
    connected: Option<(&'a UdpSocket, SocketAddr)>,
    sent: u64,
    sent_bytes: u64,
}

impl<'a> DeferredSink<'a> {
    fn new(
        queue: &'a mut EgressQueue,
        socket: &'a UdpSocket,
        connected: Option<(&'a UdpSocket, SocketAddr)>,
    ) -> Self {
        DeferredSink {
            queue,
            socket,
            connected,
            sent: 0,
            sent_bytes: 0,
        }
    }
}

impl DatagramSink for DeferredSink<'_> {
    fn send(&mut self, tuple: &crate::ice::TransportTuple, datagram: &[u8]) {
        match self.connected {
            Some((socket, remote)) if remote == tuple.remote => {
                self.queue
                    .push_connected(socket.as_raw_fd(), remote, datagram);
            }
            _ => self
                .queue
                .push(self.socket.as_raw_fd(), tuple.remote, datagram),
        }
        self.sent += 1;
        self.sent_bytes += datagram.len() as u64;
    }
}

/// The socket index of [`ConnectedSockets::reader`] (0 is the RTP socket, 1 the RTCP one).
const READER_INDEX: usize = 2;
/// The socket index of [`ConnectedSockets::sender`], once it is polled.
const SENDER_INDEX: usize = 3;
/// The first look for datagrams the kernel gave the sender; each later one waits twice as
/// long, up to [`SENDER_CHECK_LONGEST`].
const SENDER_CHECK_FIRST: Duration = Duration::from_secs(1);
const SENDER_CHECK_LONGEST: Duration = Duration::from_secs(32);

/// The sockets connected to the remote end of the RTP tuple.
#[derive(Debug)]
enum RemoteSocket {
    /// The remote end is not known yet.
    Unknown,
    Connected(ConnectedSockets),
    /// None could be opened (the RTP socket does not share its port, on the IPv6 wildcard;
    /// no descriptor left): the RTP socket sends with an address.
    Unavailable,
}

/// Two sockets on the RTP socket's address and port, both connected to `remote`: what goes
/// there leaves from `sender`, which the worker does not poll, and what `remote` sends
/// arrives on `reader`, registered at [`READER_INDEX`].
///
/// Why two: each time the kernel frees a datagram a socket sent, it wakes whatever polls that
/// socket (its send buffer has room again), one call into the worker's epoll per copy that
/// the worker never needs (its sends do not wait for room); with the one connected socket
/// polled, that was 14% of a plain fan-out's CPU per packet at 500 consumers
/// (docs/benchmarks.md). Linux gives a datagram to the socket connected to its source most
/// recently, so the reader, connected after the sender, hears the remote end. Should a kernel
/// choose the sender instead, a look at it every so often ([`ConnectedSockets::sender_check`])
/// finds what it holds, and from then on it is polled too.
#[derive(Debug)]
struct ConnectedSockets {
    sender: UdpSocket,
    reader: UdpSocket,
    remote: SocketAddr,
    /// When the sender is next read, and the wait after that; `None` once it is polled.
    sender_check: Option<(Instant, Duration)>,
}

/// The RTP socket, and the sockets connected to the remote end of its tuple on the same port.
#[derive(Debug)]
struct RtpSockets {
    socket: UdpSocket,
    remote: RemoteSocket,
}

impl RtpSockets {
    /// A sink sending from them: to the remote end through the connected sender once open.
    fn sink<'a>(&'a self, queue: &'a mut EgressQueue) -> DeferredSink<'a> {
        DeferredSink::new(queue, &self.socket, self.remote.sender())
    }
}

impl RemoteSocket {
    /// The connected sockets, if open.
    fn connected(&self) -> Option<&ConnectedSockets> {
        match self {
            RemoteSocket::Connected(sockets) => Some(sockets),
            RemoteSocket::Unknown | RemoteSocket::Unavailable => None,
        }
    }

    /// The socket sending to the remote end and that end, if open.
    fn sender(&self) -> Option<(&UdpSocket, SocketAddr)> {
        self.connected()
            .map(|sockets| (&sockets.sender, sockets.remote))
    }
}

/// One PlainTransport.
#[derive(Debug)]
pub struct WorkerPlainTransport {
    id: String,
    rtp: RtpSockets,
    rtcp_socket: Option<UdpSocket>,
    connection: PlainConnection,
    /// With SRTP: our suite and key || salt, given to the remote end in signaling and used
    /// once `connect` brings its key.
    local_srtp_key: Option<(SrtpProfile, Vec<u8>)>,
    stats: TransportStats,
}

impl WorkerPlainTransport {
    /// Wraps bound, non-blocking sockets; with `srtp_profile`, our SRTP key is drawn here;
    /// with `sctp`, it carries DataChannels.
    pub fn new(
        id: String,
        rtp_socket: UdpSocket,
        rtcp_socket: Option<UdpSocket>,
        comedia: bool,
        srtp_profile: Option<SrtpProfile>,
        sctp: Option<SctpConfig>,
    ) -> Result<Self, RequestError> {
        let resource = |error: std::io::Error| RequestError::Resource(error.to_string());
        let local_rtp = rtp_socket.local_addr().map_err(resource)?;
        let local_rtcp = rtcp_socket
            .as_ref()
            .map(UdpSocket::local_addr)
            .transpose()
            .map_err(resource)?;
        let local_srtp_key = match srtp_profile {
            Some(profile) => {
                let mut key = vec![0u8; profile.key_len() + profile.salt_len()];
                crate::crypto::random::fill(&mut key)
                    .map_err(|error| RequestError::Resource(error.to_string()))?;
                Some((profile, key))
            }
            None => None,
        };
        let mut connection =
            PlainConnection::new(local_rtp, local_rtcp, comedia, srtp_profile.is_some());
        if let Some(config) = sctp {
            connection = connection.with_sctp(config);
        }
        Ok(WorkerPlainTransport {
            id,
            rtp: RtpSockets {
                socket: rtp_socket,
                remote: RemoteSocket::Unknown,
            },
            rtcp_socket,
            connection,
            local_srtp_key,
            stats: TransportStats::default(),
        })
    }

    /// Our SRTP key || salt, to announce in `srtpParameters`.
    pub fn local_srtp_key(&self) -> Option<&[u8]> {
        self.local_srtp_key.as_ref().map(|(_, key)| key.as_slice())
    }

    /// The remote address and, with SRTP, the remote key (mediasoup's `connect`).
    fn connect(
        &mut self,
        remote_rtp: Option<SocketAddr>,
        remote_rtcp: Option<SocketAddr>,
        remote_srtp_key: Option<Vec<u8>>,
    ) -> Result<(), RequestError> {
        let keys = match (&self.local_srtp_key, &remote_srtp_key) {
            (Some((profile, local)), Some(remote)) => Some(SrtpKeys {
                profile: *profile,
                local,
                remote,
            }),
            (Some(_), None) => {
                return Err(RequestError::invalid(
                    "srtp_parameters",
                    "SRTP is enabled: connect() needs srtpParameters",
                ))
            }
            (None, Some(_)) => {
                return Err(RequestError::invalid(
                    "srtp_parameters",
                    "SRTP is not enabled on this transport",
                ))
            }
            (None, None) => None,
        };
        self.connection
            .connect(remote_rtp, remote_rtcp, keys)
            .map_err(|error| RequestError::InvalidState(error.to_string()))
    }

    /// The sockets it bound: RTP, then RTCP if separate.
    pub fn sockets(&self) -> impl Iterator<Item = &UdpSocket> {
        std::iter::once(&self.rtp.socket).chain(self.rtcp_socket.as_ref())
    }

    /// Opens the sockets connected to the remote end of the RTP tuple, once it is known.
    fn open_remote_socket(&mut self, io: &mut TransportIo<'_>) {
        if !matches!(self.rtp.remote, RemoteSocket::Unknown) {
            return;
        }
        let Some(tuple) = self.connection.tuple() else {
            return;
        };
        let (local, remote) = (tuple.local, tuple.remote);
        // The sender first: the kernel gives the remote's datagrams to the reader,
        // connected after it.
        let opened = connect_reusable_udp(local, remote).and_then(|sender| {
            let reader = connect_reusable_udp(local, remote)?;
            register_readable(io.registry, &reader, token(io, READER_INDEX))?;
            Ok(ConnectedSockets {
                sender,
                reader,
                remote,
                sender_check: Some((io.now + SENDER_CHECK_FIRST, SENDER_CHECK_FIRST)),
            })
        });
        self.rtp.remote = match opened {
            Ok(sockets) => RemoteSocket::Connected(sockets),
            Err(_) => RemoteSocket::Unavailable,
        };
    }

    /// Reads the connected sender if it is time: what the kernel gave it is handled as the
    /// reader's would be, and a sender that held anything is polled from then on.
    fn check_sender(&mut self, io: &mut TransportIo<'_>) {
        let RemoteSocket::Connected(ConnectedSockets {
            sender_check: Some((due, wait)),
            ..
        }) = self.rtp.remote
        else {
            return;
        };
        if io.now < due {
            return;
        }
        let held = matches!(self.read_batch(SENDER_INDEX, io), Ok(received) if received > 0);
        let RemoteSocket::Connected(sockets) = &mut self.rtp.remote else {
            return;
        };
        let polled = held
            && register_readable(io.registry, &sockets.sender, token(io, SENDER_INDEX)).is_ok();
        sockets.sender_check = if polled {
            None
        } else {
            let wait = (wait * 2).min(SENDER_CHECK_LONGEST);
            Some((io.now + wait, wait))
        };
    }

    /// Reads one batch from socket `index` (0 RTP, 1 RTCP, [`READER_INDEX`] and
    /// [`SENDER_INDEX`] the sockets connected to the RTP tuple's remote end); media goes to
    /// the forward queue under `slot`, SCTP packets to the association (its answers leave at
    /// once). Returns how many datagrams it read.
    fn read_batch(&mut self, index: usize, io: &mut TransportIo<'_>) -> std::io::Result<usize> {
        let (socket, which) = match (index, &self.rtcp_socket, self.rtp.remote.connected()) {
            (1, Some(socket), _) => (socket, PlainSocket::Rtcp),
            (READER_INDEX, _, Some(sockets)) => (&sockets.reader, PlainSocket::Rtp),
            (SENDER_INDEX, _, Some(sockets)) => (&sockets.sender, PlainSocket::Rtp),
            _ => (&self.rtp.socket, PlainSocket::Rtp),
        };
        let received = recv_batch(socket, io.receive)?;
        let mut sctp_handled = false;
        for datagram in 0..received {
            let Some((buffer, len, source)) = io.receive.datagram_mut(datagram) else {
                continue;
            };
            self.stats.count_received(len, io.now);
            if which == PlainSocket::Rtp && is_sctp_packet(&buffer[..len]) {
                let mut sink = self.rtp.sink(io.egress);
                self.connection
                    .handle_sctp_datagram(source, &buffer[..len], io.now, &mut sink);
                self.stats.count_sent(sink.sent, sink.sent_bytes, io.now);
                sctp_handled = true;
                continue;
            }
            match self
                .connection
                .handle_datagram(which, source, &mut buffer[..len])
            {
                Received::Rtp(plain_len) => {
                    self.stats.rtp_packets_received += 1;
                    io.forward
                        .push(io.slot, PacketKind::Rtp, &buffer[..plain_len]);
                }
                Received::Rtcp(plain_len) => {
                    self.stats.rtcp_packets_received += 1;
                    io.forward
                        .push(io.slot, PacketKind::Rtcp, &buffer[..plain_len]);
                }
                Received::Nothing => {}
            }
        }
        // Comedia may have just learned the tuple.
        self.open_remote_socket(io);
        // SCTP runs on it (a no-op once started).
        if self.connection.sctp().is_some() {
            self.start_sctp(io);
        }
        if sctp_handled {
            io.egress.flush();
        }
        Ok(received)
    }

    /// Starts SCTP once the tuple is known (after `connect`, or learned by comedia).
    fn start_sctp(&mut self, io: &mut TransportIo<'_>) {
        let mut sink = self.rtp.sink(io.egress);
        self.connection.start_sctp(io.now, &mut sink);
        self.stats.count_sent(sink.sent, sink.sent_bytes, io.now);
        io.egress.flush();
    }

    /// Sends RTP (`buffer[..len]`, with room for an SRTP tag) to the remote address, through
    /// the worker's egress queue.
    fn queue_rtp(&mut self, buffer: &mut [u8], len: usize, io: &mut TransportIo<'_>) -> bool {
        let mut sink = self.rtp.sink(io.egress);
        let sent = self.connection.send_rtp(buffer, len, &mut sink).is_ok();
        self.stats
            .count_sent(sink.sent, if sent { len as u64 } else { 0 }, io.now);
        sent
    }

    /// Sends an RTCP compound (`buffer[..len]`, with room for the SRTCP trailer) from the
    /// RTCP socket, or the RTP socket with rtcp-mux, through the worker's egress queue.
    fn queue_rtcp(&mut self, buffer: &mut [u8], len: usize, io: &mut TransportIo<'_>) -> bool {
        // Without rtcp-mux, RTCP leaves from the RTCP socket's port, as the remote expects.
        let (socket, connected) = match &self.rtcp_socket {
            Some(socket) => (socket, None),
            None => (&self.rtp.socket, self.rtp.remote.sender()),
        };
        let mut sink = DeferredSink::new(io.egress, socket, connected);
        let sent = self.connection.send_rtcp(buffer, len, &mut sink).is_ok();
        self.stats
            .count_sent(sink.sent, if sent { len as u64 } else { 0 }, io.now);
        sent
    }
}

impl Transport for WorkerPlainTransport {
    fn id(&self) -> &str {
        &self.id
    }

    fn locals(&self) -> Vec<(TransportProtocol, SocketAddr)> {
        self.sockets()
            .filter_map(|socket| socket.local_addr().ok())
            .map(|address| (TransportProtocol::Udp, address))
            .collect()
    }

    fn register(&mut self, registry: &Registry, token_base: usize) -> std::io::Result<()> {
        for (index, socket) in self.sockets().enumerate() {
            register_readable(registry, socket, token_base + index)?;
        }
        Ok(())
    }

    fn deregister(&mut self, registry: &Registry) {
        let connected = self.rtp.remote.connected();
        let reader = connected.map(|sockets| &sockets.reader);
        // The sender is registered only once polled (deregistering it otherwise fails, unseen).
        let sender = connected.map(|sockets| &sockets.sender);
        for socket in self.sockets().chain(reader).chain(sender) {
            let _ = registry.deregister(&mut SourceFd(&socket.as_raw_fd()));
        }
    }

    fn read(&mut self, index: usize, _writable: bool, io: &mut TransportIo<'_>) -> bool {
        match self.read_batch(index, io) {
            Ok(received) => received == BATCH,
            // The connected socket reports an ICMP port unreachable from the remote end on
            // its next read, ahead of the datagrams that are waiting: read again.
            Err(error) if error.kind() == ErrorKind::ConnectionRefused => true,
            // Any other socket error ends this read only.
            Err(_) => false,
        }
    }

    fn send_rtp(&mut self, buffer: &mut [u8], len: usize, io: &mut TransportIo<'_>) {
        self.queue_rtp(buffer, len, io);
    }

    fn send_rtcp(&mut self, buffer: &mut [u8], len: usize, io: &mut TransportIo<'_>) {
        // Queued with the round's media: the router's once-a-second reports come a few
        // transports at a time, and sending each transport's at once cost a submission each
        // (in a room of 25, half again as many submissions as rounds).
        self.queue_rtcp(buffer, len, io);
    }

    fn poll_timeout(&self) -> Option<Instant> {
        let sender_check = self
            .rtp
            .remote
            .connected()
            .and_then(|sockets| sockets.sender_check)
            .map(|(due, _)| due);
        self.connection
            .poll_timeout()
            .into_iter()
            .chain(sender_check)
            .min()
    }

    fn on_timeout(&mut self, io: &mut TransportIo<'_>) {
        self.check_sender(io);
        let mut sink = self.rtp.sink(io.egress);
        self.connection.handle_timeout(io.now, &mut sink);
        self.stats.count_sent(sink.sent, sink.sent_bytes, io.now);
        io.egress.flush();
    }

    fn handle_request(
        &mut self,
        request: TransportRequest,
        io: &mut TransportIo<'_>,
    ) -> Result<Response, RequestError> {
        match request {
            TransportRequest::ConnectPlain {
                remote_rtp,
                remote_rtcp,
                remote_srtp_key,
            } => {
                self.connect(remote_rtp, remote_rtcp, remote_srtp_key)?;
                self.open_remote_socket(io);
                self.start_sctp(io);
                Ok(Response::Done)
            }
            other => Err(not_for_this_kind(&other, "PlainTransport")),
        }
    }

    fn count_malformed_rtcp(&mut self) {
        self.stats.rtcp_packets_malformed += 1;
    }

    fn stats(&self) -> TransportStats {
        let drops = self.connection.drops();
        TransportStats {
            drops: DropCounters {
                media_not_ready: drops.unknown_source,
                srtp: drops.srtp,
                unknown: drops.not_media,
                application_data: drops.sctp_unexpected,
                ..DropCounters::default()
            },
            sctp: self
                .connection
                .sctp()
                .map(|sctp| (sctp.drops(), sctp.refused())),
            tuple: self.connection.tuple(),
            rtcp_tuple: self.connection.rtcp_tuple(),
            ..self.stats.clone()
        }
    }

    fn collect_events(&mut self, events: &mut Vec<TransportEvent>) {
        while let Some(event) = self.connection.poll_event() {
            events.push(match event {
                PlainConnectionEvent::Tuple(tuple) => TransportEvent::Tuple(tuple),
                PlainConnectionEvent::RtcpTuple(tuple) => TransportEvent::RtcpTuple(tuple),
            });
        }
    }

    fn close(&mut self, _io: &mut TransportIo<'_>) {
        self.connection.close();
    }

    fn sctp_config(&self) -> Option<SctpConfig> {
        self.connection.sctp().map(|sctp| *sctp.config())
    }

    fn with_sctp(
        &mut self,
        io: &mut TransportIo<'_>,
        operation: &mut dyn FnMut(&mut SctpAssociation),
    ) -> Option<()> {
        let mut sink = self.rtp.sink(io.egress);
        let done = self
            .connection
            .with_sctp_association(io.now, &mut sink, |sctp| operation(sctp));
        self.stats.count_sent(sink.sent, sink.sent_bytes, io.now);
        if sink.sent > 0 {
            io.egress.flush();
        }
        done
    }
}

/// Registers `socket` for reading under `token`.
fn register_readable(registry: &Registry, socket: &UdpSocket, token: usize) -> std::io::Result<()> {
    registry.register(
        &mut SourceFd(&socket.as_raw_fd()),
        Token(token),
        Interest::READABLE,
    )
}

/// The token of the transport's socket `index`.
fn token(io: &TransportIo<'_>, index: usize) -> usize {
    io.slot * TOKENS_PER_SLOT + index
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use mio::{Events, Poll};

    use super::super::event_queue::EventQueue;
    use super::super::forward_queue::ForwardQueue;
    use super::super::messages::WorkerEvent;
    use super::super::tuple_sockets::bind_reusable_udp;
    use super::super::udp_batch::{RecvBatch, SendBatch};
    use super::*;

    const SLOT: usize = 3;

    /// The worker's I/O state around one transport, with a poll of its own.
    struct Harness {
        poll: Poll,
        receive: RecvBatch,
        send: SendBatch,
        egress: EgressQueue,
        forward: ForwardQueue,
        events: EventQueue<WorkerEvent>,
    }

    impl Harness {
        fn new() -> Self {
            Harness {
                poll: Poll::new().unwrap(),
                receive: RecvBatch::default(),
                send: SendBatch::default(),
                egress: EgressQueue::default(),
                forward: ForwardQueue::default(),
                events: EventQueue::new().unwrap(),
            }
        }

        fn io(&mut self, now: Instant) -> TransportIo<'_> {
            TransportIo {
                slot: SLOT,
                now,
                registry: self.poll.registry(),
                servers: &mut [],
                receive: &mut self.receive,
                send: &mut self.send,
                egress: &mut self.egress,
                forward: &mut self.forward,
                events: &self.events,
            }
        }

        /// The socket indices of the transport that are readable within `wait`.
        fn readable(&mut self, wait: Duration) -> Vec<usize> {
            let mut events = Events::with_capacity(8);
            self.poll.poll(&mut events, Some(wait)).unwrap();
            events
                .iter()
                .map(|event| event.token().0 - SLOT * TOKENS_PER_SLOT)
                .collect()
        }
    }

    fn rtp(sequence: u16) -> Vec<u8> {
        let mut packet = vec![0x80, 100];
        packet.extend_from_slice(&sequence.to_be_bytes());
        packet.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0x04, 0xd2]);
        packet.extend_from_slice(&[0; 20]);
        packet
    }

    #[test]
    fn the_remote_end_is_read_on_the_reader_or_once_found_on_the_sender() {
        let loopback = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        let remote = UdpSocket::bind(loopback).unwrap();
        let remote_address = remote.local_addr().unwrap();
        let rtp_socket = bind_reusable_udp(loopback).unwrap();
        let local = rtp_socket.local_addr().unwrap();
        let mut transport =
            WorkerPlainTransport::new("t".into(), rtp_socket, None, false, None, None).unwrap();
        let mut harness = Harness::new();
        let start = Instant::now();
        transport
            .register(harness.poll.registry(), SLOT * TOKENS_PER_SLOT)
            .unwrap();
        let connect = TransportRequest::ConnectPlain {
            remote_rtp: Some(remote_address),
            remote_rtcp: None,
            remote_srtp_key: None,
        };
        transport
            .handle_request(connect, &mut harness.io(start))
            .unwrap();
        assert_eq!(
            transport.poll_timeout(),
            Some(start + SENDER_CHECK_FIRST),
            "the first look at the sender"
        );

        // The kernel gives the remote end's datagrams to the reader, connected last.
        remote.send_to(&rtp(1), local).unwrap();
        assert_eq!(harness.readable(Duration::from_secs(2)), [READER_INDEX]);
        assert!(!transport.read(READER_INDEX, false, &mut harness.io(start)));
        assert_eq!(harness.forward.len(), 1);

        // A kernel that gives them to the sender instead: with no other socket connected to
        // the remote end, this one does. Nothing polls the sender, so nothing is readable.
        let RemoteSocket::Connected(sockets) = &mut transport.rtp.remote else {
            panic!("the connected sockets are open");
        };
        sockets.reader =
            connect_reusable_udp(local, SocketAddr::from((Ipv4Addr::LOCALHOST, 9))).unwrap();
        remote.send_to(&rtp(2), local).unwrap();
        assert!(harness.readable(Duration::from_millis(200)).is_empty());

        // Its first look finds the datagram, and the sender is polled from then on.
        let due = start + SENDER_CHECK_FIRST;
        transport.on_timeout(&mut harness.io(due));
        assert_eq!(harness.forward.len(), 2, "the held datagram was read");
        assert_eq!(transport.poll_timeout(), None, "no more looks");
        remote.send_to(&rtp(3), local).unwrap();
        assert_eq!(harness.readable(Duration::from_secs(2)), [SENDER_INDEX]);
        assert!(!transport.read(SENDER_INDEX, false, &mut harness.io(due)));
        assert_eq!(harness.forward.len(), 3);
    }

    #[test]
    fn an_empty_sender_is_looked_at_less_and_less_often() {
        let loopback = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        let remote = UdpSocket::bind(loopback).unwrap();
        let rtp_socket = bind_reusable_udp(loopback).unwrap();
        let mut transport =
            WorkerPlainTransport::new("t".into(), rtp_socket, None, false, None, None).unwrap();
        let mut harness = Harness::new();
        let start = Instant::now();
        let connect = TransportRequest::ConnectPlain {
            remote_rtp: Some(remote.local_addr().unwrap()),
            remote_rtcp: None,
            remote_srtp_key: None,
        };
        transport
            .handle_request(connect, &mut harness.io(start))
            .unwrap();
        let mut due = start + SENDER_CHECK_FIRST;
        let mut waits = Vec::new();
        for _ in 0..8 {
            assert_eq!(transport.poll_timeout(), Some(due));
            transport.on_timeout(&mut harness.io(due));
            let next = transport.poll_timeout().unwrap();
            waits.push((next - due).as_secs());
            due = next;
        }
        assert_eq!(waits, [2, 4, 8, 16, 32, 32, 32, 32]);
        assert_eq!(harness.forward.len(), 0);
    }
}
