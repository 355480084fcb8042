//! H.264 over RTP in packetization mode 1 (RFC 6184): single NAL unit packets, STAP-A
//! aggregates of small NAL units, and FU-A fragments of large ones. Frames are Annex B byte
//! streams (each NAL unit after a 4-byte start code), what decoders and muxers read.

use super::{DepacketizedFrame, FrameError};
use crate::packet::codecs::h264::{NAL_FU_A, NAL_IDR, NAL_STAP_A};
use crate::packet::codecs::PayloadCodec;

const START_CODE: [u8; 4] = [0, 0, 0, 1];
const NAL_TYPE_MASK: u8 = 0x1F;
/// F and NRI: the NAL unit header bits an FU indicator and a STAP-A header carry over.
const NAL_F_NRI_MASK: u8 = 0xE0;
const FU_START_BIT: u8 = 0x80;
const FU_END_BIT: u8 = 0x40;
const STAP_SIZE_LEN: usize = 2;
/// FU indicator and FU header.
const FU_HEADERS_LEN: usize = 2;

fn malformed(reason: impl ToString) -> FrameError {
    FrameError::malformed_payload(PayloadCodec::H264, reason)
}

/// A single NAL unit, a STAP-A, or the first fragment of an FU-A.
pub fn starts_frame(payload: &[u8]) -> bool {
    match payload {
        [header, fu_header, ..] if header & NAL_TYPE_MASK == NAL_FU_A => {
            fu_header & FU_START_BIT != 0
        }
        [header, ..] => matches!(header & NAL_TYPE_MASK, 1..=23 | NAL_STAP_A),
        [] => false,
    }
}

/// Writes the NAL units of the payloads as an Annex B byte stream.
pub fn depacketize<'a>(
    payloads: impl IntoIterator<Item = &'a [u8]>,
    out: &mut Vec<u8>,
) -> Result<DepacketizedFrame, FrameError> {
    let mut frame = DepacketizedFrame::default();
    let mut note = |nal_header: u8| frame.is_keyframe |= nal_header & NAL_TYPE_MASK == NAL_IDR;
    let mut in_fragmented_unit = false;
    for payload in payloads {
        let header = *payload.first().ok_or_else(|| malformed("empty payload"))?;
        let nal_type = header & NAL_TYPE_MASK;
        if in_fragmented_unit && nal_type != NAL_FU_A {
            return Err(malformed("a fragmented NAL unit has no end fragment"));
        }
        match nal_type {
            1..=23 => {
                note(header);
                out.extend_from_slice(&START_CODE);
                out.extend_from_slice(payload);
            }
            NAL_STAP_A => {
                let mut rest = &payload[1..];
                if rest.is_empty() {
                    return Err(malformed("STAP-A has no NAL unit"));
                }
                while let Some((size, after)) = rest.split_first_chunk::<STAP_SIZE_LEN>() {
                    let size = usize::from(u16::from_be_bytes(*size));
                    let nal = after
                        .get(..size)
                        .filter(|nal| !nal.is_empty())
                        .ok_or_else(|| malformed("STAP-A NAL unit size runs past the packet"))?;
                    note(nal[0]);
                    out.extend_from_slice(&START_CODE);
                    out.extend_from_slice(nal);
                    rest = &after[size..];
                }
                if !rest.is_empty() {
                    return Err(malformed("STAP-A ends inside a NAL unit size"));
                }
            }
            NAL_FU_A => {
                let fu_header = *payload
                    .get(1)
                    .ok_or_else(|| malformed("FU-A has no FU header"))?;
                let (start, end) = (fu_header & FU_START_BIT != 0, fu_header & FU_END_BIT != 0);
                if start == in_fragmented_unit || (start && end) {
                    return Err(malformed(if start && end {
                        "FU-A header has both start and end bits"
                    } else if start {
                        "an FU-A starts before the previous one ended"
                    } else {
                        "an FU-A fragment continues a NAL unit that did not start"
                    }));
                }
                if start {
                    let nal_header = (header & NAL_F_NRI_MASK) | (fu_header & NAL_TYPE_MASK);
                    note(nal_header);
                    out.extend_from_slice(&START_CODE);
                    out.push(nal_header);
                }
                out.extend_from_slice(&payload[FU_HEADERS_LEN..]);
                in_fragmented_unit = !end;
            }
            other => {
                return Err(malformed(format!(
                    "NAL unit type {other} is not used in packetization mode 1"
                )))
            }
        }
    }
    if in_fragmented_unit {
        return Err(malformed("a fragmented NAL unit has no end fragment"));
    }
    if out.is_empty() {
        return Err(malformed("no NAL unit"));
    }
    Ok(frame)
}

/// The NAL units of an Annex B byte stream (3- or 4-byte start codes), without the zero
/// bytes that may trail each one.
pub fn annex_b_nal_units(stream: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= stream.len() {
        if stream[i..i + 3] == [0, 0, 1] {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    let ends: Vec<usize> = starts
        .iter()
        .skip(1)
        .map(|&next| next - 3)
        .chain(std::iter::once(stream.len()))
        .collect();
    starts
        .into_iter()
        .zip(ends)
        .filter_map(move |(start, end)| {
            let nal = &stream[start..end.max(start)];
            let trimmed = nal.len() - nal.iter().rev().take_while(|&&b| b == 0).count();
            Some(&nal[..trimmed]).filter(|nal| !nal.is_empty())
        })
}

/// Splits an Annex B frame into payloads of at most `max_payload_size`: NAL units that fit
/// are sent alone or aggregated into STAP-As, larger ones fragmented into FU-As.
pub fn packetize(
    frame: &[u8],
    max_payload_size: usize,
    out: &mut Vec<Vec<u8>>,
) -> Result<(), FrameError> {
    if frame.is_empty() {
        return Err(FrameError::EmptyFrame);
    }
    if max_payload_size <= FU_HEADERS_LEN {
        return Err(FrameError::PayloadSizeTooSmall(max_payload_size));
    }
    // A STAP-A's sizes are 16 bits; RTP payloads are smaller anyway.
    let max_payload_size = max_payload_size.min(usize::from(u16::MAX));
    let first = out.len();
    // NAL units waiting to be sent together, and the size of their STAP-A.
    let mut pending: Vec<&[u8]> = Vec::new();
    let mut pending_stap_len = 1;
    for nal in annex_b_nal_units(frame) {
        let nal_type = nal[0] & NAL_TYPE_MASK;
        if !(1..=23).contains(&nal_type) || nal[0] & 0x80 != 0 {
            return Err(FrameError::malformed_frame(
                PayloadCodec::H264,
                format!("NAL unit header {:#04x} is not a valid NAL unit", nal[0]),
            ));
        }
        if pending_stap_len + STAP_SIZE_LEN + nal.len() > max_payload_size {
            flush(&mut pending, out);
            pending_stap_len = 1;
        }
        if nal.len() > max_payload_size {
            fragment(nal, max_payload_size, out);
        } else {
            pending.push(nal);
            pending_stap_len += STAP_SIZE_LEN + nal.len();
        }
    }
    flush(&mut pending, out);
    if out.len() == first {
        return Err(FrameError::malformed_frame(
            PayloadCodec::H264,
            "no NAL unit after an Annex B start code",
        ));
    }
    Ok(())
}

/// Sends the pending NAL units: one alone, several as a STAP-A.
fn flush(pending: &mut Vec<&[u8]>, out: &mut Vec<Vec<u8>>) {
    match pending.as_slice() {
        [] => {}
        [nal] => out.push(nal.to_vec()),
        nals => {
            // NRI is the aggregated units' maximum (§5.7.1); their F bits are all clear.
            let nri = nals.iter().map(|nal| nal[0] & 0x60).max().unwrap_or(0);
            let mut payload = vec![nri | NAL_STAP_A];
            for nal in nals {
                payload.extend_from_slice(&(nal.len() as u16).to_be_bytes());
                payload.extend_from_slice(nal);
            }
            out.push(payload);
        }
    }
    pending.clear();
}

/// Sends one NAL unit as FU-A fragments.
fn fragment(nal: &[u8], max_payload_size: usize, out: &mut Vec<Vec<u8>>) {
    let indicator = (nal[0] & NAL_F_NRI_MASK) | NAL_FU_A;
    let nal_type = nal[0] & NAL_TYPE_MASK;
    let body = &nal[1..];
    let chunk_size = max_payload_size - FU_HEADERS_LEN;
    let chunks = body.len().div_ceil(chunk_size);
    for (index, chunk) in body.chunks(chunk_size).enumerate() {
        let mut fu_header = nal_type;
        if index == 0 {
            fu_header |= FU_START_BIT;
        }
        if index + 1 == chunks {
            fu_header |= FU_END_BIT;
        }
        let mut payload = Vec::with_capacity(FU_HEADERS_LEN + chunk.len());
        payload.extend_from_slice(&[indicator, fu_header]);
        payload.extend_from_slice(chunk);
        out.push(payload);
    }
}
