//! A producer: one client's media stream entering a router. It recognises the stream's
//! packets (by SSRC, or by MID until it learns the SSRC), and rewrites them to the router's
//! payload types, header extension ids and the SSRC consumers know it by.

use std::time::{Duration, Instant};

use crate::packet::codecs::{self, PayloadCodec};
use crate::packet::rtp::{ExtensionIdMap, RtpPacket};
use crate::rtc::receive_stats::ReceiveStats;
use crate::rtc::rtp_packet_store::RtpPacketStore;

/// Keyframe requests to the sender are at most this frequent (mediasoup's 1 s retry).
pub const KEY_FRAME_REQUEST_INTERVAL: Duration = Duration::from_secs(1);

/// How the signaling described the producer, resolved against the router's capabilities.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProducerSpec {
    /// Client payload type -> router payload type, with the router codec's keyframe parser.
    pub payload_types: Vec<(u8, u8, Option<PayloadCodec>)>,
    /// Client header extension id -> router id (extensions the router does not know are
    /// dropped).
    pub extension_ids: Vec<(u8, u8)>,
    /// The client's MID extension id, when negotiated.
    pub mid_extension_id: Option<u8>,
    /// The MID of the producer's m-section.
    pub mid: Option<String>,
    /// The client's RID extension id and the RID of the forwarded encoding, for senders
    /// that tell encodings apart by RID (simulcast).
    pub rid: Option<(u8, String)>,
    /// The client's SSRC, if signaled (else learned from the MID).
    pub ssrc: Option<u32>,
    /// The SSRC consumers see.
    pub mapped_ssrc: u32,
    /// Keep recent packets so consumers can answer NACKs (video).
    pub store_for_retransmission: bool,
    /// The media codec's RTP clock rate (for jitter).
    pub clock_rate: u32,
}

/// What the producer made of one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProducedPacket {
    /// Whether the payload starts a keyframe (always true for audio).
    pub is_keyframe: bool,
    /// The client's SSRC (for keyframe requests sent back to it).
    pub client_ssrc: u32,
}

/// Counters of a producer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProducerStats {
    /// Packets received and accepted.
    pub packets: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Packets whose payload type the producer did not negotiate.
    pub unknown_payload_type: u64,
    /// Keyframe requests sent to the client.
    pub key_frame_requests: u64,
}

/// One producer (a "simple" one: one encoding).
#[derive(Debug)]
pub struct Producer {
    spec: ProducerSpec,
    extension_map: ExtensionIdMap,
    learned_ssrc: Option<u32>,
    /// Paused producers accept packets but forward none.
    pub paused: bool,
    last_key_frame_request: Option<Instant>,
    store: Option<Box<RtpPacketStore>>,
    receive_stats: ReceiveStats,
    stats: ProducerStats,
}

impl Producer {
    /// A producer for `spec`; fails when an extension id mapping is invalid.
    pub fn new(spec: ProducerSpec, paused: bool) -> Result<Self, String> {
        let mut extension_map = ExtensionIdMap::new();
        for (from, to) in &spec.extension_ids {
            extension_map
                .insert(*from, *to)
                .map_err(|error| error.to_string())?;
        }
        Ok(Producer {
            learned_ssrc: spec.ssrc,
            store: spec
                .store_for_retransmission
                .then(|| Box::new(RtpPacketStore::default())),
            receive_stats: ReceiveStats::new(spec.clock_rate),
            spec,
            extension_map,
            paused,
            last_key_frame_request: None,
            stats: ProducerStats::default(),
        })
    }

    /// The SSRC consumers see.
    pub fn mapped_ssrc(&self) -> u32 {
        self.spec.mapped_ssrc
    }

    /// Counters.
    pub fn stats(&self) -> ProducerStats {
        self.stats
    }

    /// The client's SSRC, once known.
    pub fn client_ssrc(&self) -> Option<u32> {
        self.learned_ssrc
    }

    /// Whether `packet` belongs to this producer: by SSRC, or by MID before the SSRC is
    /// known (then the SSRC is learned, from a media payload type only: the sender's RTX
    /// stream, e.g. Chrome's padding probes, carries the same MID).
    pub fn claims(&mut self, packet: &RtpPacket<&mut [u8]>) -> bool {
        if let Some(ssrc) = self.learned_ssrc {
            return packet.ssrc() == ssrc;
        }
        let (Some(id), Some(mid)) = (self.spec.mid_extension_id, self.spec.mid.as_deref()) else {
            return false;
        };
        let payload_type = packet.payload_type();
        let is_media = self
            .spec
            .payload_types
            .iter()
            .any(|(client, _, _)| *client == payload_type);
        let rid_matches =
            self.spec.rid.as_ref().is_none_or(|(rid_id, rid)| {
                packet.header_extension(*rid_id) == Some(rid.as_bytes())
            });
        if is_media && rid_matches && packet.header_extension(id) == Some(mid.as_bytes()) {
            self.learned_ssrc = Some(packet.ssrc());
            return true;
        }
        false
    }

    /// Rewrites a claimed packet in place to the router's payload type, extension ids and
    /// the mapped SSRC, keeping a copy for retransmissions; `None` for a payload type that
    /// was not negotiated.
    pub fn rewrite(
        &mut self,
        packet: &mut RtpPacket<&mut [u8]>,
        now: Instant,
    ) -> Option<ProducedPacket> {
        let client_payload_type = packet.payload_type();
        let Some(&(_, router_payload_type, codec)) = self
            .spec
            .payload_types
            .iter()
            .find(|(client, _, _)| *client == client_payload_type)
        else {
            self.stats.unknown_payload_type += 1;
            return None;
        };
        let client_ssrc = packet.ssrc();
        self.receive_stats
            .on_packet(packet.sequence_number(), packet.timestamp(), now, false);
        packet.set_payload_type(router_payload_type).ok()?;
        packet
            .remap_header_extension_ids(&self.extension_map)
            .ok()?;
        packet.set_ssrc(self.spec.mapped_ssrc);
        self.stats.packets += 1;
        self.stats.bytes += packet.len() as u64;
        let is_keyframe = codec.is_none_or(|codec| codecs::is_keyframe(codec, packet.payload()));
        if let Some(store) = &mut self.store {
            store.store(packet.sequence_number(), packet.as_bytes(), now);
        }
        Some(ProducedPacket {
            is_keyframe,
            client_ssrc,
        })
    }

    /// Reception statistics of the client's stream (for receiver reports and the score).
    pub fn receive_stats(&mut self) -> &mut ReceiveStats {
        &mut self.receive_stats
    }

    /// A recent packet (router terms) by its sequence number, for a retransmission.
    pub fn stored_packet(&self, sequence: u16, now: Instant) -> Option<&[u8]> {
        self.store.as_ref()?.get(sequence, now)
    }

    /// Whether a keyframe may be requested from the client now (one per interval).
    pub fn key_frame_request_due(&mut self, now: Instant) -> bool {
        let due = self
            .last_key_frame_request
            .is_none_or(|last| now.duration_since(last) >= KEY_FRAME_REQUEST_INTERVAL);
        if due {
            self.last_key_frame_request = Some(now);
            self.stats.key_frame_requests += 1;
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::rtp::{ExtensionBlock, ExtensionForm, RtpHeader};

    /// Client numbering: VP8 on 96, RTX on 97, MID extension 1, RID 2, abs-send-time 3.
    fn packet(payload_type: u8, ssrc: u32, extensions: Vec<(u8, Vec<u8>)>) -> Vec<u8> {
        let header = RtpHeader {
            payload_type,
            sequence_number: 1,
            timestamp: 3000,
            ssrc,
            extensions: Some(ExtensionBlock {
                form: ExtensionForm::OneByte,
                elements: extensions,
            }),
            ..RtpHeader::default()
        };
        let mut out = Vec::new();
        // A VP8 payload descriptor starting a keyframe (S=1, PID 0; P bit clear).
        header
            .write_into(&[0x10, 0x00, 0x9d, 0x01, 0x2a], &mut out)
            .unwrap();
        out
    }

    fn spec(ssrc: Option<u32>, rid: Option<&str>) -> ProducerSpec {
        ProducerSpec {
            payload_types: vec![(96, 101, Some(PayloadCodec::Vp8))],
            extension_ids: vec![(1, 1), (3, 4)],
            mid_extension_id: Some(1),
            mid: Some("0".into()),
            rid: rid.map(|rid| (2, rid.to_owned())),
            ssrc,
            mapped_ssrc: 0x5EED,
            store_for_retransmission: true,
            clock_rate: 90_000,
        }
    }

    fn claim_and_rewrite(producer: &mut Producer, bytes: &mut [u8]) -> Option<ProducedPacket> {
        let mut view = RtpPacket::parse(bytes).unwrap();
        if !producer.claims(&view) {
            return None;
        }
        producer.rewrite(&mut view, Instant::now())
    }

    #[test]
    fn a_signaled_ssrc_is_claimed_and_rewritten_to_router_terms() {
        let mut producer = Producer::new(spec(Some(1111), None), false).unwrap();
        let mut bytes = packet(96, 1111, vec![(3, vec![1, 2, 3]), (9, vec![5])]);
        let produced = claim_and_rewrite(&mut producer, &mut bytes).unwrap();
        assert!(produced.is_keyframe);
        assert_eq!(produced.client_ssrc, 1111);
        let view = RtpPacket::parse(&bytes[..]).unwrap();
        assert_eq!((view.payload_type(), view.ssrc()), (101, 0x5EED));
        assert_eq!(view.header_extension(4), Some([1, 2, 3].as_slice()));
        assert_eq!(view.header_extension(9), None, "unknown to the router");
        let stored = producer.stored_packet(1, Instant::now()).unwrap();
        assert_eq!(stored, &bytes[..], "kept in router terms");
        let mut other = packet(96, 2222, vec![]);
        assert_eq!(claim_and_rewrite(&mut producer, &mut other), None);
    }

    #[test]
    fn the_ssrc_is_learned_from_the_mid_but_not_from_the_rtx_stream() {
        let mut producer = Producer::new(spec(None, None), false).unwrap();
        // Chrome's RTX padding carries the same MID first; it must not become the stream.
        let mut rtx = packet(97, 3333, vec![(1, b"0".to_vec())]);
        assert_eq!(claim_and_rewrite(&mut producer, &mut rtx), None);
        let mut wrong_mid = packet(96, 4444, vec![(1, b"1".to_vec())]);
        assert_eq!(claim_and_rewrite(&mut producer, &mut wrong_mid), None);
        let mut media = packet(96, 5555, vec![(1, b"0".to_vec())]);
        assert!(claim_and_rewrite(&mut producer, &mut media).is_some());
        assert_eq!(producer.client_ssrc(), Some(5555));
        // Later packets of the stream need no MID.
        let mut later = packet(96, 5555, vec![]);
        assert!(claim_and_rewrite(&mut producer, &mut later).is_some());
    }

    #[test]
    fn with_a_rid_only_that_encoding_is_learned() {
        let mut producer = Producer::new(spec(None, Some("r0")), false).unwrap();
        let mut high = packet(96, 7000, vec![(1, b"0".to_vec()), (2, b"r2".to_vec())]);
        assert_eq!(claim_and_rewrite(&mut producer, &mut high), None);
        let mut low = packet(96, 7001, vec![(1, b"0".to_vec()), (2, b"r0".to_vec())]);
        assert!(claim_and_rewrite(&mut producer, &mut low).is_some());
        assert_eq!(producer.client_ssrc(), Some(7001));
    }

    #[test]
    fn unknown_payload_types_are_counted_and_dropped() {
        let mut producer = Producer::new(spec(Some(1111), None), false).unwrap();
        let mut bytes = packet(111, 1111, vec![]);
        assert_eq!(claim_and_rewrite(&mut producer, &mut bytes), None);
        assert_eq!(producer.stats().unknown_payload_type, 1);
        assert_eq!(producer.stats().packets, 0);
    }

    #[test]
    fn keyframe_requests_are_at_most_one_per_interval() {
        let mut producer = Producer::new(spec(Some(1111), None), false).unwrap();
        let start = Instant::now();
        assert!(producer.key_frame_request_due(start));
        assert!(!producer.key_frame_request_due(start + Duration::from_millis(500)));
        assert!(producer.key_frame_request_due(start + KEY_FRAME_REQUEST_INTERVAL));
        assert_eq!(producer.stats().key_frame_requests, 2);
    }
}
