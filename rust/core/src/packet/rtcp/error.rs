//! The one error type of the RTCP layer.

/// Why an RTCP compound packet could not be parsed, or a packet could not be serialized.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RtcpError {
    /// Fewer bytes than the part being read needs.
    #[error("RTCP {part} truncated: needs {needed} bytes, got {got}")]
    Truncated {
        /// What was being read.
        part: &'static str,
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        got: usize,
    },
    /// The version field is not 2.
    #[error("RTCP version must be 2, got {0}")]
    BadVersion(u8),
    /// The header's length field points past the end of the datagram.
    #[error("RTCP packet length of {declared} bytes exceeds the {available} bytes left")]
    LengthExceedsBuffer {
        /// Bytes the header declares (including the header).
        declared: usize,
        /// Bytes left in the datagram.
        available: usize,
    },
    /// The padding count is 0 or larger than the packet body.
    #[error("RTCP padding of {padding} bytes is invalid for a {body_len}-byte body")]
    BadPadding {
        /// The padding count byte.
        padding: usize,
        /// Body length before removing padding.
        body_len: usize,
    },
    /// A count in the header does not fit the body (e.g. report blocks past the end).
    #[error("RTCP {what}: {count} entries do not fit a {body_len}-byte body")]
    CountMismatch {
        /// The packet type.
        what: &'static str,
        /// The count field.
        count: usize,
        /// The body length.
        body_len: usize,
    },
    /// A malformed transport-wide congestion control feedback.
    #[error("RTCP transport-cc feedback malformed: {0}")]
    MalformedTransportCc(&'static str),
    /// A malformed item inside a packet (SDES item, XR block, BYE reason, FCI).
    #[error("RTCP {what} malformed: {reason}")]
    Malformed {
        /// The packet or block type.
        what: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// A value that the wire format cannot carry, found while serializing.
    #[error("RTCP {field} value {value} does not fit the wire format (at most {max})")]
    ValueOutOfRange {
        /// Field name.
        field: &'static str,
        /// The value.
        value: u64,
        /// Largest value allowed.
        max: u64,
    },
}
