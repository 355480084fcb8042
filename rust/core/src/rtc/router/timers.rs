//! A router's timers: NACKs for producers' lost packets (first right after a loss is seen,
//! repeats each round trip) and keyframe requests for losses given up on, deferred or
//! retried keyframe requests, transport-cc feedback every 100 ms while packets arrive, REMB
//! estimates, RTP observers' reports, and each second the sender and receiver reports, the
//! scores and the sharing of each transport's bandwidth among its consumers.
//!
//! The per-second work is spread over the second: each transport, producer and consumer has
//! one of [`PERIODIC_SLOTS`] slots (from its index), and each [`PERIODIC_SLOT_INTERVAL`]
//! tick serves one slot. Done for every object in one tick, it made that round of the worker
//! last milliseconds in large rooms (4-10 ms for the 1,560 consumers of a 40-person audio
//! room, measured), and every packet arriving meanwhile waited for it: the latency tail.
//! mediasoup and RFC 3550 spread reports the same way, by randomising each stream's interval.

use std::time::{Duration, Instant};

use super::events::RouterEvent;
use super::observers::RtpObserverReport;
use super::transport_routes::within_bounds;
use super::{Router, RouterOutput};
use crate::packet::rtcp::{Nack, ReceiverReport, Remb, RtcpPacket, SourceDescription};
use crate::rtc::bandwidth_allocation::LayeredDemand;
use crate::rtc::producer_stream::{MAX_SPATIAL_LAYERS, MAX_TEMPORAL_LAYERS};
use crate::rtc::producer_trace::{ProducerTrace, TraceInfo, TraceKind};

/// How often sender and receiver reports go out (mediasoup's interval for video; audio
/// streams get them as often, which costs little), scores are updated and bandwidth is
/// shared out, for each object.
pub const PERIODIC_INTERVAL: Duration = Duration::from_secs(1);

/// The slots the per-second work is spread over.
pub const PERIODIC_SLOTS: u32 = 100;

/// How often one slot of the per-second work runs.
pub const PERIODIC_SLOT_INTERVAL: Duration =
    Duration::from_millis(PERIODIC_INTERVAL.as_millis() as u64 / PERIODIC_SLOTS as u64);

/// Which ticks of the per-second work have run: tick `n` is due at `start + n` slot
/// intervals and serves slot `n % PERIODIC_SLOTS`.
#[derive(Debug)]
pub struct PeriodicWheel {
    start: Instant,
    ticks_run: u64,
}

impl PeriodicWheel {
    /// A wheel created at `now`, when the wall clock says `since_unix_epoch`. Its ticks fall
    /// on the wall clock's whole slot intervals, so the routers of a worker (given the same
    /// wall clock) tick together and wake the worker once per slot interval, not once each.
    pub fn new(now: Instant, since_unix_epoch: Duration) -> Self {
        let slot_nanos = PERIODIC_SLOT_INTERVAL.as_nanos();
        let into_slot = since_unix_epoch.as_nanos() % slot_nanos;
        let start = now
            .checked_sub(Duration::from_nanos(into_slot as u64))
            .unwrap_or(now);
        PeriodicWheel {
            start,
            ticks_run: 0,
        }
    }

    /// When the next tick is due.
    pub fn next_due(&self) -> Instant {
        // In nanoseconds: a u32 count of ticks would wrap after 497 days.
        let slot_nanos = PERIODIC_SLOT_INTERVAL.as_nanos() as u64;
        self.start + Duration::from_nanos(slot_nanos * (self.ticks_run + 1))
    }

    /// The slots due at `now`, in order, and marks them run. A late worker catches up on the
    /// slots it missed, each at most once.
    fn take_due(&mut self, now: Instant) -> impl Iterator<Item = u32> {
        let elapsed = now.saturating_duration_since(self.start);
        let current = (elapsed.as_nanos() / PERIODIC_SLOT_INTERVAL.as_nanos()) as u64;
        let first = (self.ticks_run + 1).max(current.saturating_sub(u64::from(PERIODIC_SLOTS) - 1));
        self.ticks_run = self.ticks_run.max(current);
        (first..=current).map(|tick| (tick % u64::from(PERIODIC_SLOTS)) as u32)
    }
}

/// The objects of slot `slot` of the per-second work are those whose arena slot is `slot`
/// modulo [`PERIODIC_SLOTS`]: a tick visits them alone, not every object to pick them out
/// (1,560 consumers of a 40-person room, 100 times a second, cost more than their reports).
const SLOT_STEP: usize = PERIODIC_SLOTS as usize;

/// Our SSRC in feedback that is about no stream of ours (transport-cc, REMB): any one the
/// endpoint does not use; 1, as mediasoup.
const FEEDBACK_SENDER_SSRC: u32 = 1;

impl Router {
    /// When [`Router::handle_timeout`] next has something to do.
    pub fn poll_timeout(&self) -> Instant {
        let streams = self.timed_streams.iter().filter_map(|&(producer, stream)| {
            self.producers
                .get(producer)?
                .streams
                .get(usize::from(stream))?
                .next_deadline()
        });
        let rembs = self.transports.iter().filter_map(|(_, routes)| {
            routes
                .receive_feedback
                .remb
                .as_ref()
                .and_then(|(_, estimator)| estimator.next_deadline())
        });
        streams
            .chain(rembs)
            .chain(self.next_transport_cc)
            .chain(self.observers.next_deadline())
            .fold(self.periodic.next_due(), Instant::min)
    }

    /// Runs the timers due at `now`.
    pub fn handle_timeout(&mut self, now: Instant, out: &mut dyn RouterOutput) {
        self.run_stream_timers(now, out);
        if self.next_transport_cc.is_some_and(|due| due <= now) {
            self.next_transport_cc = None;
            self.send_transport_cc_feedback(out);
        }
        self.send_due_rembs(now, out);
        self.report_observers(now);
        if now >= self.periodic.next_due() {
            // The slots iterator holds no borrow of the wheel (numbers only).
            for slot in self.periodic.take_due(now) {
                self.run_periodic(slot, now, out);
            }
        }
    }

    /// NACKs and keyframe requests of the streams with a timer running.
    fn run_stream_timers(&mut self, now: Instant, out: &mut dyn RouterOutput) {
        let timed = std::mem::take(&mut self.timed_streams);
        let mut still_timed = Vec::with_capacity(timed.len());
        let mut lost = Vec::new();
        for (producer, stream) in timed {
            let Some(entry) = self.producers.get_mut(producer) else {
                continue;
            };
            let Some(producer_stream) = entry.streams.get_mut(usize::from(stream)) else {
                continue;
            };
            if producer_stream.next_deadline().is_none_or(|due| due > now) {
                if producer_stream.has_deadline() {
                    still_timed.push((producer, stream));
                }
                continue;
            }
            lost.clear();
            let beyond_repair = producer_stream.due_nacks(now, &mut lost);
            let retry = producer_stream.key_frame_request_due(now);
            if let (Some(media_ssrc), false) = (producer_stream.client_ssrc(), lost.is_empty()) {
                producer_stream.on_nack_sent(lost.len());
                let nack = Nack::from_lost(producer_stream.mapped_ssrc().0, media_ssrc.0, &lost);
                if TraceKind::Nack.is_in(entry.trace) {
                    self.events.push(RouterEvent::ProducerTrace {
                        producer_id: entry.id.clone(),
                        trace: ProducerTrace {
                            kind: TraceKind::Nack,
                            incoming: false,
                            timestamp_ms: self.wall_clock.unix_ms(now),
                            info: TraceInfo::Nack {
                                ssrc: media_ssrc.0,
                                lost: lost.len(),
                            },
                        },
                    });
                }
                let transport = entry.transport;
                self.send_rtcp(transport, &[RtcpPacket::Nack(nack)], out);
            }
            if retry {
                self.send_key_frame_request(producer, stream, now, out);
            }
            if beyond_repair {
                self.request_key_frame(producer, stream, now, out);
            }
            let still = self
                .producers
                .get(producer)
                .and_then(|entry| entry.streams.get(usize::from(stream)))
                .is_some_and(|stream| stream.has_deadline());
            if still {
                still_timed.push((producer, stream));
            }
        }
        // Requests made while the timers ran (keyframes for losses beyond repair) joined the
        // emptied list; keep both, once each.
        for timed in std::mem::take(&mut self.timed_streams) {
            if !still_timed.contains(&timed) {
                still_timed.push(timed);
            }
        }
        self.timed_streams = still_timed;
    }

    /// Transport-cc feedback to every transport with arrivals to report.
    fn send_transport_cc_feedback(&mut self, out: &mut dyn RouterOutput) {
        let mut due = Vec::new();
        for (index, routes) in self.transports.iter_mut() {
            if let Some((_, arrivals)) = &mut routes.receive_feedback.transport_cc {
                if let Some(feedback) = arrivals.feedback(FEEDBACK_SENDER_SSRC) {
                    due.push((index, feedback));
                }
            }
        }
        for (index, feedback) in due {
            self.send_rtcp(index, &[RtcpPacket::TransportCc(feedback)], out);
        }
    }

    /// Our REMB estimates due to the endpoints we estimate the bandwidth of (capped by the
    /// application's ceiling), for the client SSRCs of their producers.
    fn send_due_rembs(&mut self, now: Instant, out: &mut dyn RouterOutput) {
        let mut due = Vec::new();
        for (index, routes) in self.transports.iter_mut() {
            let ceiling = routes
                .max_incoming
                .as_ref()
                .map_or(u64::MAX, |limit| limit.bitrate);
            if let Some((_, estimator)) = &mut routes.receive_feedback.remb {
                if let Some(bitrate) = estimator.due_remb(now) {
                    due.push((index, bitrate.min(ceiling)));
                }
            }
        }
        for (index, bitrate) in due {
            self.send_remb(index, bitrate, out);
        }
    }

    /// A REMB of `bitrate` for the streams a transport's endpoint sends us.
    fn send_remb(
        &mut self,
        transport: super::TransportIndex,
        bitrate: u64,
        out: &mut dyn RouterOutput,
    ) {
        let Some(routes) = self.transports.get(transport) else {
            return;
        };
        let ssrcs: Vec<u32> = routes
            .producers
            .iter()
            .filter_map(|&producer| self.producers.get(producer))
            .flat_map(|producer| {
                producer
                    .streams
                    .iter()
                    .filter_map(|stream| stream.client_ssrc())
            })
            .map(|ssrc| ssrc.0)
            .collect();
        if ssrcs.is_empty() {
            return;
        }
        let remb = Remb {
            sender_ssrc: FEEDBACK_SENDER_SSRC,
            bitrate,
            ssrcs,
        };
        self.send_rtcp(transport, &[RtcpPacket::Remb(remb)], out);
    }

    /// RTP observers' reports that are due, as events.
    fn report_observers(&mut self, now: Instant) {
        let mut reports = Vec::new();
        self.observers.poll(now, &mut reports);
        for (observer_id, report) in reports {
            let id_of = |producer| {
                self.producers
                    .get(producer)
                    .map(|producer| producer.id.clone())
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
            self.events.push(RouterEvent::RtpObserver {
                observer_id,
                report,
            });
        }
    }

    /// The per-second work of the objects in `slot`: bandwidth shared out, receiver reports
    /// to producers' endpoints, sender reports with SDES to consumers' endpoints, and score
    /// changes.
    fn run_periodic(&mut self, slot: u32, now: Instant, out: &mut dyn RouterOutput) {
        self.allocate_bandwidth(slot, now);
        // Endpoints not told our own estimate still hear the application's ceiling.
        let ceilings: Vec<_> = self
            .transports
            .iter_every(slot as usize, SLOT_STEP)
            .filter(|(_, routes)| routes.receive_feedback.remb.is_none())
            .filter_map(|(index, routes)| Some((index, routes.max_incoming.as_ref()?.bitrate)))
            .collect();
        for (index, bitrate) in ceilings {
            self.send_remb(index, bitrate, out);
        }
        self.send_receiver_reports(slot, now, out);
        self.send_sender_reports(slot, now, out);
    }

    fn send_receiver_reports(&mut self, slot: u32, now: Instant, out: &mut dyn RouterOutput) {
        let mut reports = Vec::new();
        for (_, producer) in self.producers.iter_mut_every(slot as usize, SLOT_STEP) {
            let streams = producer
                .streams
                .iter_mut()
                .zip(&mut producer.reported_scores);
            for (index, (stream, reported)) in streams.enumerate() {
                let Some(ssrc) = stream.client_ssrc() else {
                    continue;
                };
                let Some(block) = stream.receive_stats().report(ssrc.0, now) else {
                    continue;
                };
                let report = RtcpPacket::ReceiverReport(ReceiverReport {
                    // The sender SSRC of SFU reports: the mapped SSRC, which the client never
                    // uses.
                    ssrc: stream.mapped_ssrc().0,
                    reports: vec![block],
                });
                reports.push((producer.transport, report));
                let score = stream.receive_stats().score();
                if *reported != Some(score) {
                    *reported = Some(score);
                    self.events.push(RouterEvent::ProducerScore {
                        producer_id: producer.id.clone(),
                        stream: index as u8,
                        ssrc,
                        score,
                    });
                }
            }
        }
        for (transport, report) in reports {
            self.send_rtcp(transport, &[report], out);
        }
    }

    fn send_sender_reports(&mut self, slot: u32, now: Instant, out: &mut dyn RouterOutput) {
        let ntp = self.wall_clock.ntp(now);
        let mut reports = Vec::new();
        for (_, entry) in self.consumers.iter_mut_every(slot as usize, SLOT_STEP) {
            if let Some((report, chunk)) = entry.consumer.sender_report(now, ntp) {
                let packets = [
                    RtcpPacket::SenderReport(report),
                    RtcpPacket::SourceDescription(SourceDescription {
                        chunks: vec![chunk],
                    }),
                ];
                reports.push((entry.transport, packets));
            }
            entry.consumer.on_tick(now);
            if let Some(layers) = entry.consumer.take_layers_change() {
                self.events.push(RouterEvent::ConsumerLayersChange {
                    consumer_id: entry.id.clone(),
                    layers,
                });
            }
            let producer_score = self
                .producers
                .get(entry.producer)
                .and_then(|producer| {
                    *producer
                        .reported_scores
                        .get(usize::from(entry.consumer.current_stream()))?
                })
                .unwrap_or(0);
            let scores_now = (entry.consumer.stats(now).score, producer_score);
            if entry.reported_scores != Some(scores_now) {
                entry.reported_scores = Some(scores_now);
                self.events.push(RouterEvent::ConsumerScore {
                    consumer_id: entry.id.clone(),
                    score: scores_now.0,
                    producer_score: scores_now.1,
                });
            }
        }
        for (transport, packets) in reports {
            self.send_rtcp(transport, &packets, out);
        }
    }

    /// Shares each transport's bandwidth among its consumers: consumers that cannot adapt
    /// keep what they send; simulcast and SVC consumers get layers that fit (see
    /// [`crate::rtc::bandwidth_allocation`]).
    fn allocate_bandwidth(&mut self, slot: u32, now: Instant) {
        let Router {
            transports,
            producers,
            consumers,
            ..
        } = self;
        for (_, routes) in transports.iter_mut_every(slot as usize, SLOT_STEP) {
            // Bounds apply before anything is measured, too.
            if routes.send_bandwidth.is_none() && routes.outgoing_bounds.is_none() {
                continue;
            }
            let bounds = routes.outgoing_bounds;
            let consumer_indices: Vec<_> = routes.consumers.values().copied().collect();
            let bandwidth = routes.send_bandwidth(now);
            let estimate = within_bounds(bandwidth.estimator.estimate(), bounds);
            let mut fixed = 0u64;
            let mut layered = Vec::new();
            let mut demands = Vec::new();
            for index in consumer_indices {
                let Some(entry) = consumers.get_mut(index) else {
                    continue;
                };
                let bytes = entry.consumer.stats(now).bytes;
                let sent_bits = bytes.saturating_sub(entry.bytes_at_allocation) * 8;
                entry.bytes_at_allocation = bytes;
                let Some(spec) = entry.consumer.layer_spec() else {
                    // Allocation runs once a second: bits since then are its rate.
                    fixed += sent_bits;
                    continue;
                };
                let Some(producer) = producers.get_mut(entry.producer) else {
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
                    bandwidth
                        .trials
                        .set_ceiling(bounds.map_or(u64::MAX, |(_, max)| max));
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
                if let Some(entry) = consumers.get_mut(index) {
                    entry.consumer.set_bandwidth_limit(limit);
                }
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_tick_serves_the_next_slot_and_slot_0_comes_a_whole_interval_on() {
        let start = Instant::now();
        let mut wheel = PeriodicWheel::new(start, Duration::from_secs(1_767_225_600));
        assert_eq!(wheel.next_due(), start + PERIODIC_SLOT_INTERVAL);
        assert_eq!(
            wheel.take_due(start).count(),
            0,
            "nothing before the first tick"
        );
        let mut served = Vec::new();
        while served.len() < PERIODIC_SLOTS as usize {
            let due = wheel.next_due();
            served.extend(wheel.take_due(due));
        }
        let expected: Vec<u32> = (1..PERIODIC_SLOTS).chain([0]).collect();
        assert_eq!(served, expected);
        assert_eq!(
            wheel.next_due(),
            start + PERIODIC_INTERVAL + PERIODIC_SLOT_INTERVAL
        );
    }

    #[test]
    fn a_late_worker_catches_up_on_each_missed_slot_once() {
        let start = Instant::now();
        let mut wheel = PeriodicWheel::new(start, Duration::ZERO);
        let late = start + PERIODIC_SLOT_INTERVAL * 3 + PERIODIC_SLOT_INTERVAL / 2;
        assert_eq!(wheel.take_due(late).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(wheel.take_due(late).count(), 0, "not twice");
        // Stalled for seconds: every slot once, not each missed tick.
        let stalled = late + PERIODIC_INTERVAL * 5;
        let mut slots: Vec<u32> = wheel.take_due(stalled).collect();
        assert_eq!(slots.len(), PERIODIC_SLOTS as usize);
        slots.sort_unstable();
        slots.dedup();
        assert_eq!(slots.len(), PERIODIC_SLOTS as usize);
        assert!(wheel.next_due() > stalled);
    }

    #[test]
    fn wheels_created_at_different_times_tick_together() {
        let now = Instant::now() + PERIODIC_INTERVAL;
        let epoch = Duration::from_secs(1_767_225_600);
        let first = PeriodicWheel::new(now, epoch);
        let offset = Duration::from_millis(1234) + Duration::from_micros(567);
        let second = PeriodicWheel::new(now + offset, epoch + offset);
        let gap = second.next_due() - first.next_due();
        assert_eq!(gap.as_nanos() % PERIODIC_SLOT_INTERVAL.as_nanos(), 0);
        assert!(second.next_due() > now + offset);
    }
}
