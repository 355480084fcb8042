//! RTP packets (RFC 3550 §5.1) as zero-copy views rewritten in place, with RFC 8285 header
//! extensions, RTX (RFC 4588), and an owned header for building packets.
//!
//! The hot path of the SFU is receive, rewrite, forward: [`RtpPacket::parse`] validates a
//! datagram once, then the router reads the extensions it routes on (MID, RID), and each
//! consumer rewrites payload type, SSRC, sequence number, timestamp and extension ids in
//! place ([`RtpPacket::remap_header_extension_ids`]) before protecting and sending. Nothing
//! allocates per packet. Operations that change the packet length (MID/RID values,
//! [`rtx_encapsulate`]) work on a caller-provided buffer with spare capacity and return the
//! new length.
//!
//! Typed values of the extensions an SFU uses live in [`extensions`].

mod copy_writer;
mod error;
mod extension_edit;
mod extension_id_map;
pub mod extensions;
mod header;
mod header_extension;
mod packet;
mod rtx;

pub use copy_writer::{write_copy, CopyHeader, CopyLayout, CopySource};
pub use error::RtpError;
pub use extension_edit::{remove_header_extension, upsert_header_extension};
pub use extension_id_map::ExtensionIdMap;
pub use header::{ExtensionBlock, RtpHeader};
pub use header_extension::{
    ExtensionForm, HeaderExtensions, ONE_BYTE_MAX_ID, ONE_BYTE_MAX_VALUE_LEN, ONE_BYTE_PROFILE,
    TWO_BYTE_MAX_VALUE_LEN, TWO_BYTE_PROFILE,
};
pub use packet::{Csrcs, RtpPacket, FIXED_HEADER_LEN, RTP_VERSION};
pub use rtx::{rtx_decapsulate, rtx_encapsulate, RTX_OSN_LEN};

#[cfg(test)]
mod forwarding_tests;
