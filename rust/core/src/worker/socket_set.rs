//! The sockets a WebRTC transport listens on (its own, or a WebRtcServer's shared ones): on
//! each of its listen addresses (up to [`MAX_LISTEN_ADDRESSES`]: IPv4 and IPv6, several
//! interfaces) a UDP socket and/or a TCP listener, and the ICE-TCP connections the listeners
//! accepted. Reading hands each packet, with its tuple, to a dispatcher; sending goes
//! through [`SocketSink`], from the socket of the tuple's local address.
//!
//! TCP connections are few (a fixed table), so a connection that never carries a valid ICE
//! check cannot keep its slot forever: when the table is full, a newcomer takes the slot of
//! the oldest such connection open for [`UNVALIDATED_GRACE`]. Otherwise anyone could open
//! a few connections, send half a frame, and lock every ICE-TCP client out (slowloris).

use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::TcpListener;
use mio::{Interest, Registry, Token};

use super::egress_queue::EgressQueue;
use super::tcp_connection::{for_each_frame, ReadOutcome, TcpConnection};
use super::udp_batch::{recv_batch, RecvBatch, SendBatch, BATCH};
use crate::ice::{TransportProtocol, TransportTuple};
use crate::rtc::datagram_sink::DatagramSink;

/// Listen addresses a set holds at most (each with a UDP socket and/or a TCP listener).
pub const MAX_LISTEN_ADDRESSES: usize = 4;
/// Socket index of the first UDP socket within a token range.
pub const FIRST_UDP_INDEX: usize = 0;
/// Socket index of the first TCP listener.
pub const FIRST_TCP_LISTENER_INDEX: usize = MAX_LISTEN_ADDRESSES;
/// Socket index of the first TCP connection.
pub const FIRST_TCP_CONNECTION_INDEX: usize = 2 * MAX_LISTEN_ADDRESSES;
/// How long a TCP connection keeps its slot without carrying a valid ICE check once the
/// table is full (an honest ICE-TCP client sends its first check as soon as it connects).
pub const UNVALIDATED_GRACE: Duration = Duration::from_secs(1);

/// What became of a packet a dispatcher was handed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Handled, or dropped, on a tuple ICE has not validated.
    Unvalidated,
    /// Handled on a tuple ICE validated.
    Validated,
    /// For a transport of this other member of the WebRtcServer: a TCP connection moves
    /// there with its frames (a UDP datagram the dispatcher hands over itself).
    Elsewhere(usize),
}

/// An ICE-TCP connection leaving for another member of the server, with the frames read.
#[derive(Debug)]
pub struct Departure {
    /// The connection, deregistered.
    pub connection: TcpConnection,
    /// The member it goes to.
    pub member: usize,
    /// The frames read from it that no transport here handled, in order.
    pub frames: Vec<Vec<u8>>,
}

/// What a dispatcher is told about a closed TCP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketEvent {
    /// A packet arrived on this tuple.
    Packet(TransportTuple),
    /// The TCP connection of this tuple closed.
    Closed(TransportTuple),
}

/// Where a sink's UDP datagrams wait.
#[derive(Debug)]
enum UdpOut<'a> {
    /// The worker's batch for this socket, sent by the sink's `flush` (answers: STUN,
    /// DTLS, RTCP).
    Batch(&'a mut SendBatch),
    /// The worker's egress queue, sent when the routing phase ends (media).
    Deferred(&'a mut EgressQueue),
}

/// Sends on a socket set: UDP datagrams into the worker's batch or egress queue, TCP frames
/// to the connection of the tuple. Counts what it sent so the caller can charge the sender.
pub struct SocketSink<'a> {
    udp: &'a [Arc<UdpSocket>],
    udp_locals: &'a [SocketAddr],
    /// The UDP socket the batch's datagrams are for.
    batch_socket: usize,
    out: UdpOut<'a>,
    connections: &'a mut [Option<TcpConnection>],
    /// Datagrams sent since the last [`SocketSink::take_counts`].
    sent_datagrams: u64,
    /// Bytes sent since the last [`SocketSink::take_counts`].
    sent_bytes: u64,
}

impl SocketSink<'_> {
    /// Datagrams and bytes sent since the last call.
    pub fn take_counts(&mut self) -> (u64, u64) {
        let counts = (self.sent_datagrams, self.sent_bytes);
        self.sent_datagrams = 0;
        self.sent_bytes = 0;
        counts
    }

    /// Sends what the UDP batch holds (deferred datagrams wait for the routing phase).
    pub fn flush(&mut self) {
        if let (Some(socket), UdpOut::Batch(batch)) =
            (self.udp.get(self.batch_socket), &mut self.out)
        {
            batch.flush(socket);
        }
    }

    /// The index of the UDP socket bound to `local`.
    fn udp_index(&self, local: &SocketAddr) -> Option<usize> {
        match self.udp_locals {
            [only] if only == local => Some(0),
            locals => locals.iter().position(|bound| bound == local),
        }
    }
}

impl DatagramSink for SocketSink<'_> {
    fn send(&mut self, tuple: &TransportTuple, datagram: &[u8]) {
        match tuple.protocol {
            TransportProtocol::Udp => {
                let Some(index) = self.udp_index(&tuple.local) else {
                    return;
                };
                let socket = &*self.udp[index];
                match &mut self.out {
                    UdpOut::Batch(batch) => {
                        if batch.is_full() || (index != self.batch_socket && !batch.is_empty()) {
                            if let Some(previous) = self.udp.get(self.batch_socket) {
                                batch.flush(previous);
                            }
                        }
                        self.batch_socket = index;
                        if !batch.push(tuple.remote, datagram) {
                            return;
                        }
                    }
                    UdpOut::Deferred(queue) => {
                        queue.push(socket.as_raw_fd(), tuple.remote, datagram);
                    }
                }
            }
            TransportProtocol::Tcp => {
                let connection = self
                    .connections
                    .iter_mut()
                    .flatten()
                    .find(|connection| connection.remote == tuple.remote);
                let Some(connection) = connection else { return };
                connection.send_frame(datagram);
            }
        }
        self.sent_datagrams += 1;
        self.sent_bytes += datagram.len() as u64;
    }
}

/// UDP sockets and/or TCP listeners with accepted connections.
#[derive(Debug)]
pub struct SocketSet {
    udp: Vec<Arc<UdpSocket>>,
    /// Their bound addresses, in the same order.
    udp_locals: Vec<SocketAddr>,
    /// Whether this set reads its UDP sockets (not when it only sends from a WebRtcServer's,
    /// which another worker reads).
    reads_udp: bool,
    tcp: Vec<TcpListener>,
    connections: Vec<Option<TcpConnection>>,
    /// Connections leaving for another member of a WebRtcServer.
    departures: Vec<Departure>,
}

impl SocketSet {
    /// Bound, non-blocking sockets (at least one; at most [`MAX_LISTEN_ADDRESSES`] of each
    /// protocol, the caller checks), accepting up to `max_connections` TCP connections at
    /// once.
    pub fn new(udp: Vec<UdpSocket>, tcp: Vec<TcpListener>, max_connections: usize) -> Self {
        Self::with(
            udp.into_iter().map(Arc::new).collect(),
            true,
            tcp,
            max_connections,
        )
    }

    /// A set that sends from `udp` (read by another worker) and holds up to
    /// `max_connections` TCP connections handed to it.
    pub fn sending_from(udp: Vec<Arc<UdpSocket>>, max_connections: usize) -> Self {
        Self::with(udp, false, Vec::new(), max_connections)
    }

    fn with(
        udp: Vec<Arc<UdpSocket>>,
        reads_udp: bool,
        tcp: Vec<TcpListener>,
        max_connections: usize,
    ) -> Self {
        // A socket whose address cannot be read cannot be sent from by address either.
        let udp: Vec<Arc<UdpSocket>> = udp
            .into_iter()
            .filter(|socket| socket.local_addr().is_ok())
            .collect();
        let udp_locals = udp
            .iter()
            .filter_map(|socket| socket.local_addr().ok())
            .collect();
        SocketSet {
            udp,
            udp_locals,
            reads_udp,
            tcp,
            connections: (0..max_connections).map(|_| None).collect(),
            departures: Vec::new(),
        }
    }

    /// Sends from `udp` instead (a WebRtcServer's new sockets, read by another worker).
    pub fn send_from(&mut self, udp: Vec<Arc<UdpSocket>>) {
        let connections = std::mem::take(&mut self.connections);
        let departures = std::mem::take(&mut self.departures);
        let tcp = std::mem::take(&mut self.tcp);
        *self = Self::with(udp, self.reads_udp, tcp, 0);
        self.connections = connections;
        self.departures = departures;
    }

    /// Takes over reading a WebRtcServer's port with these new sockets, keeping the
    /// connections it holds (register them with [`Self::register`]).
    pub fn read_from(&mut self, udp: Vec<UdpSocket>, tcp: Vec<TcpListener>) {
        let connections = std::mem::take(&mut self.connections);
        let departures = std::mem::take(&mut self.departures);
        *self = Self::with(udp.into_iter().map(Arc::new).collect(), true, tcp, 0);
        self.connections = connections;
        self.departures = departures;
    }

    /// Its UDP sockets, to share with other workers for sending.
    pub fn udp(&self) -> Vec<Arc<UdpSocket>> {
        self.udp.clone()
    }

    /// Connections that left for another member since the last call.
    pub fn take_departures(&mut self) -> std::vec::Drain<'_, Departure> {
        self.departures.drain(..)
    }

    /// Takes in a connection another member accepted, registering it at its token; false
    /// (and it closes) when every slot is taken.
    pub fn adopt(
        &mut self,
        mut connection: TcpConnection,
        registry: &Registry,
        token_base: usize,
    ) -> bool {
        let Some(slot) = self.connections.iter().position(Option::is_none) else {
            return false;
        };
        let token = Token(token_base + FIRST_TCP_CONNECTION_INDEX + slot);
        if registry
            .register(
                connection.stream_mut(),
                token,
                Interest::READABLE | Interest::WRITABLE,
            )
            .is_err()
        {
            return false;
        }
        self.connections[slot] = Some(connection);
        true
    }

    /// Bound addresses: UDP, then TCP.
    pub fn locals(&self) -> Vec<(TransportProtocol, SocketAddr)> {
        let udp = self
            .udp_locals
            .iter()
            .map(|address| (TransportProtocol::Udp, *address));
        let tcp = self
            .tcp
            .iter()
            .filter_map(|listener| listener.local_addr().ok())
            .map(|address| (TransportProtocol::Tcp, address));
        udp.chain(tcp).collect()
    }

    /// A sink over these sockets whose UDP datagrams go out on its `flush`.
    pub fn sink<'a>(&'a mut self, batch: &'a mut SendBatch) -> SocketSink<'a> {
        SocketSink {
            udp: &self.udp,
            udp_locals: &self.udp_locals,
            batch_socket: 0,
            out: UdpOut::Batch(batch),
            connections: &mut self.connections,
            sent_datagrams: 0,
            sent_bytes: 0,
        }
    }

    /// A sink over these sockets whose UDP datagrams wait in `queue` for the end of the
    /// routing phase.
    pub fn deferred_sink<'a>(&'a mut self, queue: &'a mut EgressQueue) -> SocketSink<'a> {
        SocketSink {
            udp: &self.udp,
            udp_locals: &self.udp_locals,
            batch_socket: 0,
            out: UdpOut::Deferred(queue),
            connections: &mut self.connections,
            sent_datagrams: 0,
            sent_bytes: 0,
        }
    }

    /// Registers the listening sockets at `token_base + index`.
    pub fn register(&mut self, registry: &Registry, token_base: usize) -> std::io::Result<()> {
        if self.reads_udp {
            for (index, socket) in self.udp.iter().enumerate() {
                registry.register(
                    &mut mio::unix::SourceFd(&socket.as_raw_fd()),
                    Token(token_base + FIRST_UDP_INDEX + index),
                    Interest::READABLE,
                )?;
            }
        }
        for (index, listener) in self.tcp.iter_mut().enumerate() {
            registry.register(
                listener,
                Token(token_base + FIRST_TCP_LISTENER_INDEX + index),
                Interest::READABLE,
            )?;
        }
        Ok(())
    }

    /// Deregisters every socket (they are about to close; failures cannot matter).
    pub fn deregister(&mut self, registry: &Registry) {
        if self.reads_udp {
            for socket in &self.udp {
                let _ = registry.deregister(&mut mio::unix::SourceFd(&socket.as_raw_fd()));
            }
        }
        for listener in &mut self.tcp {
            let _ = registry.deregister(listener);
        }
        for mut connection in self.connections.iter_mut().filter_map(Option::take) {
            let _ = registry.deregister(connection.stream_mut());
        }
    }

    /// Handles readiness of socket `index`: reads one UDP batch, accepts TCP connections, or
    /// reads one chunk of TCP frames, handing each packet to `dispatch` with a sink for
    /// answers; `dispatch` says what became of it (a TCP connection whose packet is for
    /// another member leaves, see [`Self::take_departures`]). `now`
    /// dates accepted connections. Returns
    /// whether more may be waiting: the caller routes what this read decrypted, then calls
    /// again (so routing storage holds one read at most).
    #[allow(clippy::too_many_arguments)]
    pub fn on_ready(
        &mut self,
        index: usize,
        writable: bool,
        registry: &Registry,
        token_base: usize,
        receive: &mut RecvBatch,
        batch: &mut SendBatch,
        now: Instant,
        mut dispatch: impl FnMut(SocketEvent, &mut [u8], &mut SocketSink<'_>) -> Delivery,
    ) -> bool {
        match index {
            FIRST_UDP_INDEX..FIRST_TCP_LISTENER_INDEX => {
                self.read_udp(index - FIRST_UDP_INDEX, receive, batch, &mut dispatch)
            }
            FIRST_TCP_LISTENER_INDEX..FIRST_TCP_CONNECTION_INDEX => {
                self.accept(index - FIRST_TCP_LISTENER_INDEX, registry, token_base, now);
                false
            }
            _ => {
                let slot = index - FIRST_TCP_CONNECTION_INDEX;
                if writable {
                    if let Some(Some(connection)) = self.connections.get_mut(slot) {
                        connection.flush();
                    }
                }
                self.read_tcp(slot, registry, batch, &mut dispatch)
            }
        }
    }

    fn read_udp(
        &mut self,
        udp_index: usize,
        receive: &mut RecvBatch,
        batch: &mut SendBatch,
        dispatch: &mut impl FnMut(SocketEvent, &mut [u8], &mut SocketSink<'_>) -> Delivery,
    ) -> bool {
        let (Some(socket), Some(&local), true) = (
            self.udp.get(udp_index),
            self.udp_locals.get(udp_index),
            self.reads_udp,
        ) else {
            return false;
        };
        // A socket error (e.g. ICMP unreachable reported on read) ends this read only.
        let Ok(received) = recv_batch(socket, receive) else {
            return false;
        };
        let mut sink = SocketSink {
            udp: &self.udp,
            udp_locals: &self.udp_locals,
            batch_socket: udp_index,
            out: UdpOut::Batch(&mut *batch),
            connections: &mut self.connections,
            sent_datagrams: 0,
            sent_bytes: 0,
        };
        for slot in 0..received {
            let Some((buffer, len, source)) = receive.datagram_mut(slot) else {
                continue;
            };
            let tuple = TransportTuple {
                local,
                remote: source,
                protocol: TransportProtocol::Udp,
            };
            dispatch(SocketEvent::Packet(tuple), &mut buffer[..len], &mut sink);
        }
        sink.flush();
        received == BATCH
    }

    fn accept(&mut self, listener: usize, registry: &Registry, token_base: usize, now: Instant) {
        let Some(listener) = self.tcp.get(listener) else {
            return;
        };
        loop {
            let (mut stream, remote) = match listener.accept() {
                Ok(accepted) => accepted,
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
                // WouldBlock: all accepted; other errors (e.g. EMFILE) end this round.
                Err(_) => return,
            };
            let Some(slot) = self
                .connections
                .iter()
                .position(Option::is_none)
                .or_else(|| self.stalest_unvalidated(now))
            else {
                // Full of validated or young connections: the stream drops and closes.
                continue;
            };
            let Ok(local) = stream.local_addr() else {
                continue;
            };
            if let Some(mut evicted) = self.connections[slot].take() {
                // Never validated, so no transport knows its tuple; it just closes.
                let _ = registry.deregister(evicted.stream_mut());
            }
            let token = Token(token_base + FIRST_TCP_CONNECTION_INDEX + slot);
            if registry
                .register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
                .is_ok()
            {
                self.connections[slot] = Some(TcpConnection::new(stream, remote, local, now));
            }
        }
    }

    /// The slot of the oldest connection that never carried a validated tuple and has been
    /// open for [`UNVALIDATED_GRACE`].
    fn stalest_unvalidated(&self, now: Instant) -> Option<usize> {
        self.connections
            .iter()
            .enumerate()
            .filter_map(|(slot, connection)| Some((slot, connection.as_ref()?)))
            .filter(|(_, connection)| {
                !connection.validated
                    && now.saturating_duration_since(connection.accepted_at) >= UNVALIDATED_GRACE
            })
            .min_by_key(|(_, connection)| connection.accepted_at)
            .map(|(slot, _)| slot)
    }

    fn read_tcp(
        &mut self,
        slot: usize,
        registry: &Registry,
        batch: &mut SendBatch,
        dispatch: &mut impl FnMut(SocketEvent, &mut [u8], &mut SocketSink<'_>) -> Delivery,
    ) -> bool {
        let Some(Some(tcp)) = self.connections.get_mut(slot) else {
            return false;
        };
        let tuple = TransportTuple {
            local: tcp.local,
            remote: tcp.remote,
            protocol: TransportProtocol::Tcp,
        };
        match tcp.read_chunk() {
            ReadOutcome::Data => {}
            ReadOutcome::Drained => return false,
            ReadOutcome::Closed => {
                if let Some(mut closed) = self.connections[slot].take() {
                    // Deregistering a closing stream cannot usefully fail.
                    let _ = registry.deregister(closed.stream_mut());
                }
                let mut sink = self.sink(batch);
                dispatch(SocketEvent::Closed(tuple), &mut [], &mut sink);
                sink.flush();
                return false;
            }
        }
        // Frames are handled with the connection still in its slot, so answers on this
        // tuple (STUN responses, DTLS) reach it.
        let mut buffer = tcp.take_read_buffer();
        let mut sink = SocketSink {
            udp: &self.udp,
            udp_locals: &self.udp_locals,
            batch_socket: 0,
            out: UdpOut::Batch(&mut *batch),
            connections: &mut self.connections,
            sent_datagrams: 0,
            sent_bytes: 0,
        };
        let mut validated = false;
        // Once a frame is for another member, the connection and the frames after it go.
        let mut leaving: Option<(usize, Vec<Vec<u8>>)> = None;
        for_each_frame(&mut buffer, |frame| {
            if let Some((_, frames)) = &mut leaving {
                frames.push(frame.to_vec());
                return;
            }
            match dispatch(SocketEvent::Packet(tuple), frame, &mut sink) {
                Delivery::Unvalidated => {}
                Delivery::Validated => validated = true,
                Delivery::Elsewhere(member) => leaving = Some((member, vec![frame.to_vec()])),
            }
        });
        sink.flush();
        let Some(Some(tcp)) = self.connections.get_mut(slot) else {
            return false;
        };
        tcp.restore_read_buffer(buffer);
        tcp.validated |= validated;
        let Some((member, frames)) = leaving else {
            return true;
        };
        if let Some(mut connection) = self.connections[slot].take() {
            // Deregistered here, it registers with the other worker's loop.
            let _ = registry.deregister(connection.stream_mut());
            self.departures.push(Departure {
                connection,
                member,
                frames,
            });
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpStream;

    use mio::Poll;

    use super::*;

    /// Accepts what is waiting on the listener, dating the connections `now`.
    fn accept_all(set: &mut SocketSet, poll: &Poll, now: Instant) {
        set.on_ready(
            FIRST_TCP_LISTENER_INDEX,
            false,
            poll.registry(),
            0,
            &mut RecvBatch::default(),
            &mut SendBatch::default(),
            now,
            |_, _, _| Delivery::Unvalidated,
        );
    }

    fn slot_of(set: &SocketSet, client: &TcpStream) -> Option<usize> {
        let remote = client.local_addr().unwrap();
        set.connections
            .iter()
            .position(|connection| connection.as_ref().map(|c| c.remote) == Some(remote))
    }

    fn closed_by_server(client: &mut TcpStream) -> bool {
        client
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        matches!(client.read(&mut [0u8; 16]), Ok(0) | Err(_))
    }

    #[test]
    fn a_sink_sends_from_the_socket_of_the_tuples_local_address() {
        let v4 = UdpSocket::bind("127.0.0.1:0").unwrap();
        let v6 = UdpSocket::bind("[::1]:0").unwrap();
        let locals = [v4.local_addr().unwrap(), v6.local_addr().unwrap()];
        let mut set = SocketSet::new(vec![v4, v6], Vec::new(), 0);
        assert_eq!(
            set.locals(),
            [
                (TransportProtocol::Udp, locals[0]),
                (TransportProtocol::Udp, locals[1])
            ]
        );
        let clients = [
            UdpSocket::bind("127.0.0.1:0").unwrap(),
            UdpSocket::bind("[::1]:0").unwrap(),
        ];
        let mut batch = SendBatch::default();
        let mut sink = set.sink(&mut batch);
        // Alternating sockets within one batch: each datagram leaves from its own.
        for round in 0..2 {
            for (local, client) in locals.iter().zip(&clients) {
                let tuple = TransportTuple {
                    local: *local,
                    remote: client.local_addr().unwrap(),
                    protocol: TransportProtocol::Udp,
                };
                sink.send(&tuple, &[round]);
            }
        }
        sink.flush();
        assert_eq!(sink.take_counts().0, 4);
        for (local, client) in locals.iter().zip(&clients) {
            client
                .set_read_timeout(Some(Duration::from_secs(2)))
                .unwrap();
            for round in 0..2 {
                let mut buffer = [0u8; 4];
                let (len, source) = client.recv_from(&mut buffer).unwrap();
                assert_eq!((&buffer[..len], source), (&[round][..], *local));
            }
        }
    }

    #[test]
    fn a_full_table_gives_the_oldest_never_validated_connection_to_a_newcomer() {
        let listener = mio::net::TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let address = listener.local_addr().unwrap();
        let poll = Poll::new().unwrap();
        let mut set = SocketSet::new(Vec::new(), vec![listener], 2);
        set.register(poll.registry(), 0).unwrap();
        let start = Instant::now();

        // A slowloris connection (half a frame, then nothing) and an ICE client.
        let mut stalled = TcpStream::connect(address).unwrap();
        stalled.write_all(&[0x03, 0xe8, 0x00]).unwrap();
        let mut honest = TcpStream::connect(address).unwrap();
        accept_all(&mut set, &poll, start);
        let honest_slot = slot_of(&set, &honest).unwrap();
        assert!(slot_of(&set, &stalled).is_some());
        honest.write_all(&[0, 3, b'i', b'c', b'e']).unwrap();
        let mut frames = 0;
        let deadline = Instant::now() + Duration::from_secs(2);
        while frames == 0 && Instant::now() < deadline {
            set.on_ready(
                FIRST_TCP_CONNECTION_INDEX + honest_slot,
                false,
                poll.registry(),
                0,
                &mut RecvBatch::default(),
                &mut SendBatch::default(),
                start,
                |_, frame, _| {
                    frames += 1;
                    if frame == b"ice" {
                        Delivery::Validated
                    } else {
                        Delivery::Unvalidated
                    }
                },
            );
        }
        assert_eq!(frames, 1);

        // Full, and the stalled connection is still young: a newcomer is turned away.
        let mut early = TcpStream::connect(address).unwrap();
        accept_all(&mut set, &poll, start + UNVALIDATED_GRACE / 2);
        assert!(closed_by_server(&mut early));
        assert!(slot_of(&set, &stalled).is_some());

        // Once the grace is over, the stalled connection gives way; the validated one stays.
        let newcomer = TcpStream::connect(address).unwrap();
        accept_all(&mut set, &poll, start + UNVALIDATED_GRACE);
        assert!(slot_of(&set, &newcomer).is_some());
        assert_eq!(slot_of(&set, &honest), Some(honest_slot));
        assert_eq!(slot_of(&set, &stalled), None);
        assert!(closed_by_server(&mut stalled));
    }
}
