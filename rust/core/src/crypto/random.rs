//! Randomness from OpenSSL's CSPRNG, for what must not be guessed (SRTP keys) and what RFCs
//! ask to be random (first sequence numbers, through the seed a router draws).

use openssl::error::ErrorStack;

/// Fills `bytes` with random bytes; fails only when the CSPRNG cannot be seeded.
pub fn fill(bytes: &mut [u8]) -> Result<(), ErrorStack> {
    openssl::rand::rand_bytes(bytes)
}

/// A random `u64`.
pub fn u64() -> Result<u64, ErrorStack> {
    let mut bytes = [0u8; 8];
    fill(&mut bytes)?;
    Ok(u64::from_be_bytes(bytes))
}
