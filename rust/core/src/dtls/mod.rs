//! DTLS-SRTP (RFC 5764) as a sans-IO state machine over OpenSSL.
//!
//! [`DtlsSession`] runs OpenSSL's DTLS 1.2 over an in-memory datagram channel: the transport
//! feeds it received datagrams and the time, and takes out the datagrams to send, the next
//! retransmission deadline, and events. When the handshake completes it checks the peer's
//! certificate against the fingerprint signaling gave (there is no CA), and exports the SRTP
//! keying material for the negotiated profile.

mod channel;
mod context;
mod record;
mod session;

pub use context::DtlsContext;
pub use session::{DtlsError, DtlsEvent, DtlsRole, DtlsSession, DtlsState};
