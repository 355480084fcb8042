//! An owned RTP header for building packets in tests and from Python: every field, and the
//! extension elements with their form. Not for the hot path (it allocates).

use super::packet::{EXTENSION_BLOCK_HEADER_LEN, FIXED_HEADER_LEN, RTP_VERSION};
use super::{ExtensionForm, RtpError, RtpPacket};

/// The RFC 8285 extension block of an [`RtpHeader`]: its form and its elements in order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExtensionBlock {
    /// One-byte or two-byte elements.
    pub form: ExtensionForm,
    /// `(id, value)` pairs, written in this order without padding between them.
    pub elements: Vec<(u8, Vec<u8>)>,
}

/// Every field of an RTP header, owned.
///
/// `RtpHeader::from_packet(&RtpPacket::parse(&bytes)?)` of the bytes written by
/// [`RtpHeader::write_into`] gives back the same header.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct RtpHeader {
    /// The M bit.
    pub marker: bool,
    /// The 7-bit payload type.
    pub payload_type: u8,
    /// The sequence number.
    pub sequence_number: u16,
    /// The RTP timestamp.
    pub timestamp: u32,
    /// The synchronization source.
    pub ssrc: u32,
    /// Up to 15 contributing sources.
    pub csrcs: Vec<u32>,
    /// The RFC 8285 extension block; `None` writes no block (X bit clear).
    pub extensions: Option<ExtensionBlock>,
    /// Bytes of RTP padding after the payload, including the count byte; 0 for none.
    pub padding_len: u8,
}

impl RtpHeader {
    /// Reads every header field of a parsed packet. Fails for an extension block with a
    /// non-RFC 8285 profile, which this type cannot represent.
    pub fn from_packet<B: AsRef<[u8]>>(packet: &RtpPacket<B>) -> Result<Self, RtpError> {
        let extensions = match packet.extension_profile() {
            None => None,
            Some(profile) => Some(ExtensionBlock {
                form: ExtensionForm::from_profile(profile)
                    .ok_or(RtpError::UnsupportedExtensionProfile(profile))?,
                elements: packet
                    .header_extensions()
                    .map(|(id, value)| (id, value.to_vec()))
                    .collect(),
            }),
        };
        Ok(RtpHeader {
            marker: packet.marker(),
            payload_type: packet.payload_type(),
            sequence_number: packet.sequence_number(),
            timestamp: packet.timestamp(),
            ssrc: packet.ssrc(),
            csrcs: packet.csrcs().collect(),
            extensions,
            // The padding count is one byte, so a parsed padding length fits in u8.
            padding_len: u8::try_from(packet.padding_len()).unwrap_or(u8::MAX),
        })
    }

    /// Appends the packet (this header, `payload`, then the padding) to `out`. Fails, with
    /// `out` untouched, on a field the wire format cannot carry.
    pub fn write_into(&self, payload: &[u8], out: &mut Vec<u8>) -> Result<(), RtpError> {
        if self.payload_type > 0x7F {
            return Err(RtpError::InvalidPayloadType(self.payload_type));
        }
        if self.csrcs.len() > 15 {
            return Err(RtpError::TooManyCsrcs(self.csrcs.len()));
        }
        let mut extension_content_len = 0;
        if let Some(block) = &self.extensions {
            for (id, value) in &block.elements {
                block.form.check_element(*id, value.len())?;
                extension_content_len += block.form.element_header_len() + value.len();
            }
        }
        let padded_content_len = extension_content_len.div_ceil(4) * 4;
        let words =
            u16::try_from(padded_content_len / 4).map_err(|_| RtpError::ExtensionBlockTooLong {
                len: padded_content_len,
            })?;

        let csrc_count = self.csrcs.len() as u8;
        // One allocation for the whole packet, not one per part that outgrows the last.
        let extension_len = if self.extensions.is_some() {
            EXTENSION_BLOCK_HEADER_LEN + padded_content_len
        } else {
            0
        };
        out.reserve(
            FIXED_HEADER_LEN
                + 4 * self.csrcs.len()
                + extension_len
                + payload.len()
                + usize::from(self.padding_len),
        );
        out.push(
            (RTP_VERSION << 6)
                | if self.padding_len > 0 { 0x20 } else { 0 }
                | if self.extensions.is_some() { 0x10 } else { 0 }
                | csrc_count,
        );
        out.push((if self.marker { 0x80 } else { 0 }) | self.payload_type);
        out.extend_from_slice(&self.sequence_number.to_be_bytes());
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        for csrc in &self.csrcs {
            out.extend_from_slice(&csrc.to_be_bytes());
        }
        if let Some(block) = &self.extensions {
            out.extend_from_slice(&block.form.profile().to_be_bytes());
            out.extend_from_slice(&words.to_be_bytes());
            let content_start = out.len();
            for (id, value) in &block.elements {
                let mut element_header = [0; 2];
                let header_len =
                    block
                        .form
                        .write_element_header(&mut element_header, *id, value.len());
                out.extend_from_slice(element_header.get(..header_len).unwrap_or(&[]));
                out.extend_from_slice(value);
            }
            out.resize(content_start + padded_content_len, 0);
        }
        out.extend_from_slice(payload);
        if self.padding_len > 0 {
            out.extend(std::iter::repeat_n(0, usize::from(self.padding_len) - 1));
            out.push(self.padding_len);
        }
        Ok(())
    }

    /// Length of the header this writes: fixed part, CSRCs and the padded extension block.
    pub fn header_len(&self) -> usize {
        let extension_len = self.extensions.as_ref().map_or(0, |block| {
            let content: usize = block
                .elements
                .iter()
                .map(|(_, value)| block.form.element_header_len() + value.len())
                .sum();
            EXTENSION_BLOCK_HEADER_LEN + content.div_ceil(4) * 4
        });
        FIXED_HEADER_LEN + 4 * self.csrcs.len() + extension_len
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn element_strategy(form: ExtensionForm) -> impl Strategy<Value = (u8, Vec<u8>)> {
        match form {
            ExtensionForm::OneByte => {
                (1u8..=14, proptest::collection::vec(any::<u8>(), 1..=16)).boxed()
            }
            ExtensionForm::TwoByte => {
                (1u8..=255, proptest::collection::vec(any::<u8>(), 0..=40)).boxed()
            }
        }
    }

    fn header_strategy() -> impl Strategy<Value = RtpHeader> {
        let block = prop_oneof![Just(ExtensionForm::OneByte), Just(ExtensionForm::TwoByte)]
            .prop_flat_map(|form| {
                proptest::collection::vec(element_strategy(form), 0..5)
                    .prop_map(move |elements| ExtensionBlock { form, elements })
            });
        (
            any::<bool>(),
            0u8..=127,
            any::<u16>(),
            any::<u32>(),
            any::<u32>(),
            proptest::collection::vec(any::<u32>(), 0..=15),
            proptest::option::of(block),
            any::<u8>(),
        )
            .prop_map(
                |(
                    marker,
                    payload_type,
                    sequence_number,
                    timestamp,
                    ssrc,
                    csrcs,
                    extensions,
                    padding_len,
                )| {
                    RtpHeader {
                        marker,
                        payload_type,
                        sequence_number,
                        timestamp,
                        ssrc,
                        csrcs,
                        extensions,
                        padding_len,
                    }
                },
            )
    }

    #[test]
    fn writes_a_known_packet() {
        let header = RtpHeader {
            marker: true,
            payload_type: 96,
            sequence_number: 0x1234,
            timestamp: 0x5678,
            ssrc: 0xDEAD_BEEF,
            csrcs: vec![0x0102_0304],
            extensions: Some(ExtensionBlock {
                form: ExtensionForm::OneByte,
                elements: vec![(1, vec![0xAA]), (2, vec![0xBB, 0xCC])],
            }),
            padding_len: 4,
        };
        let mut out = Vec::new();
        header.write_into(&[1, 2, 3], &mut out).unwrap();
        assert_eq!(
            out,
            [
                0xB1, 0xE0, 0x12, 0x34, 0x00, 0x00, 0x56, 0x78, 0xDE, 0xAD, 0xBE, 0xEF, 0x01, 0x02,
                0x03, 0x04, 0xBE, 0xDE, 0x00, 0x02, 0x10, 0xAA, 0x21, 0xBB, 0xCC, 0x00, 0x00, 0x00,
                0x01, 0x02, 0x03, 0x00, 0x00, 0x00, 0x04
            ]
        );
        assert_eq!(header.header_len(), 28);
    }

    #[test]
    fn refuses_unrepresentable_fields() {
        let mut out = Vec::new();
        let bad_pt = RtpHeader {
            payload_type: 200,
            ..RtpHeader::default()
        };
        assert_eq!(
            bad_pt.write_into(&[], &mut out),
            Err(RtpError::InvalidPayloadType(200))
        );
        let many = RtpHeader {
            csrcs: vec![0; 16],
            ..RtpHeader::default()
        };
        assert_eq!(
            many.write_into(&[], &mut out),
            Err(RtpError::TooManyCsrcs(16))
        );
        let bad_id = RtpHeader {
            extensions: Some(ExtensionBlock {
                form: ExtensionForm::OneByte,
                elements: vec![(15, vec![1])],
            }),
            ..RtpHeader::default()
        };
        assert!(bad_id.write_into(&[], &mut out).is_err());
        assert!(out.is_empty());
    }

    proptest! {
        #[test]
        fn parse_of_write_is_identity(
            header in header_strategy(),
            payload in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let mut out = Vec::new();
            header.write_into(&payload, &mut out).unwrap();
            let packet = RtpPacket::parse(&out[..]).unwrap();
            prop_assert_eq!(packet.header_len(), header.header_len());
            prop_assert_eq!(packet.payload(), &payload[..]);
            prop_assert_eq!(RtpHeader::from_packet(&packet).unwrap(), header);
        }
    }
}
