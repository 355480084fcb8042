//! Rewriting header extension ids from the ids a sender negotiated to the ids a receiver
//! negotiated (each side of an SFU has its own RFC 8285 id space), in place.

use super::header_extension::next_element;
use super::{ExtensionForm, RtpError};

/// A fixed table from incoming extension ids to outgoing ids; 0 means "drop the element".
///
/// 256 bytes, no allocation: built once per producer/consumer pair, used per packet.
#[derive(Clone, PartialEq, Eq)]
pub struct ExtensionIdMap {
    to: [u8; 256],
}

impl ExtensionIdMap {
    /// A map that drops every extension.
    pub fn new() -> Self {
        ExtensionIdMap { to: [0; 256] }
    }

    /// A map that keeps every id unchanged.
    pub fn identity() -> Self {
        let mut to = [0; 256];
        for (id, slot) in (0u8..=255).zip(to.iter_mut()) {
            *slot = id;
        }
        ExtensionIdMap { to }
    }

    /// Maps incoming id `from` to outgoing id `to` (0 drops it). Id 0 is padding and cannot
    /// be a source.
    pub fn insert(&mut self, from: u8, to: u8) -> Result<(), RtpError> {
        if from == 0 {
            return Err(RtpError::MapFromPaddingId);
        }
        if let Some(slot) = self.to.get_mut(usize::from(from)) {
            *slot = to;
        }
        Ok(())
    }

    /// The outgoing id for `from`, `None` when it is dropped.
    pub fn get(&self, from: u8) -> Option<u8> {
        self.to
            .get(usize::from(from))
            .copied()
            .filter(|&to| to != 0)
    }
}

impl Default for ExtensionIdMap {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for ExtensionIdMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries((1u8..=255).filter_map(|from| self.get(from).map(|to| (from, to))))
            .finish()
    }
}

/// Remaps and compacts the elements of an extension block's data in place.
///
/// First pass: check that every kept element's new id fits the form, so nothing is written
/// on failure. Second pass: write each kept element at the write cursor, which never passes
/// the read cursor because elements only keep their size or vanish.
///
/// `map` gives the new id of an element, `None` to drop it. Returns the length of the kept
/// elements, which now start at offset 0 with no padding between them.
pub(crate) fn remap_elements(
    data: &mut [u8],
    form: ExtensionForm,
    map: impl Fn(u8) -> Option<u8>,
) -> Result<usize, RtpError> {
    let mut pos = 0;
    while let Some(element) = next_element(data, pos, form)? {
        if let Some(to) = map(element.id) {
            form.check_element(to, element.value_len())?;
        }
        pos = element.end;
    }

    let mut write = 0;
    let mut read = 0;
    while let Some(element) = next_element(data, read, form)? {
        read = element.end;
        let Some(to) = map(element.id) else {
            continue;
        };
        let value_len = element.value_len();
        let header_len =
            form.write_element_header(data.get_mut(write..).unwrap_or(&mut []), to, value_len);
        let value_to = write + header_len;
        if value_to != element.value_start {
            data.copy_within(element.value_start..element.end, value_to);
        }
        write = value_to + value_len;
    }
    if let Some(tail) = data.get_mut(write..) {
        tail.fill(0);
    }
    Ok(write)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::rtp::HeaderExtensions;
    use proptest::prelude::*;

    fn elements(data: &[u8], form: ExtensionForm) -> Vec<(u8, Vec<u8>)> {
        HeaderExtensions::new(data, Some(form))
            .map(|(id, value)| (id, value.to_vec()))
            .collect()
    }

    #[test]
    fn map_basics() {
        let mut map = ExtensionIdMap::new();
        assert_eq!(map.get(3), None);
        map.insert(3, 7).unwrap();
        assert_eq!(map.get(3), Some(7));
        assert_eq!(map.insert(0, 1), Err(RtpError::MapFromPaddingId));
        assert_eq!(ExtensionIdMap::identity().get(200), Some(200));
        assert_eq!(format!("{map:?}"), "{3: 7}");
    }

    #[test]
    fn drops_and_compacts_one_byte() {
        // id 1 (1 byte), id 2 (3 bytes), padding, id 3 (2 bytes), padding.
        let mut data = [
            0x10, 0xA1, 0x22, 0xB1, 0xB2, 0xB3, 0x00, 0x31, 0xC1, 0xC2, 0x00, 0x00,
        ];
        let mut map = ExtensionIdMap::new();
        map.insert(1, 5).unwrap();
        map.insert(3, 14).unwrap();
        remap_elements(&mut data, ExtensionForm::OneByte, |id| map.get(id)).unwrap();
        assert_eq!(data, [0x50, 0xA1, 0xE1, 0xC1, 0xC2, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn refuses_ids_the_form_cannot_carry_without_writing() {
        let mut data = [0x10, 0xA1, 0x22, 0xB1, 0xB2, 0xB3, 0x00, 0x00];
        let before = data;
        let mut map = ExtensionIdMap::new();
        map.insert(1, 2).unwrap();
        map.insert(2, 15).unwrap();
        assert_eq!(
            remap_elements(&mut data, ExtensionForm::OneByte, |id| map.get(id)),
            Err(RtpError::InvalidExtensionId {
                id: 15,
                form: ExtensionForm::OneByte
            })
        );
        assert_eq!(data, before);
    }

    #[test]
    fn two_byte_remap_to_large_ids() {
        let mut data = [0x01, 0x00, 0x02, 0x02, 0xAA, 0xBB, 0x00, 0x00];
        let mut map = ExtensionIdMap::new();
        map.insert(2, 200).unwrap();
        remap_elements(&mut data, ExtensionForm::TwoByte, |id| map.get(id)).unwrap();
        assert_eq!(data, [200, 0x02, 0xAA, 0xBB, 0, 0, 0, 0]);
    }

    proptest! {
        #[test]
        fn remap_preserves_kept_values(
            values in proptest::collection::vec((1u8..=14, proptest::collection::vec(any::<u8>(), 1..=16)), 0..6),
            targets in proptest::collection::vec(0u8..=14, 15),
            pad in 0usize..4,
        ) {
            let mut data = Vec::new();
            for (id, value) in &values {
                data.push((id << 4) | (value.len() as u8 - 1));
                data.extend_from_slice(value);
                data.extend(std::iter::repeat_n(0, pad));
            }
            let mut map = ExtensionIdMap::new();
            for (from, &to) in (1u8..=14).zip(&targets) {
                map.insert(from, to).unwrap();
            }
            let len = data.len();
            remap_elements(&mut data, ExtensionForm::OneByte, |id| map.get(id)).unwrap();
            prop_assert_eq!(data.len(), len);
            let expected: Vec<(u8, Vec<u8>)> = values
                .iter()
                .filter_map(|(id, value)| map.get(*id).map(|to| (to, value.clone())))
                .collect();
            prop_assert_eq!(elements(&data, ExtensionForm::OneByte), expected);
        }

        #[test]
        fn remap_of_arbitrary_data_never_panics(
            mut data in proptest::collection::vec(any::<u8>(), 0..48),
            two_byte in any::<bool>(),
        ) {
            let form = if two_byte { ExtensionForm::TwoByte } else { ExtensionForm::OneByte };
            let before = data.clone();
            let mut map = ExtensionIdMap::new();
            map.insert(1, 3).unwrap();
            map.insert(2, 1).unwrap();
            if remap_elements(&mut data, form, |id| map.get(id)).is_err() {
                prop_assert_eq!(data, before);
            }
        }
    }
}
