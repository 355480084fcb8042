//! SRTP key derivation (RFC 3711 §4.3, with RFC 7714 §11 for the AEAD profiles): each session
//! key is the AES-CM keystream, under the master key, at an IV made of the master salt XOR a
//! label. The key derivation rate is 0 (the only rate WebRTC uses), so keys are derived once.

use openssl::error::ErrorStack;

use crate::crypto::aes_ctr::{AesCtr, AES_CTR_IV_LEN};

/// Length of the salt as the KDF uses it (112 bits). The AEAD profiles' 96-bit master salt
/// is extended with two zero bytes, as RFC 7714 §11 and libsrtp do.
const KDF_SALT_LEN: usize = 14;
/// Where the label sits in the 112-bit key_id (label || 48-bit r, right aligned).
const LABEL_OFFSET: usize = 7;

/// The six labels of RFC 3711 §4.3.1 / §4.3.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum KeyLabel {
    /// SRTP encryption key.
    RtpEncryption = 0,
    /// SRTP authentication key.
    RtpAuthentication = 1,
    /// SRTP salting key.
    RtpSalt = 2,
    /// SRTCP encryption key.
    RtcpEncryption = 3,
    /// SRTCP authentication key.
    RtcpAuthentication = 4,
    /// SRTCP salting key.
    RtcpSalt = 5,
}

/// A master key and salt, ready to derive session keys from.
pub struct KeyDerivation {
    prf: AesCtr,
    salt: [u8; KDF_SALT_LEN],
}

impl std::fmt::Debug for KeyDerivation {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("KeyDerivation { .. }")
    }
}

impl KeyDerivation {
    /// `master_key` of 16 or 32 bytes, `master_salt` of at most 14 bytes (callers check the
    /// exact lengths against the profile).
    pub fn new(master_key: &[u8], master_salt: &[u8]) -> Result<Self, ErrorStack> {
        let mut salt = [0u8; KDF_SALT_LEN];
        let used = master_salt.len().min(KDF_SALT_LEN);
        salt[..used].copy_from_slice(&master_salt[..used]);
        Ok(KeyDerivation {
            prf: AesCtr::new(master_key)?,
            salt,
        })
    }

    /// Fills `out` with the session key for `label`.
    pub fn derive(&mut self, label: KeyLabel, out: &mut [u8]) -> Result<(), ErrorStack> {
        let mut iv = [0u8; AES_CTR_IV_LEN];
        iv[..KDF_SALT_LEN].copy_from_slice(&self.salt);
        iv[LABEL_OFFSET] ^= label as u8;
        out.fill(0);
        self.prf.apply_keystream(&iv, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::hex;

    /// RFC 3711 Appendix B.3.
    #[test]
    fn rfc3711_b3_key_derivation() {
        let mut kdf = KeyDerivation::new(
            &hex("E1F97A0D3E018BE0D64FA32C06DE4139"),
            &hex("0EC675AD498AFEEBB6960B3AABE6"),
        )
        .unwrap();
        let mut cipher_key = [0u8; 16];
        kdf.derive(KeyLabel::RtpEncryption, &mut cipher_key)
            .unwrap();
        assert_eq!(cipher_key.to_vec(), hex("C61E7A93744F39EE10734AFE3FF7A087"));
        let mut salt = [0u8; 14];
        kdf.derive(KeyLabel::RtpSalt, &mut salt).unwrap();
        assert_eq!(salt.to_vec(), hex("30CBBC08863D8C85D49DB34A9AE1"));
        let mut auth_key = [0u8; 20];
        kdf.derive(KeyLabel::RtpAuthentication, &mut auth_key)
            .unwrap();
        assert_eq!(
            auth_key.to_vec(),
            hex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4")
        );
    }
}
