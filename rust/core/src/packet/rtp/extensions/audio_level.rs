//! `urn:ietf:params:rtp-hdrext:ssrc-audio-level` (RFC 6464 §3): the level of the audio in
//! the packet and whether the sender detected voice, used for active-speaker detection
//! without decoding.

use super::{expect_len, ExtensionValueError};

const VOICE_ACTIVITY_BIT: u8 = 0x80;
/// Quietest level: -127 dBov (RFC 6464 §3).
const MAX_LEVEL: u8 = 127;

/// A client-to-mixer audio level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AudioLevel {
    /// The V bit: the sender's voice activity detector says the packet holds speech.
    pub voice_activity: bool,
    /// The level in -dBov: 0 is the loudest, 127 the quietest (digital silence).
    level: u8,
}

impl AudioLevel {
    /// The extension URI.
    pub const URI: &'static str = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";
    /// Length of the value on the wire.
    pub const LEN: usize = 1;

    /// An audio level; `level` is in -dBov, 0..=127.
    pub fn new(voice_activity: bool, level: u8) -> Result<Self, ExtensionValueError> {
        if level > MAX_LEVEL {
            return Err(ExtensionValueError::OutOfRange {
                field: "audio level",
                range: "0..=127",
                value: i64::from(level),
            });
        }
        Ok(AudioLevel {
            voice_activity,
            level,
        })
    }

    /// Reads the 1-byte extension value.
    pub fn parse(value: &[u8]) -> Result<Self, ExtensionValueError> {
        expect_len(value, &[Self::LEN], "ssrc-audio-level", "1")?;
        let byte = value.first().copied().unwrap_or(0);
        Ok(AudioLevel {
            voice_activity: byte & VOICE_ACTIVITY_BIT != 0,
            level: byte & MAX_LEVEL,
        })
    }

    /// The level in -dBov (0 loudest, 127 silence).
    pub fn level(self) -> u8 {
        self.level
    }

    /// The 1-byte extension value.
    pub fn to_bytes(self) -> [u8; 1] {
        [(if self.voice_activity {
            VOICE_ACTIVITY_BIT
        } else {
            0
        }) | self.level]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rfc_6464_bits() {
        let level = AudioLevel::parse(&[0x80 | 30]).unwrap();
        assert!(level.voice_activity);
        assert_eq!(level.level(), 30);
        let silent = AudioLevel::parse(&[127]).unwrap();
        assert!(!silent.voice_activity);
        assert_eq!(silent.level(), 127);
        assert_eq!(AudioLevel::new(true, 10).unwrap().to_bytes(), [0x8A]);
        assert!(AudioLevel::new(false, 128).is_err());
        assert!(AudioLevel::parse(&[]).is_err());
        assert!(AudioLevel::parse(&[1, 2]).is_err());
    }

    proptest! {
        #[test]
        fn round_trips(byte in any::<u8>()) {
            let level = AudioLevel::parse(&[byte]).unwrap();
            prop_assert_eq!(level.to_bytes(), [byte]);
        }
    }
}
