//! The AV1 RTP aggregation header and OBU elements (AV1 RTP payload format, §4.4–4.5), read
//! to spot the start of a coded video sequence (a key frame).
//!
//! ```text
//!  0 1 2 3 4 5 6 7
//! +-+-+-+-+-+-+-+-+
//! |Z|Y| W |N|-|-|-|   then OBU elements, each prefixed with its LEB128 length, except the
//! +-+-+-+-+-+-+-+-+   last one when W (the element count, 1..=3) is given
//! ```

const Z_BIT: u8 = 0x80;
const Y_BIT: u8 = 0x40;
const N_BIT: u8 = 0x08;
/// OBU_SEQUENCE_HEADER (AV1 bitstream §6.2.2).
pub const OBU_SEQUENCE_HEADER: u8 = 1;
/// The AV1 bitstream caps LEB128 at 8 bytes (§4.10.5).
const LEB128_MAX_BYTES: usize = 8;

/// Why an AV1 payload could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Av1Error {
    /// The payload is empty: no aggregation header.
    #[error("AV1 payload is empty: no aggregation header")]
    Empty,
    /// A LEB128 length runs past the payload or past 8 bytes, or exceeds 2^32 - 1.
    #[error("AV1 OBU element length at offset {offset} is not a valid LEB128 value")]
    BadLeb128 {
        /// Offset of the length field.
        offset: usize,
    },
    /// An OBU element runs past the payload, or fewer elements than W announces.
    #[error("AV1 OBU element {index} at offset {offset} needs {needed} bytes, payload has {got}")]
    ElementTruncated {
        /// Index of the element.
        index: usize,
        /// Offset of the element (after its length field).
        offset: usize,
        /// Bytes needed up to the element's end.
        needed: usize,
        /// Payload length.
        got: usize,
    },
}

/// The aggregation header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Av1AggregationHeader {
    /// Z: the first OBU element continues an OBU from the previous packet.
    pub continues_previous: bool,
    /// Y: the last OBU element continues in the next packet.
    pub continues_next: bool,
    /// W: number of OBU elements (1..=3), or 0 when each element carries its length.
    pub element_count: u8,
    /// N: the packet is the first of a coded video sequence.
    pub new_coded_video_sequence: bool,
}

/// A parsed AV1 RTP payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Av1PayloadDescriptor {
    /// The aggregation header.
    pub aggregation: Av1AggregationHeader,
    /// OBU elements in the packet.
    pub obu_elements: usize,
    /// The OBU type of the first element, when it starts an OBU (Z clear, element non-empty).
    pub first_obu_type: Option<u8>,
    /// The packet starts a key frame: N set, or its first element starts a sequence header.
    pub is_keyframe: bool,
}

/// Reads a LEB128 value at `pos`; returns it and the position after it.
pub fn read_leb128(payload: &[u8], pos: usize) -> Result<(usize, usize), Av1Error> {
    let mut value: u64 = 0;
    for i in 0..LEB128_MAX_BYTES {
        let byte = *payload
            .get(pos + i)
            .ok_or(Av1Error::BadLeb128 { offset: pos })?;
        value |= u64::from(byte & 0x7F) << (7 * i);
        if byte & 0x80 == 0 {
            let value = u32::try_from(value).map_err(|_| Av1Error::BadLeb128 { offset: pos })?;
            return Ok((value as usize, pos + i + 1));
        }
    }
    Err(Av1Error::BadLeb128 { offset: pos })
}

impl Av1AggregationHeader {
    /// Reads the first byte of a payload.
    pub fn parse(payload: &[u8]) -> Result<Self, Av1Error> {
        let header = *payload.first().ok_or(Av1Error::Empty)?;
        Ok(Av1AggregationHeader {
            continues_previous: header & Z_BIT != 0,
            continues_next: header & Y_BIT != 0,
            element_count: (header >> 4) & 0x03,
            new_coded_video_sequence: header & N_BIT != 0,
        })
    }

    /// The header byte, as a packetizer writes it.
    pub fn to_byte(self) -> u8 {
        let mut byte = (self.element_count & 0x03) << 4;
        if self.continues_previous {
            byte |= Z_BIT;
        }
        if self.continues_next {
            byte |= Y_BIT;
        }
        if self.new_coded_video_sequence {
            byte |= N_BIT;
        }
        byte
    }
}

/// The OBU elements of a payload, in order: each is an OBU, or a fragment of one when it is
/// the first element with Z set or the last with Y set. An error ends the walk.
#[derive(Debug, Clone)]
pub struct ObuElements<'a> {
    payload: &'a [u8],
    announced: usize,
    pos: usize,
    index: usize,
    done: bool,
}

impl<'a> ObuElements<'a> {
    /// Walks the elements after the aggregation header of `payload`.
    pub fn new(payload: &'a [u8], header: Av1AggregationHeader) -> Self {
        ObuElements {
            payload,
            announced: usize::from(header.element_count),
            pos: 1,
            index: 0,
            done: false,
        }
    }
}

impl<'a> Iterator for ObuElements<'a> {
    type Item = Result<&'a [u8], Av1Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || (self.pos >= self.payload.len() && self.index >= self.announced) {
            return None;
        }
        let is_last_without_length = self.announced != 0 && self.index + 1 == self.announced;
        let (len, start) = if is_last_without_length {
            (self.payload.len().saturating_sub(self.pos), self.pos)
        } else {
            match read_leb128(self.payload, self.pos) {
                Ok(found) => found,
                Err(error) => {
                    self.done = true;
                    return Some(Err(error));
                }
            }
        };
        let end = start + len;
        let Some(element) = self.payload.get(start..end) else {
            self.done = true;
            return Some(Err(Av1Error::ElementTruncated {
                index: self.index,
                offset: start,
                needed: end,
                got: self.payload.len(),
            }));
        };
        self.pos = end;
        self.index += 1;
        self.done = is_last_without_length;
        Some(Ok(element))
    }
}

impl Av1PayloadDescriptor {
    /// Reads the aggregation header and walks the OBU elements.
    pub fn parse(payload: &[u8]) -> Result<Self, Av1Error> {
        let aggregation = Av1AggregationHeader::parse(payload)?;
        let mut obu_elements = 0;
        let mut first_element = None;
        for element in ObuElements::new(payload, aggregation) {
            let element = element?;
            if obu_elements == 0 {
                first_element = Some(element);
            }
            obu_elements += 1;
        }
        // The OBU header's type field is bits 1..=4 (AV1 bitstream §5.3.2).
        let first_obu_type = first_element
            .filter(|_| !aggregation.continues_previous)
            .and_then(|element| element.first())
            .map(|obu_header| (obu_header >> 3) & 0x0F);
        Ok(Av1PayloadDescriptor {
            aggregation,
            obu_elements,
            first_obu_type,
            is_keyframe: aggregation.new_coded_video_sequence
                || first_obu_type == Some(OBU_SEQUENCE_HEADER),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn keyframe_with_sequence_header() {
        // N, W = 2: a sequence header with its length, then a frame OBU to the end.
        let payload = [0x28, 0x03, 0x0A, 0x0B, 0x0C, 0x32, 0x00, 0x01];
        let d = Av1PayloadDescriptor::parse(&payload).unwrap();
        assert!(d.aggregation.new_coded_video_sequence);
        assert_eq!(d.aggregation.element_count, 2);
        assert_eq!(d.obu_elements, 2);
        assert_eq!(d.first_obu_type, Some(OBU_SEQUENCE_HEADER));
        assert!(d.is_keyframe);

        // Same without N: the sequence header alone marks it.
        let mut without_n = payload;
        without_n[0] = 0x20;
        assert!(Av1PayloadDescriptor::parse(&without_n).unwrap().is_keyframe);
    }

    #[test]
    fn continuation_and_delta_frames() {
        // Z, W = 1: continuation of an OBU; its first byte is not an OBU header.
        let d = Av1PayloadDescriptor::parse(&[0x90, 0x0A, 0x00]).unwrap();
        assert_eq!(d.first_obu_type, None);
        assert!(!d.is_keyframe);
        // W = 0: two elements with lengths, a frame OBU (type 6).
        let d = Av1PayloadDescriptor::parse(&[0x00, 0x02, 0x32, 0x00, 0x01, 0x12]).unwrap();
        assert_eq!(d.obu_elements, 2);
        assert_eq!(d.first_obu_type, Some(6));
        assert!(!d.is_keyframe);
    }

    #[test]
    fn leb128_lengths() {
        assert_eq!(read_leb128(&[0x80, 0x01], 0), Ok((128, 2)));
        assert_eq!(read_leb128(&[0x05], 0), Ok((5, 1)));
        assert_eq!(
            read_leb128(&[0x80], 0),
            Err(Av1Error::BadLeb128 { offset: 0 })
        );
        assert_eq!(
            read_leb128(&[0xFF; 9], 0),
            Err(Av1Error::BadLeb128 { offset: 0 })
        );
        // 2^35: fits in 8 LEB128 bytes but not in 32 bits.
        assert_eq!(
            read_leb128(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x01], 0),
            Err(Av1Error::BadLeb128 { offset: 0 })
        );
    }

    #[test]
    fn malformed_payloads() {
        assert_eq!(Av1PayloadDescriptor::parse(&[]), Err(Av1Error::Empty));
        assert_eq!(
            Av1PayloadDescriptor::parse(&[0x00, 0x05, 0x01]),
            Err(Av1Error::ElementTruncated {
                index: 0,
                offset: 2,
                needed: 7,
                got: 3
            })
        );
        // W = 3 but only one element.
        assert!(Av1PayloadDescriptor::parse(&[0x30, 0x01, 0x08]).is_err());
        // W = 1 with nothing after the header: one empty element.
        let d = Av1PayloadDescriptor::parse(&[0x10]).unwrap();
        assert_eq!(d.obu_elements, 1);
        assert_eq!(d.first_obu_type, None);
    }

    proptest! {
        #[test]
        fn parse_never_panics(payload in proptest::collection::vec(any::<u8>(), 0..32)) {
            if let Ok(d) = Av1PayloadDescriptor::parse(&payload) {
                prop_assert!(d.obu_elements <= payload.len());
            }
        }
    }
}
