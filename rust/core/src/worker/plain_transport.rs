//! A PlainTransport as the worker holds it: its RTP socket (and RTCP socket without
//! rtcp-mux), its plain connection and its counters.

use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;

use super::egress_queue::EgressQueue;
use super::forward_queue::{ForwardQueue, PacketKind};
use super::messages::{TransportEvent, TransportStats};
use super::udp_batch::{recv_batch, RecvBatch, BATCH};
use crate::rtc::datagram_sink::DatagramSink;
use crate::rtc::plain_connection::{PlainConnection, PlainConnectionEvent, PlainSocket};
use crate::rtc::webrtc_connection::{DropCounters, Received};

/// Queues media for one socket in the worker's egress queue (sent when the routing
/// phase ends).
struct DeferredSink<'a> {
    queue: &'a mut EgressQueue,
    socket: &'a UdpSocket,
    sent: u64,
}

impl DatagramSink for DeferredSink<'_> {
    fn send(&mut self, tuple: &crate::ice::TransportTuple, datagram: &[u8]) {
        self.queue
            .push(self.socket.as_raw_fd(), tuple.remote, datagram);
        self.sent += 1;
    }
}

/// One PlainTransport.
#[derive(Debug)]
pub struct WorkerPlainTransport {
    /// The caller's id.
    pub id: String,
    rtp_socket: UdpSocket,
    rtcp_socket: Option<UdpSocket>,
    /// The (S)RTP connection.
    pub connection: PlainConnection,
    stats: TransportStats,
}

impl WorkerPlainTransport {
    /// Wraps bound, non-blocking sockets.
    pub fn new(
        id: String,
        rtp_socket: UdpSocket,
        rtcp_socket: Option<UdpSocket>,
        comedia: bool,
        srtp_enabled: bool,
    ) -> std::io::Result<Self> {
        let local_rtp = rtp_socket.local_addr()?;
        let local_rtcp = rtcp_socket
            .as_ref()
            .map(UdpSocket::local_addr)
            .transpose()?;
        Ok(WorkerPlainTransport {
            id,
            rtp_socket,
            rtcp_socket,
            connection: PlainConnection::new(local_rtp, local_rtcp, comedia, srtp_enabled),
            stats: TransportStats::default(),
        })
    }

    /// The sockets: RTP, then RTCP if separate.
    pub fn sockets(&self) -> impl Iterator<Item = &UdpSocket> {
        std::iter::once(&self.rtp_socket).chain(self.rtcp_socket.as_ref())
    }

    /// Bound addresses (RTP, RTCP).
    pub fn locals(&self) -> Vec<SocketAddr> {
        self.sockets()
            .filter_map(|socket| socket.local_addr().ok())
            .collect()
    }

    /// Reads one batch from socket `index` (0 RTP, 1 RTCP); media goes to the forward queue
    /// under `slot`. Returns whether more may be waiting.
    pub fn on_readable(
        &mut self,
        index: usize,
        slot: usize,
        receive: &mut RecvBatch,
        forward: &mut ForwardQueue,
        events: &mut Vec<TransportEvent>,
    ) -> std::io::Result<bool> {
        let (socket, which) = match (index, &self.rtcp_socket) {
            (1, Some(socket)) => (socket, PlainSocket::Rtcp),
            _ => (&self.rtp_socket, PlainSocket::Rtp),
        };
        let received = recv_batch(socket, receive)?;
        for datagram in 0..received {
            let Some((buffer, len, source)) = receive.datagram_mut(datagram) else {
                continue;
            };
            self.stats.datagrams_received += 1;
            self.stats.bytes_received += len as u64;
            match self
                .connection
                .handle_datagram(which, source, &mut buffer[..len])
            {
                Received::Rtp(plain_len) => {
                    self.stats.rtp_packets_received += 1;
                    forward.push(slot, PacketKind::Rtp, &buffer[..plain_len]);
                }
                Received::Rtcp(plain_len) => {
                    self.stats.rtcp_packets_received += 1;
                    forward.push(slot, PacketKind::Rtcp, &buffer[..plain_len]);
                }
                Received::Nothing => {}
            }
        }
        self.collect_events(events);
        Ok(received == BATCH)
    }

    /// Sends RTP (`buffer[..len]`, with room for an SRTP tag) to the remote address, through
    /// the worker's egress queue.
    pub fn send_rtp(&mut self, buffer: &mut [u8], len: usize, queue: &mut EgressQueue) -> bool {
        let mut sink = DeferredSink {
            queue,
            socket: &self.rtp_socket,
            sent: 0,
        };
        let sent = self.connection.send_rtp(buffer, len, &mut sink).is_ok();
        self.stats.datagrams_sent += sink.sent;
        self.stats.bytes_sent += if sent { len as u64 } else { 0 };
        sent
    }

    /// Sends an RTCP compound (`buffer[..len]`, with room for the SRTCP trailer) from the
    /// RTCP socket, or the RTP socket with rtcp-mux, through the worker's egress queue.
    pub fn send_rtcp(&mut self, buffer: &mut [u8], len: usize, queue: &mut EgressQueue) -> bool {
        let mut sink = DeferredSink {
            queue,
            socket: self.rtcp_socket.as_ref().unwrap_or(&self.rtp_socket),
            sent: 0,
        };
        let sent = self.connection.send_rtcp(buffer, len, &mut sink).is_ok();
        self.stats.datagrams_sent += sink.sent;
        self.stats.bytes_sent += if sent { len as u64 } else { 0 };
        sent
    }

    /// The events `connect` produced.
    pub fn collect_events(&mut self, events: &mut Vec<TransportEvent>) {
        while let Some(event) = self.connection.poll_event() {
            events.push(match event {
                PlainConnectionEvent::Tuple(tuple) => TransportEvent::Tuple(tuple),
                PlainConnectionEvent::RtcpTuple(tuple) => TransportEvent::RtcpTuple(tuple),
            });
        }
    }

    /// Counts an RTCP compound that did not parse whole.
    pub fn count_malformed_rtcp(&mut self) {
        self.stats.rtcp_packets_malformed += 1;
    }

    /// Counters and tuples now.
    pub fn stats(&self) -> TransportStats {
        let drops = self.connection.drops();
        TransportStats {
            drops: DropCounters {
                media_not_ready: drops.unknown_source,
                srtp: drops.srtp,
                unknown: drops.not_media,
                ..DropCounters::default()
            },
            tuple: self.connection.tuple(),
            rtcp_tuple: self.connection.rtcp_tuple(),
            ..self.stats.clone()
        }
    }
}
