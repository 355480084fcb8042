//! A WebRTC transport as the worker holds it: its UDP socket and/or TCP listener (ICE-TCP,
//! passive), the TCP connections clients opened, its secure connection, and its counters.
//! The worker feeds it readiness and timer ticks; what it sends goes into the worker's UDP
//! send batch or the right TCP connection.

use std::net::{SocketAddr, UdpSocket};
use std::time::Instant;

use mio::net::TcpListener;
use mio::{Interest, Registry, Token};

use super::messages::{TransportEvent, TransportStats};
use super::tcp_connection::{for_each_frame, ReadOutcome, TcpConnection};
use super::udp_batch::{recv_batch, RecvBatch, SendBatch, BATCH};
use crate::dtls::DtlsState;
use crate::ice::{TransportProtocol, TransportTuple};
use crate::rtc::datagram_sink::DatagramSink;
use crate::rtc::webrtc_connection::{
    Received, RemoteDtlsParameters, WebRtcConnection, WebRtcConnectionEvent,
};

/// Socket index of the UDP socket within the transport's token range.
pub const UDP_INDEX: usize = 0;
/// Socket index of the TCP listener.
pub const TCP_LISTENER_INDEX: usize = 1;
/// Socket index of the first TCP connection.
pub const FIRST_TCP_CONNECTION_INDEX: usize = 2;
/// TCP connections a transport accepts at once (ICE needs one or two; more is an attack).
pub const MAX_TCP_CONNECTIONS: usize = 16;

/// Where a transport's packets go: UDP datagrams into the worker's batch, TCP frames to
/// the connection of the tuple.
struct TransportSink<'a> {
    udp: Option<&'a UdpSocket>,
    batch: &'a mut SendBatch,
    connections: &'a mut [Option<TcpConnection>],
    stats: &'a mut TransportStats,
}

impl DatagramSink for TransportSink<'_> {
    fn send(&mut self, tuple: &TransportTuple, datagram: &[u8]) {
        match tuple.protocol {
            TransportProtocol::Udp => {
                let Some(socket) = self.udp else { return };
                if self.batch.is_full() {
                    self.batch.flush(socket);
                }
                if !self.batch.push(tuple.remote, datagram) {
                    return;
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
        self.stats.datagrams_sent += 1;
        self.stats.bytes_sent += datagram.len() as u64;
    }
}

/// One WebRtcTransport.
#[derive(Debug)]
pub struct WorkerWebRtcTransport {
    /// The caller's id.
    pub id: String,
    udp: Option<UdpSocket>,
    tcp: Option<TcpListener>,
    connections: Vec<Option<TcpConnection>>,
    /// ICE, DTLS and SRTP.
    pub connection: WebRtcConnection,
    stats: TransportStats,
}

impl WorkerWebRtcTransport {
    /// Wraps bound, non-blocking sockets (at least one of them).
    pub fn new(
        id: String,
        udp: Option<UdpSocket>,
        tcp: Option<TcpListener>,
        connection: WebRtcConnection,
    ) -> Self {
        WorkerWebRtcTransport {
            id,
            udp,
            tcp,
            connections: (0..MAX_TCP_CONNECTIONS).map(|_| None).collect(),
            connection,
            stats: TransportStats::default(),
        }
    }

    /// The UDP socket, if any.
    pub fn udp(&self) -> Option<&UdpSocket> {
        self.udp.as_ref()
    }

    /// The TCP listener, if any.
    pub fn tcp_mut(&mut self) -> Option<&mut TcpListener> {
        self.tcp.as_mut()
    }

    /// Bound addresses: UDP, then TCP (for the port allocator and candidates).
    pub fn locals(&self) -> Vec<(TransportProtocol, SocketAddr)> {
        let udp = self
            .udp
            .as_ref()
            .and_then(|socket| socket.local_addr().ok())
            .map(|address| (TransportProtocol::Udp, address));
        let tcp = self
            .tcp
            .as_ref()
            .and_then(|listener| listener.local_addr().ok())
            .map(|address| (TransportProtocol::Tcp, address));
        udp.into_iter().chain(tcp).collect()
    }

    /// Handles readiness of socket `index` (see the `*_INDEX` constants); new TCP connections
    /// are registered with `registry` at `token_base + index`.
    #[allow(clippy::too_many_arguments)]
    pub fn on_ready(
        &mut self,
        index: usize,
        writable: bool,
        registry: &Registry,
        token_base: usize,
        receive: &mut RecvBatch,
        send: &mut SendBatch,
        now: Instant,
        events: &mut Vec<TransportEvent>,
    ) {
        match index {
            UDP_INDEX => self.read_udp(receive, send, now),
            TCP_LISTENER_INDEX => self.accept(registry, token_base),
            _ => {
                let slot = index - FIRST_TCP_CONNECTION_INDEX;
                if writable {
                    if let Some(Some(connection)) = self.connections.get_mut(slot) {
                        connection.flush();
                    }
                }
                self.read_tcp(slot, registry, send, now);
            }
        }
        self.collect_events(events);
    }

    fn read_udp(&mut self, receive: &mut RecvBatch, send: &mut SendBatch, now: Instant) {
        let Some(socket) = self.udp.as_ref() else {
            return;
        };
        let Ok(local) = socket.local_addr() else {
            return;
        };
        // A socket error (e.g. ICMP unreachable reported on read) ends this read only.
        while let Ok(received) = recv_batch(socket, receive) {
            let mut sink = TransportSink {
                udp: Some(socket),
                batch: send,
                connections: &mut self.connections,
                stats: &mut self.stats,
            };
            for slot in 0..received {
                let Some((buffer, len, source)) = receive.datagram_mut(slot) else {
                    continue;
                };
                sink.stats.datagrams_received += 1;
                sink.stats.bytes_received += len as u64;
                let tuple = TransportTuple {
                    local,
                    remote: source,
                    protocol: TransportProtocol::Udp,
                };
                let received =
                    self.connection
                        .handle_datagram(tuple, &mut buffer[..len], now, &mut sink);
                count_received(sink.stats, received);
            }
            send.flush(socket);
            if received < BATCH {
                break;
            }
        }
    }

    fn accept(&mut self, registry: &Registry, token_base: usize) {
        let Some(listener) = self.tcp.as_ref() else {
            return;
        };
        loop {
            let (mut stream, remote) = match listener.accept() {
                Ok(accepted) => accepted,
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
                // WouldBlock: all accepted; other errors (e.g. EMFILE) end this round.
                Err(_) => return,
            };
            let Some(slot) = self.connections.iter().position(Option::is_none) else {
                // Full: the stream drops and closes.
                continue;
            };
            let Ok(local) = stream.local_addr() else {
                continue;
            };
            let token = Token(token_base + FIRST_TCP_CONNECTION_INDEX + slot);
            if registry
                .register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
                .is_ok()
            {
                self.connections[slot] = Some(TcpConnection::new(stream, remote, local));
            }
        }
    }

    fn read_tcp(&mut self, slot: usize, registry: &Registry, send: &mut SendBatch, now: Instant) {
        loop {
            let Some(Some(tcp)) = self.connections.get_mut(slot) else {
                return;
            };
            let tuple = TransportTuple {
                local: tcp.local,
                remote: tcp.remote,
                protocol: TransportProtocol::Tcp,
            };
            match tcp.read_chunk() {
                ReadOutcome::Data => {}
                ReadOutcome::Drained => return,
                ReadOutcome::Closed => {
                    if let Some(mut closed) = self.connections[slot].take() {
                        // Deregistering a closing stream cannot usefully fail.
                        let _ = registry.deregister(closed.stream_mut());
                    }
                    self.connection.remove_tuple(&tuple);
                    return;
                }
            }
            // The frames are handled with the connection still in its slot, so answers on
            // this tuple (STUN responses, DTLS) reach it.
            let mut buffer = tcp.take_read_buffer();
            let mut sink = TransportSink {
                udp: self.udp.as_ref(),
                batch: send,
                connections: &mut self.connections,
                stats: &mut self.stats,
            };
            let connection = &mut self.connection;
            for_each_frame(&mut buffer, |frame| {
                sink.stats.datagrams_received += 1;
                sink.stats.bytes_received += frame.len() as u64;
                let received = connection.handle_datagram(tuple, frame, now, &mut sink);
                count_received(sink.stats, received);
            });
            self.flush_udp(send);
            if let Some(Some(tcp)) = self.connections.get_mut(slot) {
                tcp.restore_read_buffer(buffer);
            }
        }
    }

    /// The client's `connect({dtlsParameters})`; DTLS may start at once.
    pub fn connect(
        &mut self,
        remote: RemoteDtlsParameters,
        now: Instant,
        send: &mut SendBatch,
        events: &mut Vec<TransportEvent>,
    ) -> Result<(), String> {
        let mut sink = TransportSink {
            udp: self.udp.as_ref(),
            batch: send,
            connections: &mut self.connections,
            stats: &mut self.stats,
        };
        let connected = self.connection.connect(remote, now, &mut sink);
        self.flush_udp(send);
        self.collect_events(events);
        connected.map_err(|error| error.to_string())
    }

    /// Runs the connection's timers.
    pub fn on_timer(
        &mut self,
        send: &mut SendBatch,
        now: Instant,
        events: &mut Vec<TransportEvent>,
    ) {
        let mut sink = TransportSink {
            udp: self.udp.as_ref(),
            batch: send,
            connections: &mut self.connections,
            stats: &mut self.stats,
        };
        self.connection.handle_timeout(now, &mut sink);
        self.flush_udp(send);
        self.collect_events(events);
    }

    /// Sends DTLS close_notify and drops the TCP connections.
    pub fn close(&mut self, registry: &Registry, send: &mut SendBatch) {
        let mut sink = TransportSink {
            udp: self.udp.as_ref(),
            batch: send,
            connections: &mut self.connections,
            stats: &mut self.stats,
        };
        self.connection.close(&mut sink);
        self.flush_udp(send);
        for mut tcp in self.connections.iter_mut().filter_map(Option::take) {
            // Deregistering a closing stream cannot usefully fail.
            let _ = registry.deregister(tcp.stream_mut());
        }
    }

    fn flush_udp(&self, send: &mut SendBatch) {
        if let Some(socket) = self.udp.as_ref() {
            send.flush(socket);
        }
    }

    /// Counters and states now.
    pub fn stats(&self) -> TransportStats {
        TransportStats {
            drops: self.connection.drops(),
            ice_state: Some(self.connection.ice().state()),
            ice_selected_tuple: self.connection.ice().selected_tuple(),
            dtls_state: Some(self.connection.dtls_state()),
            ..self.stats.clone()
        }
    }

    fn collect_events(&mut self, events: &mut Vec<TransportEvent>) {
        while let Some(event) = self.connection.poll_event() {
            events.push(match event {
                WebRtcConnectionEvent::IceStateChanged(state) => {
                    TransportEvent::IceStateChanged(state)
                }
                WebRtcConnectionEvent::IceSelectedTupleChanged(tuple) => {
                    TransportEvent::IceSelectedTupleChanged(tuple)
                }
                WebRtcConnectionEvent::DtlsStateChanged(state) => {
                    TransportEvent::DtlsStateChanged {
                        state,
                        remote_certificate_der: self
                            .connection
                            .remote_certificate()
                            .filter(|_| state == DtlsState::Connected)
                            .map(<[u8]>::to_vec),
                        failure_reason: self
                            .connection
                            .dtls_failure()
                            .filter(|_| state == DtlsState::Failed)
                            .map(str::to_owned),
                    }
                }
            });
        }
    }
}

fn count_received(stats: &mut TransportStats, received: Received) {
    match received {
        Received::Rtp(_) => stats.rtp_packets_received += 1,
        Received::Rtcp(_) => stats.rtcp_packets_received += 1,
        Received::Nothing => {}
    }
}
