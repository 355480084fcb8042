//! HMAC-SHA1 (RFC 2104) keyed once, for SRTP authentication (RFC 3711 §4.2.1) and STUN
//! MESSAGE-INTEGRITY (RFC 8489 §14.5).
//!
//! The key is absorbed into an inner and an outer SHA-1 state when the MAC is created; each
//! message then costs two state copies plus the SHA-1 compressions of the message itself, with
//! no allocation. OpenSSL's SHA-1 uses the SHA extensions (SHA-NI) when the CPU has them.

use std::ffi::c_void;

use openssl_sys::{SHA1_Final, SHA1_Init, SHA1_Update, SHA_CTX};

/// Length of an HMAC-SHA1 output.
pub const HMAC_SHA1_LEN: usize = 20;

/// SHA-1's block size: keys longer than this are hashed first (RFC 2104 §2).
const BLOCK_LEN: usize = 64;

/// An HMAC-SHA1 key, ready to sign any number of messages.
#[derive(Clone)]
pub struct HmacSha1 {
    inner: SHA_CTX,
    outer: SHA_CTX,
}

impl std::fmt::Debug for HmacSha1 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key-derived state.
        f.write_str("HmacSha1 { .. }")
    }
}

impl HmacSha1 {
    /// Absorbs `key` into the inner and outer hash states.
    pub fn new(key: &[u8]) -> Self {
        let mut block = [0u8; BLOCK_LEN];
        if key.len() > BLOCK_LEN {
            block[..HMAC_SHA1_LEN].copy_from_slice(&sha1(&[key]));
        } else {
            block[..key.len()].copy_from_slice(key);
        }
        let mut inner_pad = [0x36u8; BLOCK_LEN];
        let mut outer_pad = [0x5cu8; BLOCK_LEN];
        for ((inner, outer), key_byte) in inner_pad.iter_mut().zip(outer_pad.iter_mut()).zip(block)
        {
            *inner ^= key_byte;
            *outer ^= key_byte;
        }
        let mut inner = new_sha1_state();
        update(&mut inner, &inner_pad);
        let mut outer = new_sha1_state();
        update(&mut outer, &outer_pad);
        HmacSha1 { inner, outer }
    }

    /// The MAC of the concatenation of `parts` (so callers can append a rollover counter or a
    /// patched header without copying the message).
    pub fn sign(&self, parts: &[&[u8]]) -> [u8; HMAC_SHA1_LEN] {
        let mut inner = self.inner.clone();
        for part in parts {
            update(&mut inner, part);
        }
        let inner_digest = finish(&mut inner);
        let mut outer = self.outer.clone();
        update(&mut outer, &inner_digest);
        finish(&mut outer)
    }
}

/// Compares two byte strings in time that depends only on their lengths, so an attacker
/// cannot learn how many leading bytes of a forged tag were right.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && openssl::memcmp::eq(a, b)
}

/// Plain SHA-1 of the concatenation of `parts`.
fn sha1(parts: &[&[u8]]) -> [u8; HMAC_SHA1_LEN] {
    let mut state = new_sha1_state();
    for part in parts {
        update(&mut state, part);
    }
    finish(&mut state)
}

fn new_sha1_state() -> SHA_CTX {
    // SAFETY: SHA_CTX is a plain C struct of integers; all-zero is a valid bit pattern and
    // SHA1_Init then sets it up.
    let mut state: SHA_CTX = unsafe { std::mem::zeroed() };
    // SAFETY: `state` is a valid, exclusively borrowed SHA_CTX. SHA1_Init cannot fail.
    unsafe { SHA1_Init(&mut state) };
    state
}

fn update(state: &mut SHA_CTX, data: &[u8]) {
    // SAFETY: `data` is a valid slice for `data.len()` bytes and `state` was initialised by
    // SHA1_Init. SHA1_Update only fails on a null context.
    unsafe { SHA1_Update(state, data.as_ptr().cast::<c_void>(), data.len()) };
}

fn finish(state: &mut SHA_CTX) -> [u8; HMAC_SHA1_LEN] {
    let mut digest = [0u8; HMAC_SHA1_LEN];
    // SAFETY: `digest` has room for the 20-byte SHA-1 output; `state` is initialised.
    unsafe { SHA1_Final(digest.as_mut_ptr(), state) };
    digest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    // RFC 2202 §3 test cases 1, 2 and 6 (short key, short key with text, 80-byte key).
    #[test]
    fn rfc2202_known_answers() {
        let mac = HmacSha1::new(&[0x0b; 20]);
        assert_eq!(
            hex(&mac.sign(&[b"Hi There"])),
            "b617318655057264e28bc0b6fb378c8ef146be00"
        );

        let mac = HmacSha1::new(b"Jefe");
        assert_eq!(
            hex(&mac.sign(&[b"what do ya want ", b"for nothing?"])),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );

        let mac = HmacSha1::new(&[0xaa; 80]);
        assert_eq!(
            hex(&mac.sign(&[b"Test Using Larger Than Block-Size Key - Hash Key First"])),
            "aa4ae5e15272d00e95705637ce8a3b55ed402112"
        );
    }

    #[test]
    fn signing_does_not_disturb_the_key_state() {
        let mac = HmacSha1::new(b"key");
        assert_eq!(mac.sign(&[b"message"]), mac.sign(&[b"mess", b"age"]));
    }

    #[test]
    fn constant_time_eq_checks_length_and_content() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
