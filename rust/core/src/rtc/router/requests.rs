//! Requests about a router's producers, consumers and RTP observers, each answered by the
//! entity it names (mediasoup's `HandleRequest` per class).

use std::time::Instant;

use super::{Router, RouterOutput, RtpObserverOptions};
use crate::rtc::consumer::ConsumerStats;
use crate::rtc::layer_selector::Layers;
use crate::rtc::producer_stream::ProducerStats;
use crate::rtc::request_error::RequestError;

/// A request about a producer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProducerRequest {
    /// Closes it and its consumers.
    Close,
    /// Pauses or resumes it (its consumers stop, or restart on a keyframe).
    SetPaused(bool),
    /// Its counters, per stream.
    GetStats,
    /// Which trace event kinds it reports (bits of
    /// [`TraceKind`](crate::rtc::producer_trace::TraceKind)).
    SetTrace(u8),
}

/// A request about a consumer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsumerRequest {
    /// Closes it.
    Close,
    /// Pauses or resumes it.
    SetPaused(bool),
    /// A simulcast or SVC consumer's preferred layers.
    SetPreferredLayers(Layers),
    /// Its share of its transport's bandwidth relative to the others (1-255).
    SetPriority(u8),
    /// Which trace event kinds it reports.
    SetTrace(u8),
    /// Its counters.
    GetStats,
    /// Its state, for the owner's `dump()`.
    Dump,
    /// Asks its producer's endpoint for a keyframe.
    RequestKeyFrame,
}

/// A consumer's state as the router has it (what mediasoup's `consumer.dump()` reports
/// beside the parameters the owner gave).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsumerDump {
    /// Paused by the application.
    pub paused: bool,
    /// Paused because its producer is.
    pub producer_paused: bool,
    /// Its share of its transport's bandwidth relative to the others (1-255).
    pub priority: u8,
}

/// A request about an RTP observer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RtpObserverRequest {
    /// Closes it.
    Close,
    /// Pauses or resumes it.
    SetPaused(bool),
    /// Starts observing a producer of the router.
    AddProducer(String),
    /// Stops observing a producer.
    RemoveProducer(String),
}

/// A router's answer.
#[derive(Debug, Clone, PartialEq)]
pub enum RouterResponse {
    /// Done; nothing to say.
    Done,
    /// A producer's counters, per stream.
    ProducerStats(Vec<ProducerStats>),
    /// A consumer's counters.
    ConsumerStats(ConsumerStats),
    /// A consumer's state.
    ConsumerDump(ConsumerDump),
}

/// What a router holds, for the owner's `dump()`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouterDump {
    /// Each producer's id and the ids of its consumers.
    pub producers: Vec<(String, Vec<String>)>,
    /// The RTP observers' ids.
    pub rtp_observer_ids: Vec<String>,
}

impl Router {
    /// Answers a request about producer `id`.
    pub fn handle_producer_request(
        &mut self,
        id: &str,
        request: ProducerRequest,
        now: Instant,
    ) -> Result<RouterResponse, RequestError> {
        let index = self.producer_index(id)?;
        let producer = self
            .producers
            .get_mut(index)
            .ok_or_else(|| RequestError::not_found("producer", id))?;
        match request {
            ProducerRequest::Close => {
                // Its consumers close with it; the owner closes its handles of them too.
                self.remove_producer(index);
            }
            ProducerRequest::SetPaused(paused) => {
                producer.paused = paused;
                for &consumer in &producer.consumers {
                    if let Some(entry) = self.consumers.get_mut(consumer) {
                        entry.consumer.set_producer_paused(paused);
                    }
                }
            }
            ProducerRequest::GetStats => {
                let stats = producer
                    .streams
                    .iter_mut()
                    .map(|stream| stream.stats(now))
                    .collect();
                return Ok(RouterResponse::ProducerStats(stats));
            }
            ProducerRequest::SetTrace(kinds) => producer.trace = kinds,
        }
        Ok(RouterResponse::Done)
    }

    /// Answers a request about consumer `id`.
    pub fn handle_consumer_request(
        &mut self,
        id: &str,
        request: ConsumerRequest,
        now: Instant,
        out: &mut dyn RouterOutput,
    ) -> Result<RouterResponse, RequestError> {
        let index = self.consumer_index(id)?;
        let entry = self
            .consumers
            .get_mut(index)
            .ok_or_else(|| RequestError::not_found("consumer", id))?;
        match request {
            ConsumerRequest::Close => self.remove_consumer(index),
            ConsumerRequest::SetPaused(paused) => entry.consumer.set_paused(paused),
            ConsumerRequest::SetPreferredLayers(layers) => {
                entry.consumer.set_preferred_layers(layers);
            }
            ConsumerRequest::SetPriority(priority) => entry.priority = priority.max(1),
            ConsumerRequest::SetTrace(kinds) => entry.trace = kinds,
            ConsumerRequest::GetStats => {
                return Ok(RouterResponse::ConsumerStats(entry.consumer.stats(now)));
            }
            ConsumerRequest::Dump => {
                return Ok(RouterResponse::ConsumerDump(ConsumerDump {
                    paused: entry.consumer.paused,
                    producer_paused: entry.consumer.producer_paused,
                    priority: entry.priority,
                }));
            }
            ConsumerRequest::RequestKeyFrame => {
                let (producer, stream) = (entry.producer, entry.consumer.current_stream());
                self.request_key_frame(producer, stream, now, out);
            }
        }
        Ok(RouterResponse::Done)
    }

    /// Creates an RTP observer watching no producer yet.
    pub fn create_rtp_observer(
        &mut self,
        id: String,
        options: RtpObserverOptions,
        now: Instant,
    ) -> Result<RouterResponse, RequestError> {
        self.observers.create(id, options, now)?;
        Ok(RouterResponse::Done)
    }

    /// Answers a request about RTP observer `id`.
    pub fn handle_rtp_observer_request(
        &mut self,
        id: &str,
        request: RtpObserverRequest,
        now: Instant,
    ) -> Result<RouterResponse, RequestError> {
        match request {
            RtpObserverRequest::Close => self.observers.close(id)?,
            RtpObserverRequest::SetPaused(paused) => self.observers.set_paused(id, paused, now)?,
            RtpObserverRequest::AddProducer(producer_id) => {
                let producer = self.producer_index(&producer_id)?;
                self.observers.add_producer(id, producer, now)?;
            }
            RtpObserverRequest::RemoveProducer(producer_id) => {
                let producer = self.producer_index(&producer_id)?;
                self.observers.remove_producer(id, producer)?;
            }
        }
        Ok(RouterResponse::Done)
    }

    /// Its producers with their consumers, and its observers.
    pub fn dump(&self) -> RouterDump {
        let consumer_id = |index| self.consumers.get(index).map(|entry| entry.id.clone());
        RouterDump {
            producers: self
                .producers
                .iter()
                .map(|(_, producer)| {
                    let consumers = producer.consumers.iter().filter_map(|&c| consumer_id(c));
                    (producer.id.clone(), consumers.collect())
                })
                .collect(),
            rtp_observer_ids: self.observers.ids().map(str::to_owned).collect(),
        }
    }
}
