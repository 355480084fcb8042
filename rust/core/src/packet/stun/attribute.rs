//! STUN attribute types (RFC 8489 §18.3, RFC 8445 §16.1) and the attribute walk.

/// USERNAME (RFC 8489 §14.3).
pub const USERNAME: u16 = 0x0006;
/// MESSAGE-INTEGRITY, HMAC-SHA1 (RFC 8489 §14.5).
pub const MESSAGE_INTEGRITY: u16 = 0x0008;
/// ERROR-CODE (RFC 8489 §14.8).
pub const ERROR_CODE: u16 = 0x0009;
/// UNKNOWN-ATTRIBUTES (RFC 8489 §14.9).
pub const UNKNOWN_ATTRIBUTES: u16 = 0x000A;
/// REALM (RFC 8489 §14.9).
pub const REALM: u16 = 0x0014;
/// NONCE (RFC 8489 §14.10).
pub const NONCE: u16 = 0x0015;
/// MESSAGE-INTEGRITY-SHA256 (RFC 8489 §14.6).
pub const MESSAGE_INTEGRITY_SHA256: u16 = 0x001C;
/// PASSWORD-ALGORITHM (RFC 8489 §14.12).
pub const PASSWORD_ALGORITHM: u16 = 0x001D;
/// USERHASH (RFC 8489 §14.4).
pub const USERHASH: u16 = 0x001E;
/// MAPPED-ADDRESS (RFC 8489 §14.1).
pub const MAPPED_ADDRESS: u16 = 0x0001;
/// XOR-MAPPED-ADDRESS (RFC 8489 §14.2).
pub const XOR_MAPPED_ADDRESS: u16 = 0x0020;
/// PRIORITY (RFC 8445 §16.1).
pub const PRIORITY: u16 = 0x0024;
/// USE-CANDIDATE (RFC 8445 §16.1).
pub const USE_CANDIDATE: u16 = 0x0025;
/// NOMINATION as mediasoup >= 3.20.10 reads it (comprehension-required range).
pub const NOMINATION_LEGACY: u16 = 0x0030;
/// SOFTWARE (RFC 8489 §14.14).
pub const SOFTWARE: u16 = 0x8022;
/// ALTERNATE-SERVER (RFC 8489 §14.15).
pub const ALTERNATE_SERVER: u16 = 0x8023;
/// FINGERPRINT (RFC 8489 §14.7).
pub const FINGERPRINT: u16 = 0x8028;
/// ICE-CONTROLLED (RFC 8445 §16.1).
pub const ICE_CONTROLLED: u16 = 0x8029;
/// ICE-CONTROLLING (RFC 8445 §16.1).
pub const ICE_CONTROLLING: u16 = 0x802A;
/// NOMINATION (draft-thatcher-ice-renomination), the type libwebrtc sends.
pub const NOMINATION: u16 = 0xC001;

/// Attribute header: 16-bit type, 16-bit value length (RFC 8489 §14).
pub(super) const ATTRIBUTE_HEADER_LEN: usize = 4;

/// Types 0x0000..=0x7FFF are comprehension-required (RFC 8489 §14): a receiver that does
/// not understand one must reject the message with 420 Unknown Attribute.
pub(super) fn is_understood_comprehension_required(attribute_type: u16) -> bool {
    matches!(
        attribute_type,
        MAPPED_ADDRESS
            | USERNAME
            | MESSAGE_INTEGRITY
            | ERROR_CODE
            | UNKNOWN_ATTRIBUTES
            | REALM
            | NONCE
            | MESSAGE_INTEGRITY_SHA256
            | PASSWORD_ALGORITHM
            | USERHASH
            | XOR_MAPPED_ADDRESS
            | PRIORITY
            | USE_CANDIDATE
            | NOMINATION_LEGACY
    )
}

/// Value length rounded up to the 4-byte boundary the next attribute starts on.
pub(super) fn padded_len(value_len: usize) -> usize {
    (value_len + 3) & !3
}

/// One attribute: its type and its value, without padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StunAttribute<'a> {
    /// Attribute type as on the wire.
    pub attribute_type: u16,
    /// Attribute value (padding excluded).
    pub value: &'a [u8],
}

/// Walks the attributes of a message body that [`super::StunMessage::parse`] has
/// already validated; yields nothing more on a malformed tail instead of panicking.
#[derive(Debug, Clone)]
pub struct StunAttributes<'a> {
    remaining: &'a [u8],
}

impl<'a> StunAttributes<'a> {
    pub(super) fn new(body: &'a [u8]) -> Self {
        Self { remaining: body }
    }
}

impl<'a> Iterator for StunAttributes<'a> {
    type Item = StunAttribute<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        let (header, rest) = self.remaining.split_first_chunk::<ATTRIBUTE_HEADER_LEN>()?;
        let attribute_type = u16::from_be_bytes([header[0], header[1]]);
        let value_len = usize::from(u16::from_be_bytes([header[2], header[3]]));
        let value = rest.get(..value_len)?;
        self.remaining = rest.get(padded_len(value_len)..).unwrap_or(&[]);
        Some(StunAttribute {
            attribute_type,
            value,
        })
    }
}
