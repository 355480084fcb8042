//! Opus over RTP (RFC 7587 §4.2): one Opus packet per RTP payload, as it is.

use super::{DepacketizedFrame, FrameError};
use crate::packet::codecs::opus::OpusPayloadDescriptor;
use crate::packet::codecs::PayloadCodec;

/// Every valid Opus packet is a frame of its own.
pub fn starts_frame(payload: &[u8]) -> bool {
    OpusPayloadDescriptor::parse(payload).is_ok()
}

/// The frame is the one payload; more than one packet per timestamp is not Opus over RTP.
pub fn depacketize<'a>(
    payloads: impl IntoIterator<Item = &'a [u8]>,
    out: &mut Vec<u8>,
) -> Result<DepacketizedFrame, FrameError> {
    let mut payloads = payloads.into_iter();
    let payload = payloads
        .next()
        .ok_or_else(|| FrameError::malformed_payload(PayloadCodec::Opus, "no packet"))?;
    if payloads.next().is_some() {
        return Err(FrameError::malformed_payload(
            PayloadCodec::Opus,
            "more than one packet with one timestamp",
        ));
    }
    OpusPayloadDescriptor::parse(payload)
        .map_err(|error| FrameError::malformed_payload(PayloadCodec::Opus, error))?;
    out.extend_from_slice(payload);
    Ok(DepacketizedFrame {
        is_keyframe: true,
        ..DepacketizedFrame::default()
    })
}

/// One payload: the Opus packet, which must fit (Opus packets are small; RFC 7587 has no
/// fragmentation).
pub fn packetize(
    frame: &[u8],
    max_payload_size: usize,
    out: &mut Vec<Vec<u8>>,
) -> Result<(), FrameError> {
    OpusPayloadDescriptor::parse(frame)
        .map_err(|error| FrameError::malformed_frame(PayloadCodec::Opus, error))?;
    if frame.len() > max_payload_size {
        return Err(FrameError::malformed_frame(
            PayloadCodec::Opus,
            format!(
                "{} bytes do not fit a {max_payload_size}-byte payload",
                frame.len()
            ),
        ));
    }
    out.push(frame.to_vec());
    Ok(())
}
