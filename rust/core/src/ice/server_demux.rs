//! Which transport a packet reaching a WebRtcServer's shared port belongs to (mediasoup
//! 3.10+'s WebRtcServer, here also shared by several workers of the process).
//!
//! A STUN check names its transport by the local username fragment in its USERNAME
//! attribute; every other packet (DTLS, RTP, RTCP) only by its 5-tuple, and only once ICE
//! validated that tuple (media only ever from a validated tuple). Each worker (a *member*
//! of the server) keeps its own transports' fragments and tuples for the packets it reads
//! itself, lock-free; the [`MemberDirectory`] shared by the members says which member owns
//! a fragment or tuple it does not know, so the packet can be handed over to that worker.
//! Nothing here does I/O.

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};

use super::{TransportTuple, MAX_TUPLES};
use crate::packet::demux::{classify, DatagramKind};
use crate::packet::stun::StunMessage;

/// Where a packet goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    /// To this member's transport in this slot.
    Local(usize),
    /// To the worker that is this member of the server.
    Member(usize),
    /// Nowhere: an unknown fragment, or a tuple ICE never validated.
    Unrouted,
}

/// Which member owns each username fragment and validated tuple, shared by the members
/// (written when a transport is created, validates a tuple or closes; read only for
/// packets the reading member does not know itself).
#[derive(Debug, Default)]
pub struct MemberDirectory {
    ufrags: RwLock<HashMap<String, usize>>,
    tuples: RwLock<HashMap<TransportTuple, usize>>,
}

impl MemberDirectory {
    fn ufrag_owner(&self, ufrag: &str) -> Option<usize> {
        let ufrags = self.ufrags.read().unwrap_or_else(PoisonError::into_inner);
        ufrags.get(ufrag).copied()
    }

    fn tuple_owner(&self, tuple: &TransportTuple) -> Option<usize> {
        let tuples = self.tuples.read().unwrap_or_else(PoisonError::into_inner);
        tuples.get(tuple).copied()
    }

    fn set_ufrag(&self, ufrag: String, member: usize) {
        let mut ufrags = self.ufrags.write().unwrap_or_else(PoisonError::into_inner);
        ufrags.insert(ufrag, member);
    }

    fn set_tuple(&self, tuple: TransportTuple, member: usize) {
        let mut tuples = self.tuples.write().unwrap_or_else(PoisonError::into_inner);
        tuples.insert(tuple, member);
    }

    /// Forgets entries of `member` (only its own: a fragment or tuple another member took
    /// over since stays).
    fn forget(&self, ufrags: &[String], tuples: &[TransportTuple], member: usize) {
        if !ufrags.is_empty() {
            let mut table = self.ufrags.write().unwrap_or_else(PoisonError::into_inner);
            for ufrag in ufrags {
                if table.get(ufrag) == Some(&member) {
                    table.remove(ufrag);
                }
            }
        }
        if !tuples.is_empty() {
            let mut table = self.tuples.write().unwrap_or_else(PoisonError::into_inner);
            for tuple in tuples {
                if table.get(tuple) == Some(&member) {
                    table.remove(tuple);
                }
            }
        }
    }
}

/// One member's routing state: its transports' fragments and validated tuples, and the
/// directory of the others.
#[derive(Debug)]
pub struct ServerRoutes {
    member: usize,
    directory: std::sync::Arc<MemberDirectory>,
    by_ufrag: HashMap<String, usize>,
    by_tuple: HashMap<TransportTuple, usize>,
}

impl ServerRoutes {
    /// The routes of member `member` of the server whose members share `directory`.
    pub fn new(member: usize, directory: std::sync::Arc<MemberDirectory>) -> Self {
        ServerRoutes {
            member,
            directory,
            by_ufrag: HashMap::new(),
            by_tuple: HashMap::new(),
        }
    }

    /// Where a packet on `tuple` goes: STUN by username fragment (falling back to the tuple
    /// for STUN without USERNAME), everything else by validated tuple; this member's own
    /// transports first, then the other members'.
    pub fn route(&self, tuple: &TransportTuple, packet: &[u8]) -> Destination {
        if classify(packet) == DatagramKind::Stun {
            if let Some(ufrag) = StunMessage::parse(packet)
                .ok()
                .and_then(|message| message.username())
                .map(|username| {
                    username
                        .split_once(':')
                        .map_or(username, |(local, _)| local)
                })
            {
                if let Some(slot) = self.by_ufrag.get(ufrag) {
                    return Destination::Local(*slot);
                }
                if let Some(member) = self.directory.ufrag_owner(ufrag) {
                    return self.elsewhere(member);
                }
            }
        }
        if let Some(slot) = self.by_tuple.get(tuple) {
            return Destination::Local(*slot);
        }
        self.directory
            .tuple_owner(tuple)
            .map_or(Destination::Unrouted, |member| self.elsewhere(member))
    }

    /// The transport of a closed TCP tuple, if this member knows it.
    pub fn route_closed(&self, tuple: &TransportTuple) -> Option<usize> {
        self.by_tuple.get(tuple).copied()
    }

    fn elsewhere(&self, member: usize) -> Destination {
        if member == self.member {
            // The directory says it is ours but no transport of ours has it: it just closed.
            Destination::Unrouted
        } else {
            Destination::Member(member)
        }
    }

    /// Whether this member routes `tuple` to one of its transports.
    pub fn knows_tuple(&self, tuple: &TransportTuple) -> bool {
        self.by_tuple.contains_key(tuple)
    }

    /// Routes checks with this username fragment to `slot` (at creation and ICE restart).
    pub fn add_ufrag(&mut self, ufrag: String, slot: usize) {
        self.directory.set_ufrag(ufrag.clone(), self.member);
        self.by_ufrag.insert(ufrag, slot);
    }

    /// Routes packets of a tuple ICE validated to `slot`; the transport's stale tuples are
    /// forgotten once it has more than ICE keeps, so the table stays bounded. Whether the
    /// tuple is new.
    pub fn learn_tuple(
        &mut self,
        tuple: TransportTuple,
        slot: usize,
        valid: &[TransportTuple],
    ) -> bool {
        if self.by_tuple.insert(tuple, slot) == Some(slot) {
            return false;
        }
        self.directory.set_tuple(tuple, self.member);
        let known = self
            .by_tuple
            .values()
            .filter(|known| **known == slot)
            .count();
        if known > MAX_TUPLES {
            let stale: Vec<TransportTuple> = self
                .by_tuple
                .iter()
                .filter(|(known, owner)| **owner == slot && !valid.contains(known))
                .map(|(known, _)| *known)
                .collect();
            for known in &stale {
                self.by_tuple.remove(known);
            }
            self.directory.forget(&[], &stale, self.member);
        }
        true
    }

    /// Forgets a closed transport.
    pub fn forget(&mut self, slot: usize) {
        let ufrags: Vec<String> = self
            .by_ufrag
            .iter()
            .filter(|(_, owner)| **owner == slot)
            .map(|(ufrag, _)| ufrag.clone())
            .collect();
        let tuples: Vec<TransportTuple> = self
            .by_tuple
            .iter()
            .filter(|(_, owner)| **owner == slot)
            .map(|(tuple, _)| *tuple)
            .collect();
        self.by_ufrag.retain(|_, owner| *owner != slot);
        self.by_tuple.retain(|_, owner| *owner != slot);
        self.directory.forget(&ufrags, &tuples, self.member);
    }

    /// Forgets every transport of this member (it leaves the server).
    pub fn forget_all(&mut self) {
        let ufrags: Vec<String> = self.by_ufrag.drain().map(|(ufrag, _)| ufrag).collect();
        let tuples: Vec<TransportTuple> = self.by_tuple.drain().map(|(tuple, _)| tuple).collect();
        self.directory.forget(&ufrags, &tuples, self.member);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::ice::TransportProtocol;
    use crate::packet::stun::{StunClass, StunMessageBuilder, StunMethod};

    fn tuple(port: u16) -> TransportTuple {
        TransportTuple {
            local: "127.0.0.1:40000".parse().unwrap(),
            remote: format!("127.0.0.1:{port}").parse().unwrap(),
            protocol: TransportProtocol::Udp,
        }
    }

    fn check(username: &str) -> Vec<u8> {
        let mut out = Vec::new();
        let mut builder =
            StunMessageBuilder::new(&mut out, StunMethod::Binding, StunClass::Request, &[7; 12])
                .unwrap();
        builder.username(username).unwrap();
        builder.finish_with_fingerprint().unwrap();
        out
    }

    #[test]
    fn checks_go_to_the_member_owning_the_fragment_and_media_to_the_tuple_owner() {
        let directory = Arc::new(MemberDirectory::default());
        let mut home = ServerRoutes::new(0, Arc::clone(&directory));
        let mut other = ServerRoutes::new(1, Arc::clone(&directory));
        home.add_ufrag("homefrag".into(), 3);
        other.add_ufrag("otherfrag".into(), 5);
        let rtp = [0x80u8, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1];

        assert_eq!(
            home.route(&tuple(1), &check("homefrag:c")),
            Destination::Local(3)
        );
        assert_eq!(
            home.route(&tuple(2), &check("otherfrag:c")),
            Destination::Member(1)
        );
        assert_eq!(
            other.route(&tuple(2), &check("otherfrag:c")),
            Destination::Local(5)
        );
        assert_eq!(
            home.route(&tuple(2), &check("nobody:c")),
            Destination::Unrouted
        );
        // Media from a tuple nobody validated goes nowhere, even after a check routed it.
        assert_eq!(home.route(&tuple(2), &rtp), Destination::Unrouted);

        assert!(other.learn_tuple(tuple(2), 5, &[tuple(2)]));
        assert!(!other.learn_tuple(tuple(2), 5, &[tuple(2)]));
        assert_eq!(home.route(&tuple(2), &rtp), Destination::Member(1));
        assert_eq!(other.route(&tuple(2), &rtp), Destination::Local(5));

        other.forget(5);
        assert_eq!(home.route(&tuple(2), &rtp), Destination::Unrouted);
        assert_eq!(
            home.route(&tuple(2), &check("otherfrag:c")),
            Destination::Unrouted
        );
        assert_eq!(
            home.route(&tuple(1), &check("homefrag:c")),
            Destination::Local(3)
        );
    }

    #[test]
    fn a_transport_keeps_at_most_the_tuples_ice_keeps() {
        let directory = Arc::new(MemberDirectory::default());
        let mut routes = ServerRoutes::new(0, Arc::clone(&directory));
        let mut valid = Vec::new();
        for port in 1..=(MAX_TUPLES as u16 + 3) {
            valid.push(tuple(port));
            if valid.len() > MAX_TUPLES {
                valid.remove(0);
            }
            routes.learn_tuple(tuple(port), 0, &valid);
        }
        assert!(routes.by_tuple.len() <= MAX_TUPLES + 1);
        assert!(directory.tuples.read().unwrap().len() <= MAX_TUPLES + 1);
        assert!(!routes.knows_tuple(&tuple(1)));
    }
}
