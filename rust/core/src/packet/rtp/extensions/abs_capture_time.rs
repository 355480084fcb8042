//! `http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time`: the NTP time at which the
//! original capturer took the frame, and optionally the sender's estimate of the offset
//! between its clock and the capturer's, for end-to-end A/V sync across mixers and SFUs.

use super::{expect_len, ExtensionValueError};

/// Length without the optional clock offset.
const SHORT_LEN: usize = 8;
/// Length with the clock offset.
const LONG_LEN: usize = 16;

/// An absolute capture time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AbsCaptureTime {
    /// Capture time as a 64-bit NTP timestamp (32.32 fixed-point seconds since 1900).
    pub capture_ntp_time: u64,
    /// Estimated capturer clock minus sender clock, signed Q32.32 seconds, when known.
    pub estimated_capture_clock_offset: Option<i64>,
}

impl AbsCaptureTime {
    /// The extension URI.
    pub const URI: &'static str = "http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time";
    /// Longest value on the wire.
    pub const MAX_LEN: usize = LONG_LEN;

    /// Reads the 8- or 16-byte extension value.
    pub fn parse(value: &[u8]) -> Result<Self, ExtensionValueError> {
        expect_len(value, &[SHORT_LEN, LONG_LEN], "abs-capture-time", "8 or 16")?;
        let (time, rest) = value
            .split_first_chunk::<SHORT_LEN>()
            .map_or(([0; SHORT_LEN], &[][..]), |(time, rest)| (*time, rest));
        let offset = rest
            .first_chunk::<SHORT_LEN>()
            .map(|o| i64::from_be_bytes(*o));
        Ok(AbsCaptureTime {
            capture_ntp_time: u64::from_be_bytes(time),
            estimated_capture_clock_offset: offset,
        })
    }

    /// Length of the extension value: 8 bytes, or 16 with the clock offset.
    pub fn encoded_len(&self) -> usize {
        if self.estimated_capture_clock_offset.is_some() {
            LONG_LEN
        } else {
            SHORT_LEN
        }
    }

    /// Writes the extension value into `out` and returns the written part.
    pub fn write_to<'a>(&self, out: &'a mut [u8; LONG_LEN]) -> &'a [u8] {
        let (time, offset) = out.split_at_mut(SHORT_LEN);
        time.copy_from_slice(&self.capture_ntp_time.to_be_bytes());
        if let Some(clock_offset) = self.estimated_capture_clock_offset {
            offset.copy_from_slice(&clock_offset.to_be_bytes());
        }
        let len = self.encoded_len();
        out.get(..len).unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn both_lengths() {
        let short = AbsCaptureTime::parse(&[0, 0, 0, 1, 0x80, 0, 0, 0]).unwrap();
        assert_eq!(short.capture_ntp_time, 0x1_8000_0000);
        assert_eq!(short.estimated_capture_clock_offset, None);
        let mut long = [0u8; 16];
        long[8..].copy_from_slice(&(-5i64).to_be_bytes());
        assert_eq!(
            AbsCaptureTime::parse(&long)
                .unwrap()
                .estimated_capture_clock_offset,
            Some(-5)
        );
        assert!(AbsCaptureTime::parse(&[0; 12]).is_err());
    }

    proptest! {
        #[test]
        fn round_trips(time in any::<u64>(), offset in proptest::option::of(any::<i64>())) {
            let value = AbsCaptureTime { capture_ntp_time: time, estimated_capture_clock_offset: offset };
            let mut out = [0; 16];
            prop_assert_eq!(AbsCaptureTime::parse(value.write_to(&mut out)), Ok(value));
        }

        #[test]
        fn parse_never_panics(value in proptest::collection::vec(any::<u8>(), 0..20)) {
            let _ = AbsCaptureTime::parse(&value);
        }
    }
}
