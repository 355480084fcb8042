//! `http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01`: a sequence
//! number shared by all media of a transport, which transport-wide congestion control
//! feedback (RTCP transport-cc) acknowledges. An SFU writes its own on every packet it sends.

use super::{expect_len, ExtensionValueError};

/// A transport-wide sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransportCcSequence(pub u16);

impl TransportCcSequence {
    /// The extension URI.
    pub const URI: &'static str =
        "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";
    /// Length of the value on the wire.
    pub const LEN: usize = 2;

    /// Reads the 2-byte extension value.
    pub fn parse(value: &[u8]) -> Result<Self, ExtensionValueError> {
        expect_len(value, &[Self::LEN], "transport-wide-cc", "2")?;
        let bytes = <[u8; 2]>::try_from(value).unwrap_or_default();
        Ok(TransportCcSequence(u16::from_be_bytes(bytes)))
    }

    /// The 2-byte extension value.
    pub fn to_bytes(self) -> [u8; 2] {
        self.0.to_be_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_and_writes() {
        assert_eq!(
            TransportCcSequence::parse(&[0x01, 0x02]),
            Ok(TransportCcSequence(0x0102))
        );
        assert_eq!(TransportCcSequence(0xABCD).to_bytes(), [0xAB, 0xCD]);
        assert!(TransportCcSequence::parse(&[1, 2, 3]).is_err());
    }

    proptest! {
        #[test]
        fn round_trips(seq in any::<u16>()) {
            let value = TransportCcSequence(seq);
            prop_assert_eq!(TransportCcSequence::parse(&value.to_bytes()), Ok(value));
        }

        #[test]
        fn parse_never_panics(value in proptest::collection::vec(any::<u8>(), 0..8)) {
            let _ = TransportCcSequence::parse(&value);
        }
    }
}
