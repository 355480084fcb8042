//! `http://www.webrtc.org/experiments/rtp-hdrext/playout-delay`: the sender's bounds on the
//! receiver's playout (jitter buffer) delay, two 12-bit values in 10 ms units.

use std::time::Duration;

use super::{expect_len, ExtensionValueError};

/// Largest 12-bit value.
const MAX_UNITS: u16 = 0x0FFF;
/// Milliseconds per unit.
const UNIT_MS: u64 = 10;

/// Minimum and maximum playout delay, in 10 ms units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PlayoutDelay {
    min: u16,
    max: u16,
}

impl PlayoutDelay {
    /// The extension URI.
    pub const URI: &'static str = "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay";
    /// Length of the value on the wire.
    pub const LEN: usize = 3;

    /// Bounds in 10 ms units, each 0..=4095 (up to 40.95 s).
    pub fn new(min: u16, max: u16) -> Result<Self, ExtensionValueError> {
        for (field, value) in [("playout delay min", min), ("playout delay max", max)] {
            if value > MAX_UNITS {
                return Err(ExtensionValueError::OutOfRange {
                    field,
                    range: "0..=4095",
                    value: i64::from(value),
                });
            }
        }
        Ok(PlayoutDelay { min, max })
    }

    /// Reads the 3-byte extension value.
    pub fn parse(value: &[u8]) -> Result<Self, ExtensionValueError> {
        expect_len(value, &[Self::LEN], "playout-delay", "3")?;
        let [a, b, c] = <[u8; 3]>::try_from(value).unwrap_or_default();
        Ok(PlayoutDelay {
            min: (u16::from(a) << 4) | u16::from(b >> 4),
            max: (u16::from(b & 0x0F) << 8) | u16::from(c),
        })
    }

    /// The minimum in 10 ms units.
    pub fn min_units(self) -> u16 {
        self.min
    }

    /// The maximum in 10 ms units.
    pub fn max_units(self) -> u16 {
        self.max
    }

    /// The minimum delay.
    pub fn min_delay(self) -> Duration {
        Duration::from_millis(u64::from(self.min) * UNIT_MS)
    }

    /// The maximum delay.
    pub fn max_delay(self) -> Duration {
        Duration::from_millis(u64::from(self.max) * UNIT_MS)
    }

    /// The 3-byte extension value.
    pub fn to_bytes(self) -> [u8; 3] {
        [
            (self.min >> 4) as u8,
            ((self.min as u8 & 0x0F) << 4) | (self.max >> 8) as u8,
            self.max as u8,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn twelve_bit_fields() {
        let delay = PlayoutDelay::parse(&[0x01, 0x20, 0x64]).unwrap();
        assert_eq!(delay.min_units(), 0x012);
        assert_eq!(delay.max_units(), 0x064);
        assert_eq!(delay.min_delay(), Duration::from_millis(180));
        assert_eq!(delay.max_delay(), Duration::from_secs(1));
        assert_eq!(PlayoutDelay::new(0, 0).unwrap().to_bytes(), [0, 0, 0]);
        assert!(PlayoutDelay::new(4096, 0).is_err());
        assert!(PlayoutDelay::parse(&[0; 2]).is_err());
    }

    proptest! {
        #[test]
        fn round_trips(min in 0u16..=4095, max in 0u16..=4095) {
            let delay = PlayoutDelay::new(min, max).unwrap();
            prop_assert_eq!(PlayoutDelay::parse(&delay.to_bytes()), Ok(delay));
        }
    }
}
