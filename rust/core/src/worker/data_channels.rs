//! The worker's DataChannels: the data producers and consumers of its transports
//! ([`DataRoutes`]), the requests about them, and the data path. After each turn of a
//! transport (a read, a timer, a request) its SCTP association's events are taken: state
//! changes become `sctpstatechange`, each message goes to the consumers of the data producer
//! on its stream (into their transports' associations, or to the owner for DirectTransport
//! consumers), all on the worker thread. A child module of the event loop: it works on the
//! worker's transports as the loop does.

use std::time::Instant;

use bytes::Bytes;

use super::{TransportEntry, TransportIo, Worker};
use crate::rtc::data_consumer::DataConsumer;
use crate::rtc::data_producer::{DataKind, DataProducer};
use crate::rtc::data_routes::{DataDelivery, DataRouteError, DataRoutes};
use crate::rtc::request_error::RequestError;
use crate::sctp::{Ppid, SctpEvent, SctpSendError, StreamReliability};
use crate::worker::messages::{
    DataConsumerEvent, DataConsumerRequest, DataProducerRequest, Response, TransportEvent,
    WorkerEvent,
};

/// The worker's data producers and consumers, and buffers the data path reuses.
#[derive(Debug, Default)]
pub(super) struct WorkerData {
    routes: DataRoutes,
    deliveries: Vec<DataDelivery>,
    sctp_events: Vec<SctpEvent>,
}

fn route_error(error: DataRouteError) -> RequestError {
    match error {
        DataRouteError::IdInUse { kind, id } => RequestError::invalid(
            if kind == "dataProducer" {
                "data_producer_id"
            } else {
                "data_consumer_id"
            },
            format!("a {kind} with id \"{id}\" already exists"),
        ),
        DataRouteError::StreamInUse(stream_id) => RequestError::invalid(
            "sctp_stream_parameters.streamId",
            format!("stream {stream_id} is already used by a data producer of the transport"),
        ),
        DataRouteError::NoProducer(id) => RequestError::not_found("dataProducer", &id),
    }
}

impl Worker {
    /// A DataProducer on the transport in `slot`.
    pub(super) fn produce_data(
        &mut self,
        slot: usize,
        data_producer_id: String,
        stream: Option<(u16, StreamReliability)>,
        paused: bool,
    ) -> Result<Response, RequestError> {
        let entry = self.transport_entry(slot)?;
        let sctp = entry.transport.sctp_config();
        let kind = match (stream, sctp) {
            (Some((stream_id, _)), Some(config)) => {
                if stream_id >= config.mis {
                    return Err(RequestError::invalid(
                        "sctp_stream_parameters.streamId",
                        format!("must be below the transport's MIS ({})", config.mis),
                    ));
                }
                DataKind::Sctp
            }
            (Some(_), None) => {
                return Err(RequestError::InvalidState(
                    "SCTP is not enabled on this transport".into(),
                ))
            }
            (None, _) => DataKind::Direct,
        };
        let producer = DataProducer::new(kind, stream.map(|(stream_id, _)| stream_id), paused);
        self.data
            .routes
            .add_producer(data_producer_id, slot, producer)
            .map_err(route_error)?;
        Ok(Response::Done)
    }

    /// A DataConsumer on the transport in `slot`; an SCTP one opens its outgoing stream.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn consume_data(
        &mut self,
        slot: usize,
        data_consumer_id: String,
        data_producer_id: &str,
        stream: Option<(u16, StreamReliability)>,
        paused: bool,
        subchannels: Vec<u16>,
        now: Instant,
    ) -> Result<Response, RequestError> {
        let entry = self.transport_entry(slot)?;
        let (kind, max_message_size) = match (stream, entry.transport.sctp_config()) {
            (Some(_), Some(config)) => (DataKind::Sctp, config.max_message_size as usize),
            (Some(_), None) => {
                return Err(RequestError::InvalidState(
                    "SCTP is not enabled on this transport".into(),
                ))
            }
            (None, _) => (DataKind::Direct, usize::MAX),
        };
        let stream_id = stream.map(|(stream_id, _)| stream_id);
        let consumer = DataConsumer::new(
            kind,
            stream_id,
            max_message_size,
            paused,
            false,
            subchannels,
        );
        self.data
            .routes
            .add_consumer(data_consumer_id.clone(), slot, data_producer_id, consumer)
            .map_err(route_error)?;
        if let Some((stream_id, reliability)) = stream {
            let mut opened = Ok(());
            let Some(Some(entry)) = self.transports.get_mut(slot) else {
                return Err(RequestError::not_found("transport", ""));
            };
            entry
                .transport
                .with_sctp(&mut transport_io!(self, slot, now), &mut |sctp| {
                    opened = sctp.open_stream(stream_id, reliability);
                });
            if let Err(error) = opened {
                self.data.routes.remove_consumer(&data_consumer_id);
                return Err(RequestError::invalid(
                    "sctp_stream_parameters.streamId",
                    error.to_string(),
                ));
            }
        }
        Ok(Response::Done)
    }

    fn transport_entry(&self, slot: usize) -> Result<&TransportEntry, RequestError> {
        self.transports
            .get(slot)
            .and_then(Option::as_ref)
            .ok_or_else(|| RequestError::NotFound("transport".into()))
    }

    pub(super) fn handle_data_producer_request(
        &mut self,
        data_producer_id: &str,
        request: DataProducerRequest,
        now: Instant,
    ) -> Result<Response, RequestError> {
        if self.data.routes.producer(data_producer_id).is_none() {
            return Err(RequestError::not_found("dataProducer", data_producer_id));
        }
        match request {
            DataProducerRequest::Close => {
                let orphaned = self.data.routes.remove_producer(data_producer_id);
                self.orphan_data_consumers(orphaned, now);
                Ok(Response::Done)
            }
            DataProducerRequest::SetPaused(paused) => {
                if let Some(told) = self
                    .data
                    .routes
                    .set_producer_paused(data_producer_id, paused)
                {
                    for data_consumer_id in told {
                        self.events.push(WorkerEvent::DataConsumer {
                            data_consumer_id,
                            event: DataConsumerEvent::DataProducerPaused(paused),
                        });
                    }
                }
                Ok(Response::Done)
            }
            DataProducerRequest::GetStats => self
                .data
                .routes
                .producer_stats(data_producer_id)
                .map(Response::DataProducerStats)
                .ok_or_else(|| RequestError::not_found("dataProducer", data_producer_id)),
            DataProducerRequest::Send {
                ppid,
                payload,
                subchannels,
                required_subchannel,
            } => {
                let mut deliveries = std::mem::take(&mut self.data.deliveries);
                deliveries.clear();
                let routed = self.data.routes.route_direct(
                    data_producer_id,
                    ppid,
                    payload.len(),
                    &subchannels,
                    required_subchannel,
                    &mut deliveries,
                );
                let payload = Bytes::from(payload);
                self.deliver(&deliveries, ppid, &payload, now);
                self.data.deliveries = deliveries;
                routed.map_err(route_error)?;
                Ok(Response::Done)
            }
        }
    }

    pub(super) fn handle_data_consumer_request(
        &mut self,
        data_consumer_id: &str,
        request: DataConsumerRequest,
        now: Instant,
    ) -> Result<Response, RequestError> {
        let Some((slot, stream_id)) = self.data.routes.consumer_route(data_consumer_id) else {
            return Err(RequestError::not_found("dataConsumer", data_consumer_id));
        };
        match request {
            DataConsumerRequest::Close => {
                self.data.routes.remove_consumer(data_consumer_id);
                if let Some(stream_id) = stream_id {
                    self.close_stream(slot, stream_id, now);
                }
                Ok(Response::Done)
            }
            DataConsumerRequest::SetPaused(paused) => {
                if let Some(consumer) = self.data.routes.consumer_mut(data_consumer_id) {
                    consumer.set_paused(paused);
                }
                Ok(Response::Done)
            }
            DataConsumerRequest::SetSubchannels(subchannels) => {
                if let Some(consumer) = self.data.routes.consumer_mut(data_consumer_id) {
                    consumer.set_subchannels(subchannels);
                }
                Ok(Response::Done)
            }
            DataConsumerRequest::SetBufferedAmountLowThreshold(threshold) => {
                if let Some(stream_id) = stream_id {
                    self.on_sctp(slot, now, &mut |sctp| {
                        sctp.set_buffered_amount_low_threshold(stream_id, threshold);
                    });
                }
                Ok(Response::Done)
            }
            DataConsumerRequest::GetStats => {
                let mut buffered_amount = 0;
                if let Some(stream_id) = stream_id {
                    self.on_sctp(slot, now, &mut |sctp| {
                        buffered_amount = sctp.buffered_amount(stream_id);
                    });
                }
                let stats = self
                    .data
                    .routes
                    .consumer_stats(data_consumer_id)
                    .ok_or_else(|| RequestError::not_found("dataConsumer", data_consumer_id))?;
                Ok(Response::DataConsumerStats {
                    stats,
                    buffered_amount,
                })
            }
        }
    }

    /// Runs `operation` on the SCTP association of the transport in `slot`, if it has one.
    fn on_sctp(
        &mut self,
        slot: usize,
        now: Instant,
        operation: &mut dyn FnMut(&mut crate::sctp::SctpAssociation),
    ) {
        if let Some(Some(entry)) = self.transports.get_mut(slot) {
            entry
                .transport
                .with_sctp(&mut transport_io!(self, slot, now), operation);
        }
    }

    fn close_stream(&mut self, slot: usize, stream_id: u16, now: Instant) {
        self.on_sctp(slot, now, &mut |sctp| sctp.close_stream(stream_id));
    }

    /// Consumers whose data producer went: their streams close and their owner is told.
    fn orphan_data_consumers(&mut self, orphaned: Vec<(String, usize, Option<u16>)>, now: Instant) {
        for (data_consumer_id, slot, stream_id) in orphaned {
            if let Some(stream_id) = stream_id {
                self.close_stream(slot, stream_id, now);
            }
            self.events.push(WorkerEvent::DataConsumer {
                data_consumer_id,
                event: DataConsumerEvent::DataProducerClosed,
            });
        }
    }

    /// The transport in `slot` is going: its data producers (their consumers elsewhere are
    /// told) and data consumers go with it.
    pub(super) fn remove_transport_data(&mut self, slot: usize, now: Instant) {
        let orphaned = self.data.routes.remove_transport(slot);
        self.orphan_data_consumers(orphaned, now);
    }

    /// What the SCTP association of the transport in `slot` produced since its last turn:
    /// state changes for the owner, messages routed to their consumers.
    pub(super) fn pump_data(&mut self, slot: usize, now: Instant) {
        let mut events = std::mem::take(&mut self.data.sctp_events);
        events.clear();
        let Some(Some(entry)) = self.transports.get_mut(slot) else {
            return;
        };
        // Most transports carry no SCTP: nothing to look at, no sink to make.
        if entry.transport.sctp_config().is_none() {
            self.data.sctp_events = events;
            return;
        }
        if entry
            .transport
            .with_sctp(&mut transport_io!(self, slot, now), &mut |sctp| {
                while let Some(event) = sctp.poll_event() {
                    events.push(event);
                }
            })
            .is_none()
        {
            self.data.sctp_events = events;
            return;
        }
        let transport_id = entry.transport.id().to_owned();
        let mut deliveries = std::mem::take(&mut self.data.deliveries);
        for event in events.drain(..) {
            match event {
                SctpEvent::StateChange(state) => self.events.push(WorkerEvent::Transport {
                    transport_id: transport_id.clone(),
                    event: TransportEvent::SctpStateChanged(state),
                }),
                SctpEvent::Message {
                    stream_id,
                    ppid,
                    payload,
                } => {
                    deliveries.clear();
                    self.data.routes.route_sctp(
                        slot,
                        stream_id,
                        ppid,
                        payload.len(),
                        &mut deliveries,
                    );
                    self.deliver(&deliveries, ppid, &payload, now);
                }
                SctpEvent::BufferedAmountLow {
                    stream_id,
                    buffered_amount,
                } => {
                    if let Some(id) = self.data.routes.consumer_on_stream(slot, stream_id) {
                        self.events.push(WorkerEvent::DataConsumer {
                            data_consumer_id: id.to_owned(),
                            event: DataConsumerEvent::BufferedAmountLow(buffered_amount),
                        });
                    }
                }
                // Channels are negotiated out of band (mediasoup-client's way); a stream the
                // peer reset ends nothing here: its producer or consumer is closed by its
                // owner.
                SctpEvent::ChannelOpened { .. } | SctpEvent::StreamClosed { .. } => {}
            }
        }
        self.data.deliveries = deliveries;
        self.data.sctp_events = events;
    }

    /// Sends one message to each delivery's consumer.
    fn deliver(&mut self, deliveries: &[DataDelivery], ppid: Ppid, payload: &Bytes, now: Instant) {
        for delivery in deliveries {
            let Some(stream_id) = delivery.stream_id else {
                if let Some(id) = self.data.routes.consumer_id(delivery.consumer) {
                    self.events.push(WorkerEvent::DataConsumer {
                        data_consumer_id: id.to_owned(),
                        event: DataConsumerEvent::Message {
                            ppid,
                            payload: payload.clone(),
                        },
                    });
                }
                continue;
            };
            let mut sent = Ok(());
            self.on_sctp(delivery.transport, now, &mut |sctp| {
                sent = sctp.send(stream_id, ppid, payload);
            });
            if let Err(SctpSendError::SendBufferFull { .. }) = sent {
                if let Some(id) = self.data.routes.consumer_id(delivery.consumer) {
                    self.events.push(WorkerEvent::DataConsumer {
                        data_consumer_id: id.to_owned(),
                        event: DataConsumerEvent::SendBufferFull,
                    });
                }
            }
        }
    }
}
