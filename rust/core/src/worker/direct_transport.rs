//! A DirectTransport: no sockets. The owner hands it RTP and RTCP (a bot, a recorder, a
//! test feeding a producer), and what its router sends on it goes back to the owner as events
//! instead of onto the network.

use std::net::SocketAddr;
use std::sync::Arc;

use mio::Registry;

use super::forward_queue::PacketKind;
use super::messages::{Response, TransportEvent, TransportRequest, TransportStats, WorkerEvent};
use super::transport::{not_for_this_kind, Transport, TransportIo};
use crate::ice::TransportProtocol;
use crate::rtc::request_error::RequestError;

/// Packets of the worker's DirectTransports waiting for their owner at most: about 12 MB of
/// full-size packets, seconds of a room's video. Past it the owner (the Python thread) is
/// behind, and new packets are dropped and counted rather than held without bound; a frame
/// reader sees the gap and asks for a keyframe.
const OWNER_QUEUE_LIMIT: usize = 8192;

/// One DirectTransport.
#[derive(Debug)]
pub struct WorkerDirectTransport {
    /// Shared with each packet's event rather than copied into it.
    id: Arc<str>,
    stats: TransportStats,
}

impl WorkerDirectTransport {
    /// A transport with this id.
    pub fn new(id: String) -> Self {
        WorkerDirectTransport {
            id: id.into(),
            stats: TransportStats::default(),
        }
    }

    /// Hands what the router sends to the owner, unless the owner is too far behind.
    fn hand_over(&mut self, packet: &[u8], rtcp: bool, io: &mut TransportIo<'_>) {
        let event = WorkerEvent::DirectPacket {
            transport_id: Arc::clone(&self.id),
            rtcp,
            packet: io.events.buffer_holding(packet),
        };
        match io.events.push_within(event, OWNER_QUEUE_LIMIT) {
            Ok(()) => {
                self.stats.count_sent(1, packet.len() as u64, io.now);
            }
            Err(refused) => {
                self.stats.packets_dropped_owner_behind += 1;
                if let WorkerEvent::DirectPacket { packet, .. } = refused {
                    io.events.recycle(packet);
                }
            }
        }
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
                self.stats.count_received(packet.len(), io.now);
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
