//! The RTP packet view (RFC 3550 §5.1): validated once, then read and rewritten in place.

use super::header_extension::{next_element, validate_elements, ElementSpan};
use super::{ExtensionForm, ExtensionIdMap, HeaderExtensions, RtpError};

/// Length of the fixed RTP header.
pub const FIXED_HEADER_LEN: usize = 12;
/// The only RTP version (RFC 3550 §5.1).
pub const RTP_VERSION: u8 = 2;
/// Length of the header extension block header (profile and length in words).
pub(crate) const EXTENSION_BLOCK_HEADER_LEN: usize = 4;

const PADDING_BIT: u8 = 0x20;
const EXTENSION_BIT: u8 = 0x10;
const MARKER_BIT: u8 = 0x80;

/// A zero-copy view of exactly one RTP packet's bytes.
///
/// [`RtpPacket::parse`] validates the header once and caches the offsets, so every getter is
/// a couple of loads and every setter a couple of stores. The buffer can be anything that
/// derefs to bytes: `&[u8]` for reading, `&mut [u8]` or `Vec<u8>` for in-place rewriting.
/// The header extension block, when it uses an RFC 8285 profile, is validated too: every
/// element lies inside the block.
#[derive(Debug, Clone)]
pub struct RtpPacket<B> {
    buffer: B,
    /// Offset of the header extension block header; 0 when the X bit is clear.
    extension_offset: usize,
    /// Offset of the payload: fixed header, CSRCs and the extension block.
    header_len: usize,
    /// Bytes of RTP padding at the end, including the count byte.
    padding_len: usize,
}

/// Reads a big-endian u16 at `at`; the caller has checked the bounds, a wrong offset yields 0.
fn read_u16(bytes: &[u8], at: usize) -> u16 {
    bytes
        .get(at..at + 2)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u16::from_be_bytes)
}

/// Reads a big-endian u32 at `at`; the caller has checked the bounds, a wrong offset yields 0.
fn read_u32(bytes: &[u8], at: usize) -> u32 {
    bytes
        .get(at..at + 4)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u32::from_be_bytes)
}

/// Writes a big-endian value at `at` when it fits (it always does after parse).
fn write_be(bytes: &mut [u8], at: usize, value: &[u8]) {
    if let Some(slot) = bytes.get_mut(at..at + value.len()) {
        slot.copy_from_slice(value);
    }
}

impl<B: AsRef<[u8]>> RtpPacket<B> {
    /// Validates `buffer` as one RTP packet and caches its offsets.
    ///
    /// Checks: at least the 12-byte fixed header, version 2, the CSRC list and the header
    /// extension block inside the packet, RFC 8285 elements inside their block, and a padding
    /// count that is non-zero and does not reach into the header.
    pub fn parse(buffer: B) -> Result<Self, RtpError> {
        let bytes = buffer.as_ref();
        let len = bytes.len();
        let Some(fixed) = bytes.first_chunk::<FIXED_HEADER_LEN>() else {
            return Err(RtpError::Truncated {
                part: "fixed header",
                needed: FIXED_HEADER_LEN,
                got: len,
            });
        };
        let version = fixed[0] >> 6;
        if version != RTP_VERSION {
            return Err(RtpError::BadVersion(version));
        }
        let csrc_count = usize::from(fixed[0] & 0x0F);
        let csrc_end = FIXED_HEADER_LEN + 4 * csrc_count;
        if csrc_end > len {
            return Err(RtpError::Truncated {
                part: "CSRC list",
                needed: csrc_end,
                got: len,
            });
        }
        let mut header_len = csrc_end;
        let mut extension_offset = 0;
        if fixed[0] & EXTENSION_BIT != 0 {
            let data_start = csrc_end + EXTENSION_BLOCK_HEADER_LEN;
            if data_start > len {
                return Err(RtpError::Truncated {
                    part: "header extension block header",
                    needed: data_start,
                    got: len,
                });
            }
            let profile = read_u16(bytes, csrc_end);
            let words = usize::from(read_u16(bytes, csrc_end + 2));
            let data_end = data_start + 4 * words;
            let Some(data) = bytes.get(data_start..data_end) else {
                return Err(RtpError::Truncated {
                    part: "header extension block",
                    needed: data_end,
                    got: len,
                });
            };
            if let Some(form) = ExtensionForm::from_profile(profile) {
                validate_elements(data, form)?;
            }
            extension_offset = csrc_end;
            header_len = data_end;
        }
        let mut padding_len = 0;
        if fixed[0] & PADDING_BIT != 0 {
            padding_len = usize::from(bytes.last().copied().unwrap_or(0));
            if padding_len == 0 {
                return Err(RtpError::ZeroPaddingCount);
            }
            let available = len - header_len;
            if padding_len > available {
                return Err(RtpError::PaddingOverrunsHeader {
                    padding_len,
                    available,
                    header_len,
                });
            }
        }
        Ok(RtpPacket {
            buffer,
            extension_offset,
            header_len,
            padding_len,
        })
    }

    fn bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    fn first_byte(&self) -> u8 {
        self.bytes().first().copied().unwrap_or(0)
    }

    /// The whole packet.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes()
    }

    /// Length of the whole packet.
    pub fn len(&self) -> usize {
        self.bytes().len()
    }

    /// Always false: a parsed packet has at least its 12-byte header.
    pub fn is_empty(&self) -> bool {
        self.bytes().is_empty()
    }

    /// The version field (always 2 after parse).
    pub fn version(&self) -> u8 {
        self.first_byte() >> 6
    }

    /// The P bit: the packet ends with padding.
    pub fn has_padding(&self) -> bool {
        self.first_byte() & PADDING_BIT != 0
    }

    /// The X bit: a header extension block follows the CSRCs.
    pub fn has_extension(&self) -> bool {
        self.first_byte() & EXTENSION_BIT != 0
    }

    /// The CC field: number of CSRCs.
    pub fn csrc_count(&self) -> u8 {
        self.first_byte() & 0x0F
    }

    /// The M bit (for video: last packet of a frame).
    pub fn marker(&self) -> bool {
        self.bytes().get(1).is_some_and(|b| b & MARKER_BIT != 0)
    }

    /// The 7-bit payload type.
    pub fn payload_type(&self) -> u8 {
        self.bytes().get(1).map_or(0, |b| b & 0x7F)
    }

    /// The sequence number.
    pub fn sequence_number(&self) -> u16 {
        read_u16(self.bytes(), 2)
    }

    /// The RTP timestamp.
    pub fn timestamp(&self) -> u32 {
        read_u32(self.bytes(), 4)
    }

    /// The synchronization source.
    pub fn ssrc(&self) -> u32 {
        read_u32(self.bytes(), 8)
    }

    /// The contributing sources, in packet order.
    pub fn csrcs(&self) -> Csrcs<'_> {
        let end = FIXED_HEADER_LEN + 4 * usize::from(self.csrc_count());
        Csrcs {
            bytes: self.bytes().get(FIXED_HEADER_LEN..end).unwrap_or(&[]),
        }
    }

    /// Length of the header: fixed part, CSRCs and the extension block.
    pub fn header_len(&self) -> usize {
        self.header_len
    }

    /// Offset of the payload in the packet (equals [`RtpPacket::header_len`]).
    pub fn payload_offset(&self) -> usize {
        self.header_len
    }

    /// The payload, without header and padding.
    pub fn payload(&self) -> &[u8] {
        let end = self.len() - self.padding_len;
        self.bytes().get(self.header_len..end).unwrap_or(&[])
    }

    /// Bytes of padding at the end, including the count byte (0 without the P bit).
    pub fn padding_len(&self) -> usize {
        self.padding_len
    }

    /// The header extension profile (0xBEDE, 0x100X or another), if the X bit is set.
    pub fn extension_profile(&self) -> Option<u16> {
        self.has_extension()
            .then(|| read_u16(self.bytes(), self.extension_offset))
    }

    /// The RFC 8285 form of the extension block, if there is one with an RFC 8285 profile.
    pub fn extension_form(&self) -> Option<ExtensionForm> {
        self.extension_profile()
            .and_then(ExtensionForm::from_profile)
    }

    /// The raw extension data after the 4-byte block header, if the X bit is set.
    pub fn extension_data(&self) -> Option<&[u8]> {
        self.has_extension().then(|| {
            self.bytes()
                .get(self.extension_data_offset()..self.header_len)
                .unwrap_or(&[])
        })
    }

    fn extension_data_offset(&self) -> usize {
        self.extension_offset + EXTENSION_BLOCK_HEADER_LEN
    }

    /// The `(id, value)` pairs of the RFC 8285 extension elements, in packet order.
    pub fn header_extensions(&self) -> HeaderExtensions<'_> {
        HeaderExtensions::new(self.extension_data().unwrap_or(&[]), self.extension_form())
    }

    /// The value of the first extension element with this id.
    pub fn header_extension(&self, id: u8) -> Option<&[u8]> {
        self.header_extensions()
            .find_map(|(element_id, value)| (element_id == id).then_some(value))
    }

    fn find_element(&self, id: u8) -> Option<ElementSpan> {
        let form = self.extension_form()?;
        let data = self.extension_data()?;
        let mut pos = 0;
        while let Ok(Some(element)) = next_element(data, pos, form) {
            if element.id == id {
                return Some(element);
            }
            pos = element.end;
        }
        None
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> B {
        self.buffer
    }

    /// The same packet read through a shared borrow; the validated offsets carry over, so
    /// nothing is parsed again.
    pub fn borrowed(&self) -> RtpPacket<&[u8]> {
        RtpPacket {
            buffer: self.buffer.as_ref(),
            extension_offset: self.extension_offset,
            header_len: self.header_len,
            padding_len: self.padding_len,
        }
    }
}

impl<B: AsRef<[u8]> + AsMut<[u8]>> RtpPacket<B> {
    fn bytes_mut(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }

    /// The whole packet, writable. Changing header fields through it bypasses the cached
    /// offsets; use the setters for the header.
    pub fn as_bytes_mut(&mut self) -> &mut [u8] {
        self.bytes_mut()
    }

    /// Sets the 7-bit payload type, keeping the marker bit.
    pub fn set_payload_type(&mut self, payload_type: u8) -> Result<(), RtpError> {
        if payload_type > 0x7F {
            return Err(RtpError::InvalidPayloadType(payload_type));
        }
        if let Some(byte) = self.bytes_mut().get_mut(1) {
            *byte = (*byte & MARKER_BIT) | payload_type;
        }
        Ok(())
    }

    /// Sets the marker bit.
    pub fn set_marker(&mut self, marker: bool) {
        if let Some(byte) = self.bytes_mut().get_mut(1) {
            *byte = (*byte & !MARKER_BIT) | if marker { MARKER_BIT } else { 0 };
        }
    }

    /// Sets the sequence number.
    pub fn set_sequence_number(&mut self, sequence_number: u16) {
        write_be(self.bytes_mut(), 2, &sequence_number.to_be_bytes());
    }

    /// Sets the RTP timestamp.
    pub fn set_timestamp(&mut self, timestamp: u32) {
        write_be(self.bytes_mut(), 4, &timestamp.to_be_bytes());
    }

    /// Sets the synchronization source.
    pub fn set_ssrc(&mut self, ssrc: u32) {
        write_be(self.bytes_mut(), 8, &ssrc.to_be_bytes());
    }

    /// The payload, writable (same length; padding excluded).
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let start = self.header_len;
        let end = self.len() - self.padding_len;
        self.bytes_mut().get_mut(start..end).unwrap_or(&mut [])
    }

    /// The value of the first extension element with this id, writable (fixed length; for
    /// values such as abs-send-time or the transport-wide sequence number).
    pub fn header_extension_mut(&mut self, id: u8) -> Option<&mut [u8]> {
        let element = self.find_element(id)?;
        let data_offset = self.extension_data_offset();
        self.bytes_mut()
            .get_mut(data_offset + element.value_start..data_offset + element.end)
    }

    /// Overwrites the value of an existing extension element; the length must match because
    /// the packet does not move (see [`super::upsert_header_extension`] to resize).
    pub fn set_header_extension(&mut self, id: u8, value: &[u8]) -> Result<(), RtpError> {
        let slot = self
            .header_extension_mut(id)
            .ok_or(RtpError::ExtensionNotFound(id))?;
        if slot.len() != value.len() {
            return Err(RtpError::ExtensionLengthMismatch {
                id,
                existing: slot.len(),
                given: value.len(),
            });
        }
        slot.copy_from_slice(value);
        Ok(())
    }

    /// Rewrites every extension id through `map` (client ids to router ids), compacting the
    /// block in place: kept elements move left, elements mapped to 0 disappear, and the freed
    /// tail becomes padding, so the block and packet lengths do not change.
    ///
    /// Elements after a one-byte reserved id 15 are dropped (they were never readable). Fails,
    /// without modifying the packet, when a mapped id does not fit the block's form (one-byte
    /// blocks carry ids 1..=14) or the block has a non-RFC 8285 profile.
    pub fn remap_header_extension_ids(&mut self, map: &ExtensionIdMap) -> Result<(), RtpError> {
        let Some(profile) = self.extension_profile() else {
            return Ok(());
        };
        let form = ExtensionForm::from_profile(profile)
            .ok_or(RtpError::UnsupportedExtensionProfile(profile))?;
        let data_offset = self.extension_data_offset();
        let data_end = self.header_len;
        let data = self
            .bytes_mut()
            .get_mut(data_offset..data_end)
            .unwrap_or(&mut []);
        super::extension_id_map::remap_elements(data, form, |id| map.get(id)).map(|_| ())
    }
}

/// Iterator over the CSRC list.
#[derive(Debug, Clone)]
pub struct Csrcs<'a> {
    bytes: &'a [u8],
}

impl Iterator for Csrcs<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        let (word, rest) = self.bytes.split_first_chunk::<4>()?;
        self.bytes = rest;
        Some(u32::from_be_bytes(*word))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.bytes.len() / 4;
        (n, Some(n))
    }
}

impl ExactSizeIterator for Csrcs<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A packet with 1 CSRC, a one-byte extension block (id 1 = [0xAA], id 2 = [0xBB, 0xCC]),
    /// a 3-byte payload and 4 bytes of padding.
    fn sample() -> Vec<u8> {
        let mut p = vec![
            0xB1, 0xE0, 0x12, 0x34, // V=2 P=1 X=1 CC=1, M=1 PT=96, seq 0x1234
            0x00, 0x00, 0x56, 0x78, // timestamp
            0xDE, 0xAD, 0xBE, 0xEF, // ssrc
            0x01, 0x02, 0x03, 0x04, // csrc
            0xBE, 0xDE, 0x00, 0x02, // one-byte profile, 2 words
            0x10, 0xAA, 0x21, 0xBB, 0xCC, 0x00, 0x00, 0x00, // elements + padding
            0x01, 0x02, 0x03, // payload
            0x00, 0x00, 0x00, 0x04, // padding
        ];
        p.shrink_to_fit();
        p
    }

    #[test]
    fn parses_every_field() {
        let bytes = sample();
        let packet = RtpPacket::parse(&bytes[..]).unwrap();
        assert_eq!(packet.version(), 2);
        assert!(packet.has_padding());
        assert!(packet.has_extension());
        assert!(packet.marker());
        assert_eq!(packet.payload_type(), 96);
        assert_eq!(packet.sequence_number(), 0x1234);
        assert_eq!(packet.timestamp(), 0x5678);
        assert_eq!(packet.ssrc(), 0xDEAD_BEEF);
        assert_eq!(packet.csrcs().collect::<Vec<_>>(), vec![0x0102_0304]);
        assert_eq!(packet.header_len(), 28);
        assert_eq!(packet.payload(), &[1, 2, 3]);
        assert_eq!(packet.padding_len(), 4);
        assert_eq!(packet.extension_profile(), Some(0xBEDE));
        assert_eq!(packet.header_extension(1), Some(&[0xAA][..]));
        assert_eq!(packet.header_extension(2), Some(&[0xBB, 0xCC][..]));
        assert_eq!(packet.header_extension(3), None);
        assert_eq!(packet.header_extensions().count(), 2);
    }

    #[test]
    fn minimal_packet() {
        let bytes = [0x80, 0x00, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3];
        let packet = RtpPacket::parse(&bytes[..]).unwrap();
        assert!(packet.payload().is_empty());
        assert_eq!(packet.extension_profile(), None);
        assert_eq!(packet.header_extensions().count(), 0);
        assert_eq!(packet.csrcs().len(), 0);
    }

    #[test]
    fn rejects_malformed_headers() {
        assert_eq!(
            RtpPacket::parse(&[0x80u8; 7][..]).unwrap_err(),
            RtpError::Truncated {
                part: "fixed header",
                needed: 12,
                got: 7
            }
        );
        let mut v1 = sample();
        v1[0] = 0x71;
        assert_eq!(
            RtpPacket::parse(&v1[..]).unwrap_err(),
            RtpError::BadVersion(1)
        );

        let mut csrcs = sample();
        csrcs[0] = 0x8F;
        assert!(matches!(
            RtpPacket::parse(&csrcs[..20]).unwrap_err(),
            RtpError::Truncated {
                part: "CSRC list",
                needed: 72,
                got: 20
            }
        ));

        let bytes = sample();
        assert!(matches!(
            RtpPacket::parse(&bytes[..18]).unwrap_err(),
            RtpError::Truncated {
                part: "header extension block header",
                ..
            }
        ));
        assert!(matches!(
            RtpPacket::parse(&bytes[..24]).unwrap_err(),
            RtpError::Truncated {
                part: "header extension block",
                needed: 28,
                got: 24
            }
        ));

        let mut zero_padding = sample();
        *zero_padding.last_mut().unwrap() = 0;
        assert_eq!(
            RtpPacket::parse(&zero_padding[..]).unwrap_err(),
            RtpError::ZeroPaddingCount
        );
        let mut big_padding = sample();
        *big_padding.last_mut().unwrap() = 8;
        assert_eq!(
            RtpPacket::parse(&big_padding[..]).unwrap_err(),
            RtpError::PaddingOverrunsHeader {
                padding_len: 8,
                available: 7,
                header_len: 28
            }
        );

        let mut bad_element = sample();
        bad_element[22] = 0x27; // id 2 claims 8 bytes, running past the block
        assert!(matches!(
            RtpPacket::parse(&bad_element[..]).unwrap_err(),
            RtpError::MalformedExtensionElement { offset: 2, .. }
        ));
    }

    #[test]
    fn padding_may_fill_the_whole_payload() {
        let mut bytes = vec![0xA0, 0x60, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3];
        bytes.extend_from_slice(&[0, 0, 0, 4]);
        let packet = RtpPacket::parse(&bytes[..]).unwrap();
        assert!(packet.payload().is_empty());
        assert_eq!(packet.padding_len(), 4);
    }

    #[test]
    fn unknown_profile_is_kept_opaque() {
        let mut bytes = vec![0x90, 0x60, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3];
        bytes.extend_from_slice(&[0x12, 0x34, 0x00, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0x42]);
        let mut packet = RtpPacket::parse(&mut bytes[..]).unwrap();
        assert_eq!(packet.extension_profile(), Some(0x1234));
        assert_eq!(packet.extension_form(), None);
        assert_eq!(packet.extension_data(), Some(&[0xFF; 4][..]));
        assert_eq!(packet.header_extensions().count(), 0);
        assert_eq!(packet.payload(), &[0x42]);
        assert_eq!(
            packet.remap_header_extension_ids(&ExtensionIdMap::new()),
            Err(RtpError::UnsupportedExtensionProfile(0x1234))
        );
    }

    #[test]
    fn setters_rewrite_in_place() {
        let mut bytes = sample();
        let mut packet = RtpPacket::parse(&mut bytes[..]).unwrap();
        packet.set_payload_type(111).unwrap();
        assert_eq!(
            packet.set_payload_type(128),
            Err(RtpError::InvalidPayloadType(128))
        );
        packet.set_sequence_number(0xFFFE);
        packet.set_timestamp(0x0102_0304);
        packet.set_ssrc(42);
        assert!(packet.marker());
        packet.set_marker(false);
        packet.payload_mut().copy_from_slice(&[7, 8, 9]);
        packet.set_header_extension(2, &[0x11, 0x22]).unwrap();
        assert_eq!(
            packet.set_header_extension(2, &[0x11]),
            Err(RtpError::ExtensionLengthMismatch {
                id: 2,
                existing: 2,
                given: 1
            })
        );
        assert_eq!(
            packet.set_header_extension(9, &[0x11]),
            Err(RtpError::ExtensionNotFound(9))
        );
        packet.header_extension_mut(1).unwrap()[0] = 0x55;
        let bytes = packet.into_inner();
        let packet = RtpPacket::parse(&*bytes).unwrap();
        assert_eq!(packet.payload_type(), 111);
        assert!(!packet.marker());
        assert_eq!(packet.sequence_number(), 0xFFFE);
        assert_eq!(packet.timestamp(), 0x0102_0304);
        assert_eq!(packet.ssrc(), 42);
        assert_eq!(packet.payload(), &[7, 8, 9]);
        assert_eq!(packet.header_extension(1), Some(&[0x55][..]));
        assert_eq!(packet.header_extension(2), Some(&[0x11, 0x22][..]));
        assert_eq!(packet.padding_len(), 4);
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..96)) {
            if let Ok(packet) = RtpPacket::parse(&bytes[..]) {
                let _ = (packet.marker(), packet.payload_type(), packet.sequence_number());
                let _ = (packet.timestamp(), packet.ssrc(), packet.csrcs().count());
                prop_assert!(packet.header_len() + packet.payload().len() + packet.padding_len() == bytes.len());
                for (id, _) in packet.header_extensions() {
                    prop_assert!(packet.header_extension(id).is_some());
                }
            }
        }

        #[test]
        fn packets_with_version_2_prefix_never_panic(
            rest in proptest::collection::vec(any::<u8>(), 0..64),
            first in 0x80u8..=0xBF,
        ) {
            let mut bytes = vec![first];
            bytes.extend_from_slice(&rest);
            if let Ok(mut packet) = RtpPacket::parse(&mut bytes[..]) {
                let map = ExtensionIdMap::identity();
                let _ = packet.remap_header_extension_ids(&map);
                let _ = packet.extension_data();
            }
        }
    }
}
