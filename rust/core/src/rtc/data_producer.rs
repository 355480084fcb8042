//! A DataProducer: the messages one endpoint sends into the router on one SCTP stream (or,
//! on a DirectTransport, from the application), as mediasoup counts and pauses them.

use crate::sctp::{Ppid, SctpMessageDrop};

/// How a data producer's or consumer's messages travel (mediasoup's `type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataKind {
    /// Over the transport's SCTP association, on one stream.
    Sctp,
    /// Through a DirectTransport, to and from the application.
    Direct,
}

impl DataKind {
    /// mediasoup's name: "sctp" or "direct".
    pub fn as_str(self) -> &'static str {
        match self {
            DataKind::Sctp => "sctp",
            DataKind::Direct => "direct",
        }
    }
}

/// Messages that arrived on a DataProducer's stream and were dropped before it (mediasoup
/// counts none of these).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DataProducerDrops {
    /// Larger than its transport's `maxSctpMessageSize`.
    pub too_large: u64,
    /// With a PPID WebRTC does not define.
    pub unknown_ppid: u64,
}

/// What a DataProducer's `getStats()` reports (`type: "data-producer"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataProducerStats {
    /// Messages received, paused or not.
    pub messages_received: u64,
    /// Their bytes.
    pub bytes_received: u64,
    /// Messages dropped before it, by reason.
    pub dropped: DataProducerDrops,
}

/// One DataProducer's state in the router.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataProducer {
    kind: DataKind,
    /// The SCTP stream it sends on (`sctpStreamParameters.streamId`), for `Sctp` producers.
    stream_id: Option<u16>,
    paused: bool,
    messages_received: u64,
    bytes_received: u64,
    dropped: DataProducerDrops,
}

impl DataProducer {
    /// A producer of `kind`; SCTP producers name their stream.
    pub fn new(kind: DataKind, stream_id: Option<u16>, paused: bool) -> Self {
        DataProducer {
            kind,
            stream_id,
            paused,
            messages_received: 0,
            bytes_received: 0,
            dropped: DataProducerDrops::default(),
        }
    }

    /// How its messages arrive.
    pub fn kind(&self) -> DataKind {
        self.kind
    }

    /// Its SCTP stream.
    pub fn stream_id(&self) -> Option<u16> {
        self.stream_id
    }

    /// Whether it is paused (its messages are counted and not forwarded).
    pub fn paused(&self) -> bool {
        self.paused
    }

    /// Pauses or resumes; true when that changed something (consumers are then told,
    /// mediasoup's `dataproducerpause`/`dataproducerresume`).
    pub fn set_paused(&mut self, paused: bool) -> bool {
        let changed = self.paused != paused;
        self.paused = paused;
        changed
    }

    /// Counts a message that arrived; true when it is to be forwarded to the consumers.
    /// A DCEP message is the transport's business, never a producer's.
    pub fn receive(&mut self, ppid: Ppid, len: usize) -> bool {
        if ppid == Ppid::Dcep {
            return false;
        }
        self.messages_received += 1;
        self.bytes_received += len as u64;
        !self.paused
    }

    /// A message on its stream was dropped by its transport's association.
    pub fn count_drop(&mut self, reason: SctpMessageDrop) {
        match reason {
            SctpMessageDrop::TooLarge => self.dropped.too_large += 1,
            SctpMessageDrop::UnknownPpid => self.dropped.unknown_ppid += 1,
        }
    }

    /// Its counters.
    pub fn stats(&self) -> DataProducerStats {
        DataProducerStats {
            messages_received: self.messages_received,
            bytes_received: self.bytes_received,
            dropped: self.dropped,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_every_message_and_forwards_only_while_resumed() {
        let mut producer = DataProducer::new(DataKind::Sctp, Some(3), false);
        assert!(producer.receive(Ppid::String, 5));
        assert!(producer.set_paused(true));
        assert!(!producer.set_paused(true));
        assert!(!producer.receive(Ppid::Binary, 7));
        assert!(!producer.receive(Ppid::Dcep, 12));
        assert!(producer.set_paused(false));
        assert!(producer.receive(Ppid::BinaryEmpty, 0));
        assert_eq!(
            producer.stats(),
            DataProducerStats {
                messages_received: 3,
                bytes_received: 12,
                dropped: DataProducerDrops::default(),
            }
        );
        assert_eq!(
            (producer.kind().as_str(), producer.stream_id()),
            ("sctp", Some(3))
        );
    }
}
