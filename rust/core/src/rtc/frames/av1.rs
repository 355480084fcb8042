//! AV1 over RTP (the AV1 RTP payload specification, §4): each payload is an aggregation
//! header then OBU elements, OBUs without their size fields, the first element continuing
//! the previous packet's last OBU when Z is set. Frames are temporal units in the
//! low-overhead bitstream format (AV1 §5: each OBU with its size field, a temporal delimiter
//! first), what decoders and muxers read.

use super::{DepacketizedFrame, FrameError};
use crate::packet::codecs::av1::{
    read_leb128, Av1AggregationHeader, ObuElements, OBU_SEQUENCE_HEADER,
};
use crate::packet::codecs::PayloadCodec;

/// A temporal delimiter OBU with an empty payload: the start of every temporal unit.
const TEMPORAL_DELIMITER: [u8; 2] = [0x12, 0x00];
const OBU_TEMPORAL_DELIMITER: u8 = 2;
const OBU_TILE_LIST: u8 = 8;
const OBU_PADDING: u8 = 15;
const OBU_FORBIDDEN_BIT: u8 = 0x80;
const OBU_EXTENSION_FLAG: u8 = 0x04;
const OBU_HAS_SIZE_FIELD: u8 = 0x02;

fn malformed_payload(reason: impl ToString) -> FrameError {
    FrameError::malformed_payload(PayloadCodec::Av1, reason)
}

fn malformed_frame(reason: impl ToString) -> FrameError {
    FrameError::malformed_frame(PayloadCodec::Av1, reason)
}

/// The packet does not continue an OBU from an earlier one.
pub fn starts_frame(payload: &[u8]) -> bool {
    Av1AggregationHeader::parse(payload).is_ok_and(|header| !header.continues_previous)
}

/// An OBU split into its parts.
struct Obu<'a> {
    header: u8,
    extension: Option<u8>,
    payload: &'a [u8],
}

impl Obu<'_> {
    fn obu_type(&self) -> u8 {
        (self.header >> 3) & 0x0F
    }

    /// Appends the OBU with a size field.
    fn write_sized(&self, out: &mut Vec<u8>) {
        out.push(self.header | OBU_HAS_SIZE_FIELD);
        out.extend(self.extension);
        write_leb128(self.payload.len(), out);
        out.extend_from_slice(self.payload);
    }

    /// Appends the OBU as an RTP element: without its size field.
    fn write_unsized(&self, out: &mut Vec<u8>) {
        out.push(self.header & !OBU_HAS_SIZE_FIELD);
        out.extend(self.extension);
        out.extend_from_slice(self.payload);
    }
}

/// Reads the OBU at the start of `bytes`: with a size field, it ends where the field says
/// (the rest is returned); without, it runs to the end.
fn read_obu(bytes: &[u8]) -> Result<(Obu<'_>, &[u8]), String> {
    let header = *bytes.first().ok_or("empty OBU")?;
    if header & OBU_FORBIDDEN_BIT != 0 {
        return Err(format!(
            "OBU header {header:#04x} has the forbidden bit set"
        ));
    }
    let mut pos = 1;
    let extension = if header & OBU_EXTENSION_FLAG != 0 {
        pos += 1;
        Some(*bytes.get(1).ok_or("OBU ends before its extension header")?)
    } else {
        None
    };
    let (payload, rest) = if header & OBU_HAS_SIZE_FIELD != 0 {
        let (size, start) =
            read_leb128(bytes, pos).map_err(|_| "OBU size field is not a valid LEB128 value")?;
        let payload = bytes
            .get(start..start + size)
            .ok_or_else(|| format!("OBU size {size} runs past the data"))?;
        (payload, &bytes[start + size..])
    } else {
        (bytes.get(pos..).unwrap_or_default(), &[][..])
    };
    Ok((
        Obu {
            header,
            extension,
            payload,
        },
        rest,
    ))
}

fn write_leb128(mut value: usize, out: &mut Vec<u8>) {
    loop {
        let byte = (value & 0x7F) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn leb128_len(value: usize) -> usize {
    (usize::BITS - value.leading_zeros()).div_ceil(7).max(1) as usize
}

/// Whether an OBU type is dropped in transit (the spec's §5: temporal delimiters are
/// implied by the RTP timestamp; tile lists and padding are not sent).
fn is_dropped_in_transit(obu_type: u8) -> bool {
    matches!(
        obu_type,
        OBU_TEMPORAL_DELIMITER | OBU_TILE_LIST | OBU_PADDING
    )
}

/// Appends complete OBUs to a temporal unit, noting what they say about the frame.
struct TemporalUnitWriter<'o> {
    out: &'o mut Vec<u8>,
    frame: DepacketizedFrame,
    has_obus: bool,
}

impl TemporalUnitWriter<'_> {
    fn append(&mut self, obu_bytes: &[u8]) -> Result<(), FrameError> {
        let (obu, _) = read_obu(obu_bytes).map_err(malformed_payload)?;
        let obu_type = obu.obu_type();
        if is_dropped_in_transit(obu_type) {
            return Ok(());
        }
        self.frame.is_keyframe |= obu_type == OBU_SEQUENCE_HEADER;
        if let Some(extension) = obu.extension {
            self.frame.temporal_layer = self.frame.temporal_layer.max(extension >> 5);
            self.frame.spatial_layer = self.frame.spatial_layer.max((extension >> 3) & 0x03);
        }
        obu.write_sized(self.out);
        self.has_obus = true;
        Ok(())
    }
}

/// Rebuilds the temporal unit from the OBU elements of the payloads.
pub fn depacketize<'a>(
    payloads: impl IntoIterator<Item = &'a [u8]>,
    out: &mut Vec<u8>,
) -> Result<DepacketizedFrame, FrameError> {
    out.extend_from_slice(&TEMPORAL_DELIMITER);
    let mut unit = TemporalUnitWriter {
        out,
        frame: DepacketizedFrame::default(),
        has_obus: false,
    };
    // An OBU whose element continues in the next packet.
    let mut fragment: Vec<u8> = Vec::new();
    let mut in_fragment = false;
    for (index, payload) in payloads.into_iter().enumerate() {
        let header = Av1AggregationHeader::parse(payload).map_err(malformed_payload)?;
        if index == 0 && header.new_coded_video_sequence {
            unit.frame.is_keyframe = true;
        }
        if header.continues_previous != in_fragment {
            return Err(malformed_payload(if in_fragment {
                "an OBU fragment is not continued by the next packet"
            } else {
                "a packet continues an OBU that did not start"
            }));
        }
        let mut elements = ObuElements::new(payload, header).peekable();
        let mut first = true;
        while let Some(element) = elements.next() {
            let element = element.map_err(malformed_payload)?;
            let is_last = elements.peek().is_none();
            let continues = first && header.continues_previous;
            first = false;
            if continues || (is_last && header.continues_next) {
                fragment.extend_from_slice(element);
            }
            if is_last && header.continues_next {
                in_fragment = true;
                continue;
            }
            if continues {
                unit.append(&fragment)?;
                fragment.clear();
            } else if !element.is_empty() {
                unit.append(element)?;
            }
            in_fragment = false;
        }
        if first && header.continues_previous {
            return Err(malformed_payload("a continuation packet has no element"));
        }
    }
    if in_fragment {
        return Err(malformed_payload("the last OBU fragment has no end"));
    }
    if !unit.has_obus {
        return Err(malformed_payload("no OBU"));
    }
    Ok(unit.frame)
}

/// Splits a temporal unit (low-overhead format) into payloads of at most
/// `max_payload_size`: temporal delimiters, tile lists and padding are dropped, every other
/// OBU goes without its size field as a length-prefixed element, fragmented across packets
/// when it does not fit. N is set on a keyframe that carries a sequence header.
pub fn packetize(
    frame: &[u8],
    keyframe: bool,
    max_payload_size: usize,
    out: &mut Vec<Vec<u8>>,
) -> Result<(), FrameError> {
    if frame.is_empty() {
        return Err(FrameError::EmptyFrame);
    }
    // Aggregation header, a one-byte length and a byte of OBU.
    if max_payload_size < 3 {
        return Err(FrameError::PayloadSizeTooSmall(max_payload_size));
    }
    let mut elements = Vec::new();
    let mut rest = frame;
    let mut has_sequence_header = false;
    while !rest.is_empty() {
        let (obu, after) = read_obu(rest).map_err(malformed_frame)?;
        rest = after;
        if is_dropped_in_transit(obu.obu_type()) {
            continue;
        }
        has_sequence_header |= obu.obu_type() == OBU_SEQUENCE_HEADER;
        let mut element = Vec::with_capacity(2 + obu.payload.len());
        obu.write_unsized(&mut element);
        elements.push(element);
    }
    if elements.is_empty() {
        return Err(malformed_frame("no OBU to send"));
    }
    let new_packet = |continues_previous: bool| {
        let header = Av1AggregationHeader {
            continues_previous,
            continues_next: false,
            element_count: 0,
            new_coded_video_sequence: false,
        };
        vec![header.to_byte()]
    };
    let first = out.len();
    let mut packet = new_packet(false);
    for element in &elements {
        let mut offset = 0;
        while offset < element.len() {
            let room = max_payload_size - packet.len();
            let length_len = leb128_len(room);
            let chunk = (element.len() - offset).min(room.saturating_sub(length_len));
            if chunk == 0 {
                out.push(std::mem::replace(&mut packet, new_packet(false)));
                continue;
            }
            write_leb128(chunk, &mut packet);
            packet.extend_from_slice(&element[offset..offset + chunk]);
            offset += chunk;
            if offset < element.len() {
                // Y: this element continues in the next packet, which starts with Z.
                packet[0] |= Av1AggregationHeader {
                    continues_previous: false,
                    continues_next: true,
                    element_count: 0,
                    new_coded_video_sequence: false,
                }
                .to_byte();
                out.push(std::mem::replace(&mut packet, new_packet(true)));
            }
        }
    }
    out.push(packet);
    if keyframe && has_sequence_header {
        if let Some(first_packet) = out.get_mut(first) {
            first_packet[0] |= Av1AggregationHeader {
                continues_previous: false,
                continues_next: false,
                element_count: 0,
                new_coded_video_sequence: true,
            }
            .to_byte();
        }
    }
    Ok(())
}
