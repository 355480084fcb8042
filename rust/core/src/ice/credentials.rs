//! ICE short-term credentials (RFC 8445 §5.3): the username fragment and password the SFU
//! announces in `iceParameters`, generated from OpenSSL's CSPRNG.

use openssl::error::ErrorStack;
use openssl::rand::rand_bytes;

/// Length of a generated username fragment, as mediasoup announces (RFC 8445 asks for >= 4).
pub const ICE_USERNAME_FRAGMENT_LEN: usize = 32;
/// Length of a generated password (RFC 8445 §5.3 asks for >= 22 chars, i.e. 128 bits).
pub const ICE_PASSWORD_LEN: usize = 32;

/// The characters of generated credentials: lowercase letters and digits, as mediasoup uses
/// (a subset of the ice-char set of RFC 8839 §5.4, safe in SDP and in JSON).
const ALPHABET: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// A local username fragment and password (mediasoup's `IceParameters` without `iceLite`).
#[derive(Clone, PartialEq, Eq)]
pub struct IceParameters {
    /// The username fragment, first part of USERNAME in checks sent to us.
    pub username_fragment: String,
    /// The password that keys MESSAGE-INTEGRITY.
    pub password: String,
}

impl std::fmt::Debug for IceParameters {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The password authenticates the client's checks: keep it out of logs.
        formatter
            .debug_struct("IceParameters")
            .field("username_fragment", &self.username_fragment)
            .finish_non_exhaustive()
    }
}

impl IceParameters {
    /// Fresh random credentials (about 165 bits each). Fails only when OpenSSL's CSPRNG
    /// cannot produce bytes, in which case no secure credential can be made.
    pub fn generate() -> Result<Self, ErrorStack> {
        Ok(IceParameters {
            username_fragment: random_string(ICE_USERNAME_FRAGMENT_LEN)?,
            password: random_string(ICE_PASSWORD_LEN)?,
        })
    }
}

/// `len` characters of [`ALPHABET`], each equally likely: bytes at or above the largest
/// multiple of 36 below 256 are rejected rather than folded, which would bias the first ones.
fn random_string(len: usize) -> Result<String, ErrorStack> {
    let limit = 256 - 256 % ALPHABET.len();
    let mut out = String::with_capacity(len);
    let mut bytes = [0u8; 64];
    while out.len() < len {
        rand_bytes(&mut bytes)?;
        for byte in bytes.iter().map(|&byte| usize::from(byte)) {
            if byte < limit && out.len() < len {
                out.push(char::from(ALPHABET[byte % ALPHABET.len()]));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_credentials_have_the_announced_shape_and_differ() {
        let first = IceParameters::generate().unwrap();
        let second = IceParameters::generate().unwrap();
        for parameters in [&first, &second] {
            assert_eq!(
                parameters.username_fragment.len(),
                ICE_USERNAME_FRAGMENT_LEN
            );
            assert_eq!(parameters.password.len(), ICE_PASSWORD_LEN);
            assert!(parameters
                .password
                .bytes()
                .all(|byte| ALPHABET.contains(&byte)));
        }
        assert_ne!(first, second);
        assert!(!format!("{first:?}").contains(&first.password));
    }
}
