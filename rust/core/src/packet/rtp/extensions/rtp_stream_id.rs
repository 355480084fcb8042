//! `urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id` and
//! `urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id` (RFC 8852 §3): the simulcast
//! encoding (RID) a packet belongs to, and the RID an RTX stream repairs.

use std::fmt;

use super::short_identifier::ShortIdentifier;
use super::ExtensionValueError;

/// RFC 8851 §10 `rid-id`: alphanumerics, '-' and '_'.
fn check_rid_bytes(extension: &'static str) -> impl Fn(&[u8]) -> Result<(), ExtensionValueError> {
    move |value| match value
        .iter()
        .position(|&b| !(b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    {
        None => Ok(()),
        Some(position) => Err(ExtensionValueError::InvalidCharacter {
            extension,
            byte: value.get(position).copied().unwrap_or(0),
            position,
        }),
    }
}

/// A RID value: 1..=16 alphanumerics, '-' or '_'.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RtpStreamId(ShortIdentifier);

const RID: &str = "RID";
const REPAIRED_RID: &str = "repaired RID";

impl RtpStreamId {
    /// The extension URI.
    pub const URI: &'static str = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id";

    /// Reads the extension value (ending at the first NUL byte, if any).
    pub fn parse(value: &[u8]) -> Result<Self, ExtensionValueError> {
        ShortIdentifier::parse(value, RID, check_rid_bytes(RID)).map(RtpStreamId)
    }

    /// A RID from a string.
    pub fn new(rid: &str) -> Result<Self, ExtensionValueError> {
        ShortIdentifier::new(rid.as_bytes(), RID, check_rid_bytes(RID)).map(RtpStreamId)
    }

    /// The RID.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The extension value to write.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for RtpStreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RtpStreamId").field(&self.0).finish()
    }
}

impl fmt::Display for RtpStreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The RID of the stream an RTX packet repairs; same syntax as [`RtpStreamId`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RepairedRtpStreamId(pub RtpStreamId);

impl RepairedRtpStreamId {
    /// The extension URI.
    pub const URI: &'static str = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id";

    /// Reads the extension value (ending at the first NUL byte, if any).
    pub fn parse(value: &[u8]) -> Result<Self, ExtensionValueError> {
        ShortIdentifier::parse(value, REPAIRED_RID, check_rid_bytes(REPAIRED_RID))
            .map(|id| RepairedRtpStreamId(RtpStreamId(id)))
    }
}

impl fmt::Display for RepairedRtpStreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_simulcast_rids() {
        for rid in ["h", "m", "l", "q", "f", "hi-res_1"] {
            assert_eq!(RtpStreamId::parse(rid.as_bytes()).unwrap().as_str(), rid);
        }
        assert_eq!(RepairedRtpStreamId::parse(b"h").unwrap().to_string(), "h");
        assert_eq!(RtpStreamId::new("f").unwrap().as_bytes(), b"f");
    }

    #[test]
    fn rejects_invalid_rids() {
        assert_eq!(
            RtpStreamId::parse(b"a b"),
            Err(ExtensionValueError::InvalidCharacter {
                extension: "RID",
                byte: b' ',
                position: 1
            })
        );
        assert_eq!(
            RepairedRtpStreamId::parse(b""),
            Err(ExtensionValueError::Empty {
                extension: "repaired RID"
            })
        );
        assert!(RtpStreamId::new("é").is_err());
        assert!(RtpStreamId::new("aaaaaaaaaaaaaaaaa").is_err());
    }

    proptest! {
        #[test]
        fn parse_never_panics(value in proptest::collection::vec(any::<u8>(), 0..24)) {
            if let Ok(rid) = RtpStreamId::parse(&value) {
                prop_assert_eq!(RtpStreamId::parse(rid.as_bytes()), Ok(rid));
            }
            let _ = RepairedRtpStreamId::parse(&value);
        }
    }
}
