//! Hashing for the tables the packet path looks numbers up in (SSRCs), once or more per
//! packet: a multiply-and-fold hash instead of the standard library's SipHash, which costs
//! about a hundred instructions per lookup. It is not keyed, so a peer could choose numbers
//! that collide; every such table is bounded (an SRTP session's streams, the SSRCs a
//! transport's producers learn), so collisions cost a bounded probe, never a flood.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// The hasher: each written integer is multiplied by a 64-bit odd constant (Knuth's golden
/// ratio) and its high half folded into the low half, which the table indexes by.
#[derive(Debug, Default, Clone, Copy)]
pub struct IdHasher(u64);

impl IdHasher {
    fn mix(&mut self, value: u64) {
        let product = (self.0 ^ value).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.0 = product ^ (product >> 32);
    }
}

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.mix(u64::from_le_bytes(word));
        }
    }

    fn write_u32(&mut self, value: u32) {
        self.mix(u64::from(value));
    }

    fn write_u64(&mut self, value: u64) {
        self.mix(value);
    }
}

/// A map keyed by numbers, hashed with [`IdHasher`].
pub type IdHashMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::{BuildHasher, Hash};

    fn hash(value: impl Hash) -> u64 {
        BuildHasherDefault::<IdHasher>::default().hash_one(value)
    }

    #[test]
    fn consecutive_numbers_spread_over_the_low_bits() {
        let buckets: std::collections::HashSet<u64> = (0xC000u32..0xC000 + 256)
            .map(|ssrc| hash(ssrc) & 0xFF)
            .collect();
        assert!(
            buckets.len() > 150,
            "{} distinct buckets of 256",
            buckets.len()
        );
        let mut map: IdHashMap<u32, u32> = IdHashMap::default();
        map.extend((0..1000).map(|ssrc| (ssrc, ssrc * 2)));
        assert_eq!(map.get(&500), Some(&1000));
    }
}
