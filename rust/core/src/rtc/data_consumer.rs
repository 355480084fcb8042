//! A DataConsumer: one endpoint's copy of a DataProducer's messages, with mediasoup's rules
//! for which messages it gets: none while it, or its producer, is paused; with subchannels
//! (mediasoup 3.13+), only messages addressed to one of its subchannels, and none that
//! require a subchannel it does not have; none larger than its transport accepts.

use std::collections::BTreeSet;

use super::data_producer::DataKind;

/// Why a message was not sent to a consumer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataConsumerSkip {
    /// The consumer or its producer is paused.
    Paused,
    /// The message names a required subchannel this consumer does not have.
    RequiredSubchannel,
    /// The message names subchannels, none of them this consumer's.
    NoSubchannelMatch,
    /// Larger than the consumer's transport accepts (`maxMessageSize`).
    TooLarge,
}

/// Why a message its transport was handed did not leave (the association refused it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataConsumerRefusal {
    /// The transport's SCTP send buffer was full (mediasoup's `sctpsendbufferfull`).
    SendBufferFull,
    /// Larger than the association sends.
    TooLarge,
    /// The association is not established, or the consumer's stream is closed (reset by
    /// the peer) or not open.
    NotSent,
}

/// Messages a DataConsumer did not send, by reason (mediasoup counts none of these; a
/// paused consumer or producer is not a drop).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DataConsumerDrops {
    /// Refused because the transport's SCTP send buffer was full.
    pub send_buffer_full: u64,
    /// Larger than its transport's `maxSctpMessageSize`.
    pub too_large: u64,
    /// Not sent: the association was down or the stream closed.
    pub not_sent: u64,
}

/// What a DataConsumer's `getStats()` reports (`type: "data-consumer"`, with the SCTP
/// stream's `bufferedAmount`, which the transport adds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataConsumerStats {
    /// Messages handed to the transport and accepted by it.
    pub messages_sent: u64,
    /// Their bytes.
    pub bytes_sent: u64,
    /// Messages dropped, by reason.
    pub dropped: DataConsumerDrops,
}

/// One DataConsumer's state in the router.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataConsumer {
    kind: DataKind,
    stream_id: Option<u16>,
    max_message_size: usize,
    paused: bool,
    data_producer_paused: bool,
    subchannels: BTreeSet<u16>,
    /// Whether its owner listens for `bufferedamountlow`: off until it does, so a stream's
    /// acknowledgements wake nobody on the control plane.
    reports_buffered_amount_low: bool,
    messages_sent: u64,
    bytes_sent: u64,
    dropped: DataConsumerDrops,
}

impl DataConsumer {
    /// A consumer of `kind` (SCTP consumers name their stream), accepting messages up to
    /// `max_message_size`, subscribed to `subchannels`.
    pub fn new(
        kind: DataKind,
        stream_id: Option<u16>,
        max_message_size: usize,
        paused: bool,
        data_producer_paused: bool,
        subchannels: impl IntoIterator<Item = u16>,
    ) -> Self {
        DataConsumer {
            kind,
            stream_id,
            max_message_size,
            paused,
            data_producer_paused,
            subchannels: subchannels.into_iter().collect(),
            reports_buffered_amount_low: false,
            messages_sent: 0,
            bytes_sent: 0,
            dropped: DataConsumerDrops::default(),
        }
    }

    /// How its messages leave.
    pub fn kind(&self) -> DataKind {
        self.kind
    }

    /// Its SCTP stream.
    pub fn stream_id(&self) -> Option<u16> {
        self.stream_id
    }

    /// Whether it is paused.
    pub fn paused(&self) -> bool {
        self.paused
    }

    /// Whether its producer is paused.
    pub fn data_producer_paused(&self) -> bool {
        self.data_producer_paused
    }

    /// Pauses or resumes; true when that changed something.
    pub fn set_paused(&mut self, paused: bool) -> bool {
        let changed = self.paused != paused;
        self.paused = paused;
        changed
    }

    /// Its producer paused or resumed; true when that changed something.
    pub fn set_data_producer_paused(&mut self, paused: bool) -> bool {
        let changed = self.data_producer_paused != paused;
        self.data_producer_paused = paused;
        changed
    }

    /// Its subchannels, in order (mediasoup's `subchannels`).
    pub fn subchannels(&self) -> impl Iterator<Item = u16> + '_ {
        self.subchannels.iter().copied()
    }

    /// Whether `bufferedamountlow` is reported to its owner.
    pub fn reports_buffered_amount_low(&self) -> bool {
        self.reports_buffered_amount_low
    }

    /// Starts or stops reporting `bufferedamountlow` to its owner.
    pub fn set_reports_buffered_amount_low(&mut self, reports: bool) {
        self.reports_buffered_amount_low = reports;
    }

    /// Replaces its subchannels (`setSubchannels`).
    pub fn set_subchannels(&mut self, subchannels: impl IntoIterator<Item = u16>) {
        self.subchannels = subchannels.into_iter().collect();
    }

    /// Whether a message of `len` bytes addressed to `subchannels` (and requiring
    /// `required_subchannel`) goes to this consumer; when it does, it is counted as sent.
    pub fn take(
        &mut self,
        len: usize,
        subchannels: &[u16],
        required_subchannel: Option<u16>,
    ) -> Result<(), DataConsumerSkip> {
        if self.paused || self.data_producer_paused {
            return Err(DataConsumerSkip::Paused);
        }
        if required_subchannel.is_some_and(|required| !self.subchannels.contains(&required)) {
            return Err(DataConsumerSkip::RequiredSubchannel);
        }
        if !subchannels.is_empty() && !subchannels.iter().any(|s| self.subchannels.contains(s)) {
            return Err(DataConsumerSkip::NoSubchannelMatch);
        }
        if len > self.max_message_size {
            self.dropped.too_large += 1;
            return Err(DataConsumerSkip::TooLarge);
        }
        self.messages_sent += 1;
        self.bytes_sent += len as u64;
        Ok(())
    }

    /// A message of `len` bytes that [`Self::take`] counted as sent was refused by its
    /// transport: it is counted as dropped instead.
    pub fn refused(&mut self, len: usize, refusal: DataConsumerRefusal) {
        self.messages_sent = self.messages_sent.saturating_sub(1);
        self.bytes_sent = self.bytes_sent.saturating_sub(len as u64);
        match refusal {
            DataConsumerRefusal::SendBufferFull => self.dropped.send_buffer_full += 1,
            DataConsumerRefusal::TooLarge => self.dropped.too_large += 1,
            DataConsumerRefusal::NotSent => self.dropped.not_sent += 1,
        }
    }

    /// Its counters.
    pub fn stats(&self) -> DataConsumerStats {
        DataConsumerStats {
            messages_sent: self.messages_sent,
            bytes_sent: self.bytes_sent,
            dropped: self.dropped,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn consumer(subchannels: &[u16]) -> DataConsumer {
        DataConsumer::new(
            DataKind::Sctp,
            Some(0),
            1000,
            false,
            false,
            subchannels.iter().copied(),
        )
    }

    #[test]
    fn pauses_on_either_side_stop_messages() {
        let mut consumer = consumer(&[]);
        assert_eq!(consumer.take(10, &[], None), Ok(()));
        assert!(consumer.set_data_producer_paused(true));
        assert_eq!(consumer.take(10, &[], None), Err(DataConsumerSkip::Paused));
        consumer.set_data_producer_paused(false);
        consumer.set_paused(true);
        assert_eq!(consumer.take(10, &[], None), Err(DataConsumerSkip::Paused));
        consumer.set_paused(false);
        assert_eq!(consumer.take(10, &[], None), Ok(()));
        assert_eq!(
            consumer.stats(),
            DataConsumerStats {
                messages_sent: 2,
                bytes_sent: 20,
                dropped: DataConsumerDrops::default(),
            }
        );
    }

    #[test]
    fn subchannels_select_messages_as_mediasoup_does() {
        let mut consumer = consumer(&[5, 1]);
        assert_eq!(consumer.subchannels().collect::<Vec<_>>(), vec![1, 5]);
        // No subchannels on the message: everyone gets it.
        assert_eq!(consumer.take(1, &[], None), Ok(()));
        assert_eq!(consumer.take(1, &[2, 5], None), Ok(()));
        assert_eq!(
            consumer.take(1, &[2, 3], None),
            Err(DataConsumerSkip::NoSubchannelMatch)
        );
        assert_eq!(
            consumer.take(1, &[], Some(2)),
            Err(DataConsumerSkip::RequiredSubchannel)
        );
        assert_eq!(
            consumer.take(1, &[2], Some(1)),
            Err(DataConsumerSkip::NoSubchannelMatch)
        );
        assert_eq!(consumer.take(1, &[1], Some(5)), Ok(()));
        consumer.set_subchannels([2]);
        assert_eq!(consumer.take(1, &[2, 3], None), Ok(()));
    }

    #[test]
    fn messages_over_the_transport_limit_are_skipped() {
        let mut consumer = consumer(&[]);
        assert_eq!(consumer.take(1000, &[], None), Ok(()));
        assert_eq!(
            consumer.take(1001, &[], None),
            Err(DataConsumerSkip::TooLarge)
        );
        assert_eq!(consumer.stats().dropped.too_large, 1);
    }

    #[test]
    fn refused_messages_move_from_sent_to_dropped() {
        let mut consumer = consumer(&[]);
        for _ in 0..3 {
            consumer.take(100, &[], None).unwrap();
        }
        consumer.refused(100, DataConsumerRefusal::SendBufferFull);
        consumer.refused(100, DataConsumerRefusal::NotSent);
        assert_eq!(
            consumer.stats(),
            DataConsumerStats {
                messages_sent: 1,
                bytes_sent: 100,
                dropped: DataConsumerDrops {
                    send_buffer_full: 1,
                    too_large: 0,
                    not_sent: 1,
                },
            }
        );
    }
}
