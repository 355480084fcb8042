//! A WebRTC transport as the worker holds it: its UDP socket, its secure connection, and its
//! counters. The worker feeds it received batches and timer ticks; it writes what it sends
//! into the worker's send batch for its socket.

use std::net::{SocketAddr, UdpSocket};
use std::time::Instant;

use super::messages::{TransportEvent, TransportStats};
use super::udp_batch::{recv_batch, RecvBatch, SendBatch};
use crate::ice::{TransportProtocol, TransportTuple};
use crate::rtc::datagram_sink::DatagramSink;
use crate::rtc::webrtc_connection::{
    Received, RemoteDtlsParameters, WebRtcConnection, WebRtcConnectionEvent,
};

/// Writes into the worker's send batch, flushing to the socket when it fills.
struct SocketSink<'a> {
    socket: &'a UdpSocket,
    batch: &'a mut SendBatch,
    stats: &'a mut TransportStats,
}

impl DatagramSink for SocketSink<'_> {
    fn send(&mut self, tuple: &TransportTuple, datagram: &[u8]) {
        if self.batch.is_full() {
            self.batch.flush(self.socket);
        }
        if self.batch.push(tuple.remote, datagram) {
            self.stats.datagrams_sent += 1;
            self.stats.bytes_sent += datagram.len() as u64;
        }
    }
}

/// One WebRtcTransport on one UDP socket.
#[derive(Debug)]
pub struct WorkerWebRtcTransport {
    /// The caller's id.
    pub id: String,
    socket: UdpSocket,
    local: SocketAddr,
    /// ICE, DTLS and SRTP.
    pub connection: WebRtcConnection,
    stats: TransportStats,
}

impl WorkerWebRtcTransport {
    /// Wraps a bound, non-blocking socket.
    pub fn new(
        id: String,
        socket: UdpSocket,
        connection: WebRtcConnection,
    ) -> std::io::Result<Self> {
        let local = socket.local_addr()?;
        Ok(WorkerWebRtcTransport {
            id,
            socket,
            local,
            connection,
            stats: TransportStats::default(),
        })
    }

    /// The socket, for registration with the event loop.
    pub fn socket(&self) -> &UdpSocket {
        &self.socket
    }

    /// The bound address.
    pub fn local(&self) -> SocketAddr {
        self.local
    }

    /// Reads every waiting datagram in batches and handles each; answers go out in batches.
    pub fn on_readable(
        &mut self,
        receive: &mut RecvBatch,
        send: &mut SendBatch,
        now: Instant,
        events: &mut Vec<TransportEvent>,
    ) -> std::io::Result<()> {
        loop {
            let received = recv_batch(&self.socket, receive)?;
            if received == 0 {
                break;
            }
            let mut sink = SocketSink {
                socket: &self.socket,
                batch: send,
                stats: &mut self.stats,
            };
            for index in 0..received {
                let Some((buffer, len, source)) = receive.datagram_mut(index) else {
                    continue;
                };
                sink.stats.datagrams_received += 1;
                sink.stats.bytes_received += len as u64;
                let tuple = TransportTuple {
                    local: self.local,
                    remote: source,
                    protocol: TransportProtocol::Udp,
                };
                match self
                    .connection
                    .handle_datagram(tuple, &mut buffer[..len], now, &mut sink)
                {
                    Received::Rtp(_) => sink.stats.rtp_packets_received += 1,
                    Received::Rtcp(_) => sink.stats.rtcp_packets_received += 1,
                    Received::Nothing => {}
                }
            }
            send.flush(&self.socket);
            if received < super::udp_batch::BATCH {
                break;
            }
        }
        self.collect_events(events);
        Ok(())
    }

    /// The client's `connect({dtlsParameters})`; DTLS may start at once.
    pub fn connect(
        &mut self,
        remote: RemoteDtlsParameters,
        now: Instant,
        send: &mut SendBatch,
        events: &mut Vec<TransportEvent>,
    ) -> Result<(), String> {
        let mut sink = SocketSink {
            socket: &self.socket,
            batch: send,
            stats: &mut self.stats,
        };
        let connected = self.connection.connect(remote, now, &mut sink);
        send.flush(&self.socket);
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
        let mut sink = SocketSink {
            socket: &self.socket,
            batch: send,
            stats: &mut self.stats,
        };
        self.connection.handle_timeout(now, &mut sink);
        send.flush(&self.socket);
        self.collect_events(events);
    }

    /// Sends DTLS close_notify before the socket closes.
    pub fn close(&mut self, send: &mut SendBatch) {
        let mut sink = SocketSink {
            socket: &self.socket,
            batch: send,
            stats: &mut self.stats,
        };
        self.connection.close(&mut sink);
        send.flush(&self.socket);
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
                            .filter(|_| state == crate::dtls::DtlsState::Connected)
                            .map(<[u8]>::to_vec),
                    }
                }
            });
        }
    }
}
