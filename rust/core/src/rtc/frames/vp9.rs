//! VP9 over RTP (RFC 9628): each payload is a payload descriptor then a piece of a layer
//! frame (B on its first packet, E on its last). The layer frames of one picture share a
//! timestamp; joined, they make a superframe (VP9 bitstream Annex B), the unit libvpx
//! decodes and WebM stores.

use super::{DepacketizedFrame, FrameError};
use crate::packet::codecs::vp9::Vp9PayloadDescriptor;
use crate::packet::codecs::PayloadCodec;

const I_BIT: u8 = 0x80;
const P_BIT: u8 = 0x40;
const L_BIT: u8 = 0x20;
const F_BIT: u8 = 0x10;
const B_BIT: u8 = 0x08;
const E_BIT: u8 = 0x04;
const M_BIT: u8 = 0x80;
/// The one reference a packetized inter picture names: the previous picture (P_DIFF 1, N 0).
const P_DIFF_PREVIOUS_PICTURE: u8 = 1 << 1;
/// Superframe index marker: the top three bits of its first and last byte (Annex B.2).
const SUPERFRAME_MARKER: u8 = 0b1100_0000;
/// A superframe holds at most 8 frames.
const MAX_SUPERFRAME_FRAMES: usize = 8;

/// B set: the packet starts a layer frame.
pub fn starts_frame(payload: &[u8]) -> bool {
    Vp9PayloadDescriptor::parse(payload).is_ok_and(|d| d.start_of_frame)
}

/// Concatenates each layer frame's payloads after their descriptors; several layer frames
/// become one superframe.
pub fn depacketize<'a>(
    payloads: impl IntoIterator<Item = &'a [u8]>,
    out: &mut Vec<u8>,
) -> Result<DepacketizedFrame, FrameError> {
    let malformed = |reason: &str| FrameError::malformed_payload(PayloadCodec::Vp9, reason);
    let mut frame = DepacketizedFrame::default();
    // End offsets in `out` of the layer frames read so far.
    let mut layer_frame_ends = [0_usize; MAX_SUPERFRAME_FRAMES];
    let mut layer_frames = 0;
    let mut in_layer_frame = false;
    for (index, payload) in payloads.into_iter().enumerate() {
        let descriptor = Vp9PayloadDescriptor::parse(payload)
            .map_err(|error| FrameError::malformed_payload(PayloadCodec::Vp9, error))?;
        if descriptor.start_of_frame == in_layer_frame {
            return Err(malformed(if in_layer_frame {
                "a layer frame starts before the previous one ended"
            } else {
                "a packet continues a layer frame that did not start"
            }));
        }
        let layer = descriptor.layer.unwrap_or_default();
        if index == 0 {
            frame.is_keyframe = descriptor.is_keyframe;
            frame.temporal_layer = layer.temporal_id;
        }
        frame.spatial_layer = frame.spatial_layer.max(layer.spatial_id);
        out.extend_from_slice(payload.get(descriptor.len..).unwrap_or_default());
        in_layer_frame = !descriptor.end_of_frame;
        if descriptor.end_of_frame {
            let end = layer_frame_ends
                .get_mut(layer_frames)
                .ok_or_else(|| malformed("more than 8 layer frames in one picture"))?;
            *end = out.len();
            layer_frames += 1;
        }
    }
    if in_layer_frame || layer_frames == 0 {
        return Err(malformed("the last layer frame has no end (E)"));
    }
    if layer_frame_ends[..layer_frames]
        .iter()
        .scan(0, |start, &end| Some(end - std::mem::replace(start, end)))
        .any(|size| size == 0)
    {
        return Err(malformed("a layer frame has no data"));
    }
    if layer_frames > 1 {
        append_superframe_index(&layer_frame_ends[..layer_frames], out);
    }
    Ok(frame)
}

/// Appends the index that makes `out`'s layer frames (ending at `ends`) a superframe.
fn append_superframe_index(ends: &[usize], out: &mut Vec<u8>) {
    let sizes = ends
        .iter()
        .scan(0, |start, &end| Some(end - std::mem::replace(start, end)));
    let largest = sizes.clone().max().unwrap_or(0);
    let bytes_per_size = (1..=4)
        .find(|&bytes| largest >> (8 * bytes) == 0)
        .unwrap_or(4);
    let marker = SUPERFRAME_MARKER | ((bytes_per_size as u8 - 1) << 3) | (ends.len() as u8 - 1);
    out.push(marker);
    for size in sizes {
        out.extend_from_slice(&(size as u32).to_le_bytes()[..bytes_per_size]);
    }
    out.push(marker);
}

/// Splits a frame (one spatial layer) into payloads of at most `max_payload_size`, in
/// flexible mode: a 15-bit `picture_id`, layer 0, and for an inter picture one reference
/// to the previous picture.
pub fn packetize(
    frame: &[u8],
    keyframe: bool,
    picture_id: u16,
    max_payload_size: usize,
    out: &mut Vec<Vec<u8>>,
) -> Result<(), FrameError> {
    if frame.is_empty() {
        return Err(FrameError::EmptyFrame);
    }
    let [id_high, id_low] = (picture_id & 0x7FFF).to_be_bytes();
    let mut descriptor = vec![I_BIT | L_BIT | F_BIT, M_BIT | id_high, id_low, 0];
    if !keyframe {
        descriptor[0] |= P_BIT;
        descriptor.push(P_DIFF_PREVIOUS_PICTURE);
    }
    let chunk_size = max_payload_size
        .checked_sub(descriptor.len())
        .filter(|&size| size > 0)
        .ok_or(FrameError::PayloadSizeTooSmall(max_payload_size))?;
    let chunks = frame.len().div_ceil(chunk_size);
    for (index, chunk) in frame.chunks(chunk_size).enumerate() {
        let mut payload = Vec::with_capacity(descriptor.len() + chunk.len());
        payload.extend_from_slice(&descriptor);
        if index == 0 {
            payload[0] |= B_BIT;
        }
        if index + 1 == chunks {
            payload[0] |= E_BIT;
        }
        payload.extend_from_slice(chunk);
        out.push(payload);
    }
    Ok(())
}
