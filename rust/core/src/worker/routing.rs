//! The worker's routing tables: which producers receive on which transport, which consumers
//! each producer feeds, and the per-packet ingress and egress steps between them.

use std::collections::HashMap;
use std::time::{Instant, SystemTime};

use super::rtp_observers::{RtpObserverOptions, RtpObserverReport, RtpObservers};
use crate::packet::rtcp::{
    packet_type, serialize_compound, Fir, FirEntry, Nack, Pli, ReceiverReport, Remb,
    RtcpCompoundIter, RtcpPacket, SourceDescription,
};
use crate::packet::rtp::RtpPacket;
use crate::rtc::bandwidth_allocation::{LayeredDemand, UpgradeTrials};
use crate::rtc::capture_clock::NtpOrigin;
use crate::rtc::consumer::{Consumer, ConsumerSpec, ConsumerStats, Forward};
use crate::rtc::layer_selector::Layers;
use crate::rtc::producer::{
    Ingest, ProducedPacket, Producer, ProducerSpec, ProducerStats, VideoOrientation,
    MAX_SPATIAL_LAYERS, MAX_TEMPORAL_LAYERS,
};
use crate::rtc::producer_trace::{ProducerTrace, TraceInfo, TraceKind};
use crate::rtc::remote_bitrate_estimator::RemoteBitrateEstimator;
use crate::rtc::send_side_bandwidth_estimator::SendSideBandwidthEstimator;
use crate::rtc::token_bucket::TokenBucket;
use crate::rtc::transport_cc_feedback::{TransportCcFeedback, FEEDBACK_INTERVAL};

/// PSFB formats that ask for a keyframe (RFC 4585 PLI, RFC 5104 FIR).
const FMT_PLI: u8 = 1;
const FMT_FIR: u8 = 4;
/// RTPFB format of a generic NACK (RFC 4585 §6.2.1).
const FMT_NACK: u8 = 1;

/// What a transport's producers may forward above its `max_incoming_bitrate`, as a factor:
/// honest senders overshoot for a moment (a keyframe, the second before our REMB reaches
/// them); one that goes on ignoring the ceiling is cut back to it.
const POLICING_TOLERANCE: f64 = 1.5;
/// How long a burst at the tolerated rate fits before packets are dropped (a keyframe at a
/// low ceiling is most of a second of it).
const POLICING_BURST_SECONDS: f64 = 2.0;

/// The application's ceiling on what a transport's endpoint sends, and its enforcement.
#[derive(Debug)]
struct IncomingLimit {
    bitrate: u64,
    /// Bytes of RTP the endpoint's producers may forward.
    allowance: TokenBucket,
}

impl IncomingLimit {
    fn new(bitrate: u64) -> Self {
        let bytes_per_second = bitrate as f64 / 8.0 * POLICING_TOLERANCE;
        IncomingLimit {
            bitrate,
            allowance: TokenBucket::new(
                bytes_per_second,
                bytes_per_second * POLICING_BURST_SECONDS,
            ),
        }
    }
}

#[derive(Debug)]
struct ProducerEntry {
    id: String,
    transport_slot: usize,
    /// One per encoding (the streams of a simulcast producer), in spatial layer order.
    streams: Vec<Producer>,
    /// Paused producers accept packets but forward none.
    paused: bool,
    consumers: Vec<usize>,
    /// The score of each stream last reported to the owner.
    reported_scores: Vec<Option<u8>>,
    /// The [`TraceKind`]s it reports.
    trace: u8,
}

#[derive(Debug)]
struct ConsumerEntry {
    id: String,
    transport_slot: usize,
    producer: usize,
    consumer: Consumer,
    /// The (score, producer score) last reported to the owner.
    reported_scores: Option<(u8, u8)>,
    /// The [`TraceKind`]s it reports.
    trace: u8,
    /// Bytes it had sent at the last bandwidth allocation (its rate since then).
    bytes_at_allocation: u64,
    /// Its share of the transport's bandwidth relative to the others (1-255).
    priority: u8,
}

/// What a transport can send its endpoint, and how that is shared among its consumers.
#[derive(Debug)]
struct TransportBandwidth {
    estimator: SendSideBandwidthEstimator,
    trials: UpgradeTrials,
}

impl TransportBandwidth {
    fn new(now: Instant) -> Self {
        TransportBandwidth {
            estimator: SendSideBandwidthEstimator::new(now),
            trials: UpgradeTrials::new(now),
        }
    }
}

/// A score that changed, for the owner's `score` events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScoreChange {
    /// A producer's stream, from our reception statistics.
    Producer {
        /// The producer.
        id: String,
        /// The stream (encoding index).
        stream: u8,
        /// The client's SSRC of the stream.
        ssrc: u32,
        /// 0-10.
        score: u8,
    },
    /// A consumer's stream, from its endpoint's receiver reports.
    Consumer {
        /// The consumer.
        id: String,
        /// 0-10.
        score: u8,
        /// Its producer's score.
        producer_score: u8,
    },
}

/// Something for the owner's producer and observer events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoutingNotice {
    /// A producer's `videoorientationchange`.
    VideoOrientationChange {
        /// The producer.
        producer_id: String,
        /// Its new orientation.
        orientation: VideoOrientation,
    },
    /// A producer's `trace`.
    Trace {
        /// The producer.
        producer_id: String,
        /// The event.
        trace: ProducerTrace,
    },
    /// A consumer's `trace` (`rtp` and `keyframe` it sends, `nack`, `pli` and `fir` it gets).
    ConsumerTrace {
        /// The consumer.
        consumer_id: String,
        /// The event.
        trace: ProducerTrace,
    },
    /// A simulcast consumer's `layerschange` (`None`: nothing is being sent).
    ConsumerLayersChange {
        /// The consumer.
        consumer_id: String,
        /// Its current layers.
        layers: Option<Layers>,
    },
    /// An RTP observer's report, by producer id.
    RtpObserver {
        /// The observer.
        observer_id: String,
        /// What it found.
        report: RtpObserverReport<String>,
    },
}

fn wall_clock_ms() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as u64)
}

/// Producers and consumers of one worker.
#[derive(Debug, Default)]
pub struct Routing {
    producers: Vec<Option<ProducerEntry>>,
    producer_ids: HashMap<String, usize>,
    producers_by_transport: HashMap<usize, Vec<usize>>,
    consumers: Vec<Option<ConsumerEntry>>,
    consumer_ids: HashMap<String, usize>,
    /// Transport-cc arrivals per transport slot.
    transport_cc: HashMap<usize, TransportCcFeedback>,
    /// When transport-cc feedback is next due (while arrivals wait).
    next_transport_cc: Option<Instant>,
    /// The next transport-wide sequence number each transport sends.
    transport_sequences: HashMap<usize, u16>,
    /// The endpoint's transport-wide sequence number extension id per transport slot, from
    /// its producers that negotiated transport-cc.
    transport_cc_ids: HashMap<usize, u8>,
    /// Bandwidth estimates for REMB, with the endpoint's abs-send-time extension id, per
    /// transport slot whose producers negotiated REMB.
    remb: HashMap<usize, (RemoteBitrateEstimator, u8)>,
    /// What each transport sending to consumers can send (from its endpoint's transport-cc
    /// feedback or REMB), per transport slot.
    bandwidth: HashMap<usize, TransportBandwidth>,
    /// The application's bounds per transport slot: the most its endpoint is asked to send
    /// (REMB, and enforced), and the (min, max) its consumers are allocated within.
    max_incoming: HashMap<usize, IncomingLimit>,
    /// RTP packets dropped per transport slot for going over its ceiling (kept when the
    /// ceiling is lifted: stats counters only grow).
    over_max_incoming: HashMap<usize, u64>,
    outgoing_bounds: HashMap<usize, (u64, u64)>,
    /// Audio level and active speaker observers.
    observers: RtpObservers,
    /// Producer and observer events for the owner, drained by [`Routing::take_notices`].
    notices: Vec<RoutingNotice>,
}

/// Writes the transport's next transport-wide sequence number into a packet it is about to
/// send (the producer's number means nothing to this endpoint: each transport numbers its
/// own packets, as its feedback refers to them).
/// The number written, which the endpoint's feedback will refer to.
fn number_for_transport(
    sequences: &mut HashMap<usize, u16>,
    slot: usize,
    extension_id: Option<u8>,
    packet: &mut [u8],
) -> Option<u16> {
    let id = extension_id?;
    let mut view = RtpPacket::parse(packet).ok()?;
    let next = sequences.entry(slot).or_insert(0);
    let written = *next;
    view.set_header_extension(id, &written.to_be_bytes()).ok()?;
    *next = next.wrapping_add(1);
    Some(written)
}

/// An estimate within the application's (min, max) bounds; the maximum stands in while
/// nothing is measured.
fn within_bounds(estimate: Option<u64>, bounds: Option<&(u64, u64)>) -> Option<u64> {
    match (estimate, bounds) {
        (Some(estimate), Some(&(min, max))) => Some(estimate.clamp(min, max)),
        (None, Some(&(_, max))) if max < u64::MAX => Some(max),
        (estimate, _) => estimate,
    }
}

/// What a simulcast or SVC consumer sends at each `[spatial][temporal]` layer, from its
/// producer's streams' bitrates by (spatial, temporal) layer alone: a simulcast stream with
/// its temporal layers up to that one; an SVC stream with every layer up to both.
fn layer_bitrates(
    streams: &[[u64; MAX_SPATIAL_LAYERS * MAX_TEMPORAL_LAYERS]],
    svc: bool,
    spatial_layers: u8,
    temporal_layers: u8,
) -> Vec<Vec<u64>> {
    let rate = |stream: usize, spatial: usize, temporal: usize| {
        streams
            .get(stream)
            .and_then(|rates| rates.get(spatial * MAX_TEMPORAL_LAYERS + temporal))
            .copied()
            .unwrap_or(0)
    };
    let temporal_layers = usize::from(temporal_layers.max(1)).min(MAX_TEMPORAL_LAYERS);
    (0..usize::from(spatial_layers.max(1)))
        .map(|spatial| {
            (0..temporal_layers)
                .map(|temporal| {
                    if svc {
                        (0..=spatial.min(MAX_SPATIAL_LAYERS - 1))
                            .flat_map(|below| (0..=temporal).map(move |t| (below, t)))
                            .map(|(below, t)| rate(0, below, t))
                            .sum()
                    } else {
                        (0..=temporal).map(|t| rate(spatial, 0, t)).sum()
                    }
                })
                .collect()
        })
        .collect()
}

fn free_slot<T>(slots: &[Option<T>]) -> usize {
    slots
        .iter()
        .position(Option::is_none)
        .unwrap_or(slots.len())
}

fn put<T>(slots: &mut Vec<Option<T>>, index: usize, value: T) {
    if index == slots.len() {
        slots.push(Some(value));
    } else {
        slots[index] = Some(value);
    }
}

impl Routing {
    fn producer_index(&self, id: &str) -> Result<usize, String> {
        self.producer_ids
            .get(id)
            .copied()
            .ok_or_else(|| format!("producer with id \"{id}\" not found"))
    }

    fn consumer_index(&self, id: &str) -> Result<usize, String> {
        self.consumer_ids
            .get(id)
            .copied()
            .ok_or_else(|| format!("consumer with id \"{id}\" not found"))
    }

    /// Adds a producer receiving on transport `slot`, with one spec per stream (encoding).
    pub fn add_producer(
        &mut self,
        id: String,
        transport_slot: usize,
        specs: Vec<ProducerSpec>,
        paused: bool,
    ) -> Result<(), String> {
        if specs.is_empty() {
            return Err("a producer needs at least one encoding".into());
        }
        if self.producer_ids.contains_key(&id) {
            return Err(format!("a producer with id \"{id}\" already exists"));
        }
        let on_transport = self
            .producers_by_transport
            .get(&transport_slot)
            .map_or(&[][..], Vec::as_slice);
        for &other in on_transport {
            let Some(entry) = self.producers.get(other).and_then(Option::as_ref) else {
                continue;
            };
            for spec in &specs {
                let Some(ssrc) = spec.ssrc else { continue };
                if entry
                    .streams
                    .iter()
                    .any(|stream| stream.client_ssrc() == Some(ssrc))
                {
                    return Err(format!(
                        "SSRC {ssrc} is already used by producer \"{}\"",
                        entry.id
                    ));
                }
            }
        }
        if let Some(id) = specs[0].transport_cc_extension_id {
            self.transport_cc_ids.insert(transport_slot, id);
        }
        if let Some(id) = specs[0].remb_abs_send_time_extension_id {
            self.remb
                .entry(transport_slot)
                .or_insert_with(|| (RemoteBitrateEstimator::new(Instant::now()), id));
        }
        let streams = specs
            .into_iter()
            .map(Producer::new)
            .collect::<Result<Vec<_>, _>>()?;
        let index = free_slot(&self.producers);
        put(
            &mut self.producers,
            index,
            ProducerEntry {
                id: id.clone(),
                transport_slot,
                reported_scores: vec![None; streams.len()],
                streams,
                paused,
                consumers: Vec::new(),
                trace: 0,
            },
        );
        self.producer_ids.insert(id, index);
        self.producers_by_transport
            .entry(transport_slot)
            .or_default()
            .push(index);
        Ok(())
    }

    /// Adds a consumer of `producer_id` sending on transport `slot`.
    pub fn add_consumer(
        &mut self,
        id: String,
        transport_slot: usize,
        producer_id: &str,
        spec: ConsumerSpec,
        paused: bool,
    ) -> Result<(), String> {
        if self.consumer_ids.contains_key(&id) {
            return Err(format!("a consumer with id \"{id}\" already exists"));
        }
        let producer = self.producer_index(producer_id)?;
        let mut random = [0u8; 4];
        openssl::rand::rand_bytes(&mut random).map_err(|error| error.to_string())?;
        let initial_sequences = (
            u16::from_be_bytes([random[0], random[1]]),
            u16::from_be_bytes([random[2], random[3]]),
        );
        let mut consumer = Consumer::new(spec, paused, initial_sequences)?;
        if let Some(Some(entry)) = self.producers.get(producer) {
            consumer.set_producer_paused(entry.paused);
        }
        let index = free_slot(&self.consumers);
        put(
            &mut self.consumers,
            index,
            ConsumerEntry {
                id: id.clone(),
                transport_slot,
                producer,
                consumer,
                reported_scores: None,
                trace: 0,
                bytes_at_allocation: 0,
                priority: 1,
            },
        );
        self.consumer_ids.insert(id, index);
        if let Some(Some(entry)) = self.producers.get_mut(producer) {
            entry.consumers.push(index);
        }
        Ok(())
    }

    /// Pauses or resumes a producer and tells its consumers.
    pub fn set_producer_paused(&mut self, id: &str, paused: bool) -> Result<(), String> {
        let index = self.producer_index(id)?;
        let Some(Some(entry)) = self.producers.get_mut(index) else {
            return Ok(());
        };
        entry.paused = paused;
        for &consumer in &entry.consumers {
            if let Some(Some(consumer)) = self.consumers.get_mut(consumer) {
                consumer.consumer.set_producer_paused(paused);
            }
        }
        Ok(())
    }

    /// Pauses or resumes a consumer.
    pub fn set_consumer_paused(&mut self, id: &str, paused: bool) -> Result<(), String> {
        let index = self.consumer_index(id)?;
        if let Some(Some(entry)) = self.consumers.get_mut(index) {
            entry.consumer.set_paused(paused);
        }
        Ok(())
    }

    /// Removes a producer and its consumers.
    pub fn remove_producer(&mut self, id: &str) -> Result<(), String> {
        let index = self.producer_index(id)?;
        self.producer_ids.remove(id);
        let Some(entry) = self.producers.get_mut(index).and_then(Option::take) else {
            return Ok(());
        };
        self.observers.forget_producer(index);
        if let Some(list) = self.producers_by_transport.get_mut(&entry.transport_slot) {
            list.retain(|other| *other != index);
        }
        for consumer in entry.consumers {
            if let Some(consumer) = self.consumers.get_mut(consumer).and_then(Option::take) {
                self.consumer_ids.remove(&consumer.id);
            }
        }
        Ok(())
    }

    /// Removes a consumer.
    pub fn remove_consumer(&mut self, id: &str) -> Result<(), String> {
        let index = self.consumer_index(id)?;
        self.consumer_ids.remove(id);
        if let Some(entry) = self.consumers.get_mut(index).and_then(Option::take) {
            if let Some(Some(producer)) = self.producers.get_mut(entry.producer) {
                producer.consumers.retain(|other| *other != index);
            }
        }
        Ok(())
    }

    /// Removes everything on a closing transport, and the consumers elsewhere of its
    /// producers.
    pub fn remove_transport(&mut self, transport_slot: usize) {
        let local_consumers: Vec<String> = self
            .consumers
            .iter()
            .flatten()
            .filter(|entry| entry.transport_slot == transport_slot)
            .map(|entry| entry.id.clone())
            .collect();
        for id in local_consumers {
            // Listed just above, so found.
            let _ = self.remove_consumer(&id);
        }
        let producers: Vec<String> = self
            .producers
            .iter()
            .flatten()
            .filter(|entry| entry.transport_slot == transport_slot)
            .map(|entry| entry.id.clone())
            .collect();
        for id in producers {
            let _ = self.remove_producer(&id);
        }
        self.producers_by_transport.remove(&transport_slot);
        self.transport_cc.remove(&transport_slot);
        self.transport_sequences.remove(&transport_slot);
        self.transport_cc_ids.remove(&transport_slot);
        self.remb.remove(&transport_slot);
        self.bandwidth.remove(&transport_slot);
        self.max_incoming.remove(&transport_slot);
        self.over_max_incoming.remove(&transport_slot);
        self.outgoing_bounds.remove(&transport_slot);
    }

    /// A producer's counters, per stream, with bitrates as of `now`.
    pub fn producer_stats(&mut self, id: &str, now: Instant) -> Result<Vec<ProducerStats>, String> {
        let index = self.producer_index(id)?;
        Ok(self
            .producers
            .get_mut(index)
            .and_then(Option::as_mut)
            .map(|entry| {
                entry
                    .streams
                    .iter_mut()
                    .map(|stream| stream.stats(now))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Sets a simulcast consumer's preferred layers.
    pub fn set_consumer_preferred_layers(
        &mut self,
        id: &str,
        layers: Layers,
    ) -> Result<(), String> {
        let index = self.consumer_index(id)?;
        if let Some(Some(entry)) = self.consumers.get_mut(index) {
            entry.consumer.set_preferred_layers(layers);
        }
        Ok(())
    }

    /// A consumer's counters.
    pub fn consumer_stats(&self, id: &str) -> Result<ConsumerStats, String> {
        let index = self.consumer_index(id)?;
        Ok(self
            .consumers
            .get(index)
            .and_then(Option::as_ref)
            .map(|entry| entry.consumer.stats())
            .unwrap_or_default())
    }

    /// The producer (index) a consumer consumes and the stream it forwards now.
    pub fn producer_of_consumer(&self, id: &str) -> Result<(usize, u8), String> {
        let index = self.consumer_index(id)?;
        self.consumers
            .get(index)
            .and_then(Option::as_ref)
            .map(|entry| (entry.producer, entry.consumer.current_stream()))
            .ok_or_else(|| format!("consumer with id \"{id}\" not found"))
    }

    /// Ingress: finds the producer stream of an RTP packet received on transport `slot` and
    /// rewrites the packet in place to router terms (an RTX repair becomes the original
    /// packet, so it can get shorter). Returns the producer, its stream, what the packet is
    /// and its length; `None` when no producer takes it or its producer is paused.
    pub fn ingress(
        &mut self,
        slot: usize,
        packet: &mut [u8],
        now: Instant,
    ) -> Option<(usize, u8, ProducedPacket, usize)> {
        self.record_transport_cc(slot, packet, now);
        let candidates = self.producers_by_transport.get(&slot)?;
        for &index in candidates {
            let Some(Some(entry)) = self.producers.get_mut(index) else {
                continue;
            };
            let mut ingested = None;
            for (stream, producer) in entry.streams.iter_mut().enumerate() {
                match producer.ingest(packet, now) {
                    Ingest::NotMine => continue,
                    Ingest::Dropped => return None,
                    Ingest::Accepted { produced, len } => {
                        ingested = Some((stream as u8, produced, len));
                        break;
                    }
                }
            }
            match ingested {
                None => continue,
                Some((stream, produced, len)) => {
                    if entry.paused {
                        return None;
                    }
                    // After the producer counted it, so its stats show what was sent and it
                    // does not ask for what we drop here.
                    if let Some(limit) = self.max_incoming.get_mut(&slot) {
                        if !limit.allowance.take(len as f64, now) {
                            *self.over_max_incoming.entry(slot).or_default() += 1;
                            return None;
                        }
                    }
                    if let Some(orientation) = produced.video_orientation_change {
                        self.notices.push(RoutingNotice::VideoOrientationChange {
                            producer_id: entry.id.clone(),
                            orientation,
                        });
                    }
                    if entry.trace != 0 {
                        trace_rtp(entry, &packet[..len], &produced, &mut self.notices);
                    }
                    if let Some(level) = produced.audio_level {
                        self.observers.record(index, level, now);
                    }
                    return Some((index, stream, produced, len));
                }
            }
        }
        None
    }

    /// Records the arrival of any RTP packet carrying the endpoint's transport-wide sequence
    /// number, before producers look at it: RTX padding (Chrome's bandwidth probes) belongs
    /// to no producer but must be acknowledged, or the sender takes its probes as lost.
    fn record_transport_cc(&mut self, slot: usize, packet: &[u8], now: Instant) {
        if let Some((estimator, id)) = self.remb.get_mut(&slot) {
            let send_time = RtpPacket::parse(packet).ok().and_then(|view| {
                let bytes = view.header_extension(*id)?.first_chunk::<3>()?;
                Some(u32::from_be_bytes([0, bytes[0], bytes[1], bytes[2]]))
            });
            if let Some(send_time) = send_time {
                estimator.on_packet(send_time, packet.len(), now);
            }
        }
        let Some(&id) = self.transport_cc_ids.get(&slot) else {
            return;
        };
        let Ok(view) = RtpPacket::parse(packet) else {
            return;
        };
        let Some(&sequence) = view.header_extension(id).and_then(<[u8]>::first_chunk::<2>) else {
            return;
        };
        self.transport_cc
            .entry(slot)
            .or_insert_with(|| TransportCcFeedback::new(now))
            .on_packet(u16::from_be_bytes(sequence), view.ssrc(), now);
        self.next_transport_cc
            .get_or_insert(now + FEEDBACK_INTERVAL);
    }

    /// How many consumers a producer feeds.
    pub fn consumer_count(&self, producer: usize) -> usize {
        self.producers
            .get(producer)
            .and_then(Option::as_ref)
            .map_or(0, |entry| entry.consumers.len())
    }

    /// Egress for the `nth` consumer of a producer: writes its copy of `packet` (from the
    /// producer's `stream`) into `output`; returns the consumer's transport slot and what to
    /// do.
    #[allow(clippy::too_many_arguments)]
    pub fn egress(
        &mut self,
        producer: usize,
        nth: usize,
        packet: &[u8],
        stream: u8,
        is_keyframe: bool,
        now: Instant,
        output: &mut [u8],
    ) -> Option<(usize, Forward)> {
        let producer_entry = self.producers.get(producer)?.as_ref()?;
        let consumer = *producer_entry.consumers.get(nth)?;
        let clock = producer_entry
            .streams
            .get(usize::from(stream))
            .and_then(Producer::capture_clock);
        let entry = self.consumers.get_mut(consumer)?.as_mut()?;
        let forward = entry
            .consumer
            .forward(packet, stream, is_keyframe, clock, now, output);
        if let Some(layers) = entry.consumer.take_layers_change() {
            self.notices.push(RoutingNotice::ConsumerLayersChange {
                consumer_id: entry.id.clone(),
                layers,
            });
        }
        if let Forward::Send(len) = forward {
            let numbered = number_for_transport(
                &mut self.transport_sequences,
                entry.transport_slot,
                entry.consumer.transport_cc_extension_id(),
                &mut output[..len],
            );
            if let Some(sequence) = numbered {
                self.bandwidth
                    .entry(entry.transport_slot)
                    .or_insert_with(|| TransportBandwidth::new(now))
                    .estimator
                    .on_sent(sequence, len, now);
            }
            if entry.trace != 0 {
                let key_frame = is_keyframe && entry.consumer.is_video();
                for (kind, applies) in [(TraceKind::Rtp, true), (TraceKind::KeyFrame, key_frame)] {
                    if !applies || !kind.is_in(entry.trace) {
                        continue;
                    }
                    let ssrc = entry.consumer.ssrc();
                    if let Some(info) = TraceInfo::of_rtp(&output[..len], ssrc, key_frame, false) {
                        self.notices.push(consumer_trace(&entry.id, kind, info));
                    }
                }
            }
        }
        Some((entry.transport_slot, forward))
    }

    /// The sender report the `nth` consumer of a producer owes ahead of the first packet it
    /// just wrote (once per consumer): its transport slot and the RTCP compound. `ntp`
    /// gives the wall clock, read only when a report is due.
    pub fn opening_report(
        &mut self,
        producer: usize,
        nth: usize,
        now: Instant,
        ntp: impl FnOnce() -> u64,
    ) -> Option<(usize, Vec<u8>)> {
        let consumer = *self.producers.get(producer)?.as_ref()?.consumers.get(nth)?;
        let entry = self.consumers.get_mut(consumer)?.as_mut()?;
        let (report, chunk) = entry.consumer.opening_report(now, ntp)?;
        let packets = [
            RtcpPacket::SenderReport(report),
            RtcpPacket::SourceDescription(SourceDescription {
                chunks: vec![chunk],
            }),
        ];
        let mut compound = Vec::new();
        serialize_compound(&packets, &mut compound).ok()?;
        Some((entry.transport_slot, compound))
    }

    /// The producer streams (producer, stream) whose keyframes RTCP received on transport
    /// `slot` asks for (PLI and FIR addressed to a consumer on that transport).
    pub fn key_frame_requests(&mut self, slot: usize, rtcp: &[u8]) -> Vec<(usize, u8)> {
        let mut producers = Vec::new();
        for item in RtcpCompoundIter::new(rtcp) {
            let Ok((header, body)) = item else { break };
            if header.packet_type != packet_type::PSFB {
                continue;
            }
            let media_ssrcs: Vec<u32> = match header.count {
                FMT_PLI => body
                    .get(4..8)
                    .map(|bytes| vec![u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])])
                    .unwrap_or_default(),
                FMT_FIR => body
                    .get(8..)
                    .unwrap_or_default()
                    .chunks_exact(8)
                    .map(|entry| u32::from_be_bytes([entry[0], entry[1], entry[2], entry[3]]))
                    .collect(),
                _ => continue,
            };
            for ssrc in media_ssrcs {
                let consumer =
                    self.consumers.iter_mut().flatten().find(|entry| {
                        entry.transport_slot == slot && entry.consumer.ssrc() == ssrc
                    });
                if let Some(entry) = consumer {
                    entry.consumer.on_key_frame_request();
                    let kind = if header.count == FMT_PLI {
                        TraceKind::Pli
                    } else {
                        TraceKind::Fir
                    };
                    if kind.is_in(entry.trace) {
                        let info = TraceInfo::KeyFrameRequest {
                            ssrc,
                            fir_sequence_number: None,
                        };
                        self.notices.push(consumer_trace(&entry.id, kind, info));
                    }
                    let stream = (entry.producer, entry.consumer.current_stream());
                    if !producers.contains(&stream) {
                        producers.push(stream);
                    }
                }
            }
        }
        producers
    }

    /// The packets NACKs in RTCP received on transport `slot` ask consumers there to
    /// resend, as (consumer, our sequence number) in `lost` (cleared first).
    pub fn nacked_packets(&mut self, slot: usize, rtcp: &[u8], lost: &mut Vec<(usize, u16)>) {
        lost.clear();
        for item in RtcpCompoundIter::new(rtcp) {
            let Ok((header, body)) = item else { break };
            if header.packet_type != packet_type::RTPFB || header.count != FMT_NACK {
                continue;
            }
            let Ok(RtcpPacket::Nack(nack)) = RtcpPacket::parse(header, body) else {
                continue;
            };
            let Some((index, entry)) =
                self.consumers
                    .iter_mut()
                    .enumerate()
                    .find_map(|(index, entry)| {
                        let entry = entry.as_mut()?;
                        (entry.transport_slot == slot && entry.consumer.ssrc() == nack.media_ssrc)
                            .then_some((index, entry))
                    })
            else {
                continue;
            };
            let before = lost.len();
            lost.extend(
                nack.lost_sequence_numbers()
                    .map(|sequence| (index, sequence)),
            );
            entry.consumer.on_nack(lost.len() - before);
            if TraceKind::Nack.is_in(entry.trace) {
                let info = TraceInfo::Nack {
                    ssrc: nack.media_ssrc,
                    lost: lost.len() - before,
                };
                self.notices
                    .push(consumer_trace(&entry.id, TraceKind::Nack, info));
            }
        }
    }

    /// Writes consumer `consumer`'s retransmission of its packet `sequence` into `output`
    /// if the producer still has it; returns the consumer's transport slot and the length.
    pub fn retransmission(
        &mut self,
        consumer: usize,
        sequence: u16,
        now: Instant,
        output: &mut [u8],
    ) -> Option<(usize, usize)> {
        let entry = self.consumers.get_mut(consumer)?.as_mut()?;
        let (stream, producer_sequence) = entry.consumer.producer_sequence(sequence)?;
        let producer = self.producers.get(entry.producer)?.as_ref()?;
        let stored = producer
            .streams
            .get(usize::from(stream))?
            .stored_packet(producer_sequence, now)?;
        let len = entry.consumer.retransmit(stored, sequence, now, output)?;
        let numbered = number_for_transport(
            &mut self.transport_sequences,
            entry.transport_slot,
            entry.consumer.transport_cc_extension_id(),
            &mut output[..len],
        );
        if let (Some(sequence), Some(bandwidth)) =
            (numbered, self.bandwidth.get_mut(&entry.transport_slot))
        {
            bandwidth.estimator.on_sent(sequence, len, now);
        }
        Some((entry.transport_slot, len))
    }

    /// Takes in the sender and receiver reports of RTCP received on transport `slot`: a
    /// producer's SR (echoed in our receiver reports), and endpoints' report blocks on our
    /// consumers' streams (`ntp_middle`: the middle 32 bits of the NTP time now).
    pub fn reports(&mut self, slot: usize, rtcp: &[u8], now: Instant, ntp_middle: u32) {
        for item in RtcpCompoundIter::new(rtcp) {
            let Ok((header, body)) = item else { break };
            if header.packet_type != packet_type::SR && header.packet_type != packet_type::RR {
                continue;
            }
            let (sender, blocks) = match RtcpPacket::parse(header, body) {
                Ok(RtcpPacket::SenderReport(mut report)) => {
                    let blocks = std::mem::take(&mut report.reports);
                    (Some(report), blocks)
                }
                Ok(RtcpPacket::ReceiverReport(report)) => (None, report.reports),
                _ => continue,
            };
            if let Some(report) = sender {
                let on_transport = |entry: &&mut ProducerEntry| entry.transport_slot == slot;
                // One endpoint, one NTP clock: its streams share where it stands on ours, and
                // so do endpoints whose clocks agree with it.
                let origins = self
                    .producers
                    .iter()
                    .flatten()
                    .flat_map(|entry| entry.streams.iter().map(move |stream| (entry, stream)));
                let mut own = None;
                let mut known = Vec::new();
                for (entry, stream) in origins {
                    if let Some(origin) = stream.ntp_origin() {
                        if entry.transport_slot == slot {
                            own = Some(origin);
                        }
                        known.push(origin);
                    }
                }
                let ntp = (u64::from(report.ntp_seconds) << 32) | u64::from(report.ntp_fraction);
                let origin = own.or_else(|| NtpOrigin::agreeing(known, ntp, now));
                let stream = self
                    .producers
                    .iter_mut()
                    .flatten()
                    .filter(on_transport)
                    .flat_map(|entry| entry.streams.iter_mut())
                    .find(|stream| stream.client_ssrc() == Some(report.ssrc));
                if let Some(stream) = stream {
                    stream.on_sender_report(&report, now, origin);
                }
            }
            for block in &blocks {
                let consumer = self.consumers.iter_mut().flatten().find(|entry| {
                    entry.transport_slot == slot && entry.consumer.ssrc() == block.ssrc
                });
                if let Some(entry) = consumer {
                    entry.consumer.on_receiver_report(block, ntp_middle);
                }
            }
        }
    }

    /// Takes in what transport `slot`'s endpoint says about the path to it: transport-cc
    /// feedback on our packets, or its REMB estimate.
    pub fn congestion_feedback(&mut self, slot: usize, rtcp: &[u8], now: Instant) {
        for item in RtcpCompoundIter::new(rtcp) {
            let Ok((header, body)) = item else { break };
            if header.packet_type != packet_type::RTPFB && header.packet_type != packet_type::PSFB {
                continue;
            }
            match RtcpPacket::parse(header, body) {
                Ok(RtcpPacket::TransportCc(feedback)) => {
                    if let Some(bandwidth) = self.bandwidth.get_mut(&slot) {
                        bandwidth.estimator.on_transport_cc(&feedback, now);
                    }
                }
                Ok(RtcpPacket::Remb(remb)) => {
                    self.bandwidth
                        .entry(slot)
                        .or_insert_with(|| TransportBandwidth::new(now))
                        .estimator
                        .on_remb(remb.bitrate);
                }
                _ => {}
            }
        }
    }

    /// RTP packets of transport `slot`'s producers dropped for going over its
    /// `max_incoming_bitrate` (with some tolerance).
    pub fn packets_over_max_incoming_bitrate(&self, slot: usize) -> u64 {
        self.over_max_incoming.get(&slot).copied().unwrap_or(0)
    }

    /// What transport `slot` can send its endpoint, bits per second, once measured (within
    /// the application's bounds).
    pub fn available_outgoing_bitrate(&self, slot: usize) -> Option<u64> {
        let estimate = self
            .bandwidth
            .get(&slot)
            .and_then(|bandwidth| bandwidth.estimator.estimate());
        within_bounds(estimate, self.outgoing_bounds.get(&slot))
    }

    /// Sets transport `slot`'s bounds: what its endpoint is asked not to send above (in
    /// REMB, also when transport-cc drives the endpoint's estimate: browsers take a REMB as a
    /// ceiling), and what its consumers are allocated within.
    pub fn set_transport_bitrates(
        &mut self,
        slot: usize,
        max_incoming: Option<u64>,
        outgoing: Option<(u64, u64)>,
    ) {
        match max_incoming {
            // The same ceiling again keeps its allowance.
            Some(max) => {
                if self
                    .max_incoming
                    .get(&slot)
                    .is_none_or(|limit| limit.bitrate != max)
                {
                    self.max_incoming.insert(slot, IncomingLimit::new(max));
                }
            }
            None => {
                self.max_incoming.remove(&slot);
            }
        };
        match outgoing {
            Some(bounds) => self.outgoing_bounds.insert(slot, bounds),
            None => self.outgoing_bounds.remove(&slot),
        };
    }

    /// A REMB of `bitrate` for the streams transport `slot`'s endpoint sends us.
    fn remb_to_producers(&self, slot: usize, bitrate: u64) -> Option<Vec<u8>> {
        let ssrcs: Vec<u32> = self
            .producers_by_transport
            .get(&slot)
            .into_iter()
            .flatten()
            .filter_map(|&index| self.producers.get(index)?.as_ref())
            .flat_map(|entry| entry.streams.iter().filter_map(Producer::client_ssrc))
            .collect();
        if ssrcs.is_empty() {
            return None;
        }
        let remb = Remb {
            // As for other feedback: an SSRC the endpoint does not use.
            sender_ssrc: 1,
            bitrate,
            ssrcs,
        };
        let mut compound = Vec::new();
        RtcpPacket::Remb(remb).write(&mut compound).ok()?;
        Some(compound)
    }

    /// Shares each transport's bandwidth among its consumers (once a second): consumers that
    /// cannot adapt keep what they send; simulcast and SVC consumers get layers that fit
    /// (see [`crate::rtc::bandwidth_allocation`]).
    fn allocate_bandwidth(&mut self, now: Instant) {
        // Bounds apply before anything is measured, too.
        for &slot in self.outgoing_bounds.keys() {
            self.bandwidth
                .entry(slot)
                .or_insert_with(|| TransportBandwidth::new(now));
        }
        for (&slot, bandwidth) in &mut self.bandwidth {
            let estimate = within_bounds(
                bandwidth.estimator.estimate(),
                self.outgoing_bounds.get(&slot),
            );
            let mut fixed = 0u64;
            let mut layered = Vec::new();
            let mut demands = Vec::new();
            for (index, entry) in self.consumers.iter_mut().enumerate() {
                let Some(entry) = entry.as_mut().filter(|entry| entry.transport_slot == slot)
                else {
                    continue;
                };
                let bytes = entry.consumer.stats().bytes;
                let sent_bits = bytes.saturating_sub(entry.bytes_at_allocation) * 8;
                entry.bytes_at_allocation = bytes;
                let Some(spec) = entry.consumer.layer_spec() else {
                    // Allocation runs once a second: bits since then are its rate.
                    fixed += sent_bits;
                    continue;
                };
                let Some(producer) = self
                    .producers
                    .get_mut(entry.producer)
                    .and_then(Option::as_mut)
                else {
                    continue;
                };
                let mut rates: Vec<[u64; MAX_SPATIAL_LAYERS * MAX_TEMPORAL_LAYERS]> = producer
                    .streams
                    .iter_mut()
                    .map(|stream| stream.stats(now).bitrate_by_layer)
                    .collect();
                rates.truncate(usize::from(spec.spatial_layers));
                demands.push(LayeredDemand {
                    preferred: spec.preferred,
                    priority: entry.priority,
                    bitrates: layer_bitrates(
                        &rates,
                        spec.svc,
                        spec.spatial_layers,
                        spec.temporal_layers,
                    ),
                });
                layered.push(index);
            }
            let limits = match estimate {
                Some(estimate) => {
                    let keeps_up = bandwidth.estimator.path_keeps_up(now);
                    let (layers, proved) = bandwidth
                        .trials
                        .allocate(estimate, keeps_up, fixed, &demands, now);
                    if proved {
                        bandwidth.estimator.confirm_delivered_rate();
                    }
                    layers.into_iter().map(Some).collect()
                }
                None => vec![None; layered.len()],
            };
            for (index, limit) in layered.into_iter().zip(limits) {
                if let Some(entry) = self.consumers.get_mut(index).and_then(Option::as_mut) {
                    entry.consumer.set_bandwidth_limit(limit);
                }
            }
        }
    }

    /// The periodic RTCP of every transport as (transport slot, compound) in `out`: an SR
    /// with SDES per consumer that has sent, an RR per producer that has received
    /// (`ntp`: the wall clock as 64-bit NTP time). Score changes since the last call go to
    /// `scores`.
    pub fn periodic_rtcp(
        &mut self,
        now: Instant,
        ntp: u64,
        out: &mut Vec<(usize, Vec<u8>)>,
        scores: &mut Vec<ScoreChange>,
    ) {
        out.clear();
        scores.clear();
        self.allocate_bandwidth(now);
        // Endpoints not told our own estimate still hear the application's ceiling.
        for (&slot, limit) in &self.max_incoming {
            if !self.remb.contains_key(&slot) {
                if let Some(compound) = self.remb_to_producers(slot, limit.bitrate) {
                    out.push((slot, compound));
                }
            }
        }
        for entry in self.producers.iter_mut().flatten() {
            let streams = entry.streams.iter_mut().zip(&mut entry.reported_scores);
            for (index, (stream, reported)) in streams.enumerate() {
                let Some(ssrc) = stream.client_ssrc() else {
                    continue;
                };
                let Some(block) = stream.receive_stats().report(ssrc, now) else {
                    continue;
                };
                let report = RtcpPacket::ReceiverReport(ReceiverReport {
                    // The sender SSRC of SFU reports: the mapped SSRC, which the client never
                    // uses.
                    ssrc: stream.mapped_ssrc(),
                    reports: vec![block],
                });
                let mut compound = Vec::new();
                if serialize_compound(&[report], &mut compound).is_ok() {
                    out.push((entry.transport_slot, compound));
                }
                let score = stream.receive_stats().score();
                if *reported != Some(score) {
                    *reported = Some(score);
                    scores.push(ScoreChange::Producer {
                        id: entry.id.clone(),
                        stream: index as u8,
                        ssrc,
                        score,
                    });
                }
            }
        }
        for entry in self.consumers.iter_mut().flatten() {
            if let Some((report, chunk)) = entry.consumer.sender_report(now, ntp) {
                let packets = [
                    RtcpPacket::SenderReport(report),
                    RtcpPacket::SourceDescription(SourceDescription {
                        chunks: vec![chunk],
                    }),
                ];
                let mut compound = Vec::new();
                if serialize_compound(&packets, &mut compound).is_ok() {
                    out.push((entry.transport_slot, compound));
                }
            }
            entry.consumer.on_tick(now);
            if let Some(layers) = entry.consumer.take_layers_change() {
                self.notices.push(RoutingNotice::ConsumerLayersChange {
                    consumer_id: entry.id.clone(),
                    layers,
                });
            }
            let producer_score = self
                .producers
                .get(entry.producer)
                .and_then(Option::as_ref)
                .and_then(|producer| {
                    *producer
                        .reported_scores
                        .get(usize::from(entry.consumer.current_stream()))?
                })
                .unwrap_or(0);
            let scores_now = (entry.consumer.stats().score, producer_score);
            if entry.reported_scores != Some(scores_now) {
                entry.reported_scores = Some(scores_now);
                scores.push(ScoreChange::Consumer {
                    id: entry.id.clone(),
                    score: scores_now.0,
                    producer_score: scores_now.1,
                });
            }
        }
    }

    /// NACKs due to producers' endpoints, as (transport slot, RTCP compound) in `out`, and
    /// the producer streams (producer, stream) whose losses are beyond repair (they need a
    /// keyframe) in `key_frames`.
    pub fn due_nacks(
        &mut self,
        now: Instant,
        out: &mut Vec<(usize, Vec<u8>)>,
        key_frames: &mut Vec<(usize, u8)>,
    ) {
        out.clear();
        key_frames.clear();
        let mut lost = Vec::new();
        for (index, entry) in self.producers.iter_mut().enumerate() {
            let Some(entry) = entry else { continue };
            for (stream_index, stream) in entry.streams.iter_mut().enumerate() {
                if stream.next_nack_deadline().is_none_or(|due| due > now) {
                    continue;
                }
                lost.clear();
                if stream.due_nacks(now, &mut lost) {
                    key_frames.push((index, stream_index as u8));
                }
                let Some(media_ssrc) = stream.client_ssrc() else {
                    continue;
                };
                if lost.is_empty() {
                    continue;
                }
                stream.on_nack_sent(lost.len());
                if TraceKind::Nack.is_in(entry.trace) {
                    self.notices.push(RoutingNotice::Trace {
                        producer_id: entry.id.clone(),
                        trace: ProducerTrace {
                            kind: TraceKind::Nack,
                            incoming: false,
                            timestamp_ms: wall_clock_ms(),
                            info: TraceInfo::Nack {
                                ssrc: media_ssrc,
                                lost: lost.len(),
                            },
                        },
                    });
                }
                let nack = Nack::from_lost(stream.mapped_ssrc(), media_ssrc, &lost);
                let mut compound = Vec::new();
                if RtcpPacket::Nack(nack).write(&mut compound).is_ok() {
                    out.push((entry.transport_slot, compound));
                }
            }
        }
    }

    /// Transport-cc feedback for every transport with arrivals to report, as (transport
    /// slot, RTCP compound) in `out`, if it is due.
    pub fn due_transport_cc(&mut self, now: Instant, out: &mut Vec<(usize, Vec<u8>)>) {
        out.clear();
        if self.next_transport_cc.is_none_or(|due| due > now) {
            return;
        }
        self.next_transport_cc = None;
        for (&slot, recorder) in &mut self.transport_cc {
            // Our sender SSRC in feedback: any one the endpoint does not use; 1 as mediasoup.
            let Some(feedback) = recorder.feedback(1) else {
                continue;
            };
            let mut compound = Vec::new();
            if RtcpPacket::TransportCc(feedback)
                .write(&mut compound)
                .is_ok()
            {
                out.push((slot, compound));
            }
        }
    }

    /// When [`Routing::due_nacks`], [`Routing::due_transport_cc`],
    /// [`Routing::due_key_frame_requests`] or [`Routing::due_rtp_observer_reports`] next have
    /// something to do.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.producers
            .iter()
            .flatten()
            .flat_map(|entry| &entry.streams)
            .flat_map(|stream| {
                [
                    stream.next_nack_deadline(),
                    stream.next_key_frame_deadline(),
                ]
            })
            .flatten()
            .chain(self.next_transport_cc)
            .chain(self.observers.next_deadline())
            .chain(
                self.remb
                    .values()
                    .filter_map(|(estimator, _)| estimator.next_deadline()),
            )
            .min()
    }

    /// A keyframe request (PLI, or FIR when that is what the client negotiated) for a
    /// producer's stream, when one goes out now (see [`Producer::request_key_frame`]);
    /// returns the producer's transport slot and the RTCP.
    pub fn key_frame_request(
        &mut self,
        producer: usize,
        stream: u8,
        now: Instant,
    ) -> Option<(usize, Vec<u8>)> {
        let entry = self.producers.get_mut(producer)?.as_mut()?;
        let producer_stream = entry.streams.get_mut(usize::from(stream))?;
        producer_stream.client_ssrc()?;
        if !producer_stream.request_key_frame(now) {
            return None;
        }
        key_frame_request_rtcp(entry, usize::from(stream), &mut self.notices)
    }

    /// REMBs due to endpoints we estimate the bandwidth of, as (transport slot, RTCP) in
    /// `out` (cleared first): the estimate, for the client SSRCs of its producers there.
    pub fn due_rembs(&mut self, now: Instant, out: &mut Vec<(usize, Vec<u8>)>) {
        out.clear();
        let mut due = Vec::new();
        for (&slot, (estimator, _)) in &mut self.remb {
            if let Some(bitrate) = estimator.due_remb(now) {
                let ceiling = self
                    .max_incoming
                    .get(&slot)
                    .map_or(u64::MAX, |limit| limit.bitrate);
                due.push((slot, bitrate.min(ceiling)));
            }
        }
        for (slot, bitrate) in due {
            if let Some(compound) = self.remb_to_producers(slot, bitrate) {
                out.push((slot, compound));
            }
        }
    }

    /// Keyframe requests due from timers (deferred by a `key_frame_request_delay`, or
    /// retries of unanswered ones), as (transport slot, RTCP) in `out` (cleared first).
    pub fn due_key_frame_requests(&mut self, now: Instant, out: &mut Vec<(usize, Vec<u8>)>) {
        out.clear();
        for entry in self.producers.iter_mut().flatten() {
            for stream in 0..entry.streams.len() {
                let producer_stream = &mut entry.streams[stream];
                if producer_stream
                    .next_key_frame_deadline()
                    .is_none_or(|due| due > now)
                {
                    continue;
                }
                if producer_stream.key_frame_request_due(now) {
                    out.extend(key_frame_request_rtcp(entry, stream, &mut self.notices));
                }
            }
        }
    }

    /// Sets which [`TraceKind`]s (bits) a consumer reports.
    pub fn set_consumer_trace(&mut self, id: &str, kinds: u8) -> Result<(), String> {
        let index = self.consumer_index(id)?;
        if let Some(Some(entry)) = self.consumers.get_mut(index) {
            entry.trace = kinds;
        }
        Ok(())
    }

    /// Sets a consumer's share of its transport's bandwidth relative to the others.
    pub fn set_consumer_priority(&mut self, id: &str, priority: u8) -> Result<(), String> {
        let index = self.consumer_index(id)?;
        if let Some(Some(entry)) = self.consumers.get_mut(index) {
            entry.priority = priority.max(1);
        }
        Ok(())
    }

    /// Sets which [`TraceKind`]s (bits) a producer reports.
    pub fn set_producer_trace(&mut self, id: &str, kinds: u8) -> Result<(), String> {
        let index = self.producer_index(id)?;
        if let Some(Some(entry)) = self.producers.get_mut(index) {
            entry.trace = kinds;
        }
        Ok(())
    }

    /// Creates an RTP observer.
    pub fn create_rtp_observer(
        &mut self,
        id: String,
        options: RtpObserverOptions,
        now: Instant,
    ) -> Result<(), String> {
        self.observers.create(id, options, now)
    }

    /// Closes an RTP observer.
    pub fn close_rtp_observer(&mut self, id: &str) -> Result<(), String> {
        self.observers.close(id)
    }

    /// Pauses or resumes an RTP observer.
    pub fn set_rtp_observer_paused(
        &mut self,
        id: &str,
        paused: bool,
        now: Instant,
    ) -> Result<(), String> {
        self.observers.set_paused(id, paused, now)
    }

    /// Adds a producer to, or removes it from, an RTP observer.
    pub fn set_rtp_observer_producer(
        &mut self,
        id: &str,
        producer_id: &str,
        observed: bool,
        now: Instant,
    ) -> Result<(), String> {
        let producer = self.producer_index(producer_id)?;
        if observed {
            self.observers.add_producer(id, producer, now)
        } else {
            self.observers.remove_producer(id, producer)
        }
    }

    /// Reports of RTP observers that are due, as notices.
    pub fn due_rtp_observer_reports(&mut self, now: Instant) {
        let mut reports = Vec::new();
        self.observers.poll(now, &mut reports);
        for (observer_id, report) in reports {
            let id_of = |producer: usize| {
                self.producers
                    .get(producer)
                    .and_then(Option::as_ref)
                    .map(|entry| entry.id.clone())
            };
            let report = match report {
                RtpObserverReport::Volumes(volumes) => RtpObserverReport::Volumes(
                    volumes
                        .into_iter()
                        .filter_map(|(producer, volume)| Some((id_of(producer)?, volume)))
                        .collect(),
                ),
                RtpObserverReport::Silence => RtpObserverReport::Silence,
                RtpObserverReport::DominantSpeaker(producer) => {
                    let Some(id) = id_of(producer) else { continue };
                    RtpObserverReport::DominantSpeaker(id)
                }
            };
            self.notices.push(RoutingNotice::RtpObserver {
                observer_id,
                report,
            });
        }
    }

    /// The producer and observer events since the last call.
    pub fn take_notices(&mut self) -> std::vec::Drain<'_, RoutingNotice> {
        self.notices.drain(..)
    }
}

/// A consumer's trace event: what it sent (`rtp`, `keyframe`) or what its endpoint asked.
fn consumer_trace(consumer_id: &str, kind: TraceKind, info: TraceInfo) -> RoutingNotice {
    RoutingNotice::ConsumerTrace {
        consumer_id: consumer_id.to_owned(),
        trace: ProducerTrace {
            kind,
            // Media goes out to the endpoint; feedback comes in from it.
            incoming: !matches!(kind, TraceKind::Rtp | TraceKind::KeyFrame),
            timestamp_ms: wall_clock_ms(),
            info,
        },
    }
}

/// The RTCP asking a producer's client for a keyframe of one stream, and its trace.
fn key_frame_request_rtcp(
    entry: &mut ProducerEntry,
    stream: usize,
    notices: &mut Vec<RoutingNotice>,
) -> Option<(usize, Vec<u8>)> {
    let producer_stream = entry.streams.get_mut(stream)?;
    let media_ssrc = producer_stream.client_ssrc()?;
    // The sender SSRC of SFU feedback: the mapped SSRC, which the client never uses.
    let sender_ssrc = producer_stream.mapped_ssrc();
    let (packet, kind, fir_sequence_number) = if producer_stream.uses_fir() {
        let sequence_number = producer_stream.next_fir_sequence();
        let fir = Fir {
            sender_ssrc,
            media_ssrc: 0,
            entries: vec![FirEntry {
                ssrc: media_ssrc,
                sequence_number,
            }],
        };
        (RtcpPacket::Fir(fir), TraceKind::Fir, Some(sequence_number))
    } else {
        let pli = Pli {
            sender_ssrc,
            media_ssrc,
        };
        (RtcpPacket::Pli(pli), TraceKind::Pli, None)
    };
    let mut rtcp = Vec::new();
    packet.write(&mut rtcp).ok()?;
    if kind.is_in(entry.trace) {
        notices.push(RoutingNotice::Trace {
            producer_id: entry.id.clone(),
            trace: ProducerTrace {
                kind,
                incoming: false,
                timestamp_ms: wall_clock_ms(),
                info: TraceInfo::KeyFrameRequest {
                    ssrc: media_ssrc,
                    fir_sequence_number,
                },
            },
        });
    }
    Some((entry.transport_slot, rtcp))
}

/// The `rtp` and `keyframe` traces of an accepted packet, as the producer asked for.
fn trace_rtp(
    entry: &ProducerEntry,
    packet: &[u8],
    produced: &ProducedPacket,
    notices: &mut Vec<RoutingNotice>,
) {
    let key_frame = produced.is_keyframe && entry.streams.iter().any(Producer::is_video);
    let kinds = [(TraceKind::Rtp, true), (TraceKind::KeyFrame, key_frame)];
    for (kind, applies) in kinds {
        if !applies || !kind.is_in(entry.trace) {
            continue;
        }
        let Some(info) =
            TraceInfo::of_rtp(packet, produced.client_ssrc, key_frame, produced.repaired)
        else {
            return;
        };
        notices.push(RoutingNotice::Trace {
            producer_id: entry.id.clone(),
            trace: ProducerTrace {
                kind,
                incoming: true,
                timestamp_ms: wall_clock_ms(),
                info,
            },
        });
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::packet::codecs::vp8::Vp8PayloadDescriptor;
    use crate::packet::codecs::PayloadCodec;
    use crate::packet::rtp::RtpHeader;
    use crate::packet::rtp::RtpPacket;
    use crate::rtc::audio_level_observer::AudioLevelOptions;

    const SENDER: usize = 0;
    const RECEIVER_B: usize = 1;
    const RECEIVER_C: usize = 2;

    fn routing() -> Routing {
        let mut routing = Routing::default();
        let producer = ProducerSpec {
            payload_types: vec![(96, 101, Some(PayloadCodec::Vp8))],
            ssrc: Some(1111),
            mapped_ssrc: 0x5EED,
            store_for_retransmission: true,
            generate_nacks: true,
            ..ProducerSpec::default()
        };
        routing
            .add_producer("p".into(), SENDER, vec![producer], false)
            .unwrap();
        for (id, slot, ssrc) in [("b", RECEIVER_B, 0xB0), ("c", RECEIVER_C, 0xC0)] {
            let consumer = ConsumerSpec {
                ssrc,
                payload_types: vec![101],
                needs_key_frame: true,
                ..ConsumerSpec::default()
            };
            routing
                .add_consumer(id.into(), slot, "p", consumer, false)
                .unwrap();
        }
        routing
    }

    fn keyframe(sequence: u16) -> Vec<u8> {
        let header = RtpHeader {
            payload_type: 96,
            sequence_number: sequence,
            ssrc: 1111,
            ..RtpHeader::default()
        };
        let mut out = Vec::new();
        header.write_into(&[0x10, 0x00, 0x9d], &mut out).unwrap();
        out
    }

    fn pli(media_ssrc: u32) -> Vec<u8> {
        let mut out = vec![0x81, packet_type::PSFB, 0, 2, 0, 0, 0, 9];
        out.extend_from_slice(&media_ssrc.to_be_bytes());
        out
    }

    /// Routes one packet from the sender; returns (transport slot, SSRC) per copy sent.
    fn route(routing: &mut Routing, mut packet: Vec<u8>) -> Vec<(usize, u32)> {
        let Some((producer, stream, produced, _)) =
            routing.ingress(SENDER, &mut packet, Instant::now())
        else {
            return Vec::new();
        };
        let mut output = [0u8; 1500];
        let mut sent = Vec::new();
        for nth in 0..routing.consumer_count(producer) {
            let (slot, forward) = routing
                .egress(
                    producer,
                    nth,
                    &packet,
                    stream,
                    produced.is_keyframe,
                    Instant::now(),
                    &mut output,
                )
                .unwrap();
            if let Forward::Send(len) = forward {
                sent.push((slot, RtpPacket::parse(&output[..len]).unwrap().ssrc()));
            }
        }
        sent
    }

    #[test]
    fn one_producer_fans_out_to_each_consumer_with_its_own_ssrc() {
        let mut routing = routing();
        assert_eq!(
            route(&mut routing, keyframe(1)),
            [(RECEIVER_B, 0xB0), (RECEIVER_C, 0xC0)]
        );
        routing.set_consumer_paused("b", true).unwrap();
        assert_eq!(route(&mut routing, keyframe(2)), [(RECEIVER_C, 0xC0)]);
        routing.set_producer_paused("p", true).unwrap();
        assert_eq!(route(&mut routing, keyframe(3)), []);
        // Packets from another transport are not the producer's.
        assert_eq!(
            routing.ingress(RECEIVER_B, &mut keyframe(4), Instant::now()),
            None
        );
    }

    /// A VP8 packet of simulcast stream `ssrc` with a 15-bit picture id, TL0PICIDX and TID.
    fn vp8(ssrc: u32, sequence: u16, timestamp: u32, picture_id: u16, key: bool) -> Vec<u8> {
        let header = RtpHeader {
            payload_type: 96,
            sequence_number: sequence,
            timestamp,
            ssrc,
            ..RtpHeader::default()
        };
        let [high, low] = (picture_id | 0x8000).to_be_bytes();
        let descriptor = [0x90, 0xE0, high, low, (picture_id & 0xFF) as u8, 0x00];
        let mut payload = descriptor.to_vec();
        payload.extend_from_slice(&[if key { 0x00 } else { 0x01 }, 0x9d, 0x01, 0x2a]);
        let mut out = Vec::new();
        header.write_into(&payload, &mut out).unwrap();
        out
    }

    #[test]
    fn a_simulcast_consumer_switches_streams_at_a_keyframe_without_a_jump() {
        let mut routing = Routing::default();
        let specs = [1000u32, 2000, 3000]
            .iter()
            .map(|&ssrc| ProducerSpec {
                payload_types: vec![(96, 101, Some(PayloadCodec::Vp8))],
                ssrc: Some(ssrc),
                mapped_ssrc: ssrc + 1,
                clock_rate: 90_000,
                ..ProducerSpec::default()
            })
            .collect();
        routing
            .add_producer("sim".into(), SENDER, specs, false)
            .unwrap();
        let consumer = ConsumerSpec {
            ssrc: 0xC0,
            payload_types: vec![101],
            needs_key_frame: true,
            clock_rate: 90_000,
            codec: Some(PayloadCodec::Vp8),
            layers: Some(crate::rtc::consumer::LayerSpec {
                svc: false,
                spatial_layers: 3,
                temporal_layers: 1,
                preferred: Layers {
                    spatial: 2,
                    temporal: 0,
                },
            }),
            ..ConsumerSpec::default()
        };
        routing
            .add_consumer("c".into(), RECEIVER_C, "sim", consumer, false)
            .unwrap();
        let start = Instant::now();
        let mut output = [0u8; 1500];
        let mut send = |routing: &mut Routing, mut packet: Vec<u8>, at: Instant| {
            let (producer, stream, produced, _) = routing.ingress(SENDER, &mut packet, at)?;
            let (_, forward) = routing.egress(
                producer,
                0,
                &packet,
                stream,
                produced.is_keyframe,
                at,
                &mut output,
            )?;
            Some(match forward {
                Forward::Send(len) => {
                    let view = RtpPacket::parse(&output[..len]).unwrap();
                    let vp8 = Vp8PayloadDescriptor::parse(view.payload()).unwrap();
                    Ok((
                        view.sequence_number(),
                        view.timestamp(),
                        vp8.picture_id.unwrap().0,
                    ))
                }
                other => Err(other),
            })
        };
        // Only the low stream has shown up: start there.
        let low = send(&mut routing, vp8(1000, 10, 500, 7, true), start).unwrap();
        let (sequence, timestamp, picture_id) = low.unwrap();
        let low2 = send(&mut routing, vp8(1000, 11, 3500, 8, false), start).unwrap();
        assert_eq!(low2, Ok((sequence + 1, timestamp + 3000, picture_id + 1)));
        // The top stream appears mid-frame: it is asked for a keyframe, the low goes on.
        let ms40 = start + Duration::from_millis(40);
        assert_eq!(
            send(&mut routing, vp8(3000, 900, 77_000, 300, false), ms40),
            Some(Err(Forward::NeedKeyFrame(2)))
        );
        // Its keyframe switches: numbering continues, and the timestamp is the keyframe's
        // capture time on the low stream's clock. Without sender reports the clocks start at
        // each stream's first packet: the keyframe, 33 ms after the top stream's first
        // packet, which came 40 ms after the low one's, is 73 ms (6600 ticks) after it.
        let top = send(&mut routing, vp8(3000, 901, 80_000, 301, true), ms40).unwrap();
        let (top_sequence, top_timestamp, top_picture_id) = top.unwrap();
        assert_eq!(top_sequence, sequence + 2);
        assert_eq!(top_timestamp, timestamp + 6600);
        assert_eq!(top_picture_id, picture_id + 2);
        assert_eq!(
            send(&mut routing, vp8(1000, 12, 6500, 9, false), ms40),
            Some(Err(Forward::Skip))
        );
        let next = send(&mut routing, vp8(3000, 902, 83_000, 302, false), ms40).unwrap();
        assert_eq!(
            next,
            Ok((sequence + 3, top_timestamp + 3000, picture_id + 3))
        );
        let changes: Vec<RoutingNotice> = routing.take_notices().collect();
        let layers = |spatial| RoutingNotice::ConsumerLayersChange {
            consumer_id: "c".into(),
            layers: Some(Layers {
                spatial,
                temporal: 0,
            }),
        };
        assert_eq!(changes, [layers(0), layers(2)]);
        // A NACK for the switched-to stream is answered from its own store.
        assert_eq!(routing.producer_of_consumer("c").unwrap().1, 2);
    }

    #[test]
    fn a_pli_for_a_consumer_becomes_one_pli_to_the_producer_per_interval() {
        let mut routing = routing();
        let producers = routing.key_frame_requests(RECEIVER_B, &pli(0xB0));
        assert_eq!(producers.len(), 1);
        // A PLI naming another transport's consumer is ignored.
        assert!(routing
            .key_frame_requests(RECEIVER_B, &pli(0xC0))
            .is_empty());
        let now = Instant::now();
        let (slot, rtcp) = routing
            .key_frame_request(producers[0].0, producers[0].1, now)
            .unwrap();
        assert_eq!(slot, SENDER);
        let (header, body) = RtcpCompoundIter::new(&rtcp).next().unwrap().unwrap();
        assert_eq!(
            RtcpPacket::parse(header, body).unwrap(),
            RtcpPacket::Pli(Pli {
                sender_ssrc: 0x5EED,
                media_ssrc: 1111,
            })
        );
        // Pending: later requests wait for the keyframe (or the retry a second later).
        assert_eq!(
            routing.key_frame_request(producers[0].0, producers[0].1, now),
            None
        );
        let mut due = Vec::new();
        routing.due_key_frame_requests(now + Duration::from_millis(999), &mut due);
        assert!(due.is_empty());
        routing.due_key_frame_requests(now + Duration::from_secs(1), &mut due);
        assert_eq!(due.len(), 1, "retried once");
        assert_eq!(routing.consumer_stats("b").unwrap().key_frame_requests, 1);
        assert_eq!(
            routing.producer_stats("p", Instant::now()).unwrap()[0].key_frame_requests,
            2
        );
    }

    /// An opus packet with an RFC 6464 level (router extension id 6).
    fn opus_with_level(ssrc: u32, sequence: u16, level: u8) -> Vec<u8> {
        let header = RtpHeader {
            payload_type: 100,
            sequence_number: sequence,
            ssrc,
            extensions: Some(crate::packet::rtp::ExtensionBlock {
                form: crate::packet::rtp::ExtensionForm::OneByte,
                elements: vec![(6, vec![0x80 | level])],
            }),
            ..RtpHeader::default()
        };
        let mut packet = Vec::new();
        header.write_into(&[0x78, 1, 2], &mut packet).unwrap();
        packet
    }

    #[test]
    fn audio_levels_reach_observers_and_reports_name_producers() {
        let mut routing = Routing::default();
        let start = Instant::now();
        for (id, ssrc) in [("loud", 1u32), ("quiet", 2), ("unobserved", 3)] {
            let spec = ProducerSpec {
                payload_types: vec![(100, 100, Some(PayloadCodec::Opus))],
                extension_ids: vec![(6, 6)],
                ssrc: Some(ssrc),
                mapped_ssrc: 100 + ssrc,
                audio_level_extension_id: Some(6),
                ..ProducerSpec::default()
            };
            routing
                .add_producer(id.into(), SENDER, vec![spec], false)
                .unwrap();
        }
        let options = RtpObserverOptions::AudioLevel(AudioLevelOptions {
            max_entries: 3,
            threshold: -70,
            interval: Duration::from_millis(500),
        });
        routing
            .create_rtp_observer("alo".into(), options, start)
            .unwrap();
        for producer in ["loud", "quiet"] {
            routing
                .set_rtp_observer_producer("alo", producer, true, start)
                .unwrap();
        }
        assert!(routing
            .set_rtp_observer_producer("alo", "nope", true, start)
            .is_err());
        for sequence in 0..25 {
            for (ssrc, level) in [(1, 10), (2, 50), (3, 0)] {
                let mut packet = opus_with_level(ssrc, sequence, level);
                assert!(routing.ingress(SENDER, &mut packet, start).is_some());
            }
        }
        let due = start + Duration::from_millis(500);
        assert_eq!(routing.next_deadline(), Some(due));
        routing.due_rtp_observer_reports(due);
        let notices: Vec<RoutingNotice> = routing.take_notices().collect();
        assert_eq!(
            notices,
            [RoutingNotice::RtpObserver {
                observer_id: "alo".into(),
                report: RtpObserverReport::Volumes(vec![
                    ("loud".into(), -10),
                    ("quiet".into(), -50)
                ]),
            }]
        );
        routing.remove_producer("loud").unwrap();
        routing.remove_producer("quiet").unwrap();
        routing.due_rtp_observer_reports(due + Duration::from_millis(500));
        let notices: Vec<RoutingNotice> = routing.take_notices().collect();
        assert_eq!(
            notices,
            [RoutingNotice::RtpObserver {
                observer_id: "alo".into(),
                report: RtpObserverReport::Silence,
            }]
        );
    }

    #[test]
    fn traces_report_what_a_producer_asked_for_and_fir_is_used_when_negotiated() {
        let mut routing = Routing::default();
        let spec = ProducerSpec {
            payload_types: vec![(96, 101, Some(PayloadCodec::Vp8))],
            ssrc: Some(1111),
            mapped_ssrc: 0x5EED,
            use_fir: true,
            ..ProducerSpec::default()
        };
        routing
            .add_producer("p".into(), SENDER, vec![spec], false)
            .unwrap();
        routing
            .set_producer_trace("p", TraceKind::KeyFrame as u8 | TraceKind::Fir as u8)
            .unwrap();
        let now = Instant::now();
        let (index, _, _, _) = routing.ingress(SENDER, &mut keyframe(1), now).unwrap();
        let (_, rtcp) = routing.key_frame_request(index, 0, now).unwrap();
        let (header, body) = RtcpCompoundIter::new(&rtcp).next().unwrap().unwrap();
        assert!(matches!(
            RtcpPacket::parse(header, body).unwrap(),
            RtcpPacket::Fir(fir) if fir.entries == [FirEntry { ssrc: 1111, sequence_number: 0 }]
        ));
        let kinds: Vec<(TraceKind, bool)> = routing
            .take_notices()
            .map(|notice| match notice {
                RoutingNotice::Trace { trace, .. } => (trace.kind, trace.incoming),
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(
            kinds,
            [(TraceKind::KeyFrame, true), (TraceKind::Fir, false)]
        );
    }

    #[test]
    fn a_nack_from_an_endpoint_is_answered_from_the_producers_store() {
        let mut routing = routing();
        let mut output = [0u8; 1500];
        let mut sent_b = Vec::new();
        for sequence in 10..13 {
            let mut packet = keyframe(sequence);
            let (producer, stream, produced, _) = routing
                .ingress(SENDER, &mut packet, Instant::now())
                .unwrap();
            let (_, forward) = routing
                .egress(
                    producer,
                    0,
                    &packet,
                    stream,
                    produced.is_keyframe,
                    Instant::now(),
                    &mut output,
                )
                .unwrap();
            let Forward::Send(len) = forward else {
                panic!("sent")
            };
            sent_b.push(RtpPacket::parse(&output[..len]).unwrap().sequence_number());
        }
        let nack = crate::packet::rtcp::Nack::from_lost(9, 0xB0, &[sent_b[1], sent_b[2]]);
        let mut rtcp = Vec::new();
        RtcpPacket::Nack(nack).write(&mut rtcp).unwrap();
        let mut lost = Vec::new();
        routing.nacked_packets(RECEIVER_B, &rtcp, &mut lost);
        assert_eq!(lost.len(), 2);
        let (slot, len) = routing
            .retransmission(lost[0].0, lost[0].1, Instant::now(), &mut output)
            .unwrap();
        assert_eq!(slot, RECEIVER_B);
        let resent = RtpPacket::parse(&output[..len]).unwrap();
        assert_eq!((resent.ssrc(), resent.sequence_number()), (0xB0, sent_b[1]));
        // The same NACK on another transport names no consumer there.
        routing.nacked_packets(RECEIVER_C, &rtcp, &mut lost);
        assert!(lost.is_empty());
        assert_eq!(routing.consumer_stats("b").unwrap().nacked_packets, 2);
    }

    #[test]
    fn periodic_rtcp_reports_on_both_sides_and_scores_follow_receiver_reports() {
        let mut routing = routing();
        let start = Instant::now();
        for sequence in [1u16, 2, 4] {
            route(&mut routing, keyframe(sequence));
        }
        let (mut out, mut scores) = (Vec::new(), Vec::new());
        let ntp = 0x0001_2345_6789_0000;
        routing.periodic_rtcp(start, ntp, &mut out, &mut scores);
        let to_sender: Vec<_> = out.iter().filter(|(slot, _)| *slot == SENDER).collect();
        let [(_, rr)] = to_sender.as_slice() else {
            panic!("one RR to the sender: {out:?}")
        };
        let packets = crate::packet::rtcp::parse_compound(rr).unwrap();
        let [RtcpPacket::ReceiverReport(rr)] = packets.as_slice() else {
            panic!("an RR: {packets:?}")
        };
        assert_eq!(
            (rr.reports[0].ssrc, rr.reports[0].total_lost),
            (1111, 1),
            "sequence 3 is missing"
        );
        let (_, sr) = out.iter().find(|(slot, _)| *slot == RECEIVER_B).unwrap();
        let packets = crate::packet::rtcp::parse_compound(sr).unwrap();
        let RtcpPacket::SenderReport(sr) = &packets[0] else {
            panic!("an SR first")
        };
        assert_eq!(
            (sr.ssrc, sr.packet_count, sr.ntp_seconds),
            (0xB0, 3, 0x0001_2345)
        );
        assert!(matches!(packets[1], RtcpPacket::SourceDescription(_)));
        // 3 of 4 packets arrived: 0.75^4 * 10 rounds to 3.
        assert!(scores.contains(&ScoreChange::Producer {
            id: "p".into(),
            stream: 0,
            ssrc: 1111,
            score: 3,
        }));

        // B reports a quarter lost, echoing our SR sent 10 ms before: RTT and score.
        let report = RtcpPacket::ReceiverReport(ReceiverReport {
            ssrc: 9,
            reports: vec![crate::packet::rtcp::ReceptionReport {
                ssrc: 0xB0,
                fraction_lost: 64,
                last_sr: 0x2345_6789,
                ..Default::default()
            }],
        });
        let mut rtcp = Vec::new();
        serialize_compound(&[report], &mut rtcp).unwrap();
        routing.reports(RECEIVER_B, &rtcp, start, 0x2345_6789 + 655);
        let stats = routing.consumer_stats("b").unwrap();
        assert_eq!(stats.score, 3, "0.75^4 * 10 rounds to 3");
        assert!((stats.round_trip_time_ms.unwrap() - 10.0).abs() < 0.1);
        routing.periodic_rtcp(start, ntp, &mut out, &mut scores);
        assert!(scores.contains(&ScoreChange::Consumer {
            id: "b".into(),
            score: 3,
            producer_score: 3,
        }));
    }

    #[test]
    fn a_max_incoming_bitrate_goes_to_the_sender_in_a_remb_each_second() {
        let mut routing = routing();
        let start = Instant::now();
        route(&mut routing, keyframe(1));
        routing.set_transport_bitrates(SENDER, Some(250_000), None);
        let (mut out, mut scores) = (Vec::new(), Vec::new());
        routing.periodic_rtcp(start, 0, &mut out, &mut scores);
        let rembs: Vec<_> = out
            .iter()
            .filter(|(slot, _)| *slot == SENDER)
            .flat_map(|(_, compound)| crate::packet::rtcp::parse_compound(compound).unwrap())
            .filter_map(|packet| match packet {
                RtcpPacket::Remb(remb) => Some(remb),
                _ => None,
            })
            .collect();
        let [remb] = rembs.as_slice() else {
            panic!("one REMB to the sender: {rembs:?}")
        };
        assert_eq!(
            (remb.bitrate, remb.ssrcs.as_slice()),
            (250_000, [1111].as_slice())
        );
        routing.set_transport_bitrates(SENDER, None, None);
        routing.periodic_rtcp(start, 0, &mut out, &mut scores);
        assert!(out.iter().all(
            |(_, compound)| !crate::packet::rtcp::parse_compound(compound)
                .unwrap()
                .iter()
                .any(|packet| matches!(packet, RtcpPacket::Remb(_)))
        ));
    }

    /// 1000-byte packets to the producer at `packets_per_second` for `seconds`, numbered
    /// from `first_sequence`: how many the router forwards.
    fn forwarded_at(
        routing: &mut Routing,
        first_sequence: u64,
        packets_per_second: u64,
        seconds: u64,
    ) -> u64 {
        let start = Instant::now();
        let header = RtpHeader {
            payload_type: 96,
            ssrc: 1111,
            ..RtpHeader::default()
        };
        let mut forwarded = 0;
        for nth in 0..packets_per_second * seconds {
            let mut packet = Vec::new();
            let mut payload = vec![0u8; 1000];
            payload[0] = 0x10;
            RtpHeader {
                sequence_number: (first_sequence + nth) as u16,
                ..header.clone()
            }
            .write_into(&payload, &mut packet)
            .unwrap();
            let at = start + Duration::from_micros(nth * 1_000_000 / packets_per_second);
            if routing.ingress(SENDER, &mut packet, at).is_some() {
                forwarded += 1;
            }
        }
        forwarded
    }

    #[test]
    fn a_sender_that_ignores_the_max_incoming_bitrate_is_cut_back_to_it() {
        let mut routing = routing();
        routing.set_transport_bitrates(SENDER, Some(200_000), None);
        // 8 Mbps for 10 s: the tolerated 300 kbps, plus a 2 s burst of it.
        let forwarded = forwarded_at(&mut routing, 0, 1000, 10);
        let allowed = (300_000 / 8 * 12 / 1012) as u64;
        assert!(
            forwarded.abs_diff(allowed) <= 2,
            "{forwarded} forwarded, {allowed} allowed"
        );
        assert_eq!(
            routing.packets_over_max_incoming_bitrate(SENDER),
            10_000 - forwarded
        );
        // Lifting the ceiling stops the drops and keeps the count.
        routing.set_transport_bitrates(SENDER, None, None);
        assert_eq!(forwarded_at(&mut routing, 10_000, 1000, 1), 1000);
        assert_eq!(
            routing.packets_over_max_incoming_bitrate(SENDER),
            10_000 - forwarded
        );
    }

    #[test]
    fn a_sender_within_the_max_incoming_bitrate_loses_nothing() {
        let mut routing = routing();
        routing.set_transport_bitrates(SENDER, Some(1_000_000), None);
        // 50 packets/s of 1012 bytes: 405 kbps, and the ceiling can be set again unchanged.
        assert_eq!(forwarded_at(&mut routing, 0, 50, 20), 1000);
        routing.set_transport_bitrates(SENDER, Some(1_000_000), None);
        assert_eq!(routing.packets_over_max_incoming_bitrate(SENDER), 0);
        routing.set_transport_bitrates(SENDER, None, None);
        assert_eq!(forwarded_at(&mut routing, 1000, 5000, 1), 5000);
    }

    #[test]
    fn transport_cc_arrivals_are_fed_back_and_each_transport_numbers_its_own_packets() {
        let mut routing = routing();
        let spec = ProducerSpec {
            payload_types: vec![(96, 101, None)],
            extension_ids: vec![(5, 5)],
            ssrc: Some(4242),
            mapped_ssrc: 9,
            transport_cc_extension_id: Some(5),
            ..ProducerSpec::default()
        };
        routing
            .add_producer("cc".into(), SENDER, vec![spec], false)
            .unwrap();
        let consumer = ConsumerSpec {
            ssrc: 0xCC,
            payload_types: vec![101],
            extension_ids: vec![5],
            transport_cc_extension_id: Some(5),
            ..ConsumerSpec::default()
        };
        routing
            .add_consumer("d".into(), RECEIVER_C, "cc", consumer, false)
            .unwrap();
        let start = Instant::now();
        let mut numbers = Vec::new();
        for (sequence, transport_wide) in [(1u16, 500u16), (2, 502)] {
            let header = RtpHeader {
                payload_type: 96,
                sequence_number: sequence,
                ssrc: 4242,
                extensions: Some(crate::packet::rtp::ExtensionBlock {
                    form: crate::packet::rtp::ExtensionForm::OneByte,
                    elements: vec![(5, transport_wide.to_be_bytes().to_vec())],
                }),
                ..RtpHeader::default()
            };
            let mut packet = Vec::new();
            header.write_into(&[1, 2, 3], &mut packet).unwrap();
            let (producer, stream, produced, _) =
                routing.ingress(SENDER, &mut packet, start).unwrap();
            let mut output = [0u8; 256];
            let (_, Forward::Send(len)) = routing
                .egress(
                    producer,
                    0,
                    &packet,
                    stream,
                    produced.is_keyframe,
                    start,
                    &mut output,
                )
                .unwrap()
            else {
                panic!("forwarded")
            };
            let sent = RtpPacket::parse(&output[..len]).unwrap();
            numbers.push(u16::from_be_bytes(
                *sent.header_extension(5).unwrap().first_chunk().unwrap(),
            ));
        }
        assert_eq!(
            numbers,
            [0, 1],
            "the consumer's transport numbers its own packets"
        );
        let mut out = Vec::new();
        routing.due_transport_cc(start, &mut out);
        assert!(out.is_empty(), "not due before 100 ms");
        routing.due_transport_cc(start + FEEDBACK_INTERVAL, &mut out);
        let [(slot, compound)] = out.as_slice() else {
            panic!("one feedback: {out:?}")
        };
        assert_eq!(*slot, SENDER);
        let packets = crate::packet::rtcp::parse_compound(compound).unwrap();
        let RtcpPacket::TransportCc(feedback) = &packets[0] else {
            panic!("transport-cc")
        };
        let arrivals: Vec<_> = feedback
            .arrival_times_us()
            .map(|(seq, at)| (seq, at.is_some()))
            .collect();
        assert_eq!(arrivals, [(500, true), (501, false), (502, true)]);
    }

    #[test]
    fn closing_the_producers_transport_closes_its_consumers_elsewhere() {
        let mut routing = routing();
        routing.remove_transport(SENDER);
        assert!(routing.consumer_stats("b").is_err());
        assert!(routing.producer_stats("p", Instant::now()).is_err());
        // The ids are free again.
        let spec = ProducerSpec {
            mapped_ssrc: 1,
            ..ProducerSpec::default()
        };
        routing
            .add_producer("p".into(), SENDER, vec![spec], false)
            .unwrap();
    }

    #[test]
    fn duplicate_ids_and_ssrcs_are_refused() {
        let mut routing = routing();
        let same_ssrc = ProducerSpec {
            ssrc: Some(1111),
            mapped_ssrc: 2,
            ..ProducerSpec::default()
        };
        let error = routing
            .add_producer("q".into(), SENDER, vec![same_ssrc.clone()], false)
            .unwrap_err();
        assert!(error.contains("SSRC 1111"), "{error}");
        // Another transport may use the same SSRC: SSRCs are per endpoint.
        routing
            .add_producer("q".into(), RECEIVER_B, vec![same_ssrc], false)
            .unwrap();
        let error = routing
            .add_consumer("b".into(), RECEIVER_B, "p", ConsumerSpec::default(), false)
            .unwrap_err();
        assert!(error.contains("already exists"), "{error}");
        let error = routing
            .add_consumer(
                "x".into(),
                RECEIVER_B,
                "nope",
                ConsumerSpec::default(),
                false,
            )
            .unwrap_err();
        assert!(error.contains("not found"), "{error}");
    }
}
