//! AES-GCM (NIST SP 800-38D) keyed once, for SRTP's AEAD profiles (RFC 7714). Sealing and
//! opening work in place; only the IV changes per packet, and OpenSSL checks the tag in
//! constant time.

use openssl::cipher::{Cipher, CipherRef};
use openssl::cipher_ctx::CipherCtx;
use openssl::error::ErrorStack;

/// GCM IV length used by SRTP (RFC 7714 §8.1).
pub const AES_GCM_IV_LEN: usize = 12;
/// GCM tag length used by SRTP's AEAD_AES_*_GCM profiles (RFC 7714 §14.2).
pub const AES_GCM_TAG_LEN: usize = 16;

/// Why opening failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AesGcmError {
    /// The tag does not authenticate the ciphertext and AAD.
    #[error("AES-GCM tag mismatch")]
    TagMismatch,
    /// OpenSSL refused the operation.
    #[error("OpenSSL AES-GCM error: {0}")]
    OpenSsl(String),
}

fn openssl_error(error: ErrorStack) -> AesGcmError {
    AesGcmError::OpenSsl(error.to_string())
}

/// An AES-128-GCM or AES-256-GCM key with one context for sealing and one for opening (an
/// OpenSSL context is initialised for one direction).
pub struct AesGcm {
    seal: CipherCtx,
    open: CipherCtx,
}

impl std::fmt::Debug for AesGcm {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key-derived state.
        formatter.write_str("AesGcm { .. }")
    }
}

fn gcm_cipher(key_len: usize) -> Option<&'static CipherRef> {
    match key_len {
        16 => Some(Cipher::aes_128_gcm()),
        32 => Some(Cipher::aes_256_gcm()),
        _ => None,
    }
}

impl AesGcm {
    /// Keys both contexts. `key` must be 16 or 32 bytes.
    pub fn new(key: &[u8]) -> Result<Self, ErrorStack> {
        let cipher = gcm_cipher(key.len()).ok_or_else(ErrorStack::get)?;
        let mut seal = CipherCtx::new()?;
        seal.encrypt_init(Some(cipher), Some(key), None)?;
        let mut open = CipherCtx::new()?;
        open.decrypt_init(Some(cipher), Some(key), None)?;
        Ok(AesGcm { seal, open })
    }

    /// Encrypts `data` in place and writes the tag; `aad` parts are authenticated in order.
    pub fn seal_in_place(
        &mut self,
        iv: &[u8; AES_GCM_IV_LEN],
        aad: &[&[u8]],
        data: &mut [u8],
        tag: &mut [u8; AES_GCM_TAG_LEN],
    ) -> Result<(), ErrorStack> {
        self.seal.encrypt_init(None, None, Some(iv))?;
        for part in aad {
            self.seal.cipher_update(part, None)?;
        }
        let len = data.len();
        self.seal.cipher_update_inplace(data, len)?;
        self.seal.cipher_final(&mut [])?;
        self.seal.tag(tag)
    }

    /// Checks `tag` over `aad` and `data` and decrypts `data` in place. On a mismatch the
    /// contents of `data` are unspecified (the caller drops the packet).
    pub fn open_in_place(
        &mut self,
        iv: &[u8; AES_GCM_IV_LEN],
        aad: &[&[u8]],
        data: &mut [u8],
        tag: &[u8; AES_GCM_TAG_LEN],
    ) -> Result<(), AesGcmError> {
        self.open
            .decrypt_init(None, None, Some(iv))
            .map_err(openssl_error)?;
        self.open.set_tag(tag).map_err(openssl_error)?;
        for part in aad {
            self.open.cipher_update(part, None).map_err(openssl_error)?;
        }
        let len = data.len();
        self.open
            .cipher_update_inplace(data, len)
            .map_err(openssl_error)?;
        self.open
            .cipher_final(&mut [])
            .map(|_| ())
            .map_err(|_| AesGcmError::TagMismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::hex;

    #[test]
    fn seal_then_open_round_trips_and_any_change_is_rejected() {
        for key in [[3u8; 16].as_slice(), [4u8; 32].as_slice()] {
            let mut gcm = AesGcm::new(key).unwrap();
            let iv = [9; AES_GCM_IV_LEN];
            let original = b"the payload of an RTP packet".to_vec();
            let mut data = original.clone();
            let mut tag = [0; AES_GCM_TAG_LEN];
            gcm.seal_in_place(&iv, &[b"header", b"trailer"], &mut data, &mut tag)
                .unwrap();
            assert_ne!(data, original);

            let mut tampered = data.clone();
            tampered[3] ^= 1;
            assert_eq!(
                gcm.open_in_place(&iv, &[b"header", b"trailer"], &mut tampered, &tag),
                Err(AesGcmError::TagMismatch)
            );
            let mut wrong_aad = data.clone();
            assert_eq!(
                gcm.open_in_place(&iv, &[b"Header", b"trailer"], &mut wrong_aad, &tag),
                Err(AesGcmError::TagMismatch)
            );
            gcm.open_in_place(&iv, &[b"header", b"trailer"], &mut data, &tag)
                .unwrap();
            assert_eq!(data, original);
        }
    }

    /// NIST GCM test case 3 (McGrew and Viega's GCM spec): AES-128, 96-bit IV, no AAD.
    #[test]
    fn nist_gcm_test_case_3() {
        let mut gcm = AesGcm::new(&hex("feffe9928665731c6d6a8f9467308308")).unwrap();
        let iv: [u8; 12] = hex("cafebabefacedbaddecaf888").try_into().unwrap();
        let mut data = hex(concat!(
            "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72",
            "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255"
        ));
        let mut tag = [0; 16];
        gcm.seal_in_place(&iv, &[], &mut data, &mut tag).unwrap();
        assert_eq!(
            data,
            hex(concat!(
                "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e",
                "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985"
            ))
        );
        assert_eq!(tag.to_vec(), hex("4d5c2af327cd64a62cf35abd2ba6fab4"));
    }
}
