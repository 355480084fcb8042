//! A stream's delivery rules: ordered or not, and how hard to try (RFC 3758 partial
//! reliability), as WebRTC's `ordered`, `maxRetransmits` and `maxPacketLifeTime` say.

use sctp_proto::ReliabilityType;

/// How long a message is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reliability {
    /// Retransmitted until acknowledged.
    #[default]
    Reliable,
    /// At most this many retransmissions (`maxRetransmits`).
    MaxRetransmits(u16),
    /// Retransmitted for at most this many milliseconds (`maxPacketLifeTime`).
    MaxPacketLifeTime(u16),
}

/// Order and reliability of one SCTP stream (mediasoup's `sctpStreamParameters` without the
/// stream id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamReliability {
    /// Messages are delivered in the order they were sent.
    pub ordered: bool,
    /// How long each message is retried.
    pub reliability: Reliability,
}

impl Default for StreamReliability {
    fn default() -> Self {
        StreamReliability {
            ordered: true,
            reliability: Reliability::Reliable,
        }
    }
}

impl StreamReliability {
    /// sctp-proto's three values for `set_reliability_params`.
    pub(super) fn to_proto(self) -> (bool, ReliabilityType, u32) {
        let (kind, value) = match self.reliability {
            Reliability::Reliable => (ReliabilityType::Reliable, 0),
            Reliability::MaxRetransmits(count) => (ReliabilityType::Rexmit, u32::from(count)),
            Reliability::MaxPacketLifeTime(ms) => (ReliabilityType::Timed, u32::from(ms)),
        };
        (!self.ordered, kind, value)
    }
}
