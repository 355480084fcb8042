//! Payload protocol identifiers of WebRTC data channels (RFC 8831 §8, IANA's SCTP PPID
//! registry): what a message is, as mediasoup reports it.

use sctp_proto::PayloadProtocolIdentifier;

/// The PPID of a data channel message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ppid {
    /// 50: a DCEP message (never a user message).
    Dcep,
    /// 51: UTF-8 text.
    String,
    /// 53: binary.
    Binary,
    /// 56: an empty text message (sent as one dummy byte, RFC 8831 §6.6).
    StringEmpty,
    /// 57: an empty binary message (likewise).
    BinaryEmpty,
}

impl Ppid {
    /// The number on the wire.
    pub fn value(self) -> u32 {
        match self {
            Ppid::Dcep => 50,
            Ppid::String => 51,
            Ppid::Binary => 53,
            Ppid::StringEmpty => 56,
            Ppid::BinaryEmpty => 57,
        }
    }

    /// The PPID numbered `value`, if WebRTC defines it (the deprecated 52 and 54, partial
    /// messages, are not accepted, as in mediasoup).
    pub fn from_value(value: u32) -> Option<Self> {
        match value {
            50 => Some(Ppid::Dcep),
            51 => Some(Ppid::String),
            53 => Some(Ppid::Binary),
            56 => Some(Ppid::StringEmpty),
            57 => Some(Ppid::BinaryEmpty),
            _ => None,
        }
    }

    /// Whether the message carries no user bytes (its one byte on the wire is padding).
    pub fn is_empty_message(self) -> bool {
        matches!(self, Ppid::StringEmpty | Ppid::BinaryEmpty)
    }

    pub(super) fn to_proto(self) -> PayloadProtocolIdentifier {
        match self {
            Ppid::Dcep => PayloadProtocolIdentifier::Dcep,
            Ppid::String => PayloadProtocolIdentifier::String,
            Ppid::Binary => PayloadProtocolIdentifier::Binary,
            Ppid::StringEmpty => PayloadProtocolIdentifier::StringEmpty,
            Ppid::BinaryEmpty => PayloadProtocolIdentifier::BinaryEmpty,
        }
    }

    pub(super) fn from_proto(ppid: PayloadProtocolIdentifier) -> Option<Self> {
        match ppid {
            PayloadProtocolIdentifier::Dcep => Some(Ppid::Dcep),
            PayloadProtocolIdentifier::String => Some(Ppid::String),
            PayloadProtocolIdentifier::Binary => Some(Ppid::Binary),
            PayloadProtocolIdentifier::StringEmpty => Some(Ppid::StringEmpty),
            PayloadProtocolIdentifier::BinaryEmpty => Some(Ppid::BinaryEmpty),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_and_others_are_refused() {
        for ppid in [
            Ppid::Dcep,
            Ppid::String,
            Ppid::Binary,
            Ppid::StringEmpty,
            Ppid::BinaryEmpty,
        ] {
            assert_eq!(Ppid::from_value(ppid.value()), Some(ppid));
            assert_eq!(Ppid::from_proto(ppid.to_proto()), Some(ppid));
        }
        for other in [0, 49, 52, 54, 55, 58, u32::MAX] {
            assert_eq!(Ppid::from_value(other), None);
        }
    }
}
