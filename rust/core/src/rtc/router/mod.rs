//! The router (mediasoup's Router), sans-IO: the producers and consumers of one room, and
//! every decision between a packet arriving on a transport and its copies leaving on
//! others. The worker owns one per router and does all the I/O around it.
//!
//! # The model
//!
//! - The caller adds a transport ([`Router::add_transport`]) with a [`TransportKey`] of its
//!   choosing, gets a [`TransportIndex`], and hands the router what that transport received:
//!   decrypted RTP ([`Router::handle_rtp`]) and RTCP ([`Router::handle_rtcp`]). Time comes
//!   in with every call; nothing here reads a clock, draws randomness or touches a socket.
//! - What the router sends leaves through a [`RouterOutput`] the caller passes in: RTP and
//!   RTCP for a transport, by its key, in a buffer with room for the transport's SRTP tag.
//!   The copies of one incoming packet go out before `handle_rtp` returns.
//! - Timers: [`Router::poll_timeout`] says when [`Router::handle_timeout`] next has work
//!   (NACKs, keyframe request retries, transport-cc feedback every 100 ms, REMB, RTP
//!   observers' reports, and each second the sender and receiver reports, scores and the
//!   bandwidth allocation).
//! - Events for the owner (scores, traces, layer changes, observer reports) wait in a queue
//!   drained with [`Router::take_events`]. Requests about its producers, consumers and
//!   observers are answered by the entity they name.
//!
//! # The packet path
//!
//! A received RTP packet is parsed once. The transport's [`rtp_listener`] finds its producer
//! stream by SSRC in O(1) (by MID or RID until the SSRC is learned); the stream rewrites it in
//! place to router terms; then each consumer of the producer writes its copy in one pass
//! (header fields, its extensions, MID and transport-wide number, VP8 renumbering) straight
//! into the output buffer. A received RTCP compound is parsed once into typed packets, each
//! handed to its owner through the transport's SSRC maps: sender reports to producer
//! streams, receiver reports, NACKs, PLIs and FIRs to consumers, transport-cc and REMB to
//! the transport's send-side estimate.

mod arena;
mod consumer_entry;
mod events;
mod observers;
mod producer;
mod requests;
mod rtcp;
mod rtp;
mod rtp_listener;
mod timers;
mod transport_routes;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::time::{Duration, Instant};

pub use arena::{ConsumerIndex, ProducerIndex, TransportIndex};
pub use events::RouterEvent;
pub use observers::{RtpObserverOptions, RtpObserverReport};
pub use requests::{
    ConsumerDump, ConsumerRequest, ProducerRequest, RouterDump, RouterResponse, RtpObserverRequest,
};
pub use rtcp::RtcpParse;

use arena::Arena;
use consumer_entry::ConsumerEntry;
use observers::RtpObservers;
use producer::Producer;
pub use transport_routes::TransportFigures;
use transport_routes::TransportRoutes;

use crate::rtc::consumer::{Consumer, ConsumerSpec};
use crate::rtc::ids::Ssrc;
use crate::rtc::producer_stream::{ProducerSpec, StreamPart};
use crate::rtc::remote_bitrate_estimator::RemoteBitrateEstimator;
use crate::rtc::request_error::RequestError;
use crate::rtc::transport_cc_feedback::TransportCcFeedback;

/// How the caller names a transport; the router hands it back when it sends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TransportKey(pub usize);

/// Where what a router sends goes.
pub trait RouterOutput {
    /// Sends RTP on a transport: the packet is `buffer[..len]`; the rest of `buffer` is room
    /// for what the transport adds (an SRTP tag).
    fn send_rtp(&mut self, transport: TransportKey, buffer: &mut [u8], len: usize);
    /// Sends an RTCP compound on a transport, likewise.
    fn send_rtcp(&mut self, transport: TransportKey, buffer: &mut [u8], len: usize);
}

/// Room in a copy's buffer beyond the largest received packet: what a copy may grow by (its
/// MID and transport-wide sequence number, an extension block header, an RTX original
/// sequence number) and the SRTP tag its transport appends.
const COPY_HEADROOM: usize = 128;
/// The largest received packet a router copies (the worker's receive slots are this size).
pub const MAX_PACKET_LEN: usize = 2048;

/// Seconds from the NTP epoch (1900) to the Unix epoch (1970).
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;

/// The wall clock as of a monotonic instant: what absolute times on the wire (sender
/// reports' NTP time) and in events (trace timestamps) are computed from. Set once, when
/// the router is created, and moved on by the monotonic clock only: a report pairs its NTP
/// time with the RTP timestamp of the same instant, and a wall clock read apart from that
/// instant (or stepped meanwhile) would add the difference to the pairing; receivers that
/// align streams by reports (ffmpeg) would see timestamps jump.
#[derive(Debug, Clone, Copy)]
struct WallClock {
    at: Instant,
    since_unix_epoch: Duration,
}

impl WallClock {
    fn since_unix_epoch(&self, now: Instant) -> Duration {
        self.since_unix_epoch + now.saturating_duration_since(self.at)
    }

    fn unix_ms(&self, now: Instant) -> u64 {
        self.since_unix_epoch(now).as_millis() as u64
    }

    /// 64-bit NTP time (32.32 fixed point).
    fn ntp(&self, now: Instant) -> u64 {
        let since_unix = self.since_unix_epoch(now);
        let fraction = (u64::from(since_unix.subsec_nanos()) << 32) / 1_000_000_000;
        ((since_unix.as_secs() + NTP_UNIX_OFFSET) << 32) | fraction
    }
}

/// SplitMix64: the numbers a router picks (consumers' first sequence numbers, which RFC 3550
/// wants random), from a seed the caller draws.
#[derive(Debug)]
struct Random(u64);

impl Random {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// The producers, consumers and RTP observers of one router.
#[derive(Debug)]
pub struct Router {
    transports: Arena<TransportIndex, TransportRoutes>,
    producers: Arena<ProducerIndex, Producer>,
    consumers: Arena<ConsumerIndex, ConsumerEntry>,
    producer_ids: HashMap<String, ProducerIndex>,
    consumer_ids: HashMap<String, ConsumerIndex>,
    observers: RtpObservers,
    /// Producer streams with a NACK or keyframe request timer running.
    timed_streams: Vec<(ProducerIndex, u8)>,
    /// Which slots of the per-second work (sender and receiver reports, scores, the
    /// bandwidth allocation) have run.
    periodic: timers::PeriodicWheel,
    /// When transport-cc feedback is next due (while arrivals wait to be reported).
    next_transport_cc: Option<Instant>,
    wall_clock: WallClock,
    random: Random,
    /// Where copies are written.
    copy_buffer: Vec<u8>,
    /// Where RTCP compounds are built.
    rtcp_buffer: Vec<u8>,
    /// Packets a NACK asked for, reused between NACKs.
    nacked: Vec<u16>,
    events: Vec<RouterEvent>,
}

impl Router {
    /// A router with nothing in it, created at `now`, when the wall clock says
    /// `since_unix_epoch` (the routers of one worker are given the same wall clock, so their
    /// reports agree); `seed` seeds the numbers it picks.
    pub fn new(now: Instant, since_unix_epoch: Duration, seed: u64) -> Self {
        Router {
            transports: Arena::default(),
            producers: Arena::default(),
            consumers: Arena::default(),
            producer_ids: HashMap::new(),
            consumer_ids: HashMap::new(),
            observers: RtpObservers::default(),
            timed_streams: Vec::new(),
            periodic: timers::PeriodicWheel::new(now, since_unix_epoch),
            next_transport_cc: None,
            wall_clock: WallClock {
                at: now,
                since_unix_epoch,
            },
            random: Random(seed),
            copy_buffer: vec![0; MAX_PACKET_LEN + COPY_HEADROOM],
            rtcp_buffer: Vec::with_capacity(MAX_PACKET_LEN + COPY_HEADROOM),
            nacked: Vec::new(),
            events: Vec::new(),
        }
    }

    /// Adds a transport the caller names `key`.
    pub fn add_transport(&mut self, key: TransportKey) -> TransportIndex {
        self.transports.insert(TransportRoutes::new(key))
    }

    /// Removes a transport with its consumers, its producers and their consumers.
    pub fn remove_transport(&mut self, transport: TransportIndex) {
        let Some(routes) = self.transports.get(transport) else {
            return;
        };
        let consumers: Vec<ConsumerIndex> = routes.consumers.values().copied().collect();
        let producers = routes.producers.clone();
        for consumer in consumers {
            self.remove_consumer(consumer);
        }
        for producer in producers {
            self.remove_producer(producer);
        }
        self.transports.remove(transport);
    }

    /// Adds a producer receiving on `transport`.
    pub fn add_producer(
        &mut self,
        transport: TransportIndex,
        id: String,
        spec: &ProducerSpec,
        paused: bool,
        now: Instant,
    ) -> Result<ProducerIndex, RequestError> {
        if self.producer_ids.contains_key(&id) {
            return Err(RequestError::invalid(
                "producer_id",
                format!("a producer with id \"{id}\" already exists"),
            ));
        }
        let Some(routes) = self.transports.get_mut(transport) else {
            return Err(RequestError::NotFound("transport".into()));
        };
        let producer = Producer::new(id.clone(), transport, spec, paused)?;
        let keys = producer.keys.clone();
        let index = self.producers.insert(producer);
        let added = routes.listener.add(index, &keys, |stream, part| {
            let rtx = if part == StreamPart::Rtx { ".rtx" } else { "" };
            format!("rtp_parameters.encodings[{stream}]{rtx}.ssrc")
        });
        if let Err(error) = added {
            self.producers.remove(index);
            return Err(error);
        }
        routes.producers.push(index);
        if let Some(id) = spec.transport_cc_extension_id {
            let feedback = &mut routes.receive_feedback;
            match &mut feedback.transport_cc {
                Some((known, _)) => *known = id,
                None => {
                    feedback.transport_cc = Some((id, TransportCcFeedback::new(now)));
                }
            }
        }
        if let Some(id) = spec.remb_abs_send_time_extension_id {
            routes
                .receive_feedback
                .remb
                .get_or_insert_with(|| (id, RemoteBitrateEstimator::new(now)));
        }
        self.producer_ids.insert(id, index);
        Ok(index)
    }

    /// Removes a producer and its consumers.
    fn remove_producer(&mut self, index: ProducerIndex) {
        let Some(producer) = self.producers.remove(index) else {
            return;
        };
        self.producer_ids.remove(&producer.id);
        self.observers.forget_producer(index);
        self.timed_streams.retain(|(timed, _)| *timed != index);
        if let Some(routes) = self.transports.get_mut(producer.transport) {
            routes
                .listener
                .remove(index, &producer.keys, producer.learned_ssrcs());
            routes.producers.retain(|other| *other != index);
        }
        for consumer in producer.consumers {
            if let Some(entry) = self.consumers.remove(consumer) {
                self.consumer_ids.remove(&entry.id);
                if let Some(routes) = self.transports.get_mut(entry.transport) {
                    routes.consumers.remove(&entry.consumer.ssrc());
                }
            }
        }
    }

    /// Adds a consumer of producer `producer_id` sending on `transport`.
    pub fn add_consumer(
        &mut self,
        transport: TransportIndex,
        id: String,
        producer_id: &str,
        spec: ConsumerSpec,
        paused: bool,
    ) -> Result<ConsumerIndex, RequestError> {
        if self.consumer_ids.contains_key(&id) {
            return Err(RequestError::invalid(
                "consumer_id",
                format!("a consumer with id \"{id}\" already exists"),
            ));
        }
        let producer = self.producer_index(producer_id)?;
        let Some(routes) = self.transports.get_mut(transport) else {
            return Err(RequestError::NotFound("transport".into()));
        };
        let ssrc = spec.ssrc;
        if routes.consumers.contains_key(&ssrc) {
            return Err(RequestError::invalid(
                "rtp_parameters.encodings[0].ssrc",
                format!("SSRC {ssrc} is already used by another consumer on this transport"),
            ));
        }
        let random = self.random.next_u64();
        let initial_sequences = (random as u16, (random >> 16) as u16);
        let mut consumer = Consumer::new(spec, paused, initial_sequences)
            .map_err(|reason| RequestError::invalid("rtp_parameters.headerExtensions", reason))?;
        let Some(entry) = self.producers.get_mut(producer) else {
            return Err(RequestError::not_found("producer", producer_id));
        };
        consumer.set_producer_paused(entry.paused);
        let index = self.consumers.insert(ConsumerEntry {
            id: id.clone(),
            transport,
            producer,
            position: entry.consumers.len(),
            consumer,
            reported_scores: None,
            trace: 0,
            bytes_at_allocation: 0,
            priority: 1,
        });
        entry.consumers.push(index);
        routes.consumers.insert(ssrc, index);
        self.consumer_ids.insert(id, index);
        Ok(index)
    }

    /// Removes a consumer, in O(1): it leaves its producer's list by swapping with the last.
    fn remove_consumer(&mut self, index: ConsumerIndex) {
        let Some(entry) = self.consumers.remove(index) else {
            return;
        };
        self.consumer_ids.remove(&entry.id);
        if let Some(routes) = self.transports.get_mut(entry.transport) {
            routes.consumers.remove(&entry.consumer.ssrc());
        }
        let Some(producer) = self.producers.get_mut(entry.producer) else {
            return;
        };
        producer.consumers.swap_remove(entry.position);
        if let Some(&moved) = producer.consumers.get(entry.position) {
            if let Some(moved) = self.consumers.get_mut(moved) {
                moved.position = entry.position;
            }
        }
    }

    fn producer_index(&self, id: &str) -> Result<ProducerIndex, RequestError> {
        self.producer_ids
            .get(id)
            .copied()
            .ok_or_else(|| RequestError::not_found("producer", id))
    }

    fn consumer_index(&self, id: &str) -> Result<ConsumerIndex, RequestError> {
        self.consumer_ids
            .get(id)
            .copied()
            .ok_or_else(|| RequestError::not_found("consumer", id))
    }

    /// Sets a transport's bounds: what its endpoint is asked not to send above (in REMB,
    /// also when transport-cc drives the endpoint's estimate: browsers take a REMB as a
    /// ceiling) and what is enforced, and what its consumers are allocated within.
    pub fn set_transport_bitrates(
        &mut self,
        transport: TransportIndex,
        max_incoming: Option<u64>,
        outgoing: Option<(u64, u64)>,
    ) {
        if let Some(routes) = self.transports.get_mut(transport) {
            routes.set_bitrates(max_incoming, outgoing);
        }
    }

    /// A transport's routing figures as of `now` (for its stats): bitrates, bounds, losses
    /// and its RTP traffic by kind.
    pub fn transport_figures(
        &mut self,
        transport: TransportIndex,
        now: Instant,
    ) -> TransportFigures {
        self.transports
            .get_mut(transport)
            .map(|routes| routes.figures(now))
            .unwrap_or_default()
    }

    /// The events since the last call.
    pub fn take_events(&mut self) -> std::vec::Drain<'_, RouterEvent> {
        self.events.drain(..)
    }

    /// How many SSRCs a transport's listener knows (bounded by its producers' streams).
    pub fn known_ssrc_count(&self, transport: TransportIndex) -> usize {
        self.transports
            .get(transport)
            .map_or(0, |routes| routes.listener.ssrc_count())
    }

    /// How many producers and consumers it holds.
    pub fn counts(&self) -> (usize, usize) {
        (self.producers.len(), self.consumers.len())
    }

    /// The consumer of a transport that its endpoint receives on `ssrc`, if any.
    fn consumer_by_ssrc(&self, transport: TransportIndex, ssrc: Ssrc) -> Option<ConsumerIndex> {
        self.transports
            .get(transport)?
            .consumers
            .get(&ssrc)
            .copied()
    }
}
