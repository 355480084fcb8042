//! The only module that calls OpenSSL. Ciphers and MACs here are keyed once and reused for
//! every packet of a session; certificates and fingerprints for DTLS live here too.

pub mod aes_ctr;
pub mod aes_gcm;
pub mod certificate;
pub mod hmac_sha1;
pub mod random;
