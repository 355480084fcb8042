//! The one error type of the RTP layer: what is wrong with a packet, a header extension
//! block, or a requested rewrite, with the numbers that made it wrong.

use super::ExtensionForm;

/// Why an RTP packet could not be parsed, or why an in-place rewrite was refused.
///
/// A refused rewrite never leaves the packet half modified: every check runs before the first
/// byte is written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RtpError {
    /// Fewer bytes than the part of the header being read needs.
    #[error("RTP packet truncated: {part} needs {needed} bytes, got {got}")]
    Truncated {
        /// Which part of the header ran out of bytes.
        part: &'static str,
        /// Bytes needed up to the end of that part.
        needed: usize,
        /// Bytes available.
        got: usize,
    },
    /// The version field is not 2 (RFC 3550 §5.1).
    #[error("RTP version must be 2, got {0}")]
    BadVersion(u8),
    /// The P bit is set but the last byte, the padding count, is 0; the count includes itself
    /// so it is at least 1 (RFC 3550 §5.1).
    #[error("RTP padding flag set but the padding count byte is 0")]
    ZeroPaddingCount,
    /// The padding count would eat into the header.
    #[error("RTP padding of {padding_len} bytes exceeds the {available} bytes after the {header_len}-byte header")]
    PaddingOverrunsHeader {
        /// The padding count from the last byte.
        padding_len: usize,
        /// Bytes after the header (payload and padding).
        available: usize,
        /// Header length including CSRCs and the extension block.
        header_len: usize,
    },
    /// An RFC 8285 element runs past the end of the extension block, or uses the padding id 0
    /// with a non-zero length.
    #[error("malformed RTP header extension element at offset {offset} of the {block_len}-byte block: {reason}")]
    MalformedExtensionElement {
        /// Offset of the element inside the extension data.
        offset: usize,
        /// Length of the extension data (after the 4-byte block header).
        block_len: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The extension block uses a profile other than RFC 8285's 0xBEDE and 0x100X, so its
    /// elements cannot be edited.
    #[error(
        "RTP header extension profile {0:#06x} is neither one-byte (0xbede) nor two-byte (0x100x)"
    )]
    UnsupportedExtensionProfile(u16),
    /// The packet has no extension element with this id.
    #[error("RTP header extension id {0} is not in the packet")]
    ExtensionNotFound(u8),
    /// An in-place value write whose length differs from the element's.
    #[error("RTP header extension id {id} holds {existing} bytes, cannot write {given} in place")]
    ExtensionLengthMismatch {
        /// The extension id.
        id: u8,
        /// Length of the value in the packet.
        existing: usize,
        /// Length of the value to write.
        given: usize,
    },
    /// The id cannot be written in this form: 0 is padding, and the one-byte form only has
    /// ids 1..=14 (15 is reserved, RFC 8285 §4.2).
    #[error("RTP header extension id {id} is not valid in the {form} form")]
    InvalidExtensionId {
        /// The id.
        id: u8,
        /// The form of the block.
        form: ExtensionForm,
    },
    /// The value length cannot be written in this form: one-byte values are 1..=16 bytes,
    /// two-byte values 0..=255 (RFC 8285 §4.2, §4.3).
    #[error("RTP header extension id {id} value of {len} bytes does not fit the {form} form")]
    InvalidExtensionLength {
        /// The id.
        id: u8,
        /// The value length.
        len: usize,
        /// The form of the block.
        form: ExtensionForm,
    },
    /// The extension block would exceed its 16-bit length in 32-bit words.
    #[error("RTP header extension block of {len} bytes exceeds the 262140-byte maximum")]
    ExtensionBlockTooLong {
        /// The block length in bytes.
        len: usize,
    },
    /// The caller's buffer is too small for the rewritten packet.
    #[error(
        "RTP buffer too small: the rewritten packet needs {needed} bytes, capacity is {capacity}"
    )]
    BufferTooSmall {
        /// Bytes the rewritten packet needs.
        needed: usize,
        /// The buffer length.
        capacity: usize,
    },
    /// The packet length given with a buffer is longer than the buffer.
    #[error("RTP packet length {len} exceeds its {capacity}-byte buffer")]
    LengthExceedsBuffer {
        /// The claimed packet length.
        len: usize,
        /// The buffer length.
        capacity: usize,
    },
    /// An RTX packet's payload lacks the 2-byte original sequence number (RFC 4588 §4).
    #[error("RTX payload of {len} bytes lacks the 2-byte original sequence number")]
    RtxPayloadTooShort {
        /// The payload length.
        len: usize,
    },
    /// A payload type above 127 (it is a 7-bit field).
    #[error("RTP payload type must be 0..=127, got {0}")]
    InvalidPayloadType(u8),
    /// More than 15 CSRCs (the CC field has 4 bits).
    #[error("RTP packet can carry at most 15 CSRCs, got {0}")]
    TooManyCsrcs(usize),
    /// The id map was asked to map from id 0, which is padding, not an extension.
    #[error("RTP header extension id 0 is padding and cannot be mapped")]
    MapFromPaddingId,
}
