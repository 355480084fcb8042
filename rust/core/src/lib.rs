//! The media plane of mediasoup_py: everything that touches packets, in pure Rust.
//!
//! This crate has no Python in it and does no I/O outside `worker`. Every protocol is a
//! sans-IO piece: it is fed bytes (and, where it keeps timers, the current time) and it
//! returns bytes to send, the next time it wants to be woken, and events. That keeps each
//! piece testable in virtual time and lets the worker's event loop batch all socket I/O.
//!
//! Layout (one concept per module):
//! - [`packet`]: wire formats only: the RFC 7983 demultiplexer, RTP views with header
//!   extensions and RTX, RTCP compound packets, STUN, and the codec payload descriptors the
//!   router needs to make forwarding decisions.
//! - [`crypto`]: the only module that calls OpenSSL: ciphers keyed once per session, HMAC,
//!   certificates and their fingerprints.
//! - [`srtp`]: SRTP/SRTCP sessions (RFC 3711, RFC 7714): key derivation, rollover counter,
//!   replay window, protect/unprotect in place.
//! - [`dtls`]: the DTLS-SRTP handshake as a sans-IO state machine.
//! - [`ice`]: the ICE-lite server: connectivity checks, tuples, nomination, consent.
//! - [`sctp`]: SCTP associations and DCEP for data channels (over DTLS, or plain UDP).
//! - [`rtc`]: the SFU: transports (ICE + DTLS + SRTP) and routing.
//! - [`worker`]: the only I/O: worker threads, their event loop, batched sockets, ports.
//! - [`id_hash`]: the fast hash of the packet path's tables keyed by numbers (SSRCs).
//!
//! Parsers never panic: every malformed input is a typed error, and callers count and drop.

pub mod crypto;
pub mod dtls;
pub mod ice;
pub mod id_hash;
pub mod packet;
pub mod rtc;
pub mod sctp;
pub mod srtp;
pub mod worker;

/// Helpers shared by the unit tests of several modules.
#[cfg(test)]
pub(crate) mod test_support {
    /// Decodes hex digits, ignoring whitespace (known-answer vectors are written in groups).
    pub fn hex(text: &str) -> Vec<u8> {
        let digits: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        (0..digits.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).unwrap())
            .collect()
    }
}
