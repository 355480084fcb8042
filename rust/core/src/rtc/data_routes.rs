//! Which DataConsumers hear each DataProducer of one worker, and where each message goes
//! (mediasoup's Router keeps this map per router; a worker's routers never share a data
//! producer, so one map per worker serves them all). Sans-IO: the caller names transports by
//! a key of its own (the worker's transport slot), hands in each message that arrived with
//! the transport and SCTP stream it came on (or the DataProducer, for messages an
//! application sends through a DirectTransport), and gets the deliveries to make.

use std::collections::HashMap;

use super::data_consumer::{
    DataConsumer, DataConsumerRefusal, DataConsumerSkip, DataConsumerStats,
};
use super::data_producer::{DataProducer, DataProducerStats};
use crate::sctp::{Ppid, SctpMessageDrop};

/// Why a data producer or consumer was not added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DataRouteError {
    /// The id is taken.
    #[error("{kind} id {id:?} is already in use")]
    IdInUse {
        /// "dataProducer" or "dataConsumer".
        kind: &'static str,
        /// The id.
        id: String,
    },
    /// Another SCTP data producer of the transport uses the stream.
    #[error("SCTP stream id {0} is already used by a data producer of the transport")]
    StreamInUse(u16),
    /// No data producer with this id.
    #[error("no dataProducer {0:?}")]
    NoProducer(String),
}

/// One message to send: to a consumer, on its transport (and stream, for SCTP consumers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataDelivery {
    /// The consumer's transport.
    pub transport: usize,
    /// Its SCTP stream (`None` for a DirectTransport consumer).
    pub stream_id: Option<u16>,
    /// The consumer, by its index (for events about it: [`DataRoutes::consumer_id`]).
    pub consumer: usize,
}

#[derive(Debug)]
struct ProducerEntry {
    id: String,
    transport: usize,
    producer: DataProducer,
    consumers: Vec<usize>,
}

#[derive(Debug)]
struct ConsumerEntry {
    id: String,
    transport: usize,
    producer: usize,
    consumer: DataConsumer,
}

/// The data producers and consumers of a worker.
#[derive(Debug, Default)]
pub struct DataRoutes {
    producers: Vec<Option<ProducerEntry>>,
    consumers: Vec<Option<ConsumerEntry>>,
    producers_by_id: HashMap<String, usize>,
    consumers_by_id: HashMap<String, usize>,
    /// SCTP producers by the transport their messages arrive on and their stream.
    by_stream: HashMap<(usize, u16), usize>,
    /// What routing refused, by reason.
    skipped: SkipCounters,
}

/// Messages not delivered, by reason (a consumer paused or its producer paused are not
/// counted: they are mediasoup's normal behaviour).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SkipCounters {
    /// Messages on an SCTP stream no data producer of the transport uses.
    pub no_producer: u64,
    /// Messages larger than a consumer's transport accepts.
    pub too_large: u64,
}

fn put<T>(slots: &mut Vec<Option<T>>, value: T) -> usize {
    match slots.iter().position(Option::is_none) {
        Some(free) => {
            slots[free] = Some(value);
            free
        }
        None => {
            slots.push(Some(value));
            slots.len() - 1
        }
    }
}

impl DataRoutes {
    /// No data producers or consumers.
    pub fn new() -> Self {
        DataRoutes::default()
    }

    /// Adds a data producer of `transport`.
    pub fn add_producer(
        &mut self,
        id: String,
        transport: usize,
        producer: DataProducer,
    ) -> Result<(), DataRouteError> {
        if self.producers_by_id.contains_key(&id) {
            return Err(DataRouteError::IdInUse {
                kind: "dataProducer",
                id,
            });
        }
        let stream = producer.stream_id().map(|stream_id| (transport, stream_id));
        if let Some(key) = stream {
            if self.by_stream.contains_key(&key) {
                return Err(DataRouteError::StreamInUse(key.1));
            }
        }
        let index = put(
            &mut self.producers,
            ProducerEntry {
                id: id.clone(),
                transport,
                producer,
                consumers: Vec::new(),
            },
        );
        self.producers_by_id.insert(id, index);
        if let Some(key) = stream {
            self.by_stream.insert(key, index);
        }
        Ok(())
    }

    /// Adds a consumer on `transport` of the data producer `producer_id`; it starts as
    /// paused as its producer is (its `data_producer_paused` is set here).
    pub fn add_consumer(
        &mut self,
        id: String,
        transport: usize,
        producer_id: &str,
        mut consumer: DataConsumer,
    ) -> Result<(), DataRouteError> {
        if self.consumers_by_id.contains_key(&id) {
            return Err(DataRouteError::IdInUse {
                kind: "dataConsumer",
                id,
            });
        }
        let producer_index = *self
            .producers_by_id
            .get(producer_id)
            .ok_or_else(|| DataRouteError::NoProducer(producer_id.to_owned()))?;
        let Some(producer) = self.producers[producer_index].as_mut() else {
            return Err(DataRouteError::NoProducer(producer_id.to_owned()));
        };
        consumer.set_data_producer_paused(producer.producer.paused());
        let index = put(
            &mut self.consumers,
            ConsumerEntry {
                id: id.clone(),
                transport,
                producer: producer_index,
                consumer,
            },
        );
        producer.consumers.push(index);
        self.consumers_by_id.insert(id, index);
        Ok(())
    }

    /// A data producer by id.
    pub fn producer(&self, id: &str) -> Option<&DataProducer> {
        let index = *self.producers_by_id.get(id)?;
        self.producers[index].as_ref().map(|entry| &entry.producer)
    }

    /// A data consumer by id.
    pub fn consumer(&self, id: &str) -> Option<&DataConsumer> {
        let index = *self.consumers_by_id.get(id)?;
        self.consumers[index].as_ref().map(|entry| &entry.consumer)
    }

    /// A data consumer by id, to change it (pause, subchannels).
    pub fn consumer_mut(&mut self, id: &str) -> Option<&mut DataConsumer> {
        let index = *self.consumers_by_id.get(id)?;
        self.consumers[index]
            .as_mut()
            .map(|entry| &mut entry.consumer)
    }

    /// The transport and stream of a data consumer.
    pub fn consumer_route(&self, id: &str) -> Option<(usize, Option<u16>)> {
        let index = *self.consumers_by_id.get(id)?;
        let entry = self.consumers[index].as_ref()?;
        Some((entry.transport, entry.consumer.stream_id()))
    }

    /// The id of the consumer at `index` (from a [`DataDelivery`]).
    pub fn consumer_id(&self, index: usize) -> Option<&str> {
        self.consumers
            .get(index)?
            .as_ref()
            .map(|entry| entry.id.as_str())
    }

    /// The consumer with the SCTP stream `stream_id` on `transport` (whose buffered amount
    /// fell low), if its owner listens for `bufferedamountlow`.
    pub fn buffered_amount_low_listener(&self, transport: usize, stream_id: u16) -> Option<&str> {
        self.consumers.iter().flatten().find_map(|entry| {
            (entry.transport == transport
                && entry.consumer.stream_id() == Some(stream_id)
                && entry.consumer.reports_buffered_amount_low())
            .then_some(entry.id.as_str())
        })
    }

    /// Pauses or resumes a data producer; returns the ids of its consumers whose
    /// `dataproducerpause`/`dataproducerresume` the owner hears, or `None` if nothing
    /// changed (or there is no such producer).
    pub fn set_producer_paused(&mut self, id: &str, paused: bool) -> Option<Vec<String>> {
        let index = *self.producers_by_id.get(id)?;
        let entry = self.producers[index].as_mut()?;
        if !entry.producer.set_paused(paused) {
            return None;
        }
        let mut told = Vec::with_capacity(entry.consumers.len());
        for &consumer in &entry.consumers {
            if let Some(consumer) = self.consumers[consumer].as_mut() {
                consumer.consumer.set_data_producer_paused(paused);
                told.push(consumer.id.clone());
            }
        }
        Some(told)
    }

    /// Statistics of a data producer.
    pub fn producer_stats(&self, id: &str) -> Option<DataProducerStats> {
        self.producer(id).map(DataProducer::stats)
    }

    /// Statistics of a data consumer.
    pub fn consumer_stats(&self, id: &str) -> Option<DataConsumerStats> {
        self.consumer(id).map(DataConsumer::stats)
    }

    /// Removes a data consumer; returns its transport and stream.
    pub fn remove_consumer(&mut self, id: &str) -> Option<(usize, Option<u16>)> {
        let index = self.consumers_by_id.remove(id)?;
        let entry = self.consumers[index].take()?;
        if let Some(producer) = self.producers[entry.producer].as_mut() {
            producer.consumers.retain(|&consumer| consumer != index);
        }
        Some((entry.transport, entry.consumer.stream_id()))
    }

    /// Removes a data producer and its consumers; returns the consumers removed (id,
    /// transport, stream): each hears `dataproducerclose`, and its stream closes.
    pub fn remove_producer(&mut self, id: &str) -> Vec<(String, usize, Option<u16>)> {
        let Some(index) = self.producers_by_id.remove(id) else {
            return Vec::new();
        };
        let Some(entry) = self.producers[index].take() else {
            return Vec::new();
        };
        if let Some(stream_id) = entry.producer.stream_id() {
            self.by_stream.remove(&(entry.transport, stream_id));
        }
        entry
            .consumers
            .iter()
            .filter_map(|&consumer| {
                let removed = self.consumers[consumer].take()?;
                self.consumers_by_id.remove(&removed.id);
                Some((removed.id, removed.transport, removed.consumer.stream_id()))
            })
            .collect()
    }

    /// Removes what lives on `transport` (it closed): its data producers (and their
    /// consumers elsewhere, returned as [`DataRoutes::remove_producer`] does) and its data
    /// consumers (which need no event: their transport's close is their end).
    pub fn remove_transport(&mut self, transport: usize) -> Vec<(String, usize, Option<u16>)> {
        let producers: Vec<String> = self
            .producers
            .iter()
            .flatten()
            .filter(|entry| entry.transport == transport)
            .map(|entry| entry.id.clone())
            .collect();
        let mut orphaned = Vec::new();
        for id in producers {
            orphaned.extend(
                self.remove_producer(&id)
                    .into_iter()
                    .filter(|&(_, consumer_transport, _)| consumer_transport != transport),
            );
        }
        let consumers: Vec<String> = self
            .consumers
            .iter()
            .flatten()
            .filter(|entry| entry.transport == transport)
            .map(|entry| entry.id.clone())
            .collect();
        for id in consumers {
            self.remove_consumer(&id);
        }
        orphaned
    }

    /// The data producer of `transport` sending on SCTP stream `stream_id`, by id.
    pub fn producer_on_stream(&self, transport: usize, stream_id: u16) -> Option<&str> {
        let index = *self.by_stream.get(&(transport, stream_id))?;
        self.producers[index]
            .as_ref()
            .map(|entry| entry.id.as_str())
    }

    /// A message that arrived on `transport`'s SCTP stream `stream_id` was dropped by the
    /// association: counted by the data producer on that stream, if any.
    pub fn count_sctp_drop(&mut self, transport: usize, stream_id: u16, reason: SctpMessageDrop) {
        let Some(&index) = self.by_stream.get(&(transport, stream_id)) else {
            self.skipped.no_producer += 1;
            return;
        };
        if let Some(entry) = self.producers[index].as_mut() {
            entry.producer.count_drop(reason);
        }
    }

    /// A message that arrived on `transport`'s SCTP stream `stream_id`: the deliveries to
    /// make, appended to `deliveries` (none if no producer uses the stream, it is paused, or
    /// it is DCEP).
    pub fn route_sctp(
        &mut self,
        transport: usize,
        stream_id: u16,
        ppid: Ppid,
        len: usize,
        deliveries: &mut Vec<DataDelivery>,
    ) {
        let Some(&index) = self.by_stream.get(&(transport, stream_id)) else {
            self.skipped.no_producer += 1;
            return;
        };
        self.route_index(index, ppid, len, &[], None, deliveries);
    }

    /// A message the application sends through data producer `id` (a DirectTransport's),
    /// with mediasoup's subchannel addressing; the deliveries are appended to `deliveries`.
    pub fn route_direct(
        &mut self,
        id: &str,
        ppid: Ppid,
        len: usize,
        subchannels: &[u16],
        required_subchannel: Option<u16>,
        deliveries: &mut Vec<DataDelivery>,
    ) -> Result<(), DataRouteError> {
        let index = *self
            .producers_by_id
            .get(id)
            .ok_or_else(|| DataRouteError::NoProducer(id.to_owned()))?;
        self.route_index(
            index,
            ppid,
            len,
            subchannels,
            required_subchannel,
            deliveries,
        );
        Ok(())
    }

    fn route_index(
        &mut self,
        index: usize,
        ppid: Ppid,
        len: usize,
        subchannels: &[u16],
        required_subchannel: Option<u16>,
        deliveries: &mut Vec<DataDelivery>,
    ) {
        let Some(entry) = self.producers[index].as_mut() else {
            return;
        };
        if !entry.producer.receive(ppid, len) {
            return;
        }
        for &consumer_index in &entry.consumers {
            let Some(consumer) = self.consumers[consumer_index].as_mut() else {
                continue;
            };
            match consumer
                .consumer
                .take(len, subchannels, required_subchannel)
            {
                Ok(()) => deliveries.push(DataDelivery {
                    transport: consumer.transport,
                    stream_id: consumer.consumer.stream_id(),
                    consumer: consumer_index,
                }),
                Err(DataConsumerSkip::TooLarge) => self.skipped.too_large += 1,
                Err(_) => {}
            }
        }
    }

    /// The consumer at `index` (from a [`DataDelivery`]) could not send a message of `len`
    /// bytes it was routed: counted as dropped by it.
    pub fn refused(&mut self, index: usize, len: usize, refusal: DataConsumerRefusal) {
        if let Some(Some(entry)) = self.consumers.get_mut(index) {
            entry.consumer.refused(len, refusal);
        }
    }

    /// Messages not delivered, by reason.
    pub fn skipped(&self) -> SkipCounters {
        self.skipped
    }

    /// How many data producers and consumers there are (for dumps and leak checks).
    pub fn counts(&self) -> (usize, usize) {
        (self.producers_by_id.len(), self.consumers_by_id.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtc::data_producer::DataKind;

    fn sctp_producer(stream_id: u16) -> DataProducer {
        DataProducer::new(DataKind::Sctp, Some(stream_id), false)
    }

    fn sctp_consumer(stream_id: u16) -> DataConsumer {
        DataConsumer::new(DataKind::Sctp, Some(stream_id), 1000, false, false, [])
    }

    fn routes() -> DataRoutes {
        let mut routes = DataRoutes::new();
        routes
            .add_producer("p".into(), 0, sctp_producer(1))
            .unwrap();
        routes
            .add_consumer("a".into(), 1, "p", sctp_consumer(0))
            .unwrap();
        routes
            .add_consumer("b".into(), 2, "p", sctp_consumer(5))
            .unwrap();
        routes
    }

    fn route(
        routes: &mut DataRoutes,
        transport: usize,
        stream_id: u16,
        len: usize,
    ) -> Vec<DataDelivery> {
        let mut deliveries = Vec::new();
        routes.route_sctp(transport, stream_id, Ppid::String, len, &mut deliveries);
        deliveries
    }

    #[test]
    fn a_message_goes_to_every_consumer_of_its_stream_producer() {
        let mut routes = routes();
        let deliveries = route(&mut routes, 0, 1, 10);
        let targets: Vec<_> = deliveries
            .iter()
            .map(|d| {
                (
                    routes.consumer_id(d.consumer).unwrap(),
                    d.transport,
                    d.stream_id,
                )
            })
            .collect();
        assert_eq!(targets, [("a", 1, Some(0)), ("b", 2, Some(5))]);
        // Another stream, or the same stream on another transport: nobody.
        assert!(route(&mut routes, 0, 2, 10).is_empty());
        assert!(route(&mut routes, 1, 1, 10).is_empty());
        assert_eq!(routes.skipped().no_producer, 2);
        // Too large for the consumers' transports: counted, not sent.
        assert!(route(&mut routes, 0, 1, 1001).is_empty());
        assert_eq!(routes.skipped().too_large, 2);
        assert_eq!(routes.producer_stats("p").unwrap().messages_received, 2);
        assert_eq!(routes.consumer_stats("a").unwrap().messages_sent, 1);
    }

    #[test]
    fn ids_and_streams_are_unique_per_transport() {
        let mut routes = routes();
        assert!(matches!(
            routes.add_producer("p".into(), 3, sctp_producer(9)),
            Err(DataRouteError::IdInUse { .. })
        ));
        assert_eq!(
            routes.add_producer("q".into(), 0, sctp_producer(1)),
            Err(DataRouteError::StreamInUse(1))
        );
        routes
            .add_producer("q".into(), 3, sctp_producer(1))
            .unwrap();
        assert_eq!(
            routes.add_consumer("c".into(), 1, "nobody", sctp_consumer(1)),
            Err(DataRouteError::NoProducer("nobody".into()))
        );
        assert_eq!(routes.producer_on_stream(3, 1), Some("q"));
        assert_eq!(routes.buffered_amount_low_listener(2, 5), None);
        routes
            .consumer_mut("b")
            .unwrap()
            .set_reports_buffered_amount_low(true);
        assert_eq!(routes.buffered_amount_low_listener(2, 5), Some("b"));
    }

    #[test]
    fn pausing_the_producer_pauses_its_consumers_and_tells_them() {
        let mut routes = routes();
        assert_eq!(
            routes.set_producer_paused("p", true),
            Some(vec!["a".to_owned(), "b".to_owned()])
        );
        assert_eq!(routes.set_producer_paused("p", true), None);
        assert!(route(&mut routes, 0, 1, 10).is_empty());
        // A consumer made while its producer is paused starts paused by it.
        routes
            .add_consumer("c".into(), 3, "p", sctp_consumer(2))
            .unwrap();
        assert!(routes.consumer("c").unwrap().data_producer_paused());
        routes.set_producer_paused("p", false);
        assert_eq!(route(&mut routes, 0, 1, 10).len(), 3);
    }

    #[test]
    fn closing_a_transport_removes_what_it_held_and_orphans_consumers_elsewhere() {
        let mut routes = routes();
        routes
            .add_consumer("own".into(), 0, "p", sctp_consumer(3))
            .unwrap();
        let orphaned = routes.remove_transport(0);
        assert_eq!(
            orphaned,
            [("a".to_owned(), 1, Some(0)), ("b".to_owned(), 2, Some(5))]
        );
        assert_eq!(routes.counts(), (0, 0));
        assert!(route(&mut routes, 0, 1, 10).is_empty());
        // Slots are reused.
        routes
            .add_producer("p2".into(), 4, sctp_producer(1))
            .unwrap();
        routes
            .add_consumer("a2".into(), 5, "p2", sctp_consumer(0))
            .unwrap();
        assert_eq!(routes.remove_consumer("a2"), Some((5, Some(0))));
        assert_eq!(routes.counts(), (1, 0));
    }

    #[test]
    fn direct_messages_follow_subchannels() {
        let mut routes = DataRoutes::new();
        routes
            .add_producer(
                "d".into(),
                0,
                DataProducer::new(DataKind::Direct, None, false),
            )
            .unwrap();
        let consumer = |subchannels: &[u16]| {
            DataConsumer::new(
                DataKind::Direct,
                None,
                1000,
                false,
                false,
                subchannels.iter().copied(),
            )
        };
        routes
            .add_consumer("one".into(), 1, "d", consumer(&[1]))
            .unwrap();
        routes
            .add_consumer("two".into(), 1, "d", consumer(&[2]))
            .unwrap();
        let mut deliveries = Vec::new();
        routes
            .route_direct("d", Ppid::Binary, 3, &[2], None, &mut deliveries)
            .unwrap();
        assert_eq!(deliveries.len(), 1);
        assert_eq!(routes.consumer_id(deliveries[0].consumer), Some("two"));
        deliveries.clear();
        routes
            .route_direct("d", Ppid::Binary, 3, &[], Some(1), &mut deliveries)
            .unwrap();
        assert_eq!(routes.consumer_id(deliveries[0].consumer), Some("one"));
        assert!(routes
            .route_direct("x", Ppid::Binary, 3, &[], None, &mut deliveries)
            .is_err());
    }
}
