//! VP8 over RTP (RFC 7741): each payload is a payload descriptor then a piece of the frame;
//! a frame starts at the packet with S set and partition index 0.

use super::{DepacketizedFrame, FrameError};
use crate::packet::codecs::vp8::Vp8PayloadDescriptor;
use crate::packet::codecs::PayloadCodec;

/// The descriptor a packetizer writes: X, then I with a 15-bit picture id.
const DESCRIPTOR_LEN: usize = 4;
const X_BIT: u8 = 0x80;
const S_BIT: u8 = 0x10;
const I_BIT: u8 = 0x80;
const M_BIT: u8 = 0x80;

/// S set with partition index 0.
pub fn starts_frame(payload: &[u8]) -> bool {
    Vp8PayloadDescriptor::parse(payload)
        .is_ok_and(|d| d.start_of_partition && d.partition_index == 0)
}

/// Concatenates the payloads after their descriptors (RFC 7741 §4.5).
pub fn depacketize<'a>(
    payloads: impl IntoIterator<Item = &'a [u8]>,
    out: &mut Vec<u8>,
) -> Result<DepacketizedFrame, FrameError> {
    let mut frame = DepacketizedFrame::default();
    for (index, payload) in payloads.into_iter().enumerate() {
        let descriptor = Vp8PayloadDescriptor::parse(payload)
            .map_err(|error| FrameError::malformed_payload(PayloadCodec::Vp8, error))?;
        if index == 0 {
            if !(descriptor.start_of_partition && descriptor.partition_index == 0) {
                return Err(FrameError::malformed_payload(
                    PayloadCodec::Vp8,
                    "first packet does not start partition 0",
                ));
            }
            frame.is_keyframe = descriptor.is_keyframe;
            frame.temporal_layer = descriptor.temporal_id.unwrap_or(0);
        }
        out.extend_from_slice(payload.get(descriptor.len..).unwrap_or_default());
    }
    if out.is_empty() {
        return Err(FrameError::malformed_payload(
            PayloadCodec::Vp8,
            "no frame data",
        ));
    }
    Ok(frame)
}

/// Splits a frame into payloads of at most `max_payload_size`, each with a descriptor
/// carrying `picture_id` (15 bits); S on the first.
pub fn packetize(
    frame: &[u8],
    picture_id: u16,
    max_payload_size: usize,
    out: &mut Vec<Vec<u8>>,
) -> Result<(), FrameError> {
    if frame.is_empty() {
        return Err(FrameError::EmptyFrame);
    }
    let chunk_size = max_payload_size
        .checked_sub(DESCRIPTOR_LEN)
        .filter(|&size| size > 0)
        .ok_or(FrameError::PayloadSizeTooSmall(max_payload_size))?;
    let [id_high, id_low] = (picture_id & 0x7FFF).to_be_bytes();
    for (index, chunk) in frame.chunks(chunk_size).enumerate() {
        let start = if index == 0 { S_BIT } else { 0 };
        let mut payload = Vec::with_capacity(DESCRIPTOR_LEN + chunk.len());
        payload.extend_from_slice(&[X_BIT | start, I_BIT, M_BIT | id_high, id_low]);
        payload.extend_from_slice(chunk);
        out.push(payload);
    }
    Ok(())
}
