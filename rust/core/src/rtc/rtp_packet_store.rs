//! The recent packets of a video producer, in router terms, kept so consumers can answer
//! their endpoints' NACKs. One copy per producer serves every consumer (each rewrites it
//! to its own SSRC and sequence numbers on the way out); storage is allocated once.

use std::time::{Duration, Instant};

/// Packets kept: about 1.7 s of a 2.5 Mbit/s stream, beyond any useful retransmission.
pub const STORED_PACKETS: usize = 512;
/// Largest packet kept; WebRTC senders stay under ~1200 bytes, so larger ones are not
/// media a NACK will ask for.
pub const STORED_PACKET_LEN: usize = 1500;
/// Older packets are not resent: the receiver's jitter buffer has given up on them
/// (mediasoup's limit for video).
pub const MAX_RETRANSMISSION_AGE: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Copy)]
struct Entry {
    sequence: u16,
    len: usize,
    stored_at: Option<Instant>,
}

/// A ring of packets indexed by sequence number.
#[derive(Debug)]
pub struct RtpPacketStore {
    bytes: Vec<u8>,
    entries: Vec<Entry>,
}

impl Default for RtpPacketStore {
    fn default() -> Self {
        RtpPacketStore {
            bytes: vec![0; STORED_PACKETS * STORED_PACKET_LEN],
            entries: vec![
                Entry {
                    sequence: 0,
                    len: 0,
                    stored_at: None,
                };
                STORED_PACKETS
            ],
        }
    }
}

impl RtpPacketStore {
    /// Keeps `packet` (sequence number `sequence`), replacing the one 512 numbers before.
    pub fn store(&mut self, sequence: u16, packet: &[u8], now: Instant) {
        if packet.len() > STORED_PACKET_LEN {
            return;
        }
        let index = usize::from(sequence) % STORED_PACKETS;
        let start = index * STORED_PACKET_LEN;
        self.bytes[start..start + packet.len()].copy_from_slice(packet);
        self.entries[index] = Entry {
            sequence,
            len: packet.len(),
            stored_at: Some(now),
        };
    }

    /// The stored packet with `sequence`, unless it was overwritten or is too old.
    pub fn get(&self, sequence: u16, now: Instant) -> Option<&[u8]> {
        let index = usize::from(sequence) % STORED_PACKETS;
        let entry = self.entries[index];
        let stored_at = entry.stored_at?;
        if entry.sequence != sequence || now.duration_since(stored_at) > MAX_RETRANSMISSION_AGE {
            return None;
        }
        let start = index * STORED_PACKET_LEN;
        self.bytes.get(start..start + entry.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_come_back_until_overwritten_or_too_old() {
        let mut store = RtpPacketStore::default();
        let start = Instant::now();
        store.store(65_535, &[1, 2, 3], start);
        store.store(0, &[4], start);
        assert_eq!(store.get(65_535, start), Some([1, 2, 3].as_slice()));
        assert_eq!(store.get(0, start), Some([4].as_slice()));
        assert_eq!(store.get(1, start), None, "never stored");
        // 512 numbers later the slot holds another packet.
        store.store(511, &[9], start);
        assert_eq!(store.get(65_535, start), None);
        assert_eq!(store.get(511, start), Some([9].as_slice()));
        let late = start + MAX_RETRANSMISSION_AGE + Duration::from_millis(1);
        assert_eq!(store.get(0, late), None);
        store.store(7, &[0; STORED_PACKET_LEN + 1], start);
        assert_eq!(store.get(7, start), None, "too large to keep");
    }
}
