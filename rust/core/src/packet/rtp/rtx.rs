//! RTX retransmission (RFC 4588 §4): the original sequence number travels as the first two
//! payload bytes of a packet on the RTX stream's SSRC, payload type and sequence space.

use super::{RtpError, RtpPacket};

/// Length of the original sequence number (OSN) field at the start of an RTX payload.
pub const RTX_OSN_LEN: usize = 2;

/// Turns the packet `buf[..len]` into its RTX form in place: payload type, SSRC and sequence
/// number become the RTX stream's, the original sequence number is inserted before the
/// payload, and the payload and RTP padding move right by 2 bytes (padding stays valid: it
/// is still the last bytes, with its count). Returns the new length, `len + 2`.
///
/// Fails, leaving the packet untouched, when `buf` has no 2 spare bytes.
pub fn rtx_encapsulate(
    buf: &mut [u8],
    len: usize,
    rtx_payload_type: u8,
    rtx_ssrc: u32,
    rtx_sequence_number: u16,
) -> Result<usize, RtpError> {
    let capacity = buf.len();
    let packet_bytes = buf
        .get_mut(..len)
        .ok_or(RtpError::LengthExceedsBuffer { len, capacity })?;
    let mut packet = RtpPacket::parse(packet_bytes)?;
    let new_len = len + RTX_OSN_LEN;
    if new_len > capacity {
        return Err(RtpError::BufferTooSmall {
            needed: new_len,
            capacity,
        });
    }
    packet.set_payload_type(rtx_payload_type)?;
    let original_sequence_number = packet.sequence_number();
    packet.set_sequence_number(rtx_sequence_number);
    packet.set_ssrc(rtx_ssrc);
    let payload_offset = packet.payload_offset();
    buf.copy_within(payload_offset..len, payload_offset + RTX_OSN_LEN);
    if let Some(osn) = buf.get_mut(payload_offset..payload_offset + RTX_OSN_LEN) {
        osn.copy_from_slice(&original_sequence_number.to_be_bytes());
    }
    Ok(new_len)
}

/// Restores the original packet from the RTX packet `buf[..len]` in place: the sequence
/// number comes back from the first two payload bytes, which are removed (payload and padding
/// move left by 2), and the original payload type and SSRC are set. Returns the new length,
/// `len - 2`.
///
/// Fails when the payload is shorter than the 2-byte original sequence number (RTX padding
/// probes carry no payload).
pub fn rtx_decapsulate(
    buf: &mut [u8],
    len: usize,
    payload_type: u8,
    ssrc: u32,
) -> Result<usize, RtpError> {
    let capacity = buf.len();
    let packet_bytes = buf
        .get_mut(..len)
        .ok_or(RtpError::LengthExceedsBuffer { len, capacity })?;
    let mut packet = RtpPacket::parse(packet_bytes)?;
    let Some(&[high, low]) = packet.payload().first_chunk::<RTX_OSN_LEN>() else {
        return Err(RtpError::RtxPayloadTooShort {
            len: packet.payload().len(),
        });
    };
    packet.set_payload_type(payload_type)?;
    packet.set_sequence_number(u16::from_be_bytes([high, low]));
    packet.set_ssrc(ssrc);
    let payload_offset = packet.payload_offset();
    buf.copy_within(payload_offset + RTX_OSN_LEN..len, payload_offset);
    Ok(len - RTX_OSN_LEN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::rtp::{ExtensionBlock, ExtensionForm, RtpHeader};
    use proptest::prelude::*;

    fn packet(payload: &[u8], padding_len: u8) -> Vec<u8> {
        let header = RtpHeader {
            marker: true,
            payload_type: 96,
            sequence_number: 1000,
            timestamp: 90_000,
            ssrc: 0x1111_1111,
            extensions: Some(ExtensionBlock {
                form: ExtensionForm::OneByte,
                elements: vec![(3, vec![0x12, 0x34])],
            }),
            padding_len,
            ..RtpHeader::default()
        };
        let mut out = Vec::new();
        header.write_into(payload, &mut out).unwrap();
        out
    }

    #[test]
    fn encapsulates_per_rfc_4588() {
        let original = packet(b"frame", 0);
        let mut buf = original.clone();
        buf.resize(original.len() + 2, 0);
        let len = rtx_encapsulate(&mut buf, original.len(), 97, 0x2222_2222, 7).unwrap();
        let rtx = RtpPacket::parse(&buf[..len]).unwrap();
        assert_eq!(rtx.payload_type(), 97);
        assert_eq!(rtx.ssrc(), 0x2222_2222);
        assert_eq!(rtx.sequence_number(), 7);
        assert!(rtx.marker());
        assert_eq!(rtx.timestamp(), 90_000);
        assert_eq!(rtx.payload(), &[0x03, 0xE8, b'f', b'r', b'a', b'm', b'e']);
        assert_eq!(rtx.header_extension(3), Some(&[0x12, 0x34][..]));
    }

    #[test]
    fn padding_survives_the_round_trip() {
        let original = packet(b"abc", 5);
        let mut buf = original.clone();
        buf.resize(original.len() + 2, 0);
        let len = rtx_encapsulate(&mut buf, original.len(), 97, 2, 7).unwrap();
        let rtx = RtpPacket::parse(&buf[..len]).unwrap();
        assert_eq!(rtx.padding_len(), 5);
        assert_eq!(rtx.payload(), &[0x03, 0xE8, b'a', b'b', b'c']);
        let len = rtx_decapsulate(&mut buf, len, 96, 0x1111_1111).unwrap();
        assert_eq!(&buf[..len], &original[..]);
    }

    #[test]
    fn refuses_short_buffers_and_payloads() {
        let original = packet(b"abc", 0);
        let mut buf = original.clone();
        assert_eq!(
            rtx_encapsulate(&mut buf, original.len(), 97, 2, 7),
            Err(RtpError::BufferTooSmall {
                needed: original.len() + 2,
                capacity: original.len()
            })
        );
        assert_eq!(buf, original);
        let probe = packet(b"", 4);
        let mut buf = probe.clone();
        assert_eq!(
            rtx_decapsulate(&mut buf, probe.len(), 96, 1),
            Err(RtpError::RtxPayloadTooShort { len: 0 })
        );
        assert_eq!(
            rtx_encapsulate(&mut buf, probe.len(), 128, 2, 7),
            Err(RtpError::BufferTooSmall {
                needed: probe.len() + 2,
                capacity: probe.len()
            })
        );
    }

    proptest! {
        #[test]
        fn encapsulate_then_decapsulate_is_identity(
            payload in proptest::collection::vec(any::<u8>(), 0..64),
            padding in 0u8..8,
            rtx_pt in 0u8..=127,
            rtx_ssrc in any::<u32>(),
            rtx_seq in any::<u16>(),
        ) {
            let original = packet(&payload, padding);
            let mut buf = original.clone();
            buf.resize(original.len() + 2, 0);
            let len = rtx_encapsulate(&mut buf, original.len(), rtx_pt, rtx_ssrc, rtx_seq).unwrap();
            prop_assert_eq!(len, original.len() + 2);
            let len = rtx_decapsulate(&mut buf, len, 96, 0x1111_1111).unwrap();
            prop_assert_eq!(&buf[..len], &original[..]);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64), room in 0usize..4) {
            let mut buf = bytes.clone();
            buf.resize(bytes.len() + room, 0);
            let _ = rtx_encapsulate(&mut buf, bytes.len(), 97, 1, 2);
            let mut buf = bytes.clone();
            let _ = rtx_decapsulate(&mut buf, bytes.len(), 96, 1);
        }
    }
}
