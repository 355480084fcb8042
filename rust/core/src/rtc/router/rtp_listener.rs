//! A transport's RTP listener (mediasoup's RtpListener): which producer stream an incoming
//! packet belongs to, in O(1). Signaled SSRCs (media and RTX) are in the SSRC table from the
//! start; a packet on an SSRC not known yet is looked up by its MID, else by its RID, and
//! the producer's streams decide whether it is theirs ([`ProducerStream::learn`]): if so its
//! SSRC joins the table, so later packets need no extension lookup. A stream learns each of
//! its SSRCs once, so the table cannot grow beyond two entries per stream whatever a sender
//! tries.
//!
//! [`ProducerStream::learn`]: crate::rtc::producer_stream::ProducerStream::learn

use std::collections::HashMap;

use super::arena::ProducerIndex;
use crate::id_hash::IdHashMap;
use crate::packet::rtp::RtpPacket;
use crate::rtc::ids::Ssrc;
use crate::rtc::producer_stream::StreamPart;
use crate::rtc::request_error::RequestError;

/// Where a packet goes: a producer's stream, and which of its SSRCs it came on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamRoute {
    /// The producer.
    pub producer: ProducerIndex,
    /// Its stream (encoding index).
    pub stream: u8,
    /// Media or RTX.
    pub part: StreamPart,
}

/// What the listener knows of a packet. An explicit tag: told apart with one comparison
/// for every packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Lookup {
    /// Its SSRC is known.
    Known(StreamRoute),
    /// Its SSRC is not known, but its MID or RID names this producer: its streams decide.
    Producer(ProducerIndex),
    /// Nobody's.
    Unknown,
}

/// How a producer is found by extension value: the extension id each producer reads it
/// from, and the producer per value.
#[derive(Debug, Default)]
struct ExtensionTable {
    /// Extension ids in use, with how many producers use each (usually one id).
    ids: Vec<(u8, usize)>,
    producers: HashMap<Box<[u8]>, ProducerIndex>,
}

impl ExtensionTable {
    fn find<B: AsRef<[u8]>>(&self, packet: &RtpPacket<B>) -> Option<ProducerIndex> {
        self.ids.iter().find_map(|&(id, _)| {
            let value = packet.header_extension(id)?;
            self.producers.get(value).copied()
        })
    }

    fn insert(&mut self, id: u8, value: &str, producer: ProducerIndex) {
        self.producers.insert(value.as_bytes().into(), producer);
        match self.ids.iter_mut().find(|(known, _)| *known == id) {
            Some((_, users)) => *users += 1,
            None => self.ids.push((id, 1)),
        }
    }

    fn remove(&mut self, id: u8, value: &str) {
        self.producers.remove(value.as_bytes());
        if let Some(position) = self.ids.iter().position(|(known, _)| *known == id) {
            self.ids[position].1 -= 1;
            if self.ids[position].1 == 0 {
                self.ids.swap_remove(position);
            }
        }
    }

    fn contains(&self, value: &str) -> bool {
        self.producers.contains_key(value.as_bytes())
    }
}

/// What a producer is known by on its transport.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProducerKeys {
    /// Signaled SSRCs: (SSRC, stream, part).
    pub ssrcs: Vec<(Ssrc, u8, StreamPart)>,
    /// (MID extension id, MID).
    pub mid: Option<(u8, String)>,
    /// (RID extension id, RIDs): used when the producer has no MID, as mediasoup does.
    pub rids: Option<(u8, Vec<String>)>,
}

/// One transport's tables.
#[derive(Debug, Default)]
pub struct RtpListener {
    ssrcs: IdHashMap<Ssrc, StreamRoute>,
    mids: ExtensionTable,
    rids: ExtensionTable,
}

impl RtpListener {
    /// The producer stream of `packet`, or the producer whose streams may learn it.
    pub fn find<B: AsRef<[u8]>>(&self, packet: &RtpPacket<B>) -> Lookup {
        if let Some(route) = self.ssrcs.get(&Ssrc(packet.ssrc())) {
            return Lookup::Known(*route);
        }
        match self.mids.find(packet).or_else(|| self.rids.find(packet)) {
            Some(producer) => Lookup::Producer(producer),
            None => Lookup::Unknown,
        }
    }

    /// The producer stream of `ssrc`, if known.
    pub fn route_of(&self, ssrc: Ssrc) -> Option<StreamRoute> {
        self.ssrcs.get(&ssrc).copied()
    }

    /// A stream learned `ssrc`.
    pub fn learn(&mut self, ssrc: Ssrc, route: StreamRoute) {
        self.ssrcs.insert(ssrc, route);
    }

    /// Adds a producer's keys; fails, changing nothing, when one is another producer's
    /// (`ssrc_field` names the SSRC of encoding `n` in the error).
    pub fn add(
        &mut self,
        producer: ProducerIndex,
        keys: &ProducerKeys,
        ssrc_field: impl Fn(u8, StreamPart) -> String,
    ) -> Result<(), RequestError> {
        for (index, &(ssrc, stream, part)) in keys.ssrcs.iter().enumerate() {
            let repeated = keys.ssrcs[..index].iter().any(|(other, ..)| *other == ssrc);
            if repeated || self.ssrcs.contains_key(&ssrc) {
                return Err(RequestError::invalid(
                    ssrc_field(stream, part),
                    format!("SSRC {ssrc} is already used by another stream on this transport"),
                ));
            }
        }
        if let Some((_, mid)) = &keys.mid {
            if self.mids.contains(mid) {
                return Err(RequestError::invalid(
                    "rtp_parameters.mid",
                    format!("MID {mid:?} is already used by another producer on this transport"),
                ));
            }
        }
        for &(ssrc, stream, part) in &keys.ssrcs {
            self.ssrcs.insert(
                ssrc,
                StreamRoute {
                    producer,
                    stream,
                    part,
                },
            );
        }
        if let Some((id, mid)) = &keys.mid {
            self.mids.insert(*id, mid, producer);
        } else if let Some((id, rids)) = &keys.rids {
            for rid in rids {
                // Several producers without a MID and with the same RID cannot be told
                // apart: the first keeps it, the others need signaled SSRCs.
                if !self.rids.contains(rid) {
                    self.rids.insert(*id, rid, producer);
                }
            }
        }
        Ok(())
    }

    /// Removes a producer's keys and the SSRCs its streams learned (`learned`).
    pub fn remove(
        &mut self,
        producer: ProducerIndex,
        keys: &ProducerKeys,
        learned: impl Iterator<Item = Ssrc>,
    ) {
        for ssrc in keys.ssrcs.iter().map(|(ssrc, ..)| *ssrc).chain(learned) {
            if self
                .ssrcs
                .get(&ssrc)
                .is_some_and(|route| route.producer == producer)
            {
                self.ssrcs.remove(&ssrc);
            }
        }
        if let Some((id, mid)) = &keys.mid {
            self.mids.remove(*id, mid);
        } else if let Some((id, rids)) = &keys.rids {
            for rid in rids {
                if self.rids.producers.get(rid.as_bytes()) == Some(&producer) {
                    self.rids.remove(*id, rid);
                }
            }
        }
    }

    /// How many SSRCs it knows (to check it stays bounded).
    pub fn ssrc_count(&self) -> usize {
        self.ssrcs.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::rtp::{ExtensionBlock, ExtensionForm, RtpHeader};
    use crate::rtc::router::arena::ArenaIndex;

    fn packet(ssrc: u32, extensions: Vec<(u8, Vec<u8>)>) -> Vec<u8> {
        let header = RtpHeader {
            payload_type: 96,
            ssrc,
            extensions: (!extensions.is_empty()).then_some(ExtensionBlock {
                form: ExtensionForm::OneByte,
                elements: extensions,
            }),
            ..RtpHeader::default()
        };
        let mut out = Vec::new();
        header.write_into(&[1], &mut out).unwrap();
        out
    }

    fn find(listener: &RtpListener, bytes: &[u8]) -> Lookup {
        listener.find(&RtpPacket::parse(bytes).unwrap())
    }

    fn field(stream: u8, _: StreamPart) -> String {
        format!("encodings[{stream}]")
    }

    #[test]
    fn signaled_ssrcs_then_mids_then_rids() {
        let (a, b, c) = (
            ProducerIndex::from_slot(0),
            ProducerIndex::from_slot(1),
            ProducerIndex::from_slot(2),
        );
        let mut listener = RtpListener::default();
        let keys_a = ProducerKeys {
            ssrcs: vec![
                (Ssrc(10), 0, StreamPart::Media),
                (Ssrc(11), 0, StreamPart::Rtx),
            ],
            ..ProducerKeys::default()
        };
        listener.add(a, &keys_a, field).unwrap();
        let keys_b = ProducerKeys {
            mid: Some((1, "b".into())),
            rids: Some((2, vec!["r0".into()])),
            ..ProducerKeys::default()
        };
        listener.add(b, &keys_b, field).unwrap();
        let keys_c = ProducerKeys {
            rids: Some((2, vec!["r0".into(), "r1".into()])),
            ..ProducerKeys::default()
        };
        listener.add(c, &keys_c, field).unwrap();

        let rtx_route = StreamRoute {
            producer: a,
            stream: 0,
            part: StreamPart::Rtx,
        };
        assert_eq!(
            find(&listener, &packet(11, vec![])),
            Lookup::Known(rtx_route)
        );
        assert_eq!(
            find(&listener, &packet(50, vec![(1, b"b".to_vec())])),
            Lookup::Producer(b)
        );
        // B has a MID: its RIDs are not in the RID table.
        assert_eq!(
            find(&listener, &packet(51, vec![(2, b"r0".to_vec())])),
            Lookup::Producer(c)
        );
        assert_eq!(
            find(&listener, &packet(52, vec![(1, b"x".to_vec())])),
            Lookup::Unknown
        );

        let learned = StreamRoute {
            producer: b,
            stream: 0,
            part: StreamPart::Media,
        };
        listener.learn(Ssrc(50), learned);
        assert_eq!(find(&listener, &packet(50, vec![])), Lookup::Known(learned));
        listener.remove(b, &keys_b, [Ssrc(50)].into_iter());
        assert_eq!(
            find(&listener, &packet(50, vec![(1, b"b".to_vec())])),
            Lookup::Unknown
        );
        assert_eq!(listener.ssrc_count(), 2);
    }

    #[test]
    fn keys_of_another_producer_are_refused_and_nothing_changes() {
        let mut listener = RtpListener::default();
        let first = ProducerKeys {
            ssrcs: vec![(Ssrc(10), 0, StreamPart::Media)],
            mid: Some((1, "0".into())),
            ..ProducerKeys::default()
        };
        listener
            .add(ProducerIndex::from_slot(0), &first, field)
            .unwrap();
        let same_ssrc = ProducerKeys {
            ssrcs: vec![
                (Ssrc(12), 0, StreamPart::Media),
                (Ssrc(10), 1, StreamPart::Media),
            ],
            ..ProducerKeys::default()
        };
        let error = listener
            .add(ProducerIndex::from_slot(1), &same_ssrc, field)
            .unwrap_err();
        assert!(
            matches!(&error, RequestError::InvalidArgument { field, .. } if field == "encodings[1]"),
            "{error}"
        );
        assert_eq!(listener.ssrc_count(), 1, "12 was not added");
        let same_mid = ProducerKeys {
            mid: Some((1, "0".into())),
            ..ProducerKeys::default()
        };
        assert!(listener
            .add(ProducerIndex::from_slot(1), &same_mid, field)
            .is_err());
    }
}
