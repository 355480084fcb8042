//! `urn:ietf:params:rtp-hdrext:sdes:mid` (RFC 8843 §15.1): the media section a packet
//! belongs to, which is how a BUNDLE transport routes packets of unknown SSRCs.

use std::fmt;

use super::short_identifier::ShortIdentifier;
use super::ExtensionValueError;

/// A MID value: 1..=16 bytes of UTF-8.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Mid(ShortIdentifier);

const NAME: &str = "MID";

impl Mid {
    /// The extension URI.
    pub const URI: &'static str = "urn:ietf:params:rtp-hdrext:sdes:mid";

    /// Reads the extension value (ending at the first NUL byte, if any).
    pub fn parse(value: &[u8]) -> Result<Self, ExtensionValueError> {
        ShortIdentifier::parse(value, NAME, |_| Ok(())).map(Mid)
    }

    /// A MID from a string.
    pub fn new(mid: &str) -> Result<Self, ExtensionValueError> {
        ShortIdentifier::new(mid.as_bytes(), NAME, |_| Ok(())).map(Mid)
    }

    /// The MID.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The extension value to write.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Mid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Mid").field(&self.0).finish()
    }
}

impl fmt::Display for Mid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_valid_mids() {
        assert_eq!(Mid::parse(b"0").unwrap().as_str(), "0");
        assert_eq!(Mid::parse(b"audio\0\0\0").unwrap().as_str(), "audio");
        assert_eq!(Mid::parse("vidéo".as_bytes()).unwrap().to_string(), "vidéo");
        assert_eq!(Mid::new("0123456789abcdef").unwrap().as_bytes().len(), 16);
        assert_eq!(format!("{:?}", Mid::new("a").unwrap()), "Mid(\"a\")");
    }

    #[test]
    fn rejects_invalid_mids() {
        assert_eq!(
            Mid::parse(b""),
            Err(ExtensionValueError::Empty { extension: "MID" })
        );
        assert_eq!(
            Mid::parse(b"\0a"),
            Err(ExtensionValueError::Empty { extension: "MID" })
        );
        assert_eq!(
            Mid::parse(&[0xFF, 0xFE]),
            Err(ExtensionValueError::NotUtf8 { extension: "MID" })
        );
        assert!(matches!(
            Mid::new("0123456789abcdefg"),
            Err(ExtensionValueError::BadLength { got: 17, .. })
        ));
    }

    proptest! {
        #[test]
        fn parse_never_panics(value in proptest::collection::vec(any::<u8>(), 0..24)) {
            if let Ok(mid) = Mid::parse(&value) {
                prop_assert_eq!(Mid::parse(mid.as_bytes()), Ok(mid));
            }
        }
    }
}
