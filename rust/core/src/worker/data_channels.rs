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
use crate::rtc::data_consumer::{DataConsumer, DataConsumerRefusal};
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
    sends: Vec<QueuedSend>,
    /// The consumer, message length and reason of each send refused in a batch.
    refused: Vec<(usize, usize, DataConsumerRefusal)>,
}

/// A message for a consumer's SCTP stream, held until the batch it came in is routed.
#[derive(Debug)]
struct QueuedSend {
    transport: usize,
    stream_id: u16,
    consumer: usize,
    ppid: Ppid,
    payload: Bytes,
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
                self.deliver(&deliveries, ppid, &payload);
                self.send_queued(now);
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
            DataConsumerRequest::ReportBufferedAmountLow(reports) => {
                if let Some(consumer) = self.data.routes.consumer_mut(data_consumer_id) {
                    consumer.set_reports_buffered_amount_low(reports);
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
                    self.deliver(&deliveries, ppid, &payload);
                }
                SctpEvent::MessageDropped { stream_id, reason } => {
                    self.data.routes.count_sctp_drop(slot, stream_id, reason);
                }
                SctpEvent::BufferedAmountLow {
                    stream_id,
                    buffered_amount,
                } => {
                    if let Some(id) = self
                        .data
                        .routes
                        .buffered_amount_low_listener(slot, stream_id)
                    {
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
        self.send_queued(now);
    }

    /// Hands one message to each delivery's consumer: to the owner for DirectTransport
    /// consumers, else queued for its SCTP stream until [`Self::send_queued`].
    fn deliver(&mut self, deliveries: &[DataDelivery], ppid: Ppid, payload: &Bytes) {
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
            self.data.sends.push(QueuedSend {
                transport: delivery.transport,
                stream_id,
                consumer: delivery.consumer,
                ppid,
                payload: payload.clone(),
            });
        }
    }

    /// Sends the queued messages, each transport's together: its association then builds
    /// and encrypts its packets once for the batch (sctp-proto scans everything in flight
    /// each time it is asked for packets, so a flush per message per consumer made the cost
    /// of a message grow with the backlog). Streams keep their order (a stable sort).
    fn send_queued(&mut self, now: Instant) {
        if self.data.sends.is_empty() {
            return;
        }
        let mut sends = std::mem::take(&mut self.data.sends);
        let mut refused = std::mem::take(&mut self.data.refused);
        sends.sort_by_key(|send| send.transport);
        for batch in sends.chunk_by(|a, b| a.transport == b.transport) {
            self.on_sctp(batch[0].transport, now, &mut |sctp| {
                for send in batch {
                    let Err(error) = sctp.send(send.stream_id, send.ppid, &send.payload) else {
                        continue;
                    };
                    let refusal = match error {
                        SctpSendError::SendBufferFull { .. } => DataConsumerRefusal::SendBufferFull,
                        SctpSendError::TooLarge { .. } => DataConsumerRefusal::TooLarge,
                        _ => DataConsumerRefusal::NotSent,
                    };
                    refused.push((send.consumer, send.payload.len(), refusal));
                }
            });
        }
        for (consumer, len, refusal) in refused.drain(..) {
            self.data.routes.refused(consumer, len, refusal);
            if refusal == DataConsumerRefusal::SendBufferFull {
                if let Some(id) = self.data.routes.consumer_id(consumer) {
                    self.events.push(WorkerEvent::DataConsumer {
                        data_consumer_id: id.to_owned(),
                        event: DataConsumerEvent::SendBufferFull,
                    });
                }
            }
        }
        sends.clear();
        self.data.sends = sends;
        self.data.refused = refused;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::crypto::certificate::DtlsCertificate;
    use crate::dtls::DtlsContext;
    use crate::sctp::SctpConfig;
    use crate::srtp::SrtpProfile;
    use crate::worker::log::LogFilter;
    use crate::worker::messages::{ListenAddress, WebRtcListen};
    use crate::worker::messages::{Request, RouterRequest, TransportRequest, WorkerRequest};
    use crate::worker::{PortChoice, WorkerHandle, WorkerSettings};

    struct Test {
        worker: WorkerHandle,
        next_id: u64,
        seen: Vec<WorkerEvent>,
    }

    impl Test {
        fn new() -> Self {
            let certificate = DtlsCertificate::generate().unwrap();
            let context = Arc::new(DtlsContext::new(&certificate, &SrtpProfile::ALL).unwrap());
            let worker = WorkerHandle::spawn(
                WorkerSettings {
                    name: "data".to_owned(),
                    rtc_min_port: 47_420,
                    rtc_max_port: 47_429,
                    log: LogFilter::default(),
                },
                context,
            )
            .unwrap();
            Test {
                worker,
                next_id: 1,
                seen: Vec::new(),
            }
        }

        /// Sends `request`; its result.
        fn ask(&mut self, request: Request) -> Result<Response, RequestError> {
            let id = self.next_id;
            self.next_id += 1;
            self.worker.request(id, request).unwrap();
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                for event in self.worker.events().drain() {
                    match event {
                        WorkerEvent::Response {
                            id: answered,
                            result,
                        } if answered == id => return result,
                        other => self.seen.push(other),
                    }
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            panic!("no answer within 5 s");
        }

        fn transport(
            &mut self,
            transport_id: &str,
            request: TransportRequest,
        ) -> Result<Response, RequestError> {
            self.ask(Request::Transport {
                transport_id: transport_id.to_owned(),
                request,
            })
        }

        /// The data consumer events seen so far, by consumer.
        fn data_events(&mut self) -> Vec<(String, String)> {
            // Events published after the last answer.
            std::thread::sleep(Duration::from_millis(50));
            self.seen.extend(self.worker.events().drain());
            self.seen
                .iter()
                .filter_map(|event| match event {
                    WorkerEvent::DataConsumer {
                        data_consumer_id,
                        event,
                    } => Some((
                        data_consumer_id.clone(),
                        match event {
                            DataConsumerEvent::Message { payload, ppid } => {
                                format!("{}:{}", ppid.value(), String::from_utf8_lossy(payload))
                            }
                            other => format!("{other:?}"),
                        },
                    )),
                    _ => None,
                })
                .collect()
        }
    }

    fn send(text: &str, subchannels: Vec<u16>) -> Request {
        Request::DataProducer {
            data_producer_id: "source".into(),
            request: DataProducerRequest::Send {
                ppid: Ppid::String,
                payload: text.as_bytes().to_vec(),
                subchannels,
                required_subchannel: None,
            },
        }
    }

    #[test]
    fn direct_messages_reach_direct_consumers_and_closes_cascade() {
        let mut test = Test::new();
        let router = |request| Request::Router {
            router_id: "r".into(),
            request,
        };
        test.ask(Request::Worker(WorkerRequest::CreateRouter {
            router_id: "r".into(),
        }))
        .unwrap();
        for transport_id in ["in", "out"] {
            test.ask(router(RouterRequest::CreateDirectTransport {
                transport_id: transport_id.into(),
            }))
            .unwrap();
        }
        test.transport(
            "in",
            TransportRequest::ProduceData {
                data_producer_id: "source".into(),
                stream: None,
                paused: false,
            },
        )
        .unwrap();
        for (id, subchannels) in [("a", vec![1]), ("b", vec![2])] {
            test.transport(
                "out",
                TransportRequest::ConsumeData {
                    data_consumer_id: id.into(),
                    data_producer_id: "source".into(),
                    stream: None,
                    paused: false,
                    subchannels,
                },
            )
            .unwrap();
        }
        // An SCTP stream needs SCTP on the transport; an unknown producer is named.
        let refused = test.transport(
            "out",
            TransportRequest::ConsumeData {
                data_consumer_id: "c".into(),
                data_producer_id: "source".into(),
                stream: Some((0, StreamReliability::default())),
                paused: false,
                subchannels: vec![],
            },
        );
        assert!(
            matches!(refused, Err(RequestError::InvalidState(_))),
            "{refused:?}"
        );
        let unknown = test.transport(
            "out",
            TransportRequest::ConsumeData {
                data_consumer_id: "d".into(),
                data_producer_id: "nobody".into(),
                stream: None,
                paused: false,
                subchannels: vec![],
            },
        );
        assert!(
            matches!(unknown, Err(RequestError::NotFound(_))),
            "{unknown:?}"
        );

        test.ask(send("everyone", vec![])).unwrap();
        test.ask(send("two only", vec![2])).unwrap();
        test.ask(Request::DataProducer {
            data_producer_id: "source".into(),
            request: DataProducerRequest::SetPaused(true),
        })
        .unwrap();
        test.ask(send("unheard", vec![])).unwrap();
        let stats = test.ask(Request::DataProducer {
            data_producer_id: "source".into(),
            request: DataProducerRequest::GetStats,
        });
        let Ok(Response::DataProducerStats(stats)) = stats else {
            panic!("{stats:?}");
        };
        assert_eq!(stats.messages_received, 3);
        test.transport("in", TransportRequest::Close).unwrap();
        let events = test.data_events();
        let of = |id: &str| -> Vec<String> {
            events
                .iter()
                .filter(|(consumer, _)| consumer == id)
                .map(|(_, event)| event.clone())
                .collect()
        };
        assert_eq!(
            of("a"),
            [
                "51:everyone",
                "DataProducerPaused(true)",
                "DataProducerClosed"
            ]
        );
        assert_eq!(
            of("b"),
            [
                "51:everyone",
                "51:two only",
                "DataProducerPaused(true)",
                "DataProducerClosed"
            ]
        );
        // Both went with their producer.
        let gone = test.ask(Request::DataConsumer {
            data_consumer_id: "a".into(),
            request: DataConsumerRequest::GetStats,
        });
        assert!(matches!(gone, Err(RequestError::NotFound(_))), "{gone:?}");
    }

    #[test]
    fn sctp_streams_stay_within_the_transport_s_streams() {
        let mut test = Test::new();
        test.ask(Request::Worker(WorkerRequest::CreateRouter {
            router_id: "r".into(),
        }))
        .unwrap();
        test.ask(Request::Router {
            router_id: "r".into(),
            request: RouterRequest::CreateWebRtcTransport {
                transport_id: "t".into(),
                listen: WebRtcListen::Own(vec![ListenAddress {
                    ip: "127.0.0.1".parse().unwrap(),
                    udp: Some(PortChoice::WorkerRange),
                    tcp: None,
                }]),
                ice_consent_timeout: None,
                sctp: Some(SctpConfig {
                    os: 4,
                    mis: 4,
                    ..SctpConfig::default()
                }),
            },
        })
        .unwrap();
        let produce = |stream_id: u16| TransportRequest::ProduceData {
            data_producer_id: format!("p{stream_id}"),
            stream: Some((stream_id, StreamReliability::default())),
            paused: false,
        };
        assert!(matches!(
            test.transport("t", produce(4)),
            Err(RequestError::InvalidArgument { .. })
        ));
        test.transport("t", produce(3)).unwrap();
        let consume = |id: &str, stream_id: u16| TransportRequest::ConsumeData {
            data_consumer_id: id.into(),
            data_producer_id: "p3".into(),
            stream: Some((stream_id, StreamReliability::default())),
            paused: false,
            subchannels: vec![],
        };
        test.transport("t", consume("c0", 0)).unwrap();
        // Beyond OS, or taken: refused, and nothing left behind.
        assert!(test.transport("t", consume("c4", 4)).is_err());
        assert!(test.transport("t", consume("again", 0)).is_err());
        let left = test.ask(Request::DataConsumer {
            data_consumer_id: "again".into(),
            request: DataConsumerRequest::Close,
        });
        assert!(matches!(left, Err(RequestError::NotFound(_))), "{left:?}");
        let stats = test.ask(Request::DataConsumer {
            data_consumer_id: "c0".into(),
            request: DataConsumerRequest::GetStats,
        });
        assert!(matches!(
            stats,
            Ok(Response::DataConsumerStats {
                buffered_amount: 0,
                ..
            })
        ));
    }
}
