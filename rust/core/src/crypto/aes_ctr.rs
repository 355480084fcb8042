//! AES in counter mode (NIST SP 800-38A) keyed once: SRTP's AES-CM cipher (RFC 3711 §4.1.1)
//! and its key derivation PRF (§4.3.3). Each packet only sets a new IV on the OpenSSL
//! context, which keeps the expanded key schedule (and uses AES-NI when the CPU has it).

use openssl::cipher::{Cipher, CipherRef};
use openssl::cipher_ctx::CipherCtx;
use openssl::error::ErrorStack;

/// Length of the counter block (the IV).
pub const AES_CTR_IV_LEN: usize = 16;

/// An AES-128 or AES-256 counter-mode keystream generator.
pub struct AesCtr {
    context: CipherCtx,
}

impl std::fmt::Debug for AesCtr {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key-derived state.
        formatter.write_str("AesCtr { .. }")
    }
}

/// The counter-mode cipher for a key length, `None` for lengths AES does not have here.
fn ctr_cipher(key_len: usize) -> Option<&'static CipherRef> {
    match key_len {
        16 => Some(Cipher::aes_128_ctr()),
        32 => Some(Cipher::aes_256_ctr()),
        _ => None,
    }
}

impl AesCtr {
    /// Keys the cipher. `key` must be 16 or 32 bytes (callers check lengths against their
    /// profile first); any other length is reported as an OpenSSL error.
    pub fn new(key: &[u8]) -> Result<Self, ErrorStack> {
        let mut context = CipherCtx::new()?;
        let cipher = ctr_cipher(key.len()).ok_or_else(ErrorStack::get)?;
        context.encrypt_init(Some(cipher), Some(key), None)?;
        Ok(AesCtr { context })
    }

    /// XORs `data` with the keystream starting at counter block `iv` (encryption and
    /// decryption are the same operation).
    pub fn apply_keystream(
        &mut self,
        iv: &[u8; AES_CTR_IV_LEN],
        data: &mut [u8],
    ) -> Result<(), ErrorStack> {
        self.context.encrypt_init(None, None, Some(iv))?;
        let len = data.len();
        self.context.cipher_update_inplace(data, len)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::hex;

    /// RFC 3711 Appendix B.2: the AES-CM keystream for a known session key and salt.
    #[test]
    fn rfc3711_b2_keystream() {
        let mut ctr = AesCtr::new(&hex("2B7E151628AED2A6ABF7158809CF4F3C")).unwrap();
        let iv: [u8; 16] = hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000").try_into().unwrap();
        let mut keystream = vec![0u8; 48];
        ctr.apply_keystream(&iv, &mut keystream).unwrap();
        assert_eq!(
            keystream,
            hex(concat!(
                "E03EAD0935C95E80E166B16DD92B4EB4",
                "D23513162B02D0F72A43A2FE4A5F97AB",
                "41E95B3BB0A2E8DD477901E4FCA894C0"
            ))
        );
    }

    #[test]
    fn applying_twice_restores_the_data_and_the_iv_restarts_the_stream() {
        let mut ctr = AesCtr::new(&[7; 32]).unwrap();
        let iv = [1; 16];
        let original: Vec<u8> = (0..=255).collect();
        let mut data = original.clone();
        ctr.apply_keystream(&iv, &mut data).unwrap();
        assert_ne!(data, original);
        ctr.apply_keystream(&iv, &mut data).unwrap();
        assert_eq!(data, original);
    }

    #[test]
    fn unsupported_key_lengths_are_errors() {
        assert!(AesCtr::new(&[0; 15]).is_err());
    }
}
