//! Writing STUN messages into a reused buffer, and the messages an ICE agent sends.

use std::net::{IpAddr, SocketAddr};

use super::attribute::{self, padded_len, ATTRIBUTE_HEADER_LEN};
use super::{
    crc32, join_message_type, xor_mask, StunClass, StunError, StunMessage, StunMethod,
    TransactionId, FAMILY_IPV4, FAMILY_IPV6, FINGERPRINT_ATTRIBUTE_LEN, FINGERPRINT_XOR,
    HEADER_LEN, MAGIC_COOKIE, MAX_REASON_PHRASE_LEN, MAX_USERNAME_LEN,
    MESSAGE_INTEGRITY_ATTRIBUTE_LEN,
};
use crate::crypto::hmac_sha1::HmacSha1;

/// Largest body the 16-bit length field allows while staying a multiple of 4.
const MAX_BODY_LEN: usize = 0xFFFC;

/// Writes one STUN message into a caller-owned buffer.
///
/// The buffer is cleared first and only grows when its capacity is too small, so a buffer
/// reused for every response allocates nothing in steady state. The header length is kept
/// up to date after every attribute, so the buffer always holds a complete message;
/// the `finish_*` methods append MESSAGE-INTEGRITY and/or FINGERPRINT, computing each over
/// the message with the length field covering that attribute (RFC 8489 §14.5, §14.7).
#[derive(Debug)]
pub struct StunMessageBuilder<'b> {
    out: &'b mut Vec<u8>,
}

impl<'b> StunMessageBuilder<'b> {
    /// Starts a message: writes the header with an empty body into `out`.
    pub fn new(
        out: &'b mut Vec<u8>,
        method: StunMethod,
        class: StunClass,
        transaction_id: &TransactionId,
    ) -> Result<Self, StunError> {
        let method = method.number();
        if method > 0x0FFF {
            return Err(StunError::InvalidMethod { method });
        }
        out.clear();
        out.extend_from_slice(&join_message_type(method, class).to_be_bytes());
        out.extend_from_slice(&0u16.to_be_bytes());
        out.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
        out.extend_from_slice(transaction_id);
        Ok(Self { out })
    }

    fn body_len(&self) -> usize {
        self.out.len() - HEADER_LEN
    }

    /// Checks that `value_len` more value bytes (plus header and padding) fit, and returns
    /// the body length after them.
    fn body_len_with(&self, value_len: usize) -> Result<usize, StunError> {
        let len = self.body_len() + ATTRIBUTE_HEADER_LEN + padded_len(value_len);
        if len > MAX_BODY_LEN {
            return Err(StunError::MessageTooLong { len });
        }
        Ok(len)
    }

    fn set_body_len(&mut self, body_len: usize) {
        // Callers checked body_len <= MAX_BODY_LEN.
        let length = u16::try_from(body_len).unwrap_or(u16::MAX);
        self.out[2..4].copy_from_slice(&length.to_be_bytes());
    }

    /// Appends an attribute whose value is the concatenation of `parts`.
    fn attribute_parts(
        &mut self,
        attribute_type: u16,
        parts: &[&[u8]],
    ) -> Result<&mut Self, StunError> {
        let value_len: usize = parts.iter().map(|part| part.len()).sum();
        let body_len = self.body_len_with(value_len)?;
        let value_len_field =
            u16::try_from(value_len).map_err(|_| StunError::MessageTooLong { len: body_len })?;
        self.out.extend_from_slice(&attribute_type.to_be_bytes());
        self.out.extend_from_slice(&value_len_field.to_be_bytes());
        for part in parts {
            self.out.extend_from_slice(part);
        }
        // Padding bytes are zero when sent (RFC 8489 §14).
        self.out.resize(HEADER_LEN + body_len, 0);
        self.set_body_len(body_len);
        Ok(self)
    }

    /// Appends any attribute with its padding.
    pub fn attribute(&mut self, attribute_type: u16, value: &[u8]) -> Result<&mut Self, StunError> {
        self.attribute_parts(attribute_type, &[value])
    }

    /// Appends USERNAME (at most 513 bytes, RFC 8489 §14.3).
    pub fn username(&mut self, username: &str) -> Result<&mut Self, StunError> {
        self.username_parts(&[username.as_bytes()])
    }

    fn username_parts(&mut self, parts: &[&[u8]]) -> Result<&mut Self, StunError> {
        let len: usize = parts.iter().map(|part| part.len()).sum();
        if len > MAX_USERNAME_LEN {
            return Err(StunError::InvalidAttributeLength {
                attribute_type: attribute::USERNAME,
                len,
            });
        }
        self.attribute_parts(attribute::USERNAME, parts)
    }

    /// Appends PRIORITY (RFC 8445 §16.1).
    pub fn priority(&mut self, priority: u32) -> Result<&mut Self, StunError> {
        self.attribute(attribute::PRIORITY, &priority.to_be_bytes())
    }

    /// Appends USE-CANDIDATE (RFC 8445 §16.1).
    pub fn use_candidate(&mut self) -> Result<&mut Self, StunError> {
        self.attribute(attribute::USE_CANDIDATE, &[])
    }

    /// Appends ICE-CONTROLLING with its tiebreaker (RFC 8445 §16.1).
    pub fn ice_controlling(&mut self, tiebreaker: u64) -> Result<&mut Self, StunError> {
        self.attribute(attribute::ICE_CONTROLLING, &tiebreaker.to_be_bytes())
    }

    /// Appends ICE-CONTROLLED with its tiebreaker (RFC 8445 §16.1).
    pub fn ice_controlled(&mut self, tiebreaker: u64) -> Result<&mut Self, StunError> {
        self.attribute(attribute::ICE_CONTROLLED, &tiebreaker.to_be_bytes())
    }

    /// Appends NOMINATION (type 0xC001, as libwebrtc sends it).
    pub fn nomination(&mut self, nomination: u32) -> Result<&mut Self, StunError> {
        self.attribute(attribute::NOMINATION, &nomination.to_be_bytes())
    }

    /// Appends XOR-MAPPED-ADDRESS (RFC 8489 §14.2).
    pub fn xor_mapped_address(&mut self, address: SocketAddr) -> Result<&mut Self, StunError> {
        let mut transaction_id = [0u8; 12];
        transaction_id.copy_from_slice(&self.out[8..HEADER_LEN]);
        let mask = xor_mask(&transaction_id);
        let port = address.port() ^ (MAGIC_COOKIE >> 16) as u16;
        let port = port.to_be_bytes();
        match address.ip() {
            IpAddr::V4(ip) => {
                let mut octets = ip.octets();
                for (byte, mask) in octets.iter_mut().zip(mask) {
                    *byte ^= mask;
                }
                self.attribute_parts(
                    attribute::XOR_MAPPED_ADDRESS,
                    &[&[0, FAMILY_IPV4], &port, &octets],
                )
            }
            IpAddr::V6(ip) => {
                let mut octets = ip.octets();
                for (byte, mask) in octets.iter_mut().zip(mask) {
                    *byte ^= mask;
                }
                self.attribute_parts(
                    attribute::XOR_MAPPED_ADDRESS,
                    &[&[0, FAMILY_IPV6], &port, &octets],
                )
            }
        }
    }

    /// Appends ERROR-CODE (`code` in 300..=699) with a reason phrase (RFC 8489 §14.8).
    pub fn error_code(&mut self, code: u16, reason: &str) -> Result<&mut Self, StunError> {
        if !(300..=699).contains(&code) {
            return Err(StunError::InvalidErrorCode { code });
        }
        if reason.len() > MAX_REASON_PHRASE_LEN {
            return Err(StunError::InvalidAttributeLength {
                attribute_type: attribute::ERROR_CODE,
                len: 4 + reason.len(),
            });
        }
        // Both fit in a byte: code / 100 is 3..=6 and code % 100 is below 100.
        let class = (code / 100) as u8;
        let number = (code % 100) as u8;
        self.attribute_parts(
            attribute::ERROR_CODE,
            &[&[0, 0, class, number], reason.as_bytes()],
        )
    }

    /// Appends MESSAGE-INTEGRITY keyed by `hmac`: the HMAC covers the message so far with
    /// the length field already including MESSAGE-INTEGRITY (RFC 8489 §14.5).
    fn message_integrity(&mut self, hmac: &HmacSha1) -> Result<(), StunError> {
        let value_len = MESSAGE_INTEGRITY_ATTRIBUTE_LEN - ATTRIBUTE_HEADER_LEN;
        let body_len = self.body_len_with(value_len)?;
        self.set_body_len(body_len);
        let mac = hmac.sign(&[self.out]);
        self.out
            .extend_from_slice(&attribute::MESSAGE_INTEGRITY.to_be_bytes());
        self.out
            .extend_from_slice(&(value_len as u16).to_be_bytes());
        self.out.extend_from_slice(&mac);
        Ok(())
    }

    /// Appends FINGERPRINT: CRC-32 of the message so far, with the length field already
    /// including FINGERPRINT, XOR 0x5354554E (RFC 8489 §14.7).
    fn fingerprint(&mut self) -> Result<(), StunError> {
        let value_len = FINGERPRINT_ATTRIBUTE_LEN - ATTRIBUTE_HEADER_LEN;
        let body_len = self.body_len_with(value_len)?;
        self.set_body_len(body_len);
        let fingerprint = crc32::crc32(self.out) ^ FINGERPRINT_XOR;
        self.out
            .extend_from_slice(&attribute::FINGERPRINT.to_be_bytes());
        self.out
            .extend_from_slice(&(value_len as u16).to_be_bytes());
        self.out.extend_from_slice(&fingerprint.to_be_bytes());
        Ok(())
    }

    /// Ends the message with FINGERPRINT.
    pub fn finish_with_fingerprint(mut self) -> Result<(), StunError> {
        self.fingerprint()
    }

    /// Ends the message with MESSAGE-INTEGRITY keyed by `key` (for ICE, the password), then
    /// FINGERPRINT.
    pub fn finish_with_integrity_and_fingerprint(self, key: &[u8]) -> Result<(), StunError> {
        self.finish_with_prepared_integrity_and_fingerprint(&HmacSha1::new(key))
    }

    /// [`Self::finish_with_integrity_and_fingerprint`] with a key prepared once.
    pub fn finish_with_prepared_integrity_and_fingerprint(
        mut self,
        hmac: &HmacSha1,
    ) -> Result<(), StunError> {
        self.message_integrity(hmac)?;
        self.fingerprint()
    }
}

/// Writes into `out` the success response to a Binding `request` (RFC 8445 §7.3.1.4):
/// same transaction id, XOR-MAPPED-ADDRESS of the request's `source`, MESSAGE-INTEGRITY
/// keyed by the local password, FINGERPRINT.
pub fn binding_success_response(
    request: &StunMessage<'_>,
    source: SocketAddr,
    local_password: &HmacSha1,
    out: &mut Vec<u8>,
) -> Result<(), StunError> {
    let mut builder = StunMessageBuilder::new(
        out,
        StunMethod::Binding,
        StunClass::SuccessResponse,
        &request.transaction_id(),
    )?;
    builder.xor_mapped_address(source)?;
    builder.finish_with_prepared_integrity_and_fingerprint(local_password)
}

/// The reason phrase sent with the error codes an ICE-lite server uses (RFC 8489 §14.8,
/// RFC 8445 §7.3.1.1); empty for others.
pub fn reason_phrase(code: u16) -> &'static str {
    match code {
        400 => "Bad Request",
        401 => "Unauthorized",
        420 => "Unknown Attribute",
        487 => "Role Conflict",
        500 => "Server Error",
        _ => "",
    }
}

/// Writes into `out` an error response to `request` with `code` (e.g. 400, 401, 487).
///
/// With `local_password` (the request passed its integrity check, as for 487 Role
/// Conflict) the response carries ERROR-CODE, MESSAGE-INTEGRITY and FINGERPRINT.
///
/// Without it (the request is unauthenticated) the response must not let a spoofed source
/// use us as an amplifier: it carries only ERROR-CODE and FINGERPRINT, the reason phrase is
/// dropped if it would make the response longer than the request, and if even the 36-byte
/// minimal response is longer than the request, nothing is written and
/// [`StunError::ResponseWouldAmplify`] is returned so the caller drops the request.
pub fn binding_error_response(
    request: &StunMessage<'_>,
    code: u16,
    local_password: Option<&HmacSha1>,
    out: &mut Vec<u8>,
) -> Result<(), StunError> {
    let transaction_id = request.transaction_id();
    let start = |out| {
        StunMessageBuilder::new(
            out,
            request.method(),
            StunClass::ErrorResponse,
            &transaction_id,
        )
    };
    let reason = reason_phrase(code);
    match local_password {
        Some(hmac) => {
            let mut builder = start(out)?;
            builder.error_code(code, reason)?;
            builder.finish_with_prepared_integrity_and_fingerprint(hmac)
        }
        None => {
            let request_len = request.as_bytes().len();
            let response_len = |reason_len: usize| {
                HEADER_LEN
                    + ATTRIBUTE_HEADER_LEN
                    + padded_len(4 + reason_len)
                    + FINGERPRINT_ATTRIBUTE_LEN
            };
            let reason = if response_len(reason.len()) <= request_len {
                reason
            } else if response_len(0) <= request_len {
                ""
            } else {
                out.clear();
                return Err(StunError::ResponseWouldAmplify {
                    response_len: response_len(0),
                    request_len,
                });
            };
            let mut builder = start(out)?;
            builder.error_code(code, reason)?;
            builder.finish_with_fingerprint()
        }
    }
}

/// Which side of the ICE role negotiation sends a request, with its tiebreaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IceRole {
    /// Sends ICE-CONTROLLING.
    Controlling {
        /// Random tiebreaker (RFC 8445 §16.1).
        tiebreaker: u64,
    },
    /// Sends ICE-CONTROLLED.
    Controlled {
        /// Random tiebreaker (RFC 8445 §16.1).
        tiebreaker: u64,
    },
}

/// The contents of a connectivity check sent as an ICE client (RFC 8445 §7.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BindingRequest<'a> {
    /// Transaction id, random per request.
    pub transaction_id: TransactionId,
    /// The peer's username fragment, first in USERNAME.
    pub remote_ufrag: &'a str,
    /// Our username fragment, after the colon in USERNAME.
    pub local_ufrag: &'a str,
    /// PRIORITY of the candidate the check would discover.
    pub priority: u32,
    /// ICE-CONTROLLING or ICE-CONTROLLED.
    pub role: IceRole,
    /// Whether to nominate the pair with USE-CANDIDATE.
    pub use_candidate: bool,
    /// NOMINATION value for renomination, if any.
    pub nomination: Option<u32>,
}

/// Writes `request` into `out`: USERNAME "remote:local", PRIORITY, the role attribute,
/// USE-CANDIDATE and NOMINATION when asked, MESSAGE-INTEGRITY keyed by the peer's
/// password, FINGERPRINT.
pub fn binding_request(
    request: &BindingRequest<'_>,
    remote_password: &HmacSha1,
    out: &mut Vec<u8>,
) -> Result<(), StunError> {
    let mut builder = StunMessageBuilder::new(
        out,
        StunMethod::Binding,
        StunClass::Request,
        &request.transaction_id,
    )?;
    builder.username_parts(&[
        request.remote_ufrag.as_bytes(),
        b":",
        request.local_ufrag.as_bytes(),
    ])?;
    builder.priority(request.priority)?;
    match request.role {
        IceRole::Controlling { tiebreaker } => builder.ice_controlling(tiebreaker)?,
        IceRole::Controlled { tiebreaker } => builder.ice_controlled(tiebreaker)?,
    };
    if request.use_candidate {
        builder.use_candidate()?;
    }
    if let Some(nomination) = request.nomination {
        builder.nomination(nomination)?;
    }
    builder.finish_with_prepared_integrity_and_fingerprint(remote_password)
}
