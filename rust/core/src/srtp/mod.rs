//! SRTP and SRTCP (RFC 3711, RFC 7714) for the four profiles WebRTC uses.
//!
//! An [`SrtpSession`] derives its session keys once from a master key and salt and keeps
//! OpenSSL cipher contexts keyed for the session's lifetime, so each packet costs one IV
//! setup plus the cipher and MAC over its bytes (AES-NI and SHA extensions where the CPU has
//! them). Packets are rewritten in the caller's buffer: nothing is allocated per packet.
//!
//! Receive-side protection: the rollover counter is estimated per SSRC (RFC 3711 §3.3.1), a
//! 1024-packet replay window rejects repeats and stale packets, and tags are compared in
//! constant time. State moves only after a packet authenticates.

mod error;
mod header;
mod index;
mod kdf;
mod keying;
mod profile;
mod replay;
mod session;
mod streams;

pub use error::SrtpError;
pub use keying::{split_dtls_keying_material, SrtpMasterKey};
pub use profile::{SrtpProfile, UnknownSrtpProfile};
pub use replay::REPLAY_WINDOW_LEN;
pub use session::{SrtpSession, MAX_SSRCS_PER_SESSION};
