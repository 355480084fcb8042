//! Newtypes for the RTP numbers that are easy to mix up: an SSRC is not a sequence number,
//! a payload type is not an extension id. The wire views in [`crate::packet`] read and write
//! plain integers; the SFU's tables and specs hold these.

use std::fmt;

/// A synchronization source (RFC 3550 §3): which stream a packet belongs to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ssrc(pub u32);

impl From<u32> for Ssrc {
    fn from(value: u32) -> Self {
        Ssrc(value)
    }
}

impl From<Ssrc> for u32 {
    fn from(ssrc: Ssrc) -> Self {
        ssrc.0
    }
}

impl fmt::Display for Ssrc {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(formatter)
    }
}

/// An RTP payload type (RFC 3550 §5.1): 7 bits naming a codec in one side's negotiation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PayloadType(u8);

impl PayloadType {
    /// The payload type `value`, if it fits 7 bits.
    pub fn new(value: u8) -> Option<Self> {
        (value <= 0x7F).then_some(PayloadType(value))
    }

    /// Its value.
    pub fn get(self) -> u8 {
        self.0
    }
}

impl TryFrom<u8> for PayloadType {
    type Error = InvalidPayloadType;

    fn try_from(value: u8) -> Result<Self, Self::Error> {
        PayloadType::new(value).ok_or(InvalidPayloadType(value))
    }
}

impl From<PayloadType> for u8 {
    fn from(payload_type: PayloadType) -> Self {
        payload_type.0
    }
}

impl fmt::Display for PayloadType {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(formatter)
    }
}

/// A set of payload types, tested per packet: bit `n % 64` of word `n / 64` for type `n`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PayloadTypeSet([u64; 2]);

impl PayloadTypeSet {
    /// Adds `payload_type`.
    pub fn insert(&mut self, payload_type: PayloadType) {
        let value = payload_type.get();
        self.0[usize::from(value >> 6)] |= 1 << (value & 63);
    }

    /// Whether the 7-bit payload type `value` is in the set (a value above 127 never is).
    #[inline]
    pub fn contains(&self, value: u8) -> bool {
        self.0
            .get(usize::from(value >> 6))
            .is_some_and(|word| word >> (value & 63) & 1 != 0)
    }
}

impl FromIterator<PayloadType> for PayloadTypeSet {
    fn from_iter<I: IntoIterator<Item = PayloadType>>(types: I) -> Self {
        let mut set = PayloadTypeSet::default();
        for payload_type in types {
            set.insert(payload_type);
        }
        set
    }
}

/// A payload type above 127.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("payload type {0} does not fit 7 bits")]
pub struct InvalidPayloadType(pub u8);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_types_are_seven_bits() {
        assert_eq!(PayloadType::new(127).map(PayloadType::get), Some(127));
        assert_eq!(PayloadType::try_from(128), Err(InvalidPayloadType(128)));
    }

    #[test]
    fn a_payload_type_set_holds_what_was_put_in_on_both_words() {
        let set: PayloadTypeSet = [0, 63, 64, 101, 127]
            .into_iter()
            .filter_map(PayloadType::new)
            .collect();
        for value in 0..=255u8 {
            let expected = matches!(value, 0 | 63 | 64 | 101 | 127);
            assert_eq!(set.contains(value), expected, "{value}");
        }
    }
}
