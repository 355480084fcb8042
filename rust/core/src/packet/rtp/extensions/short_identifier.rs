//! The fixed-capacity string behind MID and RID values: `Copy`, hashable, no allocation, so
//! routing tables can key on it and the hot path can compare it.

use std::fmt;

use super::ExtensionValueError;

/// Longest MID or RID value accepted: the one-byte extension form carries at most 16 bytes,
/// and libwebrtc refuses longer MID and RID strings for the same reason.
pub const MAX_IDENTIFIER_LEN: usize = 16;

/// Up to 16 bytes of validated UTF-8.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) struct ShortIdentifier {
    len: u8,
    bytes: [u8; MAX_IDENTIFIER_LEN],
}

impl ShortIdentifier {
    /// Copies a non-empty UTF-8 value of at most 16 bytes that `check_bytes` accepts.
    pub(super) fn new(
        value: &[u8],
        extension: &'static str,
        check_bytes: impl Fn(&[u8]) -> Result<(), ExtensionValueError>,
    ) -> Result<Self, ExtensionValueError> {
        if value.is_empty() {
            return Err(ExtensionValueError::Empty { extension });
        }
        if value.len() > MAX_IDENTIFIER_LEN {
            return Err(ExtensionValueError::BadLength {
                extension,
                expected: "1..=16",
                got: value.len(),
            });
        }
        if std::str::from_utf8(value).is_err() {
            return Err(ExtensionValueError::NotUtf8 { extension });
        }
        check_bytes(value)?;
        let mut bytes = [0; MAX_IDENTIFIER_LEN];
        bytes
            .get_mut(..value.len())
            .unwrap_or(&mut [])
            .copy_from_slice(value);
        Ok(ShortIdentifier {
            len: value.len() as u8,
            bytes,
        })
    }

    /// Reads a wire value: like libwebrtc, the string ends at the first NUL byte, so senders
    /// that zero-pad a value are understood.
    pub(super) fn parse(
        value: &[u8],
        extension: &'static str,
        check_bytes: impl Fn(&[u8]) -> Result<(), ExtensionValueError>,
    ) -> Result<Self, ExtensionValueError> {
        let end = value.iter().position(|&b| b == 0).unwrap_or(value.len());
        Self::new(value.get(..end).unwrap_or(&[]), extension, check_bytes)
    }

    pub(super) fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }

    pub(super) fn as_str(&self) -> &str {
        // Validated as UTF-8 on construction.
        std::str::from_utf8(self.as_bytes()).unwrap_or("")
    }
}

impl fmt::Debug for ShortIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}
