//! H.264 RTP payloads (RFC 6184 §5): the NAL unit type of the packet and whether it starts
//! a key frame, so a consumer can start forwarding or answer a key frame request.
//!
//! A packet carries a single NAL unit (types 1..=23), an aggregation of several (STAP-A 24,
//! STAP-B 25, MTAP 26/27), or a fragment of one (FU-A 28, FU-B 29). The packet starts a key
//! frame when it carries an SPS (type 7) or an IDR slice (type 5) directly, inside a
//! STAP, or in the first fragment of an FU.

/// IDR slice: a picture decodable on its own.
pub const NAL_IDR: u8 = 5;
/// Sequence parameter set: sent before an IDR.
pub const NAL_SPS: u8 = 7;
/// Picture parameter set.
pub const NAL_PPS: u8 = 8;
/// Single-time aggregation packet A.
pub const NAL_STAP_A: u8 = 24;
/// Single-time aggregation packet B (with a decoding order number).
pub const NAL_STAP_B: u8 = 25;
/// Fragmentation unit A.
pub const NAL_FU_A: u8 = 28;
/// Fragmentation unit B (with a decoding order number).
pub const NAL_FU_B: u8 = 29;

const NAL_TYPE_MASK: u8 = 0x1F;
/// Decoding order number of STAP-B and FU-B.
const DON_LEN: usize = 2;
/// Size field before each NAL unit of a STAP.
const STAP_SIZE_LEN: usize = 2;
const FU_START_BIT: u8 = 0x80;
const FU_END_BIT: u8 = 0x40;

/// Why an H.264 payload could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum H264Error {
    /// The payload ends inside a header or a NAL unit.
    #[error("H.264 payload truncated: {field} needs {needed} bytes, got {got}")]
    Truncated {
        /// The field that is cut off.
        field: &'static str,
        /// Bytes needed up to the end of that field.
        needed: usize,
        /// Payload length.
        got: usize,
    },
    /// A STAP announces an empty NAL unit.
    #[error("H.264 STAP has an empty NAL unit at offset {offset}")]
    EmptyAggregatedNalUnit {
        /// Offset of the size field.
        offset: usize,
    },
    /// An FU header with both start and end bits (RFC 6184 §5.8 forbids it).
    #[error("H.264 fragmentation unit header has both start and end bits set")]
    StartAndEndFragment,
}

/// One fragment of a fragmented NAL unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct H264Fragment {
    /// S: first fragment.
    pub start: bool,
    /// E: last fragment.
    pub end: bool,
    /// Type of the fragmented NAL unit.
    pub nal_unit_type: u8,
}

/// What an H.264 RTP payload carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct H264PayloadDescriptor {
    /// Type of the packet's own NAL unit header (1..=23 single NAL unit, 24..=29
    /// aggregation or fragmentation).
    pub nal_unit_type: u8,
    /// NRI of the packet's NAL unit header: 0 means no reference picture depends on it.
    pub nal_ref_idc: u8,
    /// The fragment header, for FU-A and FU-B.
    pub fragment: Option<H264Fragment>,
    /// The packet carries an SPS (or starts one).
    pub has_sps: bool,
    /// The packet carries an IDR slice (or starts one).
    pub has_idr: bool,
    /// The packet starts a key frame: it has an SPS or an IDR slice.
    pub is_keyframe: bool,
}

fn truncated(field: &'static str, needed: usize, payload: &[u8]) -> H264Error {
    H264Error::Truncated {
        field,
        needed,
        got: payload.len(),
    }
}

impl H264PayloadDescriptor {
    /// Reads an RTP payload.
    pub fn parse(payload: &[u8]) -> Result<Self, H264Error> {
        let header = *payload
            .first()
            .ok_or_else(|| truncated("NAL unit header", 1, payload))?;
        let nal_unit_type = header & NAL_TYPE_MASK;
        let mut descriptor = H264PayloadDescriptor {
            nal_unit_type,
            nal_ref_idc: (header >> 5) & 0x03,
            fragment: None,
            has_sps: false,
            has_idr: false,
            is_keyframe: false,
        };
        match nal_unit_type {
            NAL_STAP_A | NAL_STAP_B => {
                let start = if nal_unit_type == NAL_STAP_B {
                    1 + DON_LEN
                } else {
                    1
                };
                if start > payload.len() {
                    return Err(truncated("STAP-B decoding order number", start, payload));
                }
                let mut pos = start;
                while pos < payload.len() {
                    let size_field = payload
                        .get(pos..)
                        .and_then(<[u8]>::first_chunk::<STAP_SIZE_LEN>)
                        .ok_or_else(|| {
                            truncated("STAP NAL unit size", pos + STAP_SIZE_LEN, payload)
                        })?;
                    let size = usize::from(u16::from_be_bytes(*size_field));
                    if size == 0 {
                        return Err(H264Error::EmptyAggregatedNalUnit { offset: pos });
                    }
                    let nal_start = pos + STAP_SIZE_LEN;
                    let nal = payload
                        .get(nal_start..nal_start + size)
                        .ok_or_else(|| truncated("STAP NAL unit", nal_start + size, payload))?;
                    descriptor.note_nal_unit(nal.first().map_or(0, |b| b & NAL_TYPE_MASK));
                    pos = nal_start + size;
                }
            }
            NAL_FU_A | NAL_FU_B => {
                let fu_header = *payload
                    .get(1)
                    .ok_or_else(|| truncated("FU header", 2, payload))?;
                if nal_unit_type == NAL_FU_B && payload.len() < 2 + DON_LEN {
                    return Err(truncated(
                        "FU-B decoding order number",
                        2 + DON_LEN,
                        payload,
                    ));
                }
                let fragment = H264Fragment {
                    start: fu_header & FU_START_BIT != 0,
                    end: fu_header & FU_END_BIT != 0,
                    nal_unit_type: fu_header & NAL_TYPE_MASK,
                };
                if fragment.start && fragment.end {
                    return Err(H264Error::StartAndEndFragment);
                }
                if fragment.start {
                    descriptor.note_nal_unit(fragment.nal_unit_type);
                }
                descriptor.fragment = Some(fragment);
            }
            // Single NAL units; MTAPs (26, 27) and reserved types carry no key frame signal
            // an SFU relies on.
            _ => descriptor.note_nal_unit(nal_unit_type),
        }
        descriptor.is_keyframe = descriptor.has_sps || descriptor.has_idr;
        Ok(descriptor)
    }

    fn note_nal_unit(&mut self, nal_unit_type: u8) {
        match nal_unit_type {
            NAL_SPS => self.has_sps = true,
            NAL_IDR => self.has_idr = true,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn single_nal_units() {
        let idr = H264PayloadDescriptor::parse(&[0x65, 0x88, 0x84]).unwrap();
        assert_eq!(idr.nal_unit_type, NAL_IDR);
        assert_eq!(idr.nal_ref_idc, 3);
        assert!(idr.is_keyframe);
        let sps = H264PayloadDescriptor::parse(&[0x67, 0x42, 0xC0, 0x1F]).unwrap();
        assert!(sps.has_sps && sps.is_keyframe);
        let pps = H264PayloadDescriptor::parse(&[0x68, 0xCE]).unwrap();
        assert!(!pps.is_keyframe);
        let slice = H264PayloadDescriptor::parse(&[0x41, 0x9A]).unwrap();
        assert!(!slice.is_keyframe);
    }

    #[test]
    fn stap_a_with_sps_pps_idr() {
        let payload = [
            0x78, // STAP-A, NRI 3
            0x00, 0x04, 0x67, 0x42, 0xC0, 0x1F, // SPS
            0x00, 0x02, 0x68, 0xCE, // PPS
            0x00, 0x02, 0x65, 0x88, // IDR
        ];
        let d = H264PayloadDescriptor::parse(&payload).unwrap();
        assert_eq!(d.nal_unit_type, NAL_STAP_A);
        assert!(d.has_sps && d.has_idr && d.is_keyframe);
        assert!(matches!(
            H264PayloadDescriptor::parse(&payload[..payload.len() - 1]),
            Err(H264Error::Truncated {
                field: "STAP NAL unit",
                ..
            })
        ));
        assert_eq!(
            H264PayloadDescriptor::parse(&[0x78, 0x00, 0x00]),
            Err(H264Error::EmptyAggregatedNalUnit { offset: 1 })
        );
        let stap_b = [0x79, 0x00, 0x01, 0x00, 0x02, 0x65, 0x88];
        assert!(H264PayloadDescriptor::parse(&stap_b).unwrap().has_idr);
    }

    #[test]
    fn fragmentation_units() {
        let first = H264PayloadDescriptor::parse(&[0x7C, 0x85, 0x88]).unwrap();
        assert_eq!(
            first.fragment,
            Some(H264Fragment {
                start: true,
                end: false,
                nal_unit_type: NAL_IDR
            })
        );
        assert!(first.is_keyframe);
        let middle = H264PayloadDescriptor::parse(&[0x7C, 0x05, 0x88]).unwrap();
        assert!(!middle.is_keyframe);
        let last = H264PayloadDescriptor::parse(&[0x7C, 0x45]).unwrap();
        assert!(last.fragment.unwrap().end);
        assert_eq!(
            H264PayloadDescriptor::parse(&[0x7C, 0xC5]),
            Err(H264Error::StartAndEndFragment)
        );
        assert!(H264PayloadDescriptor::parse(&[0x7C]).is_err());
        assert!(H264PayloadDescriptor::parse(&[0x7D, 0x85, 0x00]).is_err());
        assert!(H264PayloadDescriptor::parse(&[]).is_err());
    }

    proptest! {
        #[test]
        fn parse_never_panics(payload in proptest::collection::vec(any::<u8>(), 0..32)) {
            if let Ok(d) = H264PayloadDescriptor::parse(&payload) {
                prop_assert_eq!(d.is_keyframe, d.has_sps || d.has_idr);
            }
        }
    }
}
