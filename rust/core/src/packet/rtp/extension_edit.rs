//! Inserting, replacing and removing header extension elements whose length changes (MID,
//! RID): the payload moves inside a caller-provided buffer with spare capacity, with no
//! allocation.

use super::extension_id_map::remap_elements;
use super::header_extension::next_element;
use super::packet::{EXTENSION_BLOCK_HEADER_LEN, FIXED_HEADER_LEN};
use super::{ExtensionForm, RtpError, RtpPacket};

const EXTENSION_BIT: u8 = 0x10;

/// Sets the value of extension `id` in the packet `buf[..len]`, replacing every existing
/// element with that id, or adding one (and the extension block itself if the packet had
/// none). Returns the new packet length.
///
/// The block keeps its form when the element fits it. A new block uses the one-byte form
/// when the id is 1..=14 and the value 1..=16 bytes, else the two-byte form; a one-byte
/// block is converted to the two-byte form when the new element needs it (RFC 8285 §4.1
/// forbids mixing forms in one block). Padding inside the block is squeezed out; the payload
/// and RTP padding move with `copy_within`. Fails without modifying the packet when the
/// buffer has no room, or the block has a non-RFC 8285 profile.
pub fn upsert_header_extension(
    buf: &mut [u8],
    len: usize,
    id: u8,
    value: &[u8],
) -> Result<usize, RtpError> {
    rewrite_extension(buf, len, id, Some(value))
}

/// Removes every element with extension `id` from the packet `buf[..len]`, and the whole
/// block when nothing else is left in it. Returns the new packet length (unchanged when the
/// id was absent).
pub fn remove_header_extension(buf: &mut [u8], len: usize, id: u8) -> Result<usize, RtpError> {
    rewrite_extension(buf, len, id, None)
}

/// The shape of the old block, read before anything is written.
struct OldBlock {
    form: ExtensionForm,
    profile: u16,
    /// Elements other than the one being replaced.
    kept_count: usize,
    /// Value bytes of those elements.
    kept_value_len: usize,
    /// Whether an element with the id was present.
    found: bool,
}

fn rewrite_extension(
    buf: &mut [u8],
    len: usize,
    id: u8,
    value: Option<&[u8]>,
) -> Result<usize, RtpError> {
    let packet_bytes = buf.get(..len).ok_or(RtpError::LengthExceedsBuffer {
        len,
        capacity: buf.len(),
    })?;
    let packet = RtpPacket::parse(packet_bytes)?;
    let block_offset = FIXED_HEADER_LEN + 4 * usize::from(packet.csrc_count());
    let data_offset = block_offset + EXTENSION_BLOCK_HEADER_LEN;
    let old_header_len = packet.header_len();

    let old = match packet.extension_profile() {
        None => None,
        Some(profile) => {
            let form = ExtensionForm::from_profile(profile)
                .ok_or(RtpError::UnsupportedExtensionProfile(profile))?;
            let data = packet.extension_data().unwrap_or(&[]);
            let mut block = OldBlock {
                form,
                profile,
                kept_count: 0,
                kept_value_len: 0,
                found: false,
            };
            let mut pos = 0;
            while let Some(element) = next_element(data, pos, form)? {
                if element.id == id {
                    block.found = true;
                } else {
                    block.kept_count += 1;
                    block.kept_value_len += element.value_len();
                }
                pos = element.end;
            }
            Some(block)
        }
    };

    let new_form = match (value, &old) {
        (None, None) => return Ok(len),
        (None, Some(block)) if !block.found => return Ok(len),
        (None, Some(block)) => block.form,
        (Some(_), Some(block)) if block.form == ExtensionForm::TwoByte => ExtensionForm::TwoByte,
        (Some(value), _) => ExtensionForm::smallest_for(id, value.len()),
    };
    if let Some(value) = value {
        new_form.check_element(id, value.len())?;
    }
    let (kept_count, kept_value_len) = old
        .as_ref()
        .map_or((0, 0), |block| (block.kept_count, block.kept_value_len));
    let kept_len = kept_count * new_form.element_header_len() + kept_value_len;
    let content_len = kept_len + value.map_or(0, |v| new_form.element_header_len() + v.len());

    // An emptied block disappears with its X bit; otherwise it is padded to 32-bit words.
    let padded_len = content_len.div_ceil(4) * 4;
    let words = padded_len / 4;
    if words > usize::from(u16::MAX) {
        return Err(RtpError::ExtensionBlockTooLong { len: padded_len });
    }
    let new_header_len = if content_len == 0 {
        block_offset
    } else {
        data_offset + padded_len
    };
    let new_len = len - old_header_len + new_header_len;
    if new_len > buf.len() {
        return Err(RtpError::BufferTooSmall {
            needed: new_len,
            capacity: buf.len(),
        });
    }

    // Growing: move the payload out of the way first; shrinking: last, once the block is
    // rebuilt. Either way the block is rebuilt inside [data_offset, max(old, new) header).
    if new_header_len > old_header_len {
        buf.copy_within(old_header_len..len, new_header_len);
    }
    if let Some(block) = &old {
        let old_data = buf.get_mut(data_offset..old_header_len).unwrap_or(&mut []);
        let compacted = remap_elements(old_data, block.form, |element_id| {
            (element_id != id).then_some(element_id)
        })?;
        if block.form != new_form {
            widen_to_two_byte(buf, data_offset, compacted, block.kept_count);
        }
    }
    if let Some(value) = value {
        let element_at = data_offset + kept_len;
        let header_len = new_form.write_element_header(
            buf.get_mut(element_at..).unwrap_or(&mut []),
            id,
            value.len(),
        );
        let value_at = element_at + header_len;
        if let Some(slot) = buf.get_mut(value_at..value_at + value.len()) {
            slot.copy_from_slice(value);
        }
    }

    if content_len == 0 {
        if let Some(first) = buf.first_mut() {
            *first &= !EXTENSION_BIT;
        }
    } else {
        if let Some(tail) = buf.get_mut(data_offset + content_len..new_header_len) {
            tail.fill(0);
        }
        // A block that keeps its form keeps its profile (and two-byte appbits).
        let profile = match &old {
            Some(block) if block.form == new_form => block.profile,
            _ => new_form.profile(),
        };
        let [profile_high, profile_low] = profile.to_be_bytes();
        let [words_high, words_low] = (words as u16).to_be_bytes();
        if let Some(header) = buf.get_mut(block_offset..data_offset) {
            header.copy_from_slice(&[profile_high, profile_low, words_high, words_low]);
        }
        if let Some(first) = buf.first_mut() {
            *first |= EXTENSION_BIT;
        }
    }

    if new_header_len < old_header_len {
        buf.copy_within(old_header_len..len, new_header_len);
    }
    Ok(new_len)
}

/// Converts `count` contiguous one-byte elements (`compacted` bytes at `data_offset`) to the
/// two-byte form in place; each element grows by one byte.
///
/// The elements are first shifted right by `count` bytes; then reading from there and
/// writing from `data_offset`, the writer stays at least one byte behind the reader until
/// the last element, so no unread byte is overwritten.
fn widen_to_two_byte(buf: &mut [u8], data_offset: usize, compacted: usize, count: usize) {
    let mut read = data_offset + count;
    buf.copy_within(data_offset..data_offset + compacted, read);
    let mut write = data_offset;
    for _ in 0..count {
        let Some(&header) = buf.get(read) else {
            return;
        };
        let id = header >> 4;
        let value_len = usize::from(header & 0x0F) + 1;
        let value = read + 1..read + 1 + value_len;
        if value.end > buf.len() {
            return;
        }
        if let Some([id_byte, len_byte]) = buf
            .get_mut(write..write + 2)
            .and_then(|s| <&mut [u8; 2]>::try_from(s).ok())
        {
            *id_byte = id;
            *len_byte = value_len as u8;
        }
        buf.copy_within(value, write + 2);
        read += 1 + value_len;
        write += 2 + value_len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::rtp::{ExtensionBlock, RtpHeader};
    use proptest::prelude::*;

    fn build(extensions: Option<ExtensionBlock>, payload: &[u8], padding: u8) -> Vec<u8> {
        let header = RtpHeader {
            payload_type: 96,
            sequence_number: 7,
            timestamp: 9,
            ssrc: 0x1122_3344,
            csrcs: vec![5],
            extensions,
            padding_len: padding,
            ..RtpHeader::default()
        };
        let mut out = Vec::new();
        header.write_into(payload, &mut out).unwrap();
        out
    }

    fn one_byte(elements: Vec<(u8, Vec<u8>)>) -> Option<ExtensionBlock> {
        Some(ExtensionBlock {
            form: ExtensionForm::OneByte,
            elements,
        })
    }

    fn elements(bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
        RtpPacket::parse(bytes)
            .unwrap()
            .header_extensions()
            .map(|(id, v)| (id, v.to_vec()))
            .collect()
    }

    fn with_room(packet: &[u8], room: usize) -> Vec<u8> {
        let mut buf = packet.to_vec();
        buf.resize(packet.len() + room, 0xEE);
        buf
    }

    #[test]
    fn adds_a_block_to_a_packet_without_one() {
        let packet = build(None, b"payload", 0);
        let mut buf = with_room(&packet, 64);
        let len = upsert_header_extension(&mut buf, packet.len(), 1, b"0").unwrap();
        assert_eq!(len, packet.len() + 8);
        let parsed = RtpPacket::parse(&buf[..len]).unwrap();
        assert_eq!(parsed.extension_profile(), Some(0xBEDE));
        assert_eq!(parsed.header_extension(1), Some(&b"0"[..]));
        assert_eq!(parsed.payload(), b"payload");
        assert_eq!(parsed.csrcs().collect::<Vec<_>>(), vec![5]);
    }

    #[test]
    fn new_block_uses_two_byte_form_when_needed() {
        let packet = build(None, b"x", 0);
        let mut buf = with_room(&packet, 64);
        let len = upsert_header_extension(&mut buf, packet.len(), 20, b"abc").unwrap();
        let parsed = RtpPacket::parse(&buf[..len]).unwrap();
        assert_eq!(parsed.extension_form(), Some(ExtensionForm::TwoByte));
        assert_eq!(parsed.header_extension(20), Some(&b"abc"[..]));
    }

    #[test]
    fn replaces_a_mid_with_a_longer_one_keeping_padding() {
        let packet = build(
            one_byte(vec![(1, b"0".to_vec()), (3, vec![1, 2, 3])]),
            b"payload",
            3,
        );
        let mut buf = with_room(&packet, 32);
        let len = upsert_header_extension(&mut buf, packet.len(), 1, b"video-main").unwrap();
        let parsed = RtpPacket::parse(&buf[..len]).unwrap();
        assert_eq!(
            elements(&buf[..len]),
            vec![(3, vec![1, 2, 3]), (1, b"video-main".to_vec())]
        );
        assert_eq!(parsed.payload(), b"payload");
        assert_eq!(parsed.padding_len(), 3);
    }

    #[test]
    fn shrinks_when_a_value_gets_shorter() {
        let packet = build(
            one_byte(vec![(1, b"0123456789abcdef".to_vec()), (2, vec![9])]),
            b"payload",
            0,
        );
        let mut buf = packet.clone();
        let len = upsert_header_extension(&mut buf, packet.len(), 1, b"a").unwrap();
        assert!(len < packet.len());
        let parsed = RtpPacket::parse(&buf[..len]).unwrap();
        assert_eq!(
            elements(&buf[..len]),
            vec![(2, vec![9]), (1, b"a".to_vec())]
        );
        assert_eq!(parsed.payload(), b"payload");
    }

    #[test]
    fn converts_one_byte_block_for_a_large_id() {
        let packet = build(
            one_byte(vec![(1, b"m".to_vec()), (2, vec![1, 2, 3, 4])]),
            b"p",
            0,
        );
        let mut buf = with_room(&packet, 32);
        let len = upsert_header_extension(&mut buf, packet.len(), 15, b"rid").unwrap();
        let parsed = RtpPacket::parse(&buf[..len]).unwrap();
        assert_eq!(parsed.extension_form(), Some(ExtensionForm::TwoByte));
        assert_eq!(
            elements(&buf[..len]),
            vec![
                (1, b"m".to_vec()),
                (2, vec![1, 2, 3, 4]),
                (15, b"rid".to_vec())
            ]
        );
        assert_eq!(parsed.payload(), b"p");
    }

    #[test]
    fn removing_the_last_element_removes_the_block() {
        let packet = build(one_byte(vec![(1, b"0".to_vec())]), b"pl", 2);
        let mut buf = packet.clone();
        let len = remove_header_extension(&mut buf, packet.len(), 1).unwrap();
        assert_eq!(len, packet.len() - 8);
        let parsed = RtpPacket::parse(&buf[..len]).unwrap();
        assert!(!parsed.has_extension());
        assert_eq!(parsed.payload(), b"pl");
        assert_eq!(parsed.padding_len(), 2);
        assert_eq!(remove_header_extension(&mut buf, len, 1), Ok(len));
    }

    #[test]
    fn refuses_without_room_and_leaves_the_packet_alone() {
        let packet = build(one_byte(vec![(1, b"0".to_vec())]), b"pl", 0);
        let mut buf = packet.clone();
        assert_eq!(
            upsert_header_extension(&mut buf, packet.len(), 2, b"abcdef"),
            Err(RtpError::BufferTooSmall {
                needed: packet.len() + 8,
                capacity: packet.len()
            })
        );
        assert_eq!(buf, packet);
        assert_eq!(
            upsert_header_extension(&mut buf, packet.len() + 1, 2, b"a"),
            Err(RtpError::LengthExceedsBuffer {
                len: packet.len() + 1,
                capacity: packet.len()
            })
        );
        assert!(matches!(
            upsert_header_extension(&mut buf, packet.len(), 0, b"a"),
            Err(RtpError::InvalidExtensionId { id: 0, .. })
        ));
    }

    proptest! {
        #[test]
        fn upsert_then_remove_round_trip(
            others in proptest::collection::vec((1u8..=30, proptest::collection::vec(any::<u8>(), 1..=16)), 0..5),
            two_byte in any::<bool>(),
            id in 1u8..=20,
            value in proptest::collection::vec(any::<u8>(), 1..=20),
            payload in proptest::collection::vec(any::<u8>(), 0..40),
            padding in 0u8..5,
        ) {
            let form = if two_byte { ExtensionForm::TwoByte } else { ExtensionForm::OneByte };
            let others: Vec<(u8, Vec<u8>)> = others
                .into_iter()
                .filter(|(other, v)| *other != id && form.check_element(*other, v.len()).is_ok())
                .collect();
            let extensions = (!others.is_empty()).then(|| ExtensionBlock { form, elements: others.clone() });
            let packet = build(extensions, &payload, padding);
            let mut buf = with_room(&packet, 64);
            let len = upsert_header_extension(&mut buf, packet.len(), id, &value).unwrap();
            let parsed = RtpPacket::parse(&buf[..len]).unwrap();
            prop_assert_eq!(parsed.header_extension(id), Some(&value[..]));
            prop_assert_eq!(parsed.payload(), &payload[..]);
            prop_assert_eq!(parsed.padding_len(), usize::from(padding));
            let mut expected = others.clone();
            expected.push((id, value.clone()));
            prop_assert_eq!(elements(&buf[..len]), expected);

            let len = remove_header_extension(&mut buf, len, id).unwrap();
            let parsed = RtpPacket::parse(&buf[..len]).unwrap();
            prop_assert_eq!(parsed.header_extension(id), None);
            prop_assert_eq!(parsed.payload(), &payload[..]);
            prop_assert_eq!(elements(&buf[..len]), others.clone());
            prop_assert_eq!(parsed.has_extension(), !others.is_empty());
        }

        #[test]
        fn arbitrary_packets_never_panic(
            bytes in proptest::collection::vec(any::<u8>(), 0..80),
            room in 0usize..24,
            id in any::<u8>(),
            value in proptest::collection::vec(any::<u8>(), 0..20),
        ) {
            let mut buf = with_room(&bytes, room);
            if let Ok(len) = upsert_header_extension(&mut buf, bytes.len(), id, &value) {
                prop_assert!(RtpPacket::parse(&buf[..len]).is_ok());
            }
            let _ = remove_header_extension(&mut buf, bytes.len(), id);
        }
    }
}
