//! A DirectTransport: no sockets. The owner hands it RTP and RTCP (a bot, a recorder, a
//! test feeding a producer), and what its router sends on it goes back to the owner as events
//! instead of onto the network.

use std::net::SocketAddr;

use mio::Registry;

use super::forward_queue::PacketKind;
use super::messages::{Response, TransportEvent, TransportRequest, TransportStats, WorkerEvent};
use super::transport::{not_for_this_kind, Transport, TransportIo};
use crate::ice::TransportProtocol;
use crate::rtc::request_error::RequestError;

/// One DirectTransport.
#[derive(Debug)]
pub struct WorkerDirectTransport {
    id: String,
    stats: TransportStats,
}

impl WorkerDirectTransport {
    /// A transport with this id.
    pub fn new(id: String) -> Self {
        WorkerDirectTransport {
            id,
            stats: TransportStats::default(),
        }
    }

    /// Hands what the router sends to the owner.
    fn hand_over(&mut self, packet: &[u8], rtcp: bool, io: &mut TransportIo<'_>) {
        self.stats.datagrams_sent += 1;
        self.stats.bytes_sent += packet.len() as u64;
        io.events.push(WorkerEvent::DirectPacket {
            transport_id: self.id.clone(),
            rtcp,
            packet: packet.to_vec(),
        });
    }
}

impl Transport for WorkerDirectTransport {
    fn id(&self) -> &str {
        &self.id
    }

    fn locals(&self) -> Vec<(TransportProtocol, SocketAddr)> {
        Vec::new()
    }

    fn register(&mut self, _registry: &Registry, _token_base: usize) -> std::io::Result<()> {
        Ok(())
    }

    fn deregister(&mut self, _registry: &Registry) {}

    fn read(&mut self, _index: usize, _writable: bool, _io: &mut TransportIo<'_>) -> bool {
        false
    }

    fn send_rtp(&mut self, buffer: &mut [u8], len: usize, io: &mut TransportIo<'_>) {
        self.hand_over(&buffer[..len], false, io);
    }

    fn send_rtcp(&mut self, buffer: &mut [u8], len: usize, io: &mut TransportIo<'_>) {
        self.hand_over(&buffer[..len], true, io);
    }

    fn handle_request(
        &mut self,
        request: TransportRequest,
        io: &mut TransportIo<'_>,
    ) -> Result<Response, RequestError> {
        match request {
            TransportRequest::SendDirectPacket { rtcp, packet } => {
                self.stats.datagrams_received += 1;
                self.stats.bytes_received += packet.len() as u64;
                let kind = if rtcp {
                    self.stats.rtcp_packets_received += 1;
                    PacketKind::Rtcp
                } else {
                    self.stats.rtp_packets_received += 1;
                    PacketKind::Rtp
                };
                // Routed with the next routing phase, as if it had been read.
                io.forward.push(io.slot, kind, &packet);
                Ok(Response::Done)
            }
            other => Err(not_for_this_kind(&other, "DirectTransport")),
        }
    }

    fn count_malformed_rtcp(&mut self) {
        self.stats.rtcp_packets_malformed += 1;
    }

    fn stats(&self) -> TransportStats {
        self.stats.clone()
    }

    fn collect_events(&mut self, _events: &mut Vec<TransportEvent>) {}
}
