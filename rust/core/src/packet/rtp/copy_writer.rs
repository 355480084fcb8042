//! Writing a forwarded copy of an RTP packet in one pass: the header fields an SFU changes
//! for each receiver (SSRC, sequence number, timestamp, marker), the extension elements that
//! receiver negotiated (under its ids) plus the ones the SFU adds (MID, transport-wide
//! sequence number), and the payload and padding as they were. The source was validated by
//! [`RtpPacket::parse`], so nothing is parsed here; the copy is built in the output buffer
//! instead of being copied and then edited element by element. What the copies take from
//! their source (its parts and its extension block's form) is found once per source
//! ([`CopySource`]), not once per copy.

use super::header_extension::next_element;
use super::packet::{EXTENSION_BLOCK_HEADER_LEN, FIXED_HEADER_LEN};
use super::{ExtensionForm, ExtensionIdMap, RtpError, RtpPacket};

const EXTENSION_BIT: u8 = 0x10;
const MARKER_BIT: u8 = 0x80;

/// What a copy changes in the packet it copies.
#[derive(Debug, Clone, Copy)]
pub struct CopyHeader<'a> {
    /// The receiver's SSRC.
    pub ssrc: u32,
    /// The receiver's sequence number.
    pub sequence_number: u16,
    /// The receiver's RTP timestamp.
    pub timestamp: u32,
    /// The marker bit.
    pub marker: bool,
    /// Which of the source's extension elements go out, under which ids (unmapped: left out).
    pub extension_ids: &'a ExtensionIdMap,
    /// Elements written after the kept ones; a source element mapped to one of these ids is
    /// left out (the added value replaces it).
    pub added: &'a [(u8, &'a [u8])],
}

/// Where the parts of a written copy are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CopyLayout {
    /// The copy's length.
    pub len: usize,
    /// Offset of its payload (after the header and the extension block).
    pub payload_offset: usize,
}

/// The parts of a source packet its copies are made of, found once for all of them.
#[derive(Debug, Clone, Copy)]
pub struct CopySource<'a> {
    /// The fixed header.
    fixed: &'a [u8; FIXED_HEADER_LEN],
    /// The CSRC list.
    csrcs: &'a [u8],
    /// The extension block's form (`None`: no block), or the profile of a block that is
    /// not RFC 8285's (its contents cannot be filtered).
    form: Result<Option<ExtensionForm>, u16>,
    /// The extension block's elements.
    extension_data: &'a [u8],
    /// Payload and padding, copied as they are.
    tail: &'a [u8],
    /// Bytes of padding at the end of `tail`.
    padding_len: usize,
}

impl<'a> CopySource<'a> {
    /// The parts of `source` (validated by [`RtpPacket::parse`]).
    pub fn new<B: AsRef<[u8]>>(source: &'a RtpPacket<B>) -> Self {
        const EMPTY: &[u8; FIXED_HEADER_LEN] = &[0; FIXED_HEADER_LEN];
        let bytes = source.as_bytes();
        let csrc_end = FIXED_HEADER_LEN + 4 * usize::from(source.csrc_count());
        let form = match source.extension_profile() {
            None => Ok(None),
            Some(profile) => ExtensionForm::from_profile(profile)
                .map(Some)
                .ok_or(profile),
        };
        CopySource {
            fixed: bytes.first_chunk().unwrap_or(EMPTY),
            csrcs: bytes.get(FIXED_HEADER_LEN..csrc_end).unwrap_or(&[]),
            form,
            extension_data: source.extension_data().unwrap_or(&[]),
            tail: bytes.get(source.header_len()..).unwrap_or(&[]),
            padding_len: source.padding_len(),
        }
    }

    /// Bytes of padding at the end of the source (and of its copies).
    pub fn padding_len(&self) -> usize {
        self.padding_len
    }
}

/// Writes the copy of `source` that `header` describes at the start of `out`.
///
/// The extension block keeps the source's form when every element fits it, and is written
/// in the two-byte form otherwise (RFC 8285 §4.1 forbids mixing forms); without any element
/// the copy has no block. Fails, writing nothing usable, when `out` is too small, an added
/// element cannot be written in any form, or the source's block has a non-RFC 8285 profile
/// (its contents cannot be filtered).
pub fn write_copy(
    source: &CopySource<'_>,
    header: &CopyHeader<'_>,
    out: &mut [u8],
) -> Result<CopyLayout, RtpError> {
    let csrc_end = FIXED_HEADER_LEN + source.csrcs.len();
    let tail = source.tail;
    let capacity = out.len();
    let too_small = |needed: usize| RtpError::BufferTooSmall { needed, capacity };
    let source_form = source.form.map_err(RtpError::UnsupportedExtensionProfile)?;
    let Some(fixed) = out.first_chunk_mut::<FIXED_HEADER_LEN>() else {
        return Err(too_small(csrc_end));
    };
    let source_fixed = source.fixed;
    fixed[0] = source_fixed[0];
    fixed[1] = (source_fixed[1] & !MARKER_BIT) | if header.marker { MARKER_BIT } else { 0 };
    fixed[2..4].copy_from_slice(&header.sequence_number.to_be_bytes());
    fixed[4..8].copy_from_slice(&header.timestamp.to_be_bytes());
    fixed[8..12].copy_from_slice(&header.ssrc.to_be_bytes());
    if !source.csrcs.is_empty() {
        let Some(csrcs) = out.get_mut(FIXED_HEADER_LEN..csrc_end) else {
            return Err(too_small(csrc_end));
        };
        csrcs.copy_from_slice(source.csrcs);
    }
    // Without a source block or added elements there is nothing to write (plain RTP from
    // ffmpeg or GStreamer to a receiver that takes no MID): the payload follows.
    if source_form.is_none() && header.added.is_empty() {
        out[0] &= !EXTENSION_BIT;
        return copy_tail(tail, csrc_end, out);
    }
    // Elements go after the block header; the block's length is known once they are written.
    // Most copies fit the one-byte form; the rest are written again in the two-byte form.
    let elements_at = csrc_end + EXTENSION_BLOCK_HEADER_LEN;
    let data = source.extension_data;
    let preferred = match source_form {
        Some(ExtensionForm::TwoByte) => ExtensionForm::TwoByte,
        _ => ExtensionForm::OneByte,
    };
    let (form, content_len) =
        match write_elements(data, source_form, header, preferred, out, elements_at)? {
            Some(written) => (preferred, written),
            None => {
                let written = write_elements(
                    data,
                    source_form,
                    header,
                    ExtensionForm::TwoByte,
                    out,
                    elements_at,
                )?
                .ok_or(RtpError::ExtensionBlockTooLong { len: capacity })?;
                (ExtensionForm::TwoByte, written)
            }
        };
    let payload_offset = if content_len == 0 {
        out[0] &= !EXTENSION_BIT;
        csrc_end
    } else {
        let padded = content_len.div_ceil(4) * 4;
        let words = u16::try_from(padded / 4)
            .map_err(|_| RtpError::ExtensionBlockTooLong { len: padded })?;
        let end = elements_at + padded;
        let Some(block) = out.get_mut(csrc_end..end) else {
            return Err(too_small(end));
        };
        block[..2].copy_from_slice(&form.profile().to_be_bytes());
        block[2..4].copy_from_slice(&words.to_be_bytes());
        block[EXTENSION_BLOCK_HEADER_LEN + content_len..].fill(0);
        out[0] |= EXTENSION_BIT;
        end
    };
    copy_tail(tail, payload_offset, out)
}

/// Copies the source's payload and padding to `payload_offset` in `out`.
fn copy_tail(tail: &[u8], payload_offset: usize, out: &mut [u8]) -> Result<CopyLayout, RtpError> {
    let len = payload_offset + tail.len();
    let capacity = out.len();
    let Some(payload) = out.get_mut(payload_offset..len) else {
        return Err(RtpError::BufferTooSmall {
            needed: len,
            capacity,
        });
    };
    payload.copy_from_slice(tail);
    Ok(CopyLayout {
        len,
        payload_offset,
    })
}

/// Writes the kept elements of the source block (`data`, in `source_form`) under their new
/// ids, then the added ones, in `form`, into `out` from `at`; the bytes written, or `None`
/// when some element does not fit `form`.
fn write_elements(
    data: &[u8],
    source_form: Option<ExtensionForm>,
    header: &CopyHeader<'_>,
    form: ExtensionForm,
    out: &mut [u8],
    at: usize,
) -> Result<Option<usize>, RtpError> {
    let mut written = 0;
    let mut put = |id: u8, value: &[u8], out: &mut [u8]| -> Result<bool, RtpError> {
        if form.check_element(id, value.len()).is_err() {
            return Ok(false);
        }
        let start = at + written;
        let end = start + form.element_header_len() + value.len();
        let Some(slot) = out.get_mut(start..end) else {
            return Err(RtpError::BufferTooSmall {
                needed: end,
                capacity: out.len(),
            });
        };
        let header_len = form.write_element_header(slot, id, value.len());
        slot[header_len..].copy_from_slice(value);
        written = end - at;
        Ok(true)
    };
    if let Some(source_form) = source_form {
        let mut pos = 0;
        // The block was validated when the source was parsed: an error cannot happen here.
        while let Ok(Some(element)) = next_element(data, pos, source_form) {
            pos = element.end;
            let Some(id) = header.extension_ids.get(element.id) else {
                continue;
            };
            if header.added.iter().any(|(added, _)| *added == id) {
                continue;
            }
            let value = data.get(element.value_start..element.end).unwrap_or(&[]);
            if !put(id, value, out)? {
                return Ok(None);
            }
        }
    }
    for &(id, value) in header.added {
        if !put(id, value, out)? {
            // An element that fits no form at all is the caller's mistake.
            ExtensionForm::TwoByte.check_element(id, value.len())?;
            return Ok(None);
        }
    }
    Ok(Some(written))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::rtp::{ExtensionBlock, RtpHeader};
    use proptest::prelude::*;

    fn source(form: ExtensionForm, elements: Vec<(u8, Vec<u8>)>, padding: u8) -> Vec<u8> {
        let header = RtpHeader {
            payload_type: 101,
            sequence_number: 7,
            timestamp: 1000,
            ssrc: 0x5EED,
            csrcs: vec![9],
            extensions: (!elements.is_empty()).then_some(ExtensionBlock { form, elements }),
            padding_len: padding,
            ..RtpHeader::default()
        };
        let mut out = Vec::new();
        header.write_into(&[1, 2, 3, 4, 5], &mut out).unwrap();
        out
    }

    /// A copy header with ones for SSRC, sequence number and timestamp, no marker.
    fn minimal_header<'a>(
        extension_ids: &'a ExtensionIdMap,
        added: &'a [(u8, &'a [u8])],
    ) -> CopyHeader<'a> {
        CopyHeader {
            ssrc: 1,
            sequence_number: 1,
            timestamp: 1,
            marker: false,
            extension_ids,
            added,
        }
    }

    fn ids(pairs: &[(u8, u8)]) -> ExtensionIdMap {
        let mut map = ExtensionIdMap::new();
        for &(from, to) in pairs {
            map.insert(from, to).unwrap();
        }
        map
    }

    #[test]
    fn header_fields_extensions_and_payload_in_one_copy() {
        let bytes = source(
            ExtensionForm::OneByte,
            vec![(1, b"old".to_vec()), (4, vec![0xAA, 0xBB]), (9, vec![7])],
            3,
        );
        let packet = RtpPacket::parse(&bytes[..]).unwrap();
        let map = ids(&[(1, 1), (4, 5)]);
        let mut out = [0u8; 256];
        let layout = write_copy(
            &CopySource::new(&packet),
            &CopyHeader {
                ssrc: 0xC0FFEE,
                sequence_number: 40_000,
                timestamp: 123_456,
                marker: true,
                extension_ids: &map,
                added: &[(1, b"mid7"), (3, &[0x12, 0x34])],
            },
            &mut out,
        )
        .unwrap();
        let copy = RtpPacket::parse(&out[..layout.len]).unwrap();
        assert_eq!(
            (
                copy.ssrc(),
                copy.sequence_number(),
                copy.timestamp(),
                copy.marker(),
                copy.payload_type()
            ),
            (0xC0FFEE, 40_000, 123_456, true, 101)
        );
        assert_eq!(copy.csrcs().collect::<Vec<_>>(), [9]);
        let elements: Vec<(u8, Vec<u8>)> = copy
            .header_extensions()
            .map(|(id, value)| (id, value.to_vec()))
            .collect();
        assert_eq!(
            elements,
            [
                (5, vec![0xAA, 0xBB]),
                (1, b"mid7".to_vec()),
                (3, vec![0x12, 0x34])
            ]
        );
        assert_eq!(copy.payload(), [1, 2, 3, 4, 5]);
        assert_eq!(copy.padding_len(), 3);
        assert_eq!(layout.payload_offset, copy.payload_offset());
    }

    #[test]
    fn a_copy_without_elements_has_no_block_and_big_ids_take_the_two_byte_form() {
        let bytes = source(ExtensionForm::OneByte, vec![(2, vec![1])], 0);
        let packet = RtpPacket::parse(&bytes[..]).unwrap();
        let mut out = [0u8; 128];
        let no_ids = ExtensionIdMap::new();
        let header = minimal_header(&no_ids, &[]);
        let layout = write_copy(&CopySource::new(&packet), &header, &mut out).unwrap();
        let copy = RtpPacket::parse(&out[..layout.len]).unwrap();
        assert!(!copy.has_extension());
        assert_eq!(copy.payload(), [1, 2, 3, 4, 5]);

        let map = ids(&[(2, 2)]);
        let layout = write_copy(
            &CopySource::new(&packet),
            &CopyHeader {
                extension_ids: &map,
                added: &[(20, b"x")],
                ..header
            },
            &mut out,
        )
        .unwrap();
        let copy = RtpPacket::parse(&out[..layout.len]).unwrap();
        assert_eq!(copy.extension_form(), Some(ExtensionForm::TwoByte));
        assert_eq!(copy.header_extension(2), Some([1].as_slice()));
        assert_eq!(copy.header_extension(20), Some(b"x".as_slice()));
    }

    #[test]
    fn too_small_an_output_fails() {
        let bytes = source(ExtensionForm::OneByte, vec![], 0);
        let packet = RtpPacket::parse(&bytes[..]).unwrap();
        let no_ids = ExtensionIdMap::new();
        let header = minimal_header(&no_ids, &[(1, b"mid")]);
        assert!(write_copy(&CopySource::new(&packet), &header, &mut [0u8; 20]).is_err());
    }

    #[test]
    fn a_block_of_another_profile_cannot_be_copied_and_says_which() {
        // Fixed header, a block with profile 0x1234 and one word, then a payload byte.
        let mut bytes = vec![0x90, 101, 0, 7, 0, 0, 3, 0xE8, 0, 0, 0x5E, 0xED];
        bytes.extend_from_slice(&[0x12, 0x34, 0, 1, 9, 9, 9, 9, 0xAB]);
        let packet = RtpPacket::parse(&bytes[..]).unwrap();
        let source = CopySource::new(&packet);
        assert_eq!(
            (source.padding_len(), packet.payload()),
            (0, [0xAB].as_slice())
        );
        let no_ids = ExtensionIdMap::new();
        let header = minimal_header(&no_ids, &[]);
        assert_eq!(
            write_copy(&source, &header, &mut [0u8; 64]),
            Err(RtpError::UnsupportedExtensionProfile(0x1234))
        );
    }

    proptest! {
        /// Whatever the source's elements, maps and additions, the copy parses, carries the
        /// mapped elements (minus the replaced ones) then the added ones, and the payload and
        /// padding unchanged.
        #[test]
        fn copies_parse_and_carry_what_they_should(
            two_byte in any::<bool>(),
            elements in proptest::collection::vec((1u8..=14, proptest::collection::vec(any::<u8>(), 1..=16)), 0..6),
            mapping in proptest::collection::vec((1u8..=14, 0u8..=30), 0..8),
            added in proptest::collection::vec((1u8..=30, proptest::collection::vec(any::<u8>(), 0..=20)), 0..3),
            padding in prop_oneof![Just(0u8), 1u8..=8],
        ) {
            let form = if two_byte { ExtensionForm::TwoByte } else { ExtensionForm::OneByte };
            let bytes = source(form, elements.clone(), padding);
            let packet = RtpPacket::parse(&bytes[..]).unwrap();
            let mut map = ExtensionIdMap::new();
            for &(from, to) in &mapping {
                map.insert(from, to).unwrap();
            }
            let mut unique_added: Vec<(u8, Vec<u8>)> = Vec::new();
            for (id, value) in added {
                if !unique_added.iter().any(|(other, _)| *other == id) {
                    unique_added.push((id, value));
                }
            }
            let added_refs: Vec<(u8, &[u8])> =
                unique_added.iter().map(|(id, value)| (*id, value.as_slice())).collect();
            let mut out = [0u8; 1024];
            let layout = write_copy(&CopySource::new(&packet),
                &CopyHeader {
                    ssrc: 3,
                    sequence_number: 4,
                    timestamp: 5,
                    marker: false,
                    extension_ids: &map,
                    added: &added_refs,
                },
                &mut out,
            )
            .unwrap();
            let copy = RtpPacket::parse(&out[..layout.len]).unwrap();
            let expected: Vec<(u8, Vec<u8>)> = elements
                .iter()
                .filter_map(|(id, value)| Some((map.get(*id)?, value.clone())))
                .filter(|(id, _)| !unique_added.iter().any(|(added, _)| added == id))
                .chain(unique_added.iter().cloned())
                .collect();
            let got: Vec<(u8, Vec<u8>)> =
                copy.header_extensions().map(|(id, value)| (id, value.to_vec())).collect();
            prop_assert_eq!(got, expected);
            prop_assert_eq!(copy.payload(), packet.payload());
            prop_assert_eq!(copy.padding_len(), packet.padding_len());
            prop_assert_eq!((copy.ssrc(), copy.sequence_number(), copy.timestamp()), (3, 4, 5));
        }
    }
}
