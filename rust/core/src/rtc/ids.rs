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
}
