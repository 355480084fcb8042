//! SCTP for WebRTC data channels (RFC 8261 SCTP over DTLS, RFC 8831 data channels, RFC 8832
//! DCEP), sans-IO. The protocol engine is the `sctp-proto` crate (the one str0m maintains);
//! this module is what the SFU needs around it:
//!
//! - [`association`]: one association per transport, fed packets and time, returning packets,
//!   a deadline and events; mediasoup's limits and counters.
//! - [`dcep`]: DATA_CHANNEL_OPEN / DATA_CHANNEL_ACK on the wire.
//! - [`ppid`]: the payload protocol identifiers of data channel messages.
//! - [`reliability`]: a stream's order and partial reliability.

pub mod association;
pub mod dcep;
pub mod ppid;
pub mod reliability;

pub use association::{
    SctpAssociation, SctpConfig, SctpDropCounters, SctpEvent, SctpMessageDrop, SctpRefusedCounters,
    SctpRole, SctpSendError, SctpState, SctpStreamError,
};
/// The message type: one allocation shared by every stream a message is queued on.
pub use bytes::Bytes;
pub use dcep::{DcepError, DcepMessage, DcepOpen};
pub use ppid::Ppid;
pub use reliability::{Reliability, StreamReliability};
