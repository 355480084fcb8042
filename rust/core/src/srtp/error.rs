//! The one error type of SRTP/SRTCP: what is wrong with a key, a buffer or a received packet.

use super::SrtpProfile;

/// Why a session could not be created or a packet could not be protected or unprotected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SrtpError {
    /// The master key length does not match the profile.
    #[error("{profile} needs a {expected}-byte master key, got {got} bytes")]
    KeyLength {
        /// The profile's name.
        profile: &'static str,
        /// Bytes the profile needs.
        expected: usize,
        /// Bytes given.
        got: usize,
    },
    /// The master salt length does not match the profile.
    #[error("{profile} needs a {expected}-byte master salt, got {got} bytes")]
    SaltLength {
        /// The profile's name.
        profile: &'static str,
        /// Bytes the profile needs.
        expected: usize,
        /// Bytes given.
        got: usize,
    },
    /// DTLS-SRTP keying material of the wrong length for the profile (RFC 5764 §4.2).
    #[error("{profile} needs {expected} bytes of DTLS keying material, got {got}")]
    KeyingMaterialLength {
        /// The profile's name.
        profile: &'static str,
        /// Bytes the profile needs.
        expected: usize,
        /// Bytes given.
        got: usize,
    },
    /// The packet is shorter than its headers and authentication tag.
    #[error("{what} too short: needs at least {needed} bytes, got {got}")]
    TooShort {
        /// "SRTP packet", "RTP header", "SRTCP packet", ...
        what: &'static str,
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        got: usize,
    },
    /// Not RTP version 2 (the header cannot be located).
    #[error("not an RTP/RTCP packet: version {0}, expected 2")]
    BadVersion(u8),
    /// The caller's buffer has no room for the tag (and SRTCP index).
    #[error("buffer too small: the protected packet needs {needed} bytes, capacity is {capacity}")]
    BufferTooSmall {
        /// Bytes the protected packet needs.
        needed: usize,
        /// The buffer length.
        capacity: usize,
    },
    /// The authentication tag does not match: tampered, wrong key, or wrong rollover guess.
    #[error("SRTP authentication failed for SSRC {ssrc:#010x}")]
    AuthenticationFailed {
        /// The packet's SSRC.
        ssrc: u32,
    },
    /// The packet index was already received.
    #[error("SRTP replay: SSRC {ssrc:#010x} index {index} already received")]
    Replayed {
        /// The packet's SSRC.
        ssrc: u32,
        /// The packet index (48-bit for SRTP, 31-bit for SRTCP).
        index: u64,
    },
    /// The packet index is older than the replay window.
    #[error(
        "SRTP replay: SSRC {ssrc:#010x} index {index} is older than the window ending at {highest}"
    )]
    TooOld {
        /// The packet's SSRC.
        ssrc: u32,
        /// The packet index.
        index: u64,
        /// The highest index received.
        highest: u64,
    },
    /// More SSRCs than a session tracks (state per SSRC is bounded).
    #[error("SRTP session already tracks {limit} SSRCs")]
    TooManySsrcs {
        /// The limit.
        limit: usize,
    },
    /// The SRTCP index space (2^31 packets) is exhausted: the session must be re-keyed.
    #[error("SRTCP index exhausted for SSRC {ssrc:#010x}")]
    SrtcpIndexExhausted {
        /// The SSRC.
        ssrc: u32,
    },
    /// OpenSSL failed (should not happen with valid keys).
    #[error("crypto library error: {0}")]
    Crypto(String),
}

impl SrtpError {
    pub(crate) fn key_length(profile: SrtpProfile, got: usize) -> Self {
        SrtpError::KeyLength {
            profile: profile.name(),
            expected: profile.key_len(),
            got,
        }
    }

    pub(crate) fn salt_length(profile: SrtpProfile, got: usize) -> Self {
        SrtpError::SaltLength {
            profile: profile.name(),
            expected: profile.salt_len(),
            got,
        }
    }
}

impl From<openssl::error::ErrorStack> for SrtpError {
    fn from(error: openssl::error::ErrorStack) -> Self {
        SrtpError::Crypto(error.to_string())
    }
}
