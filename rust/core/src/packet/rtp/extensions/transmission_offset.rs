//! `urn:ietf:params:rtp-hdrext:toffset` (RFC 5450 §2): the offset, in RTP timestamp units,
//! between the packet's RTP timestamp and when it was actually sent, as a signed 24-bit
//! number.

use super::{expect_len, ExtensionValueError};

const MIN: i32 = -(1 << 23);
const MAX: i32 = (1 << 23) - 1;

/// A transmission time offset in RTP timestamp units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransmissionOffset(i32);

impl TransmissionOffset {
    /// The extension URI.
    pub const URI: &'static str = "urn:ietf:params:rtp-hdrext:toffset";
    /// Length of the value on the wire.
    pub const LEN: usize = 3;

    /// An offset in -2^23..2^23.
    pub fn new(offset: i32) -> Result<Self, ExtensionValueError> {
        if !(MIN..=MAX).contains(&offset) {
            return Err(ExtensionValueError::OutOfRange {
                field: "transmission offset",
                range: "-8388608..=8388607",
                value: i64::from(offset),
            });
        }
        Ok(TransmissionOffset(offset))
    }

    /// Reads the 3-byte extension value (two's complement).
    pub fn parse(value: &[u8]) -> Result<Self, ExtensionValueError> {
        expect_len(value, &[Self::LEN], "toffset", "3")?;
        let [a, b, c] = <[u8; 3]>::try_from(value).unwrap_or_default();
        // Place the 24 bits at the top of an i32, then shift back to sign-extend.
        Ok(TransmissionOffset(i32::from_be_bytes([a, b, c, 0]) >> 8))
    }

    /// The offset in RTP timestamp units.
    pub fn get(self) -> i32 {
        self.0
    }

    /// The 3-byte extension value.
    pub fn to_bytes(self) -> [u8; 3] {
        let [_, a, b, c] = self.0.to_be_bytes();
        [a, b, c]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn signed_24_bit() {
        assert_eq!(
            TransmissionOffset::parse(&[0xFF, 0xFF, 0xFF])
                .unwrap()
                .get(),
            -1
        );
        assert_eq!(TransmissionOffset::parse(&[0x80, 0, 0]).unwrap().get(), MIN);
        assert_eq!(
            TransmissionOffset::parse(&[0x7F, 0xFF, 0xFF])
                .unwrap()
                .get(),
            MAX
        );
        assert_eq!(
            TransmissionOffset::new(-2).unwrap().to_bytes(),
            [0xFF, 0xFF, 0xFE]
        );
        assert!(TransmissionOffset::new(MAX + 1).is_err());
        assert!(TransmissionOffset::parse(&[0; 4]).is_err());
    }

    proptest! {
        #[test]
        fn round_trips(offset in MIN..=MAX) {
            let value = TransmissionOffset::new(offset).unwrap();
            prop_assert_eq!(TransmissionOffset::parse(&value.to_bytes()), Ok(value));
        }
    }
}
