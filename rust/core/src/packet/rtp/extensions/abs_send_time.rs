//! `http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time`: the sender's clock when the
//! packet left, 24 bits of 6.18 fixed-point seconds (wrapping every 64 s), used by
//! receive-side bandwidth estimation. An SFU writes it on every packet it sends.

use std::time::Duration;

use super::{expect_len, ExtensionValueError};

/// Fractional bits of the 6.18 fixed-point format.
const FRACTION_BITS: u32 = 18;
const MASK: u32 = 0x00FF_FFFF;

/// An abs-send-time value (the raw 24-bit 6.18 fixed-point seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AbsSendTime(u32);

impl AbsSendTime {
    /// The extension URI.
    pub const URI: &'static str = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time";
    /// Length of the value on the wire.
    pub const LEN: usize = 3;

    /// Reads the 3-byte extension value.
    pub fn parse(value: &[u8]) -> Result<Self, ExtensionValueError> {
        expect_len(value, &[Self::LEN], "abs-send-time", "3")?;
        let [a, b, c] = <[u8; 3]>::try_from(value).unwrap_or_default();
        Ok(AbsSendTime(u32::from_be_bytes([0, a, b, c])))
    }

    /// From a raw 24-bit value.
    pub fn from_raw(raw: u32) -> Result<Self, ExtensionValueError> {
        if raw > MASK {
            return Err(ExtensionValueError::OutOfRange {
                field: "abs-send-time",
                range: "0..=0xFFFFFF",
                value: i64::from(raw),
            });
        }
        Ok(AbsSendTime(raw))
    }

    /// The send time given as time since any fixed epoch, rounded to the nearest 1/2^18 s
    /// and wrapped to 64 s.
    pub fn from_duration(time: Duration) -> Self {
        let scaled = (time.as_nanos() << FRACTION_BITS) + 500_000_000;
        let ticks = scaled / 1_000_000_000;
        AbsSendTime((ticks & u128::from(MASK)) as u32)
    }

    /// The raw 24-bit value.
    pub fn raw(self) -> u32 {
        self.0
    }

    /// The time within the 64-second wrap window.
    pub fn as_duration(self) -> Duration {
        Duration::from_nanos((u64::from(self.0) * 1_000_000_000) >> FRACTION_BITS)
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
    fn fixed_point_conversions() {
        assert_eq!(
            AbsSendTime::from_duration(Duration::from_secs(1)).raw(),
            1 << 18
        );
        assert_eq!(
            AbsSendTime::from_duration(Duration::from_millis(500)).raw(),
            1 << 17
        );
        assert_eq!(AbsSendTime::from_duration(Duration::from_secs(64)).raw(), 0);
        assert_eq!(
            AbsSendTime::from_duration(Duration::from_secs(65)).raw(),
            1 << 18
        );
        let t = AbsSendTime::parse(&[0x04, 0x00, 0x00]).unwrap();
        assert_eq!(t.as_duration(), Duration::from_secs(1));
        assert_eq!(t.to_bytes(), [0x04, 0x00, 0x00]);
        assert!(AbsSendTime::parse(&[1, 2]).is_err());
        assert!(AbsSendTime::from_raw(1 << 24).is_err());
    }

    proptest! {
        #[test]
        fn round_trips(raw in 0u32..=0xFF_FFFF) {
            let t = AbsSendTime::from_raw(raw).unwrap();
            prop_assert_eq!(AbsSendTime::parse(&t.to_bytes()), Ok(t));
            prop_assert_eq!(AbsSendTime::from_duration(t.as_duration()), t);
        }

        #[test]
        fn parse_never_panics(value in proptest::collection::vec(any::<u8>(), 0..8)) {
            let _ = AbsSendTime::parse(&value);
        }
    }
}
