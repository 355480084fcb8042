//! Encoded frames to and from RTP, sans-IO: what a DirectTransport consumer hands Python
//! (`consumer.frames()`) and what a DirectTransport producer's `send_frame` sends.
//!
//! - [`assembler`]: orders one stream's packets, finds frame boundaries, drops frames that
//!   lost a packet (and, for video, everything up to the next keyframe, asking for one), and
//!   hands complete frames to the codec's depacketizer.
//! - [`packetizer`]: splits a frame into RTP payloads that fit a size, per codec.
//! - [`capture_clock`]: the sender's wall clock of an RTP timestamp, from its sender reports.
//! - one module per codec, each with both directions of its RTP payload format:
//!   [`opus`] (RFC 7587), [`vp8`] (RFC 7741), [`vp9`] (RFC 9628, the VP9 RTP draft),
//!   [`h264`] (RFC 6184: single NAL unit, STAP-A and FU-A) and [`av1`] (the AV1 RTP
//!   payload specification).
//!
//! The frame formats are the ones decoders and muxers take: VP8 and VP9 frames as libvpx
//! writes them (several spatial layers of one picture joined as a VP9 superframe), H.264 as
//! an Annex B byte stream, AV1 as a temporal unit in the low-overhead bitstream format (OBUs
//! with size fields, a temporal delimiter first), and opus packets as they are.

pub mod assembler;
pub mod av1;
pub mod capture_clock;
pub mod h264;
pub mod opus;
pub mod packetizer;
pub mod vp8;
pub mod vp9;

use crate::packet::codecs::PayloadCodec;

/// Why a frame could not be built from its packets, or split into packets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// A packet's payload descriptor or aggregation does not parse.
    #[error("{codec} payload is malformed: {reason}")]
    MalformedPayload {
        /// The codec's mime type.
        codec: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A frame's bytes are not in the format the codec's packetizer takes.
    #[error("{codec} frame is malformed: {reason}")]
    MalformedFrame {
        /// The codec's mime type.
        codec: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// An empty frame: nothing to send.
    #[error("frame is empty")]
    EmptyFrame,
    /// The payload size leaves no room for the codec's headers and a byte of media.
    #[error("maximum payload size {0} is too small")]
    PayloadSizeTooSmall(usize),
}

impl FrameError {
    pub(crate) fn malformed_payload(codec: PayloadCodec, reason: impl ToString) -> Self {
        FrameError::MalformedPayload {
            codec: codec.mime_type(),
            reason: reason.to_string(),
        }
    }

    pub(crate) fn malformed_frame(codec: PayloadCodec, reason: impl ToString) -> Self {
        FrameError::MalformedFrame {
            codec: codec.mime_type(),
            reason: reason.to_string(),
        }
    }
}

/// What a depacketizer learned about the frame it built.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DepacketizedFrame {
    /// A decoder can start here.
    pub is_keyframe: bool,
    /// The highest spatial layer in the frame (VP9, AV1; 0 otherwise).
    pub spatial_layer: u8,
    /// The temporal layer of the frame (VP8, VP9, AV1; 0 otherwise).
    pub temporal_layer: u8,
}

/// Whether a payload can be the first packet of a frame of this codec (VP8's start of
/// partition 0, VP9's start of a layer frame, an H.264 NAL unit or first fragment, an AV1
/// packet that does not continue an OBU). After a loss, assembly resumes at such a packet.
pub fn starts_frame(codec: PayloadCodec, payload: &[u8]) -> bool {
    match codec {
        PayloadCodec::Opus => opus::starts_frame(payload),
        PayloadCodec::Vp8 => vp8::starts_frame(payload),
        PayloadCodec::Vp9 => vp9::starts_frame(payload),
        PayloadCodec::H264 => h264::starts_frame(payload),
        PayloadCodec::Av1 => av1::starts_frame(payload),
    }
}

/// Builds one frame from the payloads of its packets (in sequence order) into `out`
/// (cleared first).
pub fn depacketize<'a>(
    codec: PayloadCodec,
    payloads: impl IntoIterator<Item = &'a [u8]>,
    out: &mut Vec<u8>,
) -> Result<DepacketizedFrame, FrameError> {
    out.clear();
    match codec {
        PayloadCodec::Opus => opus::depacketize(payloads, out),
        PayloadCodec::Vp8 => vp8::depacketize(payloads, out),
        PayloadCodec::Vp9 => vp9::depacketize(payloads, out),
        PayloadCodec::H264 => h264::depacketize(payloads, out),
        PayloadCodec::Av1 => av1::depacketize(payloads, out),
    }
}

#[cfg(test)]
mod tests;
