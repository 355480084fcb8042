//! Typed values of the RTP header extensions an SFU reads or writes, each parsed from (and,
//! where a sender fills it, serialized to) the raw element value of
//! [`RtpPacket::header_extension`](super::RtpPacket::header_extension).
//!
//! Every type carries the URI it is negotiated with in SDP / mediasoup RTP parameters.

mod abs_capture_time;
mod abs_send_time;
mod audio_level;
mod mid;
mod playout_delay;
mod rtp_stream_id;
mod short_identifier;
mod transmission_offset;
mod transport_cc;
mod video_orientation;

pub use abs_capture_time::AbsCaptureTime;
pub use abs_send_time::AbsSendTime;
pub use audio_level::AudioLevel;
pub use mid::Mid;
pub use playout_delay::PlayoutDelay;
pub use rtp_stream_id::{RepairedRtpStreamId, RtpStreamId};
pub use short_identifier::MAX_IDENTIFIER_LEN;
pub use transmission_offset::TransmissionOffset;
pub use transport_cc::TransportCcSequence;
pub use video_orientation::{VideoOrientation, VideoRotation};

/// Why an extension value could not be read, or a typed value could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExtensionValueError {
    /// The value has a length the extension does not define.
    #[error("{extension} value must be {expected} bytes, got {got}")]
    BadLength {
        /// The extension name.
        extension: &'static str,
        /// The lengths it allows.
        expected: &'static str,
        /// The length found.
        got: usize,
    },
    /// A string identifier (MID, RID) that is empty.
    #[error("{extension} value is empty")]
    Empty {
        /// The extension name.
        extension: &'static str,
    },
    /// A MID that is not UTF-8.
    #[error("{extension} value is not valid UTF-8")]
    NotUtf8 {
        /// The extension name.
        extension: &'static str,
    },
    /// A RID with a byte outside RFC 8851's alphanumerics, '-' and '_'.
    #[error("{extension} value has byte {byte:#04x} at {position}; only alphanumerics, '-' and '_' are allowed")]
    InvalidCharacter {
        /// The extension name.
        extension: &'static str,
        /// The offending byte.
        byte: u8,
        /// Its position.
        position: usize,
    },
    /// A number outside the range the field can carry.
    #[error("{field} must be in {range}, got {value}")]
    OutOfRange {
        /// The field.
        field: &'static str,
        /// The allowed range.
        range: &'static str,
        /// The value given.
        value: i64,
    },
}

/// Checks that `value` has one of the lengths in `allowed`.
fn expect_len(
    value: &[u8],
    allowed: &[usize],
    extension: &'static str,
    expected: &'static str,
) -> Result<(), ExtensionValueError> {
    if allowed.contains(&value.len()) {
        Ok(())
    } else {
        Err(ExtensionValueError::BadLength {
            extension,
            expected,
            got: value.len(),
        })
    }
}
