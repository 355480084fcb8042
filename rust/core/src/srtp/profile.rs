//! The four SRTP protection profiles WebRTC uses, and their names in every place they appear:
//! mediasoup's `cryptoSuite` strings, RFC 5764 `use_srtp` names as OpenSSL spells them, and
//! the key/salt/tag sizes each implies.

use std::fmt;

/// An SRTP protection profile. The order of the variants is mediasoup's preference order in
/// DTLS negotiation (GCM first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SrtpProfile {
    /// AEAD_AES_256_GCM (RFC 7714): 32-byte key, 12-byte salt, 16-byte tag.
    AeadAes256Gcm,
    /// AEAD_AES_128_GCM (RFC 7714): 16-byte key, 12-byte salt, 16-byte tag.
    AeadAes128Gcm,
    /// AES_CM_128_HMAC_SHA1_80 (RFC 3711): 16-byte key, 14-byte salt, 10-byte tag.
    AesCm128HmacSha1_80,
    /// AES_CM_128_HMAC_SHA1_32 (RFC 3711): like `_80` but a 4-byte RTP tag (RTCP keeps 10).
    AesCm128HmacSha1_32,
}

/// A profile name that is none of the four supported ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown SRTP crypto suite {0:?} (expected AEAD_AES_256_GCM, AEAD_AES_128_GCM, AES_CM_128_HMAC_SHA1_80 or AES_CM_128_HMAC_SHA1_32)")]
pub struct UnknownSrtpProfile(pub String);

impl SrtpProfile {
    /// Every profile, in DTLS preference order.
    pub const ALL: [SrtpProfile; 4] = [
        SrtpProfile::AeadAes256Gcm,
        SrtpProfile::AeadAes128Gcm,
        SrtpProfile::AesCm128HmacSha1_80,
        SrtpProfile::AesCm128HmacSha1_32,
    ];

    /// mediasoup's `cryptoSuite` name (also RFC 4568's SDES name).
    pub fn name(self) -> &'static str {
        match self {
            SrtpProfile::AeadAes256Gcm => "AEAD_AES_256_GCM",
            SrtpProfile::AeadAes128Gcm => "AEAD_AES_128_GCM",
            SrtpProfile::AesCm128HmacSha1_80 => "AES_CM_128_HMAC_SHA1_80",
            SrtpProfile::AesCm128HmacSha1_32 => "AES_CM_128_HMAC_SHA1_32",
        }
    }

    /// Parses mediasoup's `cryptoSuite` name.
    pub fn from_name(name: &str) -> Result<Self, UnknownSrtpProfile> {
        Self::ALL
            .into_iter()
            .find(|profile| profile.name() == name)
            .ok_or_else(|| UnknownSrtpProfile(name.to_owned()))
    }

    /// The RFC 5764 `use_srtp` profile name as OpenSSL spells it.
    pub fn dtls_name(self) -> &'static str {
        match self {
            SrtpProfile::AeadAes256Gcm => "SRTP_AEAD_AES_256_GCM",
            SrtpProfile::AeadAes128Gcm => "SRTP_AEAD_AES_128_GCM",
            SrtpProfile::AesCm128HmacSha1_80 => "SRTP_AES128_CM_SHA1_80",
            SrtpProfile::AesCm128HmacSha1_32 => "SRTP_AES128_CM_SHA1_32",
        }
    }

    /// Parses an OpenSSL `use_srtp` profile name.
    pub fn from_dtls_name(name: &str) -> Result<Self, UnknownSrtpProfile> {
        Self::ALL
            .into_iter()
            .find(|profile| profile.dtls_name() == name)
            .ok_or_else(|| UnknownSrtpProfile(name.to_owned()))
    }

    /// Whether this is an AEAD (GCM) profile.
    pub fn is_aead(self) -> bool {
        matches!(
            self,
            SrtpProfile::AeadAes256Gcm | SrtpProfile::AeadAes128Gcm
        )
    }

    /// Master key length in bytes.
    pub fn key_len(self) -> usize {
        match self {
            SrtpProfile::AeadAes256Gcm => 32,
            _ => 16,
        }
    }

    /// Master salt length in bytes.
    pub fn salt_len(self) -> usize {
        if self.is_aead() {
            12
        } else {
            14
        }
    }

    /// Authentication tag appended to each SRTP packet.
    pub fn rtp_tag_len(self) -> usize {
        match self {
            SrtpProfile::AeadAes256Gcm | SrtpProfile::AeadAes128Gcm => 16,
            SrtpProfile::AesCm128HmacSha1_80 => 10,
            SrtpProfile::AesCm128HmacSha1_32 => 4,
        }
    }

    /// Authentication tag appended to each SRTCP packet (RFC 3711 keeps 80 bits for SRTCP
    /// even in the `_32` profile).
    pub fn rtcp_tag_len(self) -> usize {
        match self {
            SrtpProfile::AesCm128HmacSha1_32 | SrtpProfile::AesCm128HmacSha1_80 => 10,
            _ => 16,
        }
    }

    /// Bytes of keying material RFC 5764 exports for this profile: both keys, then both salts.
    pub fn keying_material_len(self) -> usize {
        2 * (self.key_len() + self.salt_len())
    }
}

impl fmt::Display for SrtpProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for profile in SrtpProfile::ALL {
            assert_eq!(SrtpProfile::from_name(profile.name()), Ok(profile));
            assert_eq!(
                SrtpProfile::from_dtls_name(profile.dtls_name()),
                Ok(profile)
            );
        }
        assert!(SrtpProfile::from_name("NULL_CIPHER").is_err());
    }

    #[test]
    fn sizes_match_the_rfcs() {
        assert_eq!(SrtpProfile::AesCm128HmacSha1_80.keying_material_len(), 60);
        assert_eq!(SrtpProfile::AeadAes128Gcm.keying_material_len(), 56);
        assert_eq!(SrtpProfile::AeadAes256Gcm.keying_material_len(), 88);
        assert_eq!(SrtpProfile::AesCm128HmacSha1_32.rtp_tag_len(), 4);
        assert_eq!(SrtpProfile::AesCm128HmacSha1_32.rtcp_tag_len(), 10);
    }
}
