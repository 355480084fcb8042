//! mediasoup's producer `trace` events (`enableTraceEvent`): which kinds a producer reports
//! and what each report says.

use crate::packet::rtp::RtpPacket;

/// A kind of trace event, as a bit of a producer's enabled set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum TraceKind {
    /// Every RTP packet received.
    Rtp = 1,
    /// Every video keyframe packet received.
    KeyFrame = 2,
    /// NACKs sent to the client.
    Nack = 4,
    /// PLIs sent to the client.
    Pli = 8,
    /// FIRs sent to the client.
    Fir = 16,
}

impl TraceKind {
    /// mediasoup's name of the kind.
    pub fn name(self) -> &'static str {
        match self {
            TraceKind::Rtp => "rtp",
            TraceKind::KeyFrame => "keyframe",
            TraceKind::Nack => "nack",
            TraceKind::Pli => "pli",
            TraceKind::Fir => "fir",
        }
    }

    /// Whether `enabled` (a set of kinds' bits) includes this kind.
    pub fn is_in(self, enabled: u8) -> bool {
        enabled & self as u8 != 0
    }
}

/// What a trace event is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TraceInfo {
    /// A received RTP packet (router terms, with the client's SSRC).
    Rtp {
        /// Payload type.
        payload_type: u8,
        /// Sequence number.
        sequence_number: u16,
        /// RTP timestamp.
        timestamp: u32,
        /// Marker bit.
        marker: bool,
        /// The client's SSRC.
        ssrc: u32,
        /// Whether it starts a keyframe.
        is_key_frame: bool,
        /// Whole packet length.
        size: usize,
        /// Payload length.
        payload_size: usize,
        /// Whether it arrived as an RTX repair.
        is_rtx: bool,
    },
    /// A keyframe request (PLI, or FIR with its sequence number) sent to the client.
    KeyFrameRequest {
        /// The client's stream.
        ssrc: u32,
        /// The FIR sequence number (FIR only).
        fir_sequence_number: Option<u8>,
    },
    /// A NACK sent to the client.
    Nack {
        /// The client's stream.
        ssrc: u32,
        /// How many packets it asks for.
        lost: usize,
    },
}

/// One trace event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerTrace {
    /// Its kind.
    pub kind: TraceKind,
    /// Received from the client (`in`), rather than sent to it.
    pub incoming: bool,
    /// Wall clock, ms since the Unix epoch.
    pub timestamp_ms: u64,
    /// The details.
    pub info: TraceInfo,
}

impl TraceInfo {
    /// The info of an accepted packet.
    pub fn of_rtp(
        packet: &[u8],
        client_ssrc: u32,
        is_key_frame: bool,
        is_rtx: bool,
    ) -> Option<Self> {
        let view = RtpPacket::parse(packet).ok()?;
        Some(TraceInfo::Rtp {
            payload_type: view.payload_type(),
            sequence_number: view.sequence_number(),
            timestamp: view.timestamp(),
            marker: view.marker(),
            ssrc: client_ssrc,
            is_key_frame,
            size: packet.len(),
            payload_size: view.payload().len(),
            is_rtx,
        })
    }
}
