//! AES-GCM (NIST SP 800-38D) keyed once, for SRTP's AEAD profiles (RFC 7714). Sealing and
//! opening work in place; only the IV changes per packet, and OpenSSL checks the tag in
//! constant time.
//!
//! Every forwarded copy is sealed here, so the per-packet calls go to OpenSSL's EVP
//! functions directly: the `openssl` crate's safe wrappers re-check block sizes and buffer
//! lengths on each call (a few hundred instructions per packet), which the fixed shapes
//! below make unnecessary.

use std::os::raw::{c_int, c_uint, c_void};
use std::ptr;

use foreign_types_shared::ForeignTypeRef;
use openssl::cipher::{Cipher, CipherRef};
use openssl::cipher_ctx::CipherCtx;
use openssl::error::ErrorStack;
use openssl_sys::{
    EVP_CIPHER_CTX_ctrl, EVP_DecryptFinal_ex, EVP_DecryptInit_ex, EVP_DecryptUpdate,
    EVP_EncryptFinal_ex, EVP_EncryptInit_ex, EVP_EncryptUpdate, EVP_CIPHER_CTX,
    EVP_CTRL_GCM_SET_TAG, OSSL_PARAM,
};

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
    /// The query for the tag after sealing (see [`tag_params`]); only where the tag goes
    /// changes per packet.
    tag_query: [OSSL_PARAM; 2],
}

// SAFETY: `tag_query` holds a pointer to a static string and a pointer set just before each
// use by the `&mut self` method that uses it: it is never read through a shared reference,
// and nothing it points to is shared between threads. The cipher contexts are `Send` and
// `Sync`.
unsafe impl Send for AesGcm {}
// SAFETY: as for `Send`: no `&self` method reads `tag_query`.
unsafe impl Sync for AesGcm {}

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
        Ok(AesGcm {
            seal,
            open,
            tag_query: tag_params(ptr::null_mut()),
        })
    }

    /// Encrypts `data` in place and writes the tag; `aad` parts are authenticated in order.
    /// Inlined into the SRTP session: a call here cost as much again as the five calls into
    /// OpenSSL it makes (arguments, the error checks, the frame).
    #[inline(always)]
    pub fn seal_in_place(
        &mut self,
        iv: &[u8; AES_GCM_IV_LEN],
        aad: &[&[u8]],
        data: &mut [u8],
        tag: &mut [u8; AES_GCM_TAG_LEN],
    ) -> Result<(), ErrorStack> {
        let ctx = self.seal.as_ptr();
        // SAFETY: `ctx` is the live context `self.seal` owns, initialised for AES-GCM
        // encryption with its key, whose IV length is the default 12 bytes `iv` has.
        check(unsafe {
            EVP_EncryptInit_ex(ctx, ptr::null(), ptr::null_mut(), ptr::null(), iv.as_ptr())
        })?;
        for part in aad {
            let mut written: c_int = 0;
            // SAFETY: a null output makes this an AAD update; `part` is valid for its length,
            // which fits c_int (packets are at most a few kilobytes).
            check(unsafe {
                EVP_EncryptUpdate(
                    ctx,
                    ptr::null_mut(),
                    &mut written,
                    part.as_ptr(),
                    c_len(part),
                )
            })?;
        }
        let mut written: c_int = 0;
        // SAFETY: GCM is a stream mode: output and input may be the same buffer, and exactly
        // `data.len()` bytes are written back into it.
        check(unsafe {
            EVP_EncryptUpdate(
                ctx,
                data.as_mut_ptr(),
                &mut written,
                data.as_ptr(),
                c_len(data),
            )
        })?;
        let mut last = [0u8; 16];
        // SAFETY: GCM writes nothing at finalisation; `last` has room for a block anyway.
        check(unsafe { EVP_EncryptFinal_ex(ctx, last.as_mut_ptr(), &mut written) })?;
        self.tag_query[0].data = tag.as_mut_ptr().cast::<c_void>();
        // SAFETY: the provider writes at most the parameter's `data_size` bytes (the tag's
        // length) into `tag`, where the query now points; the query ends with the end marker.
        check(unsafe { EVP_CIPHER_CTX_get_params(ctx, self.tag_query.as_mut_ptr()) })
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
        let ctx = self.open.as_ptr();
        // SAFETY: as in `seal_in_place`, for the decryption context `self.open` owns.
        check(unsafe {
            EVP_DecryptInit_ex(ctx, ptr::null(), ptr::null_mut(), ptr::null(), iv.as_ptr())
        })
        .map_err(openssl_error)?;
        let mut expected = *tag;
        // SAFETY: SET_TAG reads `AES_GCM_TAG_LEN` bytes from `expected`.
        check(unsafe {
            EVP_CIPHER_CTX_ctrl(
                ctx,
                EVP_CTRL_GCM_SET_TAG,
                AES_GCM_TAG_LEN as c_int,
                expected.as_mut_ptr().cast::<c_void>(),
            )
        })
        .map_err(openssl_error)?;
        for part in aad {
            let mut written: c_int = 0;
            // SAFETY: as the AAD update in `seal_in_place`.
            check(unsafe {
                EVP_DecryptUpdate(
                    ctx,
                    ptr::null_mut(),
                    &mut written,
                    part.as_ptr(),
                    c_len(part),
                )
            })
            .map_err(openssl_error)?;
        }
        let mut written: c_int = 0;
        // SAFETY: as the in-place update in `seal_in_place`.
        check(unsafe {
            EVP_DecryptUpdate(
                ctx,
                data.as_mut_ptr(),
                &mut written,
                data.as_ptr(),
                c_len(data),
            )
        })
        .map_err(openssl_error)?;
        let mut last = [0u8; 16];
        // SAFETY: as the finalisation in `seal_in_place`; it checks the tag, in constant time.
        let verified = unsafe { EVP_DecryptFinal_ex(ctx, last.as_mut_ptr(), &mut written) };
        if verified != 1 {
            // The failed check leaves its reason on OpenSSL's error queue: clear it.
            drop(ErrorStack::get());
            return Err(AesGcmError::TagMismatch);
        }
        Ok(())
    }
}

/// The `tag` parameter of OpenSSL 3's AEAD ciphers, over `AES_GCM_TAG_LEN` bytes at
/// `tag`, with the end marker: asked for directly, which is what `EVP_CTRL_GCM_GET_TAG`
/// does after translating the control into it (about 130 instructions per packet).
fn tag_params(tag: *mut u8) -> [OSSL_PARAM; 2] {
    [
        OSSL_PARAM {
            key: c"tag".as_ptr(),
            data_type: OSSL_PARAM_OCTET_STRING,
            data: tag.cast::<c_void>(),
            data_size: AES_GCM_TAG_LEN,
            return_size: usize::MAX,
        },
        OSSL_PARAM {
            key: ptr::null(),
            data_type: 0,
            data: ptr::null_mut(),
            data_size: 0,
            return_size: 0,
        },
    ]
}

/// `OSSL_PARAM_OCTET_STRING` (openssl/core.h).
const OSSL_PARAM_OCTET_STRING: c_uint = 5;

extern "C" {
    /// OpenSSL 3's query of a cipher context's parameters (`openssl-sys` does not bind it).
    fn EVP_CIPHER_CTX_get_params(ctx: *mut EVP_CIPHER_CTX, params: *mut OSSL_PARAM) -> c_int;
}

/// A slice length as OpenSSL's `int` (packets are far below `c_int::MAX`; longer input would
/// be cut short and then fail the tag check, never overrun).
fn c_len(bytes: &[u8]) -> c_int {
    c_int::try_from(bytes.len()).unwrap_or(c_int::MAX)
}

/// OpenSSL's 1-for-success convention as a result.
fn check(status: c_int) -> Result<(), ErrorStack> {
    if status == 1 {
        Ok(())
    } else {
        Err(ErrorStack::get())
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
