//! A WebRTC transport as the worker holds it: its secure connection, its counters, and
//! either its own sockets or a reference to the WebRtcServer whose sockets it shares.

use std::time::Instant;

use super::messages::{TransportEvent, TransportStats};
use super::socket_set::{SocketEvent, SocketSet, SocketSink};
use crate::dtls::DtlsState;
use crate::rtc::webrtc_connection::{
    Received, RemoteDtlsParameters, WebRtcConnection, WebRtcConnectionEvent,
};

/// TCP connections a transport with its own sockets accepts at once (ICE needs one or two).
pub const MAX_TCP_CONNECTIONS: usize = 16;

/// Where a transport's packets come in and go out.
#[derive(Debug)]
pub enum TransportSockets {
    /// Its own UDP socket and/or TCP listener.
    Own(SocketSet),
    /// The sockets of the WebRtcServer in this worker slot.
    Server(usize),
}

/// One WebRtcTransport: its sockets apart from its state, so the state can handle packets
/// while the sockets are being read.
#[derive(Debug)]
pub struct WorkerWebRtcTransport {
    /// The caller's id.
    pub id: String,
    /// Its sockets.
    pub sockets: TransportSockets,
    /// Its connection and counters.
    pub state: WebRtcTransportState,
}

impl WorkerWebRtcTransport {
    /// A transport on `sockets`.
    pub fn new(id: String, sockets: TransportSockets, connection: WebRtcConnection) -> Self {
        WorkerWebRtcTransport {
            id,
            sockets,
            state: WebRtcTransportState {
                connection,
                stats: TransportStats::default(),
            },
        }
    }
}

/// A WebRtcTransport's connection and counters.
#[derive(Debug)]
pub struct WebRtcTransportState {
    /// ICE, DTLS and SRTP.
    pub connection: WebRtcConnection,
    stats: TransportStats,
}

impl WebRtcTransportState {
    /// Handles what arrived on one of its tuples (or that a TCP tuple closed).
    pub fn handle(
        &mut self,
        event: SocketEvent,
        packet: &mut [u8],
        now: Instant,
        sink: &mut SocketSink<'_>,
    ) -> Received {
        let received = match event {
            SocketEvent::Packet(tuple) => {
                self.stats.datagrams_received += 1;
                self.stats.bytes_received += packet.len() as u64;
                let received = self.connection.handle_datagram(tuple, packet, now, sink);
                match received {
                    Received::Rtp(_) => self.stats.rtp_packets_received += 1,
                    Received::Rtcp(_) => self.stats.rtcp_packets_received += 1,
                    Received::Nothing => {}
                }
                received
            }
            SocketEvent::Closed(tuple) => {
                self.connection.remove_tuple(&tuple);
                Received::Nothing
            }
        };
        self.charge(sink);
        received
    }

    /// The client's `connect({dtlsParameters})`; DTLS may start at once.
    pub fn connect(
        &mut self,
        remote: RemoteDtlsParameters,
        now: Instant,
        sink: &mut SocketSink<'_>,
    ) -> Result<(), String> {
        let connected = self.connection.connect(remote, now, sink);
        self.charge(sink);
        connected.map_err(|error| error.to_string())
    }

    /// Runs the connection's timers.
    pub fn on_timer(&mut self, now: Instant, sink: &mut SocketSink<'_>) {
        self.connection.handle_timeout(now, sink);
        self.charge(sink);
    }

    /// Protects and sends RTP (`buffer[..len]`, with room for the tag) to the endpoint.
    pub fn send_rtp(&mut self, buffer: &mut [u8], len: usize, sink: &mut SocketSink<'_>) -> bool {
        let sent = self.connection.send_rtp(buffer, len, sink).is_ok();
        self.charge(sink);
        sent
    }

    /// Protects and sends RTCP to the endpoint.
    pub fn send_rtcp(&mut self, buffer: &mut [u8], len: usize, sink: &mut SocketSink<'_>) -> bool {
        let sent = self.connection.send_rtcp(buffer, len, sink).is_ok();
        self.charge(sink);
        sent
    }

    /// Sends DTLS close_notify.
    pub fn close(&mut self, sink: &mut SocketSink<'_>) {
        self.connection.close(sink);
        self.charge(sink);
    }

    fn charge(&mut self, sink: &mut SocketSink<'_>) {
        let (datagrams, bytes) = sink.take_counts();
        self.stats.datagrams_sent += datagrams;
        self.stats.bytes_sent += bytes;
    }

    /// Counts an RTCP compound that did not parse whole.
    pub fn count_malformed_rtcp(&mut self) {
        self.stats.rtcp_packets_malformed += 1;
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

    /// State changes since the last call.
    pub fn collect_events(&mut self, events: &mut Vec<TransportEvent>) {
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
