//! An SRTP/SRTCP session: session keys derived once from a master key and salt, and per-SSRC
//! state (rollover counter, replay windows, SRTCP index). Packets are protected and
//! unprotected in place in the caller's buffer.

use super::header::{rtcp_ssrc, rtp_header, RTCP_CLEAR_LEN};
use super::index::{
    estimate_srtp_index, rollover_counter, MAX_SRTCP_INDEX, MAX_SRTP_INDEX, SRTCP_ENCRYPTED_FLAG,
};
use super::kdf::{KeyDerivation, KeyLabel};
use super::replay::{ReplayVerdict, ReplayWindow};
use super::streams::{StreamState, Streams};
use super::{SrtpError, SrtpProfile};
use crate::crypto::aes_ctr::{AesCtr, AES_CTR_IV_LEN};
use crate::crypto::aes_gcm::{AesGcm, AesGcmError, AES_GCM_IV_LEN, AES_GCM_TAG_LEN};
use crate::crypto::hmac_sha1::{constant_time_eq, HmacSha1};

/// Most SSRCs whose state a session keeps. State is created only for packets that pass
/// authentication (or that we protect), so only key holders can use it up.
pub const MAX_SSRCS_PER_SESSION: usize = 1024;

/// Length of the SRTCP trailer holding the E flag and the index.
const SRTCP_TRAILER_LEN: usize = 4;
/// HMAC-SHA1 session authentication key length (RFC 3711 §8.2).
const AUTH_KEY_LEN: usize = 20;
/// Session salt length of the AES-CM profiles (112 bits).
const AES_CM_SALT_LEN: usize = 14;
/// Session salt length of the AEAD profiles (96 bits).
const AEAD_SALT_LEN: usize = 12;

/// The cipher of one direction-independent key set (RTP or RTCP).
enum Cipher {
    /// AES-CM encryption with an HMAC-SHA1 tag (RFC 3711).
    AesCm {
        ctr: AesCtr,
        hmac: HmacSha1,
        /// The 112-bit session salt times 2^16, the place it takes in the IV.
        salt: u128,
    },
    /// AES-GCM (RFC 7714).
    Aead {
        gcm: AesGcm,
        /// The 96-bit session salt as a number (the IV is built by XOR on numbers).
        salt: u128,
    },
}

impl Cipher {
    fn derive(
        profile: SrtpProfile,
        kdf: &mut KeyDerivation,
        [encryption, authentication, salting]: [KeyLabel; 3],
    ) -> Result<Self, SrtpError> {
        let mut key = [0u8; 32];
        let key = &mut key[..profile.key_len()];
        kdf.derive(encryption, key)?;
        if profile.is_aead() {
            let mut salt = [0u8; AEAD_SALT_LEN];
            kdf.derive(salting, &mut salt)?;
            Ok(Cipher::aead(AesGcm::new(key)?, salt))
        } else {
            let mut auth_key = [0u8; AUTH_KEY_LEN];
            kdf.derive(authentication, &mut auth_key)?;
            let mut salt = [0u8; AES_CM_SALT_LEN];
            kdf.derive(salting, &mut salt)?;
            let mut shifted = [0u8; AES_CTR_IV_LEN];
            shifted[..AES_CM_SALT_LEN].copy_from_slice(&salt);
            Ok(Cipher::AesCm {
                ctr: AesCtr::new(key)?,
                hmac: HmacSha1::new(&auth_key),
                salt: u128::from_be_bytes(shifted),
            })
        }
    }

    fn aead(gcm: AesGcm, salt: [u8; AEAD_SALT_LEN]) -> Self {
        let mut value = [0u8; 16];
        value[16 - AEAD_SALT_LEN..].copy_from_slice(&salt);
        Cipher::Aead {
            gcm,
            salt: u128::from_be_bytes(value),
        }
    }
}

/// The AES-CM IV (RFC 3711 §4.1.1): salt * 2^16 XOR SSRC * 2^64 XOR index * 2^16 (`salt`
/// is already shifted).
fn aes_cm_iv(salt: u128, ssrc: u32, index: u64) -> [u8; AES_CTR_IV_LEN] {
    (salt ^ u128::from(ssrc) << 64 ^ u128::from(index) << 16).to_be_bytes()
}

/// The AEAD IV (RFC 7714 §8.1 for RTP, §9.1 for RTCP): 2 zero bytes, SSRC, then 6 bytes of
/// index (ROC and SEQ for RTP; 2 zero bytes and the 31-bit index for RTCP), XOR the salt.
fn aead_iv(salt: u128, ssrc: u32, index: u64) -> [u8; AES_GCM_IV_LEN] {
    let value = salt ^ u128::from(ssrc) << 48 ^ u128::from(index & MAX_SRTP_INDEX);
    let bytes = value.to_be_bytes();
    let mut iv = [0u8; AES_GCM_IV_LEN];
    iv.copy_from_slice(&bytes[16 - AES_GCM_IV_LEN..]);
    iv
}

fn replay_error(ssrc: u32, index: u64, verdict: ReplayVerdict) -> SrtpError {
    match verdict {
        ReplayVerdict::Replayed => SrtpError::Replayed { ssrc, index },
        ReplayVerdict::TooOld { highest } => SrtpError::TooOld {
            ssrc,
            index,
            highest,
        },
    }
}

fn buffer_room(buffer: &[u8], len: usize, overhead: usize) -> Result<(), SrtpError> {
    let needed = len + overhead;
    if len > buffer.len() || needed > buffer.len() {
        return Err(SrtpError::BufferTooSmall {
            needed,
            capacity: buffer.len(),
        });
    }
    Ok(())
}

/// One SRTP crypto context (RFC 3711 §3.2): use one session to protect what you send and
/// another, with the peer's master key, to unprotect what you receive.
pub struct SrtpSession {
    profile: SrtpProfile,
    rtp: Cipher,
    rtcp: Cipher,
    /// Per SSRC, bounded by [`MAX_SSRCS_PER_SESSION`].
    streams: Streams,
}

impl std::fmt::Debug for SrtpSession {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key-derived state.
        formatter
            .debug_struct("SrtpSession")
            .field("profile", &self.profile)
            .field("ssrcs", &self.streams.len())
            .finish_non_exhaustive()
    }
}

impl SrtpSession {
    /// Derives the session keys for `profile` from a master key and salt of the profile's
    /// lengths.
    pub fn new(
        profile: SrtpProfile,
        master_key: &[u8],
        master_salt: &[u8],
    ) -> Result<Self, SrtpError> {
        if master_key.len() != profile.key_len() {
            return Err(SrtpError::key_length(profile, master_key.len()));
        }
        if master_salt.len() != profile.salt_len() {
            return Err(SrtpError::salt_length(profile, master_salt.len()));
        }
        let mut kdf = KeyDerivation::new(master_key, master_salt)?;
        let rtp = Cipher::derive(
            profile,
            &mut kdf,
            [
                KeyLabel::RtpEncryption,
                KeyLabel::RtpAuthentication,
                KeyLabel::RtpSalt,
            ],
        )?;
        let rtcp = Cipher::derive(
            profile,
            &mut kdf,
            [
                KeyLabel::RtcpEncryption,
                KeyLabel::RtcpAuthentication,
                KeyLabel::RtcpSalt,
            ],
        )?;
        Ok(SrtpSession {
            profile,
            rtp,
            rtcp,
            streams: Streams::new(MAX_SSRCS_PER_SESSION),
        })
    }

    /// The session's profile.
    pub fn profile(&self) -> SrtpProfile {
        self.profile
    }

    /// The state of `ssrc` (created for a new one). Inlined: the check of the SSRC found
    /// last is then a few instructions in the packet's path instead of a call.
    #[inline(always)]
    fn stream(&mut self, ssrc: u32) -> Result<&mut StreamState, SrtpError> {
        self.streams
            .get_or_add(ssrc)
            .ok_or(SrtpError::TooManySsrcs {
                limit: MAX_SSRCS_PER_SESSION,
            })
    }

    /// Protects the RTP packet `buffer[..len]` in place: the payload is encrypted and the tag
    /// appended. `buffer` needs room for the tag ([`SrtpProfile::rtp_tag_len`]). Returns the
    /// protected length. The same sequence number may be protected again (retransmission).
    pub fn protect_rtp(&mut self, buffer: &mut [u8], len: usize) -> Result<usize, SrtpError> {
        let tag_len = self.profile.rtp_tag_len();
        buffer_room(buffer, len, tag_len)?;
        let (header_len, ssrc, sequence) = rtp_header(&buffer[..len])?;
        let stream = self.stream(ssrc)?;
        let index = estimate_srtp_index(stream.highest_sent, sequence);
        if stream.highest_sent.is_none_or(|highest| index > highest) {
            stream.highest_sent = Some(index);
        }
        match &mut self.rtp {
            Cipher::AesCm { ctr, hmac, salt } => {
                ctr.apply_keystream(&aes_cm_iv(*salt, ssrc, index), &mut buffer[header_len..len])?;
                let roc = rollover_counter(index).to_be_bytes();
                let tag = hmac.sign(&[&buffer[..len], &roc]);
                buffer[len..len + tag_len].copy_from_slice(&tag[..tag_len]);
            }
            Cipher::Aead { gcm, salt } => {
                let iv = aead_iv(*salt, ssrc, index);
                let capacity = buffer.len();
                let (packet, rest) = buffer.split_at_mut(len);
                let (header, payload) = packet.split_at_mut(header_len);
                let tag: &mut [u8; AES_GCM_TAG_LEN] =
                    rest.first_chunk_mut().ok_or(SrtpError::BufferTooSmall {
                        needed: len + AES_GCM_TAG_LEN,
                        capacity,
                    })?;
                gcm.seal_in_place(&iv, &[header], payload, tag)?;
            }
        }
        Ok(len + tag_len)
    }

    /// Checks and decrypts the SRTP packet `buffer` in place; returns the RTP packet's length
    /// (the tag is stripped). The replay window only moves for authenticated packets.
    pub fn unprotect_rtp(&mut self, buffer: &mut [u8]) -> Result<usize, SrtpError> {
        let tag_len = self.profile.rtp_tag_len();
        let (header_len, ssrc, sequence) = rtp_header(buffer)?;
        if buffer.len() < header_len + tag_len {
            return Err(SrtpError::TooShort {
                what: "SRTP packet",
                needed: header_len + tag_len,
                got: buffer.len(),
            });
        }
        let len = buffer.len() - tag_len;
        let received = self.streams.get(ssrc).map(|stream| &stream.received);
        let index = estimate_srtp_index(received.and_then(ReplayWindow::highest), sequence);
        if let Some(received) = received {
            received
                .check(index)
                .map_err(|verdict| replay_error(ssrc, index, verdict))?;
        }
        match &mut self.rtp {
            Cipher::AesCm { ctr, hmac, salt } => {
                let roc = rollover_counter(index).to_be_bytes();
                let expected = hmac.sign(&[&buffer[..len], &roc]);
                if !constant_time_eq(&expected[..tag_len], &buffer[len..]) {
                    return Err(SrtpError::AuthenticationFailed { ssrc });
                }
                ctr.apply_keystream(&aes_cm_iv(*salt, ssrc, index), &mut buffer[header_len..len])?;
            }
            Cipher::Aead { gcm, salt } => {
                let iv = aead_iv(*salt, ssrc, index);
                let (packet, tag) = buffer.split_at_mut(len);
                let (header, payload) = packet.split_at_mut(header_len);
                let tag: &[u8; AES_GCM_TAG_LEN] = (&*tag)
                    .try_into()
                    .map_err(|_| SrtpError::AuthenticationFailed { ssrc })?;
                gcm.open_in_place(&iv, &[header], payload, tag)
                    .map_err(|error| match error {
                        AesGcmError::TagMismatch => SrtpError::AuthenticationFailed { ssrc },
                        other => SrtpError::Crypto(other.to_string()),
                    })?;
            }
        }
        self.stream(ssrc)?.received.accept(index);
        Ok(len)
    }

    /// Protects the RTCP compound packet `buffer[..len]` in place (encrypted, with the E flag
    /// and SRTCP index and the tag appended). `buffer` needs room for 4 +
    /// [`SrtpProfile::rtcp_tag_len`] more bytes. Returns the protected length.
    pub fn protect_rtcp(&mut self, buffer: &mut [u8], len: usize) -> Result<usize, SrtpError> {
        let tag_len = self.profile.rtcp_tag_len();
        buffer_room(buffer, len, SRTCP_TRAILER_LEN + tag_len)?;
        let ssrc = rtcp_ssrc(&buffer[..len])?;
        let stream = self.stream(ssrc)?;
        let index = match stream.srtcp_sent {
            None => 0,
            Some(MAX_SRTCP_INDEX) => return Err(SrtpError::SrtcpIndexExhausted { ssrc }),
            Some(last) => last + 1,
        };
        stream.srtcp_sent = Some(index);
        let trailer = (SRTCP_ENCRYPTED_FLAG | index).to_be_bytes();
        match &mut self.rtcp {
            Cipher::AesCm { ctr, hmac, salt } => {
                // RFC 3711 §3.4: [header][encrypted][E|index][tag].
                ctr.apply_keystream(
                    &aes_cm_iv(*salt, ssrc, u64::from(index)),
                    &mut buffer[RTCP_CLEAR_LEN..len],
                )?;
                buffer[len..len + SRTCP_TRAILER_LEN].copy_from_slice(&trailer);
                let authenticated_len = len + SRTCP_TRAILER_LEN;
                let tag = hmac.sign(&[&buffer[..authenticated_len]]);
                buffer[authenticated_len..authenticated_len + tag_len]
                    .copy_from_slice(&tag[..tag_len]);
            }
            Cipher::Aead { gcm, salt } => {
                // RFC 7714 §9: [header][encrypted][tag][E|index]; the header and the trailer
                // are the AAD.
                let iv = aead_iv(*salt, ssrc, u64::from(index));
                let (packet, rest) = buffer.split_at_mut(len);
                let (header, payload) = packet.split_at_mut(RTCP_CLEAR_LEN);
                let (tag, rest) = rest.split_at_mut(AES_GCM_TAG_LEN);
                let tag: &mut [u8; AES_GCM_TAG_LEN] = tag
                    .try_into()
                    .map_err(|_| SrtpError::Crypto("GCM tag slot".into()))?;
                gcm.seal_in_place(&iv, &[header, &trailer], payload, tag)?;
                rest[..SRTCP_TRAILER_LEN].copy_from_slice(&trailer);
            }
        }
        Ok(len + SRTCP_TRAILER_LEN + tag_len)
    }

    /// Checks and decrypts the SRTCP packet `buffer` in place; returns the RTCP compound
    /// packet's length.
    pub fn unprotect_rtcp(&mut self, buffer: &mut [u8]) -> Result<usize, SrtpError> {
        let tag_len = self.profile.rtcp_tag_len();
        let ssrc = rtcp_ssrc(buffer)?;
        let minimum = RTCP_CLEAR_LEN + SRTCP_TRAILER_LEN + tag_len;
        if buffer.len() < minimum {
            return Err(SrtpError::TooShort {
                what: "SRTCP packet",
                needed: minimum,
                got: buffer.len(),
            });
        }
        let aead = self.profile.is_aead();
        let trailer_start = if aead {
            buffer.len() - SRTCP_TRAILER_LEN
        } else {
            buffer.len() - tag_len - SRTCP_TRAILER_LEN
        };
        let mut trailer = [0u8; SRTCP_TRAILER_LEN];
        trailer.copy_from_slice(&buffer[trailer_start..trailer_start + SRTCP_TRAILER_LEN]);
        let trailer_value = u32::from_be_bytes(trailer);
        let encrypted = trailer_value & SRTCP_ENCRYPTED_FLAG != 0;
        let index = trailer_value & MAX_SRTCP_INDEX;
        if let Some(stream) = self.streams.get(ssrc) {
            stream
                .srtcp_received
                .check(u64::from(index))
                .map_err(|verdict| replay_error(ssrc, u64::from(index), verdict))?;
        }
        let len = buffer.len() - SRTCP_TRAILER_LEN - tag_len;
        match &mut self.rtcp {
            Cipher::AesCm { ctr, hmac, salt } => {
                let authenticated_len = len + SRTCP_TRAILER_LEN;
                let expected = hmac.sign(&[&buffer[..authenticated_len]]);
                if !constant_time_eq(&expected[..tag_len], &buffer[authenticated_len..]) {
                    return Err(SrtpError::AuthenticationFailed { ssrc });
                }
                if encrypted {
                    ctr.apply_keystream(
                        &aes_cm_iv(*salt, ssrc, u64::from(index)),
                        &mut buffer[RTCP_CLEAR_LEN..len],
                    )?;
                }
            }
            Cipher::Aead { gcm, salt } => {
                let iv = aead_iv(*salt, ssrc, u64::from(index));
                let (packet, rest) = buffer.split_at_mut(len);
                let (header, body) = packet.split_at_mut(RTCP_CLEAR_LEN);
                let tag: &[u8; AES_GCM_TAG_LEN] = rest
                    .first_chunk()
                    .ok_or(SrtpError::AuthenticationFailed { ssrc })?;
                let outcome = if encrypted {
                    gcm.open_in_place(&iv, &[header, &trailer], body, tag)
                } else {
                    // RFC 7714 §9.2: unencrypted SRTCP authenticates the whole packet as AAD.
                    gcm.open_in_place(&iv, &[header, body, &trailer], &mut [], tag)
                };
                outcome.map_err(|error| match error {
                    AesGcmError::TagMismatch => SrtpError::AuthenticationFailed { ssrc },
                    other => SrtpError::Crypto(other.to_string()),
                })?;
            }
        }
        self.stream(ssrc)?.srtcp_received.accept(u64::from(index));
        Ok(len)
    }
}

#[cfg(test)]
mod tests;
