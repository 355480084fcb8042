//! The Data Channel Establishment Protocol (RFC 8832): the DATA_CHANNEL_OPEN a peer sends on
//! a new stream to open a channel in-band, and the DATA_CHANNEL_ACK that answers it. Both
//! travel on the channel's stream with PPID 50.
//!
//! mediasoup-client opens its channels out of band (`negotiated: true`, the stream id chosen
//! through signaling), so no DCEP is exchanged with it; other endpoints open in-band, and an
//! OPEN left unanswered would leave their channel `connecting` forever.

use super::reliability::{Reliability, StreamReliability};

/// DATA_CHANNEL_OPEN's message type (RFC 8832 §8.2.1).
const MESSAGE_TYPE_OPEN: u8 = 0x03;
/// DATA_CHANNEL_ACK's message type (RFC 8832 §8.2.1).
const MESSAGE_TYPE_ACK: u8 = 0x02;
/// The fixed part of an OPEN: type, channel type, priority, reliability parameter, label and
/// protocol lengths (RFC 8832 §5.1).
const OPEN_HEADER_LEN: usize = 12;
/// The channel type's high bit: unordered delivery (RFC 8832 §5.1).
const CHANNEL_TYPE_UNORDERED: u8 = 0x80;
const CHANNEL_TYPE_RELIABLE: u8 = 0x00;
const CHANNEL_TYPE_PARTIAL_RELIABLE_REXMIT: u8 = 0x01;
const CHANNEL_TYPE_PARTIAL_RELIABLE_TIMED: u8 = 0x02;
/// The longest label or protocol accepted. RFC 8832 allows 65535 bytes; the SFU keeps both
/// per stream for as long as the channel lives, and a channel's name needs far less.
pub const MAX_LABEL_LEN: usize = 1024;

/// The DATA_CHANNEL_ACK message.
pub const ACK: [u8; 1] = [MESSAGE_TYPE_ACK];

/// A parsed DATA_CHANNEL_OPEN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DcepOpen {
    /// Delivery order and partial reliability of the channel.
    pub reliability: StreamReliability,
    /// RFC 8832's priority (kept for reports; the SFU schedules streams equally).
    pub priority: u16,
    /// The channel's label (UTF-8).
    pub label: String,
    /// The channel's subprotocol (UTF-8, often empty).
    pub protocol: String,
}

/// What a DCEP message is, or why it is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DcepError {
    /// A DCEP message with no bytes.
    #[error("DCEP message is empty")]
    Empty,
    /// A message type RFC 8832 does not define.
    #[error("DCEP message type {0:#04x} is unknown")]
    UnknownMessageType(u8),
    /// An OPEN shorter than its fixed part.
    #[error("DATA_CHANNEL_OPEN has {len} bytes, its header needs {OPEN_HEADER_LEN}")]
    OpenTruncated {
        /// The message's length.
        len: usize,
    },
    /// The label and protocol lengths do not add up to the message's length.
    #[error("DATA_CHANNEL_OPEN declares {declared} bytes of label and protocol, {present} follow the header")]
    OpenLengthMismatch {
        /// Label length plus protocol length.
        declared: usize,
        /// Bytes after the fixed part.
        present: usize,
    },
    /// A label or protocol longer than [`MAX_LABEL_LEN`].
    #[error("DATA_CHANNEL_OPEN {field} has {len} bytes, at most {MAX_LABEL_LEN} are accepted")]
    LabelTooLong {
        /// "label" or "protocol".
        field: &'static str,
        /// Its length.
        len: usize,
    },
    /// A label or protocol that is not UTF-8 (RFC 8832 §5.1).
    #[error("DATA_CHANNEL_OPEN {field} is not UTF-8")]
    NotUtf8 {
        /// "label" or "protocol".
        field: &'static str,
    },
    /// A channel type RFC 8832 does not define.
    #[error("DATA_CHANNEL_OPEN channel type {0:#04x} is unknown")]
    UnknownChannelType(u8),
}

/// A DCEP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DcepMessage {
    /// DATA_CHANNEL_OPEN.
    Open(DcepOpen),
    /// DATA_CHANNEL_ACK.
    Ack,
}

impl DcepMessage {
    /// Parses the payload of a PPID 50 message.
    pub fn parse(message: &[u8]) -> Result<Self, DcepError> {
        match message.first() {
            None => Err(DcepError::Empty),
            // RFC 8832 §5.2: the ACK is the type byte alone; anything after it is ignored.
            Some(&MESSAGE_TYPE_ACK) => Ok(DcepMessage::Ack),
            Some(&MESSAGE_TYPE_OPEN) => DcepOpen::parse(message).map(DcepMessage::Open),
            Some(&other) => Err(DcepError::UnknownMessageType(other)),
        }
    }
}

impl DcepOpen {
    fn parse(message: &[u8]) -> Result<Self, DcepError> {
        let Some(header) = message.get(..OPEN_HEADER_LEN) else {
            return Err(DcepError::OpenTruncated { len: message.len() });
        };
        let channel_type = header[1];
        let priority = u16::from_be_bytes([header[2], header[3]]);
        let parameter = u32::from_be_bytes([header[4], header[5], header[6], header[7]]);
        let label_len = usize::from(u16::from_be_bytes([header[8], header[9]]));
        let protocol_len = usize::from(u16::from_be_bytes([header[10], header[11]]));
        let body = &message[OPEN_HEADER_LEN..];
        if label_len + protocol_len != body.len() {
            return Err(DcepError::OpenLengthMismatch {
                declared: label_len + protocol_len,
                present: body.len(),
            });
        }
        for (field, len) in [("label", label_len), ("protocol", protocol_len)] {
            if len > MAX_LABEL_LEN {
                return Err(DcepError::LabelTooLong { field, len });
            }
        }
        let (label, protocol) = body.split_at(label_len);
        let text = |bytes: &[u8], field| {
            std::str::from_utf8(bytes)
                .map(str::to_owned)
                .map_err(|_| DcepError::NotUtf8 { field })
        };
        let reliability = match channel_type & !CHANNEL_TYPE_UNORDERED {
            CHANNEL_TYPE_RELIABLE => Reliability::Reliable,
            // The parameter is 32 bits on the wire; WebRTC's limits are 16-bit values.
            CHANNEL_TYPE_PARTIAL_RELIABLE_REXMIT => {
                Reliability::MaxRetransmits(u16::try_from(parameter).unwrap_or(u16::MAX))
            }
            CHANNEL_TYPE_PARTIAL_RELIABLE_TIMED => {
                Reliability::MaxPacketLifeTime(u16::try_from(parameter).unwrap_or(u16::MAX))
            }
            _ => return Err(DcepError::UnknownChannelType(channel_type)),
        };
        Ok(DcepOpen {
            reliability: StreamReliability {
                ordered: channel_type & CHANNEL_TYPE_UNORDERED == 0,
                reliability,
            },
            priority,
            label: text(label, "label")?,
            protocol: text(protocol, "protocol")?,
        })
    }

    /// The OPEN on the wire. Labels and protocols are cut to [`MAX_LABEL_LEN`] bytes at a
    /// character boundary, so what is written always parses back.
    pub fn to_bytes(&self) -> Vec<u8> {
        let label = truncate_utf8(&self.label, MAX_LABEL_LEN);
        let protocol = truncate_utf8(&self.protocol, MAX_LABEL_LEN);
        let (kind, parameter) = match self.reliability.reliability {
            Reliability::Reliable => (CHANNEL_TYPE_RELIABLE, 0),
            Reliability::MaxRetransmits(count) => {
                (CHANNEL_TYPE_PARTIAL_RELIABLE_REXMIT, u32::from(count))
            }
            Reliability::MaxPacketLifeTime(ms) => {
                (CHANNEL_TYPE_PARTIAL_RELIABLE_TIMED, u32::from(ms))
            }
        };
        let channel_type = if self.reliability.ordered {
            kind
        } else {
            kind | CHANNEL_TYPE_UNORDERED
        };
        let mut bytes = Vec::with_capacity(OPEN_HEADER_LEN + label.len() + protocol.len());
        bytes.push(MESSAGE_TYPE_OPEN);
        bytes.push(channel_type);
        bytes.extend_from_slice(&self.priority.to_be_bytes());
        bytes.extend_from_slice(&parameter.to_be_bytes());
        // Both fit: truncate_utf8 bounded them by MAX_LABEL_LEN.
        bytes.extend_from_slice(&(label.len() as u16).to_be_bytes());
        bytes.extend_from_slice(&(protocol.len() as u16).to_be_bytes());
        bytes.extend_from_slice(label.as_bytes());
        bytes.extend_from_slice(protocol.as_bytes());
        bytes
    }
}

fn truncate_utf8(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn open(ordered: bool, reliability: Reliability, label: &str, protocol: &str) -> DcepOpen {
        DcepOpen {
            reliability: StreamReliability {
                ordered,
                reliability,
            },
            priority: 256,
            label: label.to_owned(),
            protocol: protocol.to_owned(),
        }
    }

    #[test]
    fn parses_an_open_as_chromium_sends_it() {
        // createDataChannel("chat", {ordered: false, maxRetransmits: 0, protocol: "p"}).
        let bytes = [
            0x03, 0x81, 0x01, 0x00, 0, 0, 0, 0, 0, 4, 0, 1, b'c', b'h', b'a', b't', b'p',
        ];
        assert_eq!(
            DcepMessage::parse(&bytes),
            Ok(DcepMessage::Open(open(
                false,
                Reliability::MaxRetransmits(0),
                "chat",
                "p"
            )))
        );
    }

    #[test]
    fn parses_the_ack() {
        assert_eq!(DcepMessage::parse(&ACK), Ok(DcepMessage::Ack));
    }

    #[test]
    fn refuses_malformed_opens() {
        assert_eq!(DcepMessage::parse(&[]), Err(DcepError::Empty));
        assert_eq!(
            DcepMessage::parse(&[0x07]),
            Err(DcepError::UnknownMessageType(7))
        );
        assert_eq!(
            DcepMessage::parse(&[0x03, 0, 0]),
            Err(DcepError::OpenTruncated { len: 3 })
        );
        // The label length claims 65535 bytes that are not there.
        let lying = [0x03, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, b'x'];
        assert_eq!(
            DcepMessage::parse(&lying),
            Err(DcepError::OpenLengthMismatch {
                declared: 65535,
                present: 1
            })
        );
        let unknown_type = [0x03, 0x05, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            DcepMessage::parse(&unknown_type),
            Err(DcepError::UnknownChannelType(5))
        );
        let not_utf8 = [0x03, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0xff];
        assert_eq!(
            DcepMessage::parse(&not_utf8),
            Err(DcepError::NotUtf8 { field: "label" })
        );
    }

    #[test]
    fn refuses_a_huge_label() {
        let mut huge = vec![0x03, 0, 0, 0, 0, 0, 0, 0, 0x10, 0x00, 0, 0];
        huge.resize(OPEN_HEADER_LEN + 0x1000, b'a');
        assert_eq!(
            DcepMessage::parse(&huge),
            Err(DcepError::LabelTooLong {
                field: "label",
                len: 0x1000
            })
        );
    }

    fn any_reliability() -> impl Strategy<Value = StreamReliability> {
        (
            any::<bool>(),
            prop_oneof![
                Just(Reliability::Reliable),
                any::<u16>().prop_map(Reliability::MaxRetransmits),
                any::<u16>().prop_map(Reliability::MaxPacketLifeTime),
            ],
        )
            .prop_map(|(ordered, reliability)| StreamReliability {
                ordered,
                reliability,
            })
    }

    proptest! {
        #[test]
        fn open_round_trips(
            reliability in any_reliability(),
            priority in any::<u16>(),
            label in "\\PC{0,40}",
            protocol in "\\PC{0,10}",
        ) {
            let sent = DcepOpen { reliability, priority, label, protocol };
            prop_assert_eq!(DcepMessage::parse(&sent.to_bytes()), Ok(DcepMessage::Open(sent)));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = DcepMessage::parse(&bytes);
        }

        #[test]
        fn long_labels_are_cut_to_what_parses(label in "\\PC{1000,1100}") {
            let sent = open(true, Reliability::Reliable, &label, "");
            let Ok(DcepMessage::Open(parsed)) = DcepMessage::parse(&sent.to_bytes()) else {
                return Err(TestCaseError::fail("did not parse back"));
            };
            prop_assert!(label.starts_with(&parsed.label));
            prop_assert!(parsed.label.len() <= MAX_LABEL_LEN);
        }
    }
}
