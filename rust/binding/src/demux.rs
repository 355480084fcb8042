//! `classify_datagram`: what a media port does first with every datagram (RFC 7983).

use mediasoup_core::packet::demux::{classify, DatagramKind};
use pyo3::prelude::*;

/// The kind of a datagram received on a WebRTC media port: "stun", "dtls", "rtp", "rtcp" or
/// "unknown" (RFC 7983 §7 by first byte, RFC 5761 §4 for RTP versus RTCP).
#[pyfunction]
pub fn classify_datagram(data: &[u8]) -> &'static str {
    match classify(data) {
        DatagramKind::Stun => "stun",
        DatagramKind::Dtls => "dtls",
        DatagramKind::Rtp => "rtp",
        DatagramKind::Rtcp => "rtcp",
        DatagramKind::Unknown => "unknown",
    }
}
