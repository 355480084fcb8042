//! A stream's packetizer: splits each frame into RTP payloads that fit, per codec, keeping
//! what runs across frames (VP8 and VP9 picture ids). Sequence numbers, timestamps, pacing
//! and sender reports are the sending stream's business.

use super::{av1, h264, opus, vp8, vp9, FrameError};
use crate::packet::codecs::PayloadCodec;

/// RTP payloads of at most this size keep a packet (with RTP and SRTP headers and header
/// extensions) under a 1280-byte IPv6 minimum MTU path with room to spare.
pub const DEFAULT_MAX_PAYLOAD_SIZE: usize = 1100;

/// Splits frames of one codec into RTP payloads.
#[derive(Debug, Clone)]
pub struct FramePacketizer {
    codec: PayloadCodec,
    max_payload_size: usize,
    /// The 15-bit picture id of the next VP8 or VP9 frame.
    next_picture_id: u16,
}

impl FramePacketizer {
    /// A packetizer for `codec` whose payloads stay within `max_payload_size`, starting VP8
    /// and VP9 picture ids at `first_picture_id` (senders start at a random one).
    pub fn new(codec: PayloadCodec, max_payload_size: usize, first_picture_id: u16) -> Self {
        FramePacketizer {
            codec,
            max_payload_size,
            next_picture_id: first_picture_id & 0x7FFF,
        }
    }

    /// The codec.
    pub fn codec(&self) -> PayloadCodec {
        self.codec
    }

    /// Appends the payloads of one frame to `out`, in order; the last one ends the frame
    /// (the RTP marker bit). Nothing is appended on error.
    pub fn packetize(
        &mut self,
        frame: &[u8],
        keyframe: bool,
        out: &mut Vec<Vec<u8>>,
    ) -> Result<(), FrameError> {
        let first = out.len();
        let result = match self.codec {
            PayloadCodec::Opus => opus::packetize(frame, self.max_payload_size, out),
            PayloadCodec::Vp8 => {
                vp8::packetize(frame, self.next_picture_id, self.max_payload_size, out)
            }
            PayloadCodec::Vp9 => vp9::packetize(
                frame,
                keyframe,
                self.next_picture_id,
                self.max_payload_size,
                out,
            ),
            PayloadCodec::H264 => h264::packetize(frame, self.max_payload_size, out),
            PayloadCodec::Av1 => av1::packetize(frame, keyframe, self.max_payload_size, out),
        };
        if result.is_err() {
            out.truncate(first);
        } else {
            self.next_picture_id = (self.next_picture_id + 1) & 0x7FFF;
        }
        result
    }
}
