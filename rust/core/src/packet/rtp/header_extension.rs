//! RFC 8285 header extension elements: the one-byte (0xBEDE) and two-byte (0x100X) forms,
//! walking their elements, and the iterator over `(id, value)` pairs.

use std::fmt;

use super::RtpError;

/// Profile of an RFC 8285 one-byte header extension block (§4.2).
pub const ONE_BYTE_PROFILE: u16 = 0xBEDE;
/// Profile of an RFC 8285 two-byte header extension block (§4.3); the low 4 bits
/// ("appbits") are application specific, so any 0x100X matches.
pub const TWO_BYTE_PROFILE: u16 = 0x1000;
/// Mask selecting the part of a two-byte profile that is fixed.
const TWO_BYTE_PROFILE_MASK: u16 = 0xFFF0;
/// One-byte form id 15: reserved; processing of the block stops there (RFC 8285 §4.2).
const ONE_BYTE_RESERVED_ID: u8 = 15;
/// Largest id of the one-byte form.
pub const ONE_BYTE_MAX_ID: u8 = 14;
/// Largest value of the one-byte form (the length nibble stores length - 1).
pub const ONE_BYTE_MAX_VALUE_LEN: usize = 16;
/// Largest value of the two-byte form.
pub const TWO_BYTE_MAX_VALUE_LEN: usize = 255;

/// The two RFC 8285 element layouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExtensionForm {
    /// 0xBEDE: one header byte per element (4-bit id 1..=14, 4-bit length - 1), values
    /// of 1..=16 bytes.
    OneByte,
    /// 0x100X: two header bytes per element (8-bit id 1..=255, 8-bit length), values of
    /// 0..=255 bytes.
    TwoByte,
}

impl ExtensionForm {
    /// The form a block profile announces, `None` for a non-RFC 8285 profile.
    pub fn from_profile(profile: u16) -> Option<Self> {
        if profile == ONE_BYTE_PROFILE {
            Some(ExtensionForm::OneByte)
        } else if profile & TWO_BYTE_PROFILE_MASK == TWO_BYTE_PROFILE {
            Some(ExtensionForm::TwoByte)
        } else {
            None
        }
    }

    /// The profile written for this form (appbits 0 for the two-byte form).
    pub fn profile(self) -> u16 {
        match self {
            ExtensionForm::OneByte => ONE_BYTE_PROFILE,
            ExtensionForm::TwoByte => TWO_BYTE_PROFILE,
        }
    }

    /// Size of an element header in this form.
    pub fn element_header_len(self) -> usize {
        match self {
            ExtensionForm::OneByte => 1,
            ExtensionForm::TwoByte => 2,
        }
    }

    /// Checks that an element with this id and value length can be written in this form.
    pub fn check_element(self, id: u8, value_len: usize) -> Result<(), RtpError> {
        let id_ok = match self {
            ExtensionForm::OneByte => (1..=ONE_BYTE_MAX_ID).contains(&id),
            ExtensionForm::TwoByte => id != 0,
        };
        if !id_ok {
            return Err(RtpError::InvalidExtensionId { id, form: self });
        }
        let len_ok = match self {
            ExtensionForm::OneByte => (1..=ONE_BYTE_MAX_VALUE_LEN).contains(&value_len),
            ExtensionForm::TwoByte => value_len <= TWO_BYTE_MAX_VALUE_LEN,
        };
        if !len_ok {
            return Err(RtpError::InvalidExtensionLength {
                id,
                len: value_len,
                form: self,
            });
        }
        Ok(())
    }

    /// The smallest form that can carry an element with this id and value length.
    pub fn smallest_for(id: u8, value_len: usize) -> Self {
        if ExtensionForm::OneByte.check_element(id, value_len).is_ok() {
            ExtensionForm::OneByte
        } else {
            ExtensionForm::TwoByte
        }
    }

    /// Writes an element header at the start of `out`; the caller has checked the element
    /// with [`ExtensionForm::check_element`] and sized `out`. Returns the header length.
    pub(crate) fn write_element_header(self, out: &mut [u8], id: u8, value_len: usize) -> usize {
        match self {
            ExtensionForm::OneByte => {
                if let Some(byte) = out.first_mut() {
                    // The length nibble stores length - 1; check_element guaranteed 1..=16.
                    *byte = (id << 4) | (value_len.saturating_sub(1) as u8 & 0x0F);
                }
                1
            }
            ExtensionForm::TwoByte => {
                if let Some([id_byte, len_byte]) = out.first_chunk_mut::<2>() {
                    *id_byte = id;
                    *len_byte = value_len as u8;
                }
                2
            }
        }
    }
}

impl fmt::Display for ExtensionForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ExtensionForm::OneByte => "one-byte",
            ExtensionForm::TwoByte => "two-byte",
        })
    }
}

/// One element located inside the extension data (offsets relative to the data, which
/// starts after the 4-byte block header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ElementSpan {
    /// The element id.
    pub id: u8,
    /// Offset of the element header.
    pub start: usize,
    /// Offset of the value.
    pub value_start: usize,
    /// Offset just past the value.
    pub end: usize,
}

impl ElementSpan {
    /// Length of the value.
    pub fn value_len(&self) -> usize {
        self.end - self.value_start
    }
}

/// Finds the element at or after `pos`, skipping padding bytes. `Ok(None)` at the end of the
/// data or at the one-byte reserved id 15, after which nothing is read (RFC 8285 §4.2).
pub(crate) fn next_element(
    data: &[u8],
    mut pos: usize,
    form: ExtensionForm,
) -> Result<Option<ElementSpan>, RtpError> {
    let malformed = |offset: usize, reason: &'static str| RtpError::MalformedExtensionElement {
        offset,
        block_len: data.len(),
        reason,
    };
    loop {
        let Some(&first) = data.get(pos) else {
            return Ok(None);
        };
        // A zero byte is padding in both forms (RFC 8285 §4.1).
        if first == 0 {
            pos += 1;
            continue;
        }
        let (id, value_start, value_len) = match form {
            ExtensionForm::OneByte => {
                let id = first >> 4;
                if id == ONE_BYTE_RESERVED_ID {
                    return Ok(None);
                }
                if id == 0 {
                    return Err(malformed(pos, "padding id 0 with a non-zero length"));
                }
                (id, pos + 1, usize::from(first & 0x0F) + 1)
            }
            ExtensionForm::TwoByte => {
                let Some(&len) = data.get(pos + 1) else {
                    return Err(malformed(pos, "two-byte element header cut off"));
                };
                (first, pos + 2, usize::from(len))
            }
        };
        let end = value_start + value_len;
        if end > data.len() {
            return Err(malformed(
                pos,
                "element value runs past the end of the block",
            ));
        }
        return Ok(Some(ElementSpan {
            id,
            start: pos,
            value_start,
            end,
        }));
    }
}

/// Walks every element once, so that later iteration can rely on a well-formed block.
pub(crate) fn validate_elements(data: &[u8], form: ExtensionForm) -> Result<(), RtpError> {
    let mut pos = 0;
    while let Some(element) = next_element(data, pos, form)? {
        pos = element.end;
    }
    Ok(())
}

/// Iterator over the `(id, value)` pairs of an RFC 8285 extension block, in packet order,
/// padding skipped. Empty for a packet without a block or with a non-RFC 8285 profile.
#[derive(Debug, Clone)]
pub struct HeaderExtensions<'a> {
    data: &'a [u8],
    pos: usize,
    form: Option<ExtensionForm>,
}

impl<'a> HeaderExtensions<'a> {
    pub(crate) fn new(data: &'a [u8], form: Option<ExtensionForm>) -> Self {
        HeaderExtensions { data, pos: 0, form }
    }
}

impl<'a> Iterator for HeaderExtensions<'a> {
    type Item = (u8, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let form = self.form?;
        // The block was validated by `RtpPacket::parse`; an error here cannot happen, and
        // would end the iteration rather than panic.
        match next_element(self.data, self.pos, form) {
            Ok(Some(element)) => {
                self.pos = element.end;
                let value = self.data.get(element.value_start..element.end)?;
                Some((element.id, value))
            }
            Ok(None) | Err(_) => {
                self.form = None;
                None
            }
        }
    }
}

impl std::iter::FusedIterator for HeaderExtensions<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(data: &[u8], form: ExtensionForm) -> Vec<(u8, Vec<u8>)> {
        HeaderExtensions::new(data, Some(form))
            .map(|(id, value)| (id, value.to_vec()))
            .collect()
    }

    #[test]
    fn forms_from_profiles() {
        assert_eq!(
            ExtensionForm::from_profile(0xBEDE),
            Some(ExtensionForm::OneByte)
        );
        assert_eq!(
            ExtensionForm::from_profile(0x1000),
            Some(ExtensionForm::TwoByte)
        );
        assert_eq!(
            ExtensionForm::from_profile(0x100F),
            Some(ExtensionForm::TwoByte)
        );
        assert_eq!(ExtensionForm::from_profile(0x1010), None);
        assert_eq!(ExtensionForm::from_profile(0xABAC), None);
    }

    #[test]
    fn one_byte_elements_with_padding() {
        // RFC 8285 §4.2 example shape: id 1 len 1, padding, id 2 len 2, then padding.
        let data = [0x10, 0xAA, 0x00, 0x21, 0xBB, 0xCC, 0x00, 0x00];
        assert_eq!(
            collect(&data, ExtensionForm::OneByte),
            vec![(1, vec![0xAA]), (2, vec![0xBB, 0xCC])]
        );
        assert_eq!(validate_elements(&data, ExtensionForm::OneByte), Ok(()));
    }

    #[test]
    fn one_byte_reserved_id_stops_processing() {
        let data = [0x10, 0xAA, 0xF0, 0x21, 0xBB, 0xCC];
        assert_eq!(
            collect(&data, ExtensionForm::OneByte),
            vec![(1, vec![0xAA])]
        );
    }

    #[test]
    fn two_byte_elements_with_empty_value() {
        let data = [0x01, 0x00, 0x00, 0x20, 0x02, 0xAA, 0xBB, 0x00];
        assert_eq!(
            collect(&data, ExtensionForm::TwoByte),
            vec![(1, vec![]), (0x20, vec![0xAA, 0xBB])]
        );
    }

    #[test]
    fn overrunning_elements_are_rejected() {
        assert!(matches!(
            validate_elements(&[0x13, 0xAA, 0xBB], ExtensionForm::OneByte),
            Err(RtpError::MalformedExtensionElement { offset: 0, .. })
        ));
        assert!(matches!(
            validate_elements(&[0x00, 0x05], ExtensionForm::TwoByte),
            Err(RtpError::MalformedExtensionElement { offset: 1, .. })
        ));
        assert!(matches!(
            validate_elements(&[0x01, 0x03, 0xAA], ExtensionForm::TwoByte),
            Err(RtpError::MalformedExtensionElement { offset: 0, .. })
        ));
        assert!(matches!(
            validate_elements(&[0x03, 0xAA], ExtensionForm::OneByte),
            Err(RtpError::MalformedExtensionElement { offset: 0, .. })
        ));
    }

    #[test]
    fn element_checks_per_form() {
        assert!(ExtensionForm::OneByte.check_element(14, 16).is_ok());
        assert!(ExtensionForm::OneByte.check_element(15, 1).is_err());
        assert!(ExtensionForm::OneByte.check_element(0, 1).is_err());
        assert!(ExtensionForm::OneByte.check_element(1, 0).is_err());
        assert!(ExtensionForm::OneByte.check_element(1, 17).is_err());
        assert!(ExtensionForm::TwoByte.check_element(255, 0).is_ok());
        assert!(ExtensionForm::TwoByte.check_element(1, 256).is_err());
        assert_eq!(ExtensionForm::smallest_for(3, 16), ExtensionForm::OneByte);
        assert_eq!(ExtensionForm::smallest_for(15, 1), ExtensionForm::TwoByte);
        assert_eq!(ExtensionForm::smallest_for(3, 0), ExtensionForm::TwoByte);
    }
}
