//! A WebRtcServer: one UDP socket and/or one TCP listener shared by many WebRtcTransports of
//! a worker (mediasoup 3.10+), for deployments that can open only a port or two. Packets are
//! routed to a transport by tuple once ICE validated it; before that, only STUN is routed,
//! by the local username fragment in its USERNAME attribute.

use std::collections::HashMap;

use super::socket_set::{SocketEvent, SocketSet};
use crate::ice::{TransportTuple, MAX_TUPLES};
use crate::packet::demux::{classify, DatagramKind};
use crate::packet::stun::StunMessage;

/// TCP connections a server accepts at once, across its transports.
pub const MAX_SERVER_TCP_CONNECTIONS: usize = 256;

/// One WebRtcServer and its routing tables.
#[derive(Debug)]
pub struct WorkerWebRtcServer {
    /// The shared sockets.
    pub sockets: SocketSet,
    /// Routing state.
    pub routes: ServerRoutes,
    /// Datagrams no transport claimed, dropped.
    pub unrouted: UnroutedDatagrams,
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

/// Which transport (worker slot) a packet belongs to.
#[derive(Debug, Default)]
pub struct ServerRoutes {
    by_ufrag: HashMap<String, usize>,
    by_tuple: HashMap<TransportTuple, usize>,
}

impl ServerRoutes {
    /// The transport of a packet: STUN by username fragment (falling back to the tuple for
    /// STUN without USERNAME), everything else by validated tuple.
    pub fn route(&self, event: &SocketEvent, packet: &[u8]) -> Option<usize> {
        let tuple = match event {
            SocketEvent::Closed(tuple) => return self.by_tuple.get(tuple).copied(),
            SocketEvent::Packet(tuple) => tuple,
        };
        if classify(packet) == DatagramKind::Stun {
            let by_username = StunMessage::parse(packet)
                .ok()
                .and_then(|message| message.username())
                .map(|username| {
                    username
                        .split_once(':')
                        .map_or(username, |(local, _)| local)
                })
                .and_then(|ufrag| self.by_ufrag.get(ufrag).copied());
            if by_username.is_some() {
                return by_username;
            }
        }
        self.by_tuple.get(tuple).copied()
    }

    /// Routes checks with this username fragment to `slot` (at creation and ICE restart).
    pub fn add_ufrag(&mut self, ufrag: String, slot: usize) {
        self.by_ufrag.insert(ufrag, slot);
    }

    /// Routes packets of a tuple ICE validated to `slot`; the transport's stale tuples are
    /// forgotten once it has more than ICE keeps, so the table stays bounded.
    pub fn learn_tuple(&mut self, tuple: TransportTuple, slot: usize, valid: &[TransportTuple]) {
        if self.by_tuple.insert(tuple, slot) == Some(slot) {
            return;
        }
        let known = self
            .by_tuple
            .values()
            .filter(|known| **known == slot)
            .count();
        if known > MAX_TUPLES {
            self.by_tuple
                .retain(|known, owner| *owner != slot || valid.contains(known));
        }
    }

    /// Forgets a closed transport.
    pub fn forget(&mut self, slot: usize) {
        self.by_ufrag.retain(|_, owner| *owner != slot);
        self.by_tuple.retain(|_, owner| *owner != slot);
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
