//! STUN messages (RFC 8489, RFC 5389) with the ICE attributes of RFC 8445 §16 and
//! renomination's NOMINATION.
//!
//! [`StunMessage::parse`] validates a datagram in one walk over its attributes and keeps
//! borrowed views of the ones ICE-lite needs; nothing is copied. [`StunMessageBuilder`]
//! writes a message into a caller-owned buffer that is reused between messages.
//!
//! Attribute rules (RFC 8489 §14.5, §14.7): attributes after MESSAGE-INTEGRITY other than
//! FINGERPRINT are ignored (not reported by any accessor or by [`StunMessage::attributes`]);
//! FINGERPRINT must be the last attribute. When an attribute appears twice, the first one
//! counts.

pub mod attribute;
mod builder;
mod crc32;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

pub use attribute::{StunAttribute, StunAttributes};
pub use builder::{
    binding_error_response, binding_request, binding_success_response, reason_phrase,
    BindingRequest, IceRole, StunMessageBuilder,
};

use crate::crypto::hmac_sha1::{constant_time_eq, HmacSha1, HMAC_SHA1_LEN};
use attribute::{padded_len, ATTRIBUTE_HEADER_LEN};

/// Fixed magic cookie of every RFC 5389/8489 message (RFC 8489 §5).
pub const MAGIC_COOKIE: u32 = 0x2112_A442;
/// Length of the STUN header (RFC 8489 §5).
pub const HEADER_LEN: usize = 20;
/// Length of the transaction id (RFC 8489 §5).
pub const TRANSACTION_ID_LEN: usize = 12;
/// XORed into the CRC-32 of the FINGERPRINT attribute (RFC 8489 §14.7).
pub const FINGERPRINT_XOR: u32 = 0x5354_554E;
/// Longest USERNAME value accepted (RFC 8489 §14.3).
pub const MAX_USERNAME_LEN: usize = 513;
/// Longest ERROR-CODE reason phrase: 128 characters of up to 6 bytes (RFC 8489 §14.8).
pub const MAX_REASON_PHRASE_LEN: usize = 763;

/// Length of the MESSAGE-INTEGRITY attribute including its header.
const MESSAGE_INTEGRITY_ATTRIBUTE_LEN: usize = ATTRIBUTE_HEADER_LEN + HMAC_SHA1_LEN;
/// Length of the FINGERPRINT attribute including its header.
const FINGERPRINT_ATTRIBUTE_LEN: usize = ATTRIBUTE_HEADER_LEN + 4;
/// Address families of (XOR-)MAPPED-ADDRESS (RFC 8489 §14.1).
const FAMILY_IPV4: u8 = 0x01;
const FAMILY_IPV6: u8 = 0x02;

/// The 96-bit transaction id (RFC 8489 §5).
pub type TransactionId = [u8; TRANSACTION_ID_LEN];

/// Why a datagram is not a valid STUN message, or a message cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StunError {
    /// Fewer bytes than the 20-byte header.
    #[error("STUN message truncated: header needs {needed} bytes, got {got}")]
    Truncated {
        /// Bytes the header needs.
        needed: usize,
        /// Bytes available.
        got: usize,
    },
    /// The two most significant bits of the message type are not zero (RFC 8489 §6).
    #[error("not a STUN message: message type 0x{message_type:04x} has its top two bits set")]
    NotStun {
        /// The first 16 bits of the datagram.
        message_type: u16,
    },
    /// The magic cookie is not 0x2112A442 (RFC 8489 §5).
    #[error("STUN magic cookie is 0x{cookie:08x}, expected 0x2112a442")]
    BadMagicCookie {
        /// The value found.
        cookie: u32,
    },
    /// The header length is not a multiple of 4 (RFC 8489 §5).
    #[error("STUN message length {length} is not a multiple of 4")]
    LengthNotAligned {
        /// The header length field.
        length: u16,
    },
    /// The header length does not match the bytes after the header.
    #[error("STUN message length field says {declared} bytes, {actual} bytes follow the header")]
    LengthMismatch {
        /// The header length field.
        declared: usize,
        /// Bytes after the header.
        actual: usize,
    },
    /// An attribute (with its padding) runs past the end of the message.
    #[error(
        "STUN attribute 0x{attribute_type:04x} truncated: needs {needed} bytes with padding, {available} left"
    )]
    AttributeTruncated {
        /// Attribute type.
        attribute_type: u16,
        /// Bytes the value and its padding need.
        needed: usize,
        /// Bytes left in the message after the attribute header.
        available: usize,
    },
    /// An attribute follows FINGERPRINT, which must be last (RFC 8489 §14.7).
    #[error("STUN attribute 0x{attribute_type:04x} follows FINGERPRINT, which must be last")]
    AttributeAfterFingerprint {
        /// Type of the attribute after FINGERPRINT.
        attribute_type: u16,
    },
    /// A known attribute has a value length its definition does not allow.
    #[error("STUN attribute 0x{attribute_type:04x} has an invalid length of {len} bytes")]
    InvalidAttributeLength {
        /// Attribute type.
        attribute_type: u16,
        /// Value length found.
        len: usize,
    },
    /// A text attribute (USERNAME, ERROR-CODE reason) is not UTF-8.
    #[error("STUN attribute 0x{attribute_type:04x} is not valid UTF-8")]
    InvalidUtf8 {
        /// Attribute type.
        attribute_type: u16,
    },
    /// An address attribute has a family other than IPv4 (1) or IPv6 (2).
    #[error("STUN address family {family} is neither 1 (IPv4) nor 2 (IPv6)")]
    InvalidAddressFamily {
        /// Family byte found.
        family: u8,
    },
    /// An ERROR-CODE outside 300..=699 (RFC 8489 §14.8).
    #[error("STUN error code {code} is outside 300..=699")]
    InvalidErrorCode {
        /// Class * 100 + number as found or requested.
        code: u16,
    },
    /// A method that does not fit the 12 method bits (RFC 8489 §5).
    #[error("STUN method 0x{method:x} does not fit in 12 bits")]
    InvalidMethod {
        /// Method requested.
        method: u16,
    },
    /// The message being built would not fit the 16-bit length field.
    #[error("STUN message body of {len} bytes exceeds the 65532-byte maximum")]
    MessageTooLong {
        /// Body length the message would have.
        len: usize,
    },
    /// An unauthenticated error response would be larger than the request it answers.
    #[error(
        "STUN error response of {response_len} bytes would exceed the {request_len}-byte request"
    )]
    ResponseWouldAmplify {
        /// Length of the smallest response possible.
        response_len: usize,
        /// Length of the request.
        request_len: usize,
    },
}

/// Message class, from bits C1 C0 of the message type (RFC 8489 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StunClass {
    /// 0b00.
    Request,
    /// 0b01.
    Indication,
    /// 0b10.
    SuccessResponse,
    /// 0b11.
    ErrorResponse,
}

impl StunClass {
    fn from_bits(bits: u16) -> Self {
        match bits & 0b11 {
            0b00 => StunClass::Request,
            0b01 => StunClass::Indication,
            0b10 => StunClass::SuccessResponse,
            _ => StunClass::ErrorResponse,
        }
    }

    fn bits(self) -> u16 {
        match self {
            StunClass::Request => 0b00,
            StunClass::Indication => 0b01,
            StunClass::SuccessResponse => 0b10,
            StunClass::ErrorResponse => 0b11,
        }
    }
}

/// Message method (RFC 8489 §18.2); only Binding is used by ICE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StunMethod {
    /// Binding, 0x001.
    Binding,
    /// Any other method, as its 12-bit number.
    Other(u16),
}

impl StunMethod {
    const BINDING: u16 = 0x001;

    fn from_number(number: u16) -> Self {
        if number == Self::BINDING {
            StunMethod::Binding
        } else {
            StunMethod::Other(number)
        }
    }

    /// The 12-bit method number.
    pub fn number(self) -> u16 {
        match self {
            StunMethod::Binding => Self::BINDING,
            StunMethod::Other(number) => number,
        }
    }
}

/// Splits a message type into method and class: the class bits C0 (bit 4) and C1 (bit 8)
/// are interleaved with the method bits (RFC 8489 §5, figure 3).
fn split_message_type(message_type: u16) -> (StunMethod, StunClass) {
    let class = ((message_type >> 7) & 0b10) | ((message_type >> 4) & 0b01);
    let method =
        (message_type & 0x000F) | ((message_type & 0x00E0) >> 1) | ((message_type & 0x3E00) >> 2);
    (StunMethod::from_number(method), StunClass::from_bits(class))
}

/// Inverse of [`split_message_type`]; `method` must fit in 12 bits.
fn join_message_type(method: u16, class: StunClass) -> u16 {
    let class = class.bits();
    (method & 0x000F)
        | ((method & 0x0070) << 1)
        | ((method & 0x0F80) << 2)
        | ((class & 0b01) << 4)
        | ((class & 0b10) << 7)
}

/// A validated STUN message borrowing the datagram it was parsed from.
#[derive(Debug, Clone)]
pub struct StunMessage<'a> {
    bytes: &'a [u8],
    method: StunMethod,
    class: StunClass,
    /// End of the attributes that count: just after MESSAGE-INTEGRITY if present.
    counted_attributes_end: usize,
    message_integrity_offset: Option<usize>,
    fingerprint_offset: Option<usize>,
    username: Option<&'a str>,
    priority: Option<u32>,
    use_candidate: bool,
    ice_controlling: Option<u64>,
    ice_controlled: Option<u64>,
    nomination: Option<u32>,
    xor_mapped_address: Option<SocketAddr>,
    error_code: Option<(u16, &'a str)>,
    unknown_comprehension_required: Option<u16>,
}

fn read_u16(bytes: &[u8], offset: usize) -> Option<u16> {
    let pair = bytes.get(offset..)?.first_chunk::<2>()?;
    Some(u16::from_be_bytes(*pair))
}

fn fixed_value<const N: usize>(attribute_type: u16, value: &[u8]) -> Result<[u8; N], StunError> {
    value
        .try_into()
        .map_err(|_| StunError::InvalidAttributeLength {
            attribute_type,
            len: value.len(),
        })
}

fn utf8_value(attribute_type: u16, value: &[u8]) -> Result<&str, StunError> {
    std::str::from_utf8(value).map_err(|_| StunError::InvalidUtf8 { attribute_type })
}

impl<'a> StunMessage<'a> {
    /// Validates `bytes` as one STUN message and records its attributes (RFC 8489 §5, §14).
    pub fn parse(bytes: &'a [u8]) -> Result<Self, StunError> {
        let header = bytes
            .first_chunk::<HEADER_LEN>()
            .ok_or(StunError::Truncated {
                needed: HEADER_LEN,
                got: bytes.len(),
            })?;
        let message_type = u16::from_be_bytes([header[0], header[1]]);
        if message_type & 0xC000 != 0 {
            return Err(StunError::NotStun { message_type });
        }
        let length = u16::from_be_bytes([header[2], header[3]]);
        let cookie = u32::from_be_bytes([header[4], header[5], header[6], header[7]]);
        if cookie != MAGIC_COOKIE {
            return Err(StunError::BadMagicCookie { cookie });
        }
        if length % 4 != 0 {
            return Err(StunError::LengthNotAligned { length });
        }
        let actual = bytes.len() - HEADER_LEN;
        if usize::from(length) != actual {
            return Err(StunError::LengthMismatch {
                declared: usize::from(length),
                actual,
            });
        }
        let (method, class) = split_message_type(message_type);
        let mut message = StunMessage {
            bytes,
            method,
            class,
            counted_attributes_end: bytes.len(),
            message_integrity_offset: None,
            fingerprint_offset: None,
            username: None,
            priority: None,
            use_candidate: false,
            ice_controlling: None,
            ice_controlled: None,
            nomination: None,
            xor_mapped_address: None,
            error_code: None,
            unknown_comprehension_required: None,
        };
        message.walk_attributes()?;
        Ok(message)
    }

    fn walk_attributes(&mut self) -> Result<(), StunError> {
        let bytes = self.bytes;
        let mut offset = HEADER_LEN;
        while offset < bytes.len() {
            // The body length is a multiple of 4 and so is every padded attribute, hence at
            // least a 4-byte attribute header remains here.
            let (Some(attribute_type), Some(value_len)) =
                (read_u16(bytes, offset), read_u16(bytes, offset + 2))
            else {
                return Err(StunError::AttributeTruncated {
                    attribute_type: read_u16(bytes, offset).unwrap_or(0),
                    needed: ATTRIBUTE_HEADER_LEN,
                    available: bytes.len() - offset,
                });
            };
            if self.fingerprint_offset.is_some() {
                return Err(StunError::AttributeAfterFingerprint { attribute_type });
            }
            let value_start = offset + ATTRIBUTE_HEADER_LEN;
            let value_len = usize::from(value_len);
            let available = bytes.len() - value_start;
            let needed = padded_len(value_len);
            if needed > available {
                return Err(StunError::AttributeTruncated {
                    attribute_type,
                    needed,
                    available,
                });
            }
            let value = &bytes[value_start..value_start + value_len];
            let next = value_start + needed;
            if attribute_type == attribute::FINGERPRINT {
                fixed_value::<4>(attribute_type, value)?;
                self.fingerprint_offset = Some(offset);
            } else if self.message_integrity_offset.is_none() {
                // RFC 8489 §14.5: only FINGERPRINT may follow MESSAGE-INTEGRITY; anything
                // else after it is ignored, so it is recorded only before.
                self.record_attribute(attribute_type, value)?;
                if attribute_type == attribute::MESSAGE_INTEGRITY {
                    fixed_value::<HMAC_SHA1_LEN>(attribute_type, value)?;
                    self.message_integrity_offset = Some(offset);
                    self.counted_attributes_end = next;
                }
            }
            offset = next;
        }
        Ok(())
    }

    fn record_attribute(&mut self, attribute_type: u16, value: &'a [u8]) -> Result<(), StunError> {
        match attribute_type {
            attribute::USERNAME if self.username.is_none() => {
                if value.len() > MAX_USERNAME_LEN {
                    return Err(StunError::InvalidAttributeLength {
                        attribute_type,
                        len: value.len(),
                    });
                }
                self.username = Some(utf8_value(attribute_type, value)?);
            }
            attribute::PRIORITY if self.priority.is_none() => {
                self.priority = Some(u32::from_be_bytes(fixed_value(attribute_type, value)?));
            }
            attribute::USE_CANDIDATE => {
                fixed_value::<0>(attribute_type, value)?;
                self.use_candidate = true;
            }
            attribute::ICE_CONTROLLING if self.ice_controlling.is_none() => {
                self.ice_controlling =
                    Some(u64::from_be_bytes(fixed_value(attribute_type, value)?));
            }
            attribute::ICE_CONTROLLED if self.ice_controlled.is_none() => {
                self.ice_controlled = Some(u64::from_be_bytes(fixed_value(attribute_type, value)?));
            }
            attribute::NOMINATION | attribute::NOMINATION_LEGACY if self.nomination.is_none() => {
                self.nomination = Some(u32::from_be_bytes(fixed_value(attribute_type, value)?));
            }
            attribute::XOR_MAPPED_ADDRESS if self.xor_mapped_address.is_none() => {
                self.xor_mapped_address = Some(self.decode_xor_address(attribute_type, value)?);
            }
            attribute::ERROR_CODE if self.error_code.is_none() => {
                self.error_code = Some(decode_error_code(value)?);
            }
            other => {
                if other < 0x8000
                    && !attribute::is_understood_comprehension_required(other)
                    && self.unknown_comprehension_required.is_none()
                {
                    self.unknown_comprehension_required = Some(other);
                }
            }
        }
        Ok(())
    }

    /// RFC 8489 §14.2: the port is XORed with the cookie's top 16 bits, an IPv4 address with
    /// the cookie, an IPv6 address with the cookie followed by the transaction id.
    fn decode_xor_address(
        &self,
        attribute_type: u16,
        value: &[u8],
    ) -> Result<SocketAddr, StunError> {
        let invalid_length = || StunError::InvalidAttributeLength {
            attribute_type,
            len: value.len(),
        };
        let (&[_, family], rest) = value.split_first_chunk::<2>().ok_or_else(invalid_length)?;
        let (port_bytes, address_bytes) =
            rest.split_first_chunk::<2>().ok_or_else(invalid_length)?;
        let port = u16::from_be_bytes(*port_bytes) ^ (MAGIC_COOKIE >> 16) as u16;
        let mask = xor_mask(&self.transaction_id());
        let ip = match family {
            FAMILY_IPV4 => {
                let octets: [u8; 4] = address_bytes.try_into().map_err(|_| invalid_length())?;
                let mut address = [0u8; 4];
                for ((out, byte), mask) in address.iter_mut().zip(octets).zip(mask) {
                    *out = byte ^ mask;
                }
                IpAddr::V4(Ipv4Addr::from(address))
            }
            FAMILY_IPV6 => {
                let octets: [u8; 16] = address_bytes.try_into().map_err(|_| invalid_length())?;
                let mut address = [0u8; 16];
                for ((out, byte), mask) in address.iter_mut().zip(octets).zip(mask) {
                    *out = byte ^ mask;
                }
                IpAddr::V6(Ipv6Addr::from(address))
            }
            family => return Err(StunError::InvalidAddressFamily { family }),
        };
        Ok(SocketAddr::new(ip, port))
    }

    /// The whole message as received.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Message class.
    pub fn class(&self) -> StunClass {
        self.class
    }

    /// Message method.
    pub fn method(&self) -> StunMethod {
        self.method
    }

    /// The 96-bit transaction id.
    pub fn transaction_id(&self) -> TransactionId {
        let mut id = [0u8; TRANSACTION_ID_LEN];
        id.copy_from_slice(&self.bytes[8..HEADER_LEN]);
        id
    }

    /// USERNAME, validated as UTF-8 of at most 513 bytes.
    pub fn username(&self) -> Option<&'a str> {
        self.username
    }

    /// PRIORITY (RFC 8445 §7.1.1).
    pub fn priority(&self) -> Option<u32> {
        self.priority
    }

    /// Whether USE-CANDIDATE is present (RFC 8445 §7.1.2).
    pub fn use_candidate(&self) -> bool {
        self.use_candidate
    }

    /// ICE-CONTROLLING tiebreaker (RFC 8445 §7.1.3).
    pub fn ice_controlling(&self) -> Option<u64> {
        self.ice_controlling
    }

    /// ICE-CONTROLLED tiebreaker (RFC 8445 §7.1.3).
    pub fn ice_controlled(&self) -> Option<u64> {
        self.ice_controlled
    }

    /// NOMINATION value of ICE renomination, from type 0xC001 or 0x0030.
    pub fn nomination(&self) -> Option<u32> {
        self.nomination
    }

    /// XOR-MAPPED-ADDRESS, decoded (RFC 8489 §14.2).
    pub fn xor_mapped_address(&self) -> Option<SocketAddr> {
        self.xor_mapped_address
    }

    /// ERROR-CODE as (code, reason phrase) (RFC 8489 §14.8).
    pub fn error_code(&self) -> Option<(u16, &'a str)> {
        self.error_code
    }

    /// The first comprehension-required attribute this parser does not understand; a server
    /// answers such a request with 420 Unknown Attribute (RFC 8489 §6.3.1.1).
    pub fn unknown_comprehension_required(&self) -> Option<u16> {
        self.unknown_comprehension_required
    }

    /// Offset of the MESSAGE-INTEGRITY attribute header in the message, if present.
    pub fn message_integrity_offset(&self) -> Option<usize> {
        self.message_integrity_offset
    }

    /// Offset of the FINGERPRINT attribute header in the message, if present.
    pub fn fingerprint_offset(&self) -> Option<usize> {
        self.fingerprint_offset
    }

    /// The attributes that count, in order: those up to MESSAGE-INTEGRITY included, then
    /// FINGERPRINT.
    pub fn attributes(&self) -> impl Iterator<Item = StunAttribute<'a>> + 'a {
        let counted = StunAttributes::new(&self.bytes[HEADER_LEN..self.counted_attributes_end]);
        let fingerprint = match (self.message_integrity_offset, self.fingerprint_offset) {
            (Some(_), Some(offset)) => Some(StunAttributes::new(&self.bytes[offset..])),
            _ => None,
        };
        counted.chain(fingerprint.into_iter().flatten())
    }

    /// Checks FINGERPRINT: the CRC-32 of the message before it, XOR 0x5354554E, with the
    /// header length as received, which already covers FINGERPRINT (RFC 8489 §14.7).
    /// False when the attribute is absent.
    pub fn verify_fingerprint(&self) -> bool {
        let Some(offset) = self.fingerprint_offset else {
            return false;
        };
        let Some(received) = self
            .bytes
            .get(offset + ATTRIBUTE_HEADER_LEN..)
            .and_then(|value| value.first_chunk::<4>())
        else {
            return false;
        };
        crc32::crc32(&self.bytes[..offset]) ^ FINGERPRINT_XOR == u32::from_be_bytes(*received)
    }

    /// Checks MESSAGE-INTEGRITY with `key` (for ICE's short-term credentials, the password
    /// bytes). False when the attribute is absent.
    pub fn verify_integrity(&self, key: &[u8]) -> bool {
        self.verify_integrity_with(&HmacSha1::new(key))
    }

    /// [`Self::verify_integrity`] with a key prepared once, for the per-packet path.
    ///
    /// RFC 8489 §14.5: the HMAC covers the message up to MESSAGE-INTEGRITY with the header
    /// length set as if MESSAGE-INTEGRITY were the last attribute. The header is patched in
    /// a 20-byte copy; the attributes are hashed in place.
    pub fn verify_integrity_with(&self, hmac: &HmacSha1) -> bool {
        let Some(offset) = self.message_integrity_offset else {
            return false;
        };
        let Some(received) = self
            .bytes
            .get(offset + ATTRIBUTE_HEADER_LEN..offset + MESSAGE_INTEGRITY_ATTRIBUTE_LEN)
        else {
            return false;
        };
        let Some(header) = self.bytes.first_chunk::<HEADER_LEN>() else {
            return false;
        };
        let mut patched_header = *header;
        let Ok(length) = u16::try_from(offset + MESSAGE_INTEGRITY_ATTRIBUTE_LEN - HEADER_LEN)
        else {
            return false;
        };
        patched_header[2..4].copy_from_slice(&length.to_be_bytes());
        let computed = hmac.sign(&[&patched_header, &self.bytes[HEADER_LEN..offset]]);
        constant_time_eq(&computed, received)
    }
}

/// Magic cookie followed by the transaction id: the 16-byte XOR mask of addresses.
fn xor_mask(transaction_id: &TransactionId) -> [u8; 16] {
    let mut mask = [0u8; 16];
    mask[..4].copy_from_slice(&MAGIC_COOKIE.to_be_bytes());
    mask[4..].copy_from_slice(transaction_id);
    mask
}

/// ERROR-CODE value: 21 reserved bits, 3-bit class, 8-bit number, reason (RFC 8489 §14.8).
fn decode_error_code(value: &[u8]) -> Result<(u16, &str), StunError> {
    let (&[_, _, class, number], reason) =
        value
            .split_first_chunk::<4>()
            .ok_or(StunError::InvalidAttributeLength {
                attribute_type: attribute::ERROR_CODE,
                len: value.len(),
            })?;
    let code = u16::from(class & 0x07) * 100 + u16::from(number);
    if !(3..=6).contains(&(class & 0x07)) || number > 99 {
        return Err(StunError::InvalidErrorCode { code });
    }
    if reason.len() > MAX_REASON_PHRASE_LEN {
        return Err(StunError::InvalidAttributeLength {
            attribute_type: attribute::ERROR_CODE,
            len: value.len(),
        });
    }
    Ok((code, utf8_value(attribute::ERROR_CODE, reason)?))
}

#[cfg(test)]
mod tests;
