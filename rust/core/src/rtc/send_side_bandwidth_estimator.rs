//! How much one transport can send to its endpoint. An endpoint that negotiated transport-cc
//! tells us, in its feedback, when each of our packets arrived
//! (draft-holmer-rmcat-transport-wide-cc-extensions-01); with when each left here, that is
//! the input of the delay-based detector the receive side uses
//! ([`RemoteBitrateEstimator`]): queues building on the path show as growing one-way delay,
//! whoever measures it. Losses the feedback reports count too, as in Google congestion
//! control's loss-based part: a queue that overflows stops growing, so above 10% lost the
//! estimate falls by half the loss fraction. An endpoint that only negotiated REMB sends its
//! own estimate, which is taken as it is.

use std::time::{Duration, Instant};

use crate::packet::rtcp::{TransportCc, DELTA_TICK_US, REFERENCE_TIME_TICK_US};
use crate::rtc::rate_meter::RateMeter;
use crate::rtc::remote_bitrate_estimator::RemoteBitrateEstimator;

/// Sent packets remembered for the feedback to match, by transport-wide sequence number
/// (feedback comes every 100 ms; this covers seconds of a busy transport).
const HISTORY: usize = 8192;
/// abs-send-time's unit: 2^-18 s, 24 bits (the detector's input format).
const ABS_SEND_TIME_UNITS_PER_SECOND: f64 = (1u32 << 18) as f64;
const ABS_SEND_TIME_MASK: u32 = 0x00FF_FFFF;
/// Losses are judged over this much feedback.
const LOSS_WINDOW: Duration = Duration::from_secs(1);
/// Above this fraction lost, the estimate falls.
const HIGH_LOSS: f64 = 0.1;
/// The path keeps up with what is sent while this much of it arrives, with at most
/// [`LOW_LOSS`] lost.
const KEEPING_UP: f64 = 0.85;
const LOW_LOSS: f64 = 0.05;

#[derive(Debug, Clone, Copy, Default)]
struct SentPacket {
    sequence: u16,
    sent: Option<Instant>,
    size: usize,
    /// Feedback reported it (received or lost) once already.
    reported: bool,
}

/// One transport's estimate of the bitrate its endpoint can receive.
#[derive(Debug)]
pub struct SendSideBandwidthEstimator {
    start: Instant,
    sent: Box<[SentPacket]>,
    delay: RemoteBitrateEstimator,
    /// The endpoint's clock against ours: (its µs, our instant) for the first arrival it
    /// reported, so its arrival times fall on our timeline (only their differences matter).
    endpoint_clock: Option<(i64, Instant)>,
    transport_cc: bool,
    remb: Option<u64>,
    /// Packets the feedback reported received and lost since `loss_window_start`.
    received: u32,
    lost: u32,
    loss_window_start: Option<Instant>,
    /// The fraction lost in the last full loss window.
    recent_loss: f64,
    /// Whether a loss window was judged yet.
    loss_judged: bool,
    /// When a packet was last sent (feedback silent while media goes out: a path not
    /// keeping up).
    last_sent: Option<Instant>,
    /// What feedback has reported on, by when it was sent: the second of sending up to the
    /// newest packet reported, to hold against the second of arrivals up to that packet.
    reported_sending: RateMeter,
    /// When the newest packet feedback reported was sent, and when feedback last came.
    newest_reported_sent: Option<Instant>,
    last_feedback: Option<Instant>,
}

impl SendSideBandwidthEstimator {
    /// An estimator with nothing measured yet.
    pub fn new(now: Instant) -> Self {
        SendSideBandwidthEstimator {
            start: now,
            sent: vec![SentPacket::default(); HISTORY].into_boxed_slice(),
            delay: RemoteBitrateEstimator::new(now),
            endpoint_clock: None,
            transport_cc: false,
            remb: None,
            received: 0,
            lost: 0,
            loss_window_start: None,
            recent_loss: 0.0,
            loss_judged: false,
            last_sent: None,
            reported_sending: RateMeter::default(),
            newest_reported_sent: None,
            last_feedback: None,
        }
    }

    /// A packet of `size` bytes left with transport-wide sequence number `sequence`.
    pub fn on_sent(&mut self, sequence: u16, size: usize, now: Instant) {
        self.sent[usize::from(sequence) % HISTORY] = SentPacket {
            sequence,
            sent: Some(now),
            size,
            reported: false,
        };
        self.last_sent = Some(now);
    }

    /// The endpoint's transport-cc feedback (received `now`): each packet it received, with
    /// when, and those it did not.
    pub fn on_transport_cc(&mut self, feedback: &TransportCc, now: Instant) {
        let mut arrival_us = i64::from(feedback.reference_time) * REFERENCE_TIME_TICK_US;
        self.last_feedback = Some(now);
        for packet in &feedback.packets {
            self.count_reported(packet.sequence);
            let Some(delta) = packet.receive_delta else {
                let record = self.sent[usize::from(packet.sequence) % HISTORY];
                if record.sent.is_some() && record.sequence == packet.sequence {
                    self.lost += 1;
                }
                continue;
            };
            self.received += 1;
            arrival_us += i64::from(delta) * DELTA_TICK_US;
            let record = self.sent[usize::from(packet.sequence) % HISTORY];
            let Some(sent) = record.sent.filter(|_| record.sequence == packet.sequence) else {
                // Older than what we remember, or never sent: says nothing.
                continue;
            };
            let (base_us, base) = *self.endpoint_clock.get_or_insert((arrival_us, sent));
            let offset_us = arrival_us - base_us;
            let arrival = if offset_us >= 0 {
                base.checked_add(Duration::from_micros(offset_us.unsigned_abs()))
            } else {
                base.checked_sub(Duration::from_micros(offset_us.unsigned_abs()))
            };
            let Some(arrival) = arrival else { continue };
            let since_start = sent.saturating_duration_since(self.start).as_secs_f64();
            let send_time = (since_start * ABS_SEND_TIME_UNITS_PER_SECOND) as u64 as u32;
            self.transport_cc = true;
            self.delay
                .on_packet(send_time & ABS_SEND_TIME_MASK, record.size, arrival);
        }
        self.judge_losses(now);
    }

    /// Counts a packet's bytes into what feedback has reported on, by its send time, once.
    fn count_reported(&mut self, sequence: u16) {
        let record = &mut self.sent[usize::from(sequence) % HISTORY];
        let Some(sent) = record.sent.filter(|_| record.sequence == sequence) else {
            return;
        };
        if record.reported {
            return;
        }
        record.reported = true;
        let size = record.size;
        // At the newest send time reported: the meter's window only moves forward (feedback
        // reports packets in order, so this is the packet's own but for a reordered one).
        let newest = self
            .newest_reported_sent
            .map_or(sent, |newest| newest.max(sent));
        self.newest_reported_sent = Some(newest);
        self.reported_sending.record(size, newest);
    }

    fn judge_losses(&mut self, now: Instant) {
        let started = *self.loss_window_start.get_or_insert(now);
        if now.saturating_duration_since(started) < LOSS_WINDOW {
            return;
        }
        let total = self.received + self.lost;
        if total > 0 {
            let loss = f64::from(self.lost) / f64::from(total);
            self.recent_loss = loss;
            self.loss_judged = true;
            if loss > HIGH_LOSS {
                let estimate = self.delay.estimate() as f64;
                self.delay.lower_to(estimate * (1.0 - 0.5 * loss));
            }
        }
        self.received = 0;
        self.lost = 0;
        self.loss_window_start = Some(now);
    }

    /// The share (0-1) of what we sent that the endpoint's feedback reported lost in the
    /// last loss window (mediasoup's `rtpPacketLossSent`), once one was judged.
    pub fn packet_loss(&self) -> Option<f64> {
        self.loss_judged.then_some(self.recent_loss)
    }

    /// The endpoint's own estimate (REMB), for endpoints without transport-cc.
    pub fn on_remb(&mut self, bitrate: u64) {
        self.remb = Some(bitrate);
    }

    /// Whether what was sent arrives (most of it, little lost): the path keeps up. Always,
    /// for an endpoint that gives its own estimate (REMB).
    ///
    /// The second of arrivals up to the newest packet feedback reported is held against the
    /// second of sending up to that same packet, not up to `now`: feedback comes some
    /// 100 ms after the packets it reports, so what was sent since (a keyframe that starts
    /// a higher layer, say) has not had the time to arrive and is no sign of a path that
    /// cannot take it. Feedback that stopped while media goes out is.
    pub fn path_keeps_up(&mut self, now: Instant) -> bool {
        if !self.transport_cc {
            return true;
        }
        let silent = self
            .last_feedback
            .is_none_or(|at| now.saturating_duration_since(at) > LOSS_WINDOW);
        let sending = self
            .last_sent
            .is_some_and(|at| now.saturating_duration_since(at) <= LOSS_WINDOW);
        if silent && sending {
            return false;
        }
        let Some(newest) = self.newest_reported_sent else {
            return true;
        };
        let sent = self.reported_sending.bits_per_second(newest) as f64;
        self.delay.incoming_bitrate() >= KEEPING_UP * sent && self.recent_loss <= LOW_LOSS
    }

    /// A trial of a higher rate went through (the path kept up): the estimate rises to
    /// what arrives now, as a probe's result would raise it.
    pub fn confirm_delivered_rate(&mut self) {
        if self.transport_cc {
            let delivered = self.delay.incoming_bitrate();
            self.delay.raise_to(delivered);
        }
    }

    /// Bits per second the endpoint can receive, once there is a measurement.
    pub fn estimate(&self) -> Option<u64> {
        if self.transport_cc {
            self.delay.is_measured().then(|| self.delay.estimate())
        } else {
            self.remb
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::rtcp::TransportCcPacket;

    /// Sends `seconds` at `bps` in 1200-byte packets through a path of `capacity_bps` (a
    /// queue drains at that rate), with feedback every 100 ms as a browser sends it.
    fn run(
        estimator: &mut SendSideBandwidthEstimator,
        start: Instant,
        seconds: u64,
        bps: f64,
        capacity_bps: f64,
    ) {
        let size = 1200usize;
        let interval_us = (size as f64 * 8.0 / bps * 1e6) as u64;
        let service_us = size as f64 * 8.0 / capacity_bps * 1e6;
        let mut queue_free_at_us = 0.0f64;
        let mut pending: Vec<(u16, i64)> = Vec::new();
        let mut next_feedback_us = 100_000u64;
        let mut sequence = 0u16;
        let mut t_us = 0u64;
        let mut previous_arrival_us = 0i64;
        while t_us < seconds * 1_000_000 {
            estimator.on_sent(sequence, size, start + Duration::from_micros(t_us));
            queue_free_at_us = queue_free_at_us.max(t_us as f64) + service_us;
            pending.push((sequence, queue_free_at_us as i64 + 20_000));
            sequence = sequence.wrapping_add(1);
            t_us += interval_us;
            if t_us >= next_feedback_us {
                let arrived: Vec<_> = pending
                    .iter()
                    .copied()
                    .filter(|&(_, arrival)| arrival <= t_us as i64)
                    .collect();
                pending.retain(|&(_, arrival)| arrival > t_us as i64);
                if let Some(&(base_sequence, first)) = arrived.first() {
                    let reference = first / REFERENCE_TIME_TICK_US;
                    let mut last = reference * REFERENCE_TIME_TICK_US;
                    let packets = arrived
                        .iter()
                        .map(|&(sequence, arrival)| {
                            let delta = ((arrival - last) / DELTA_TICK_US) as i16;
                            last += i64::from(delta) * DELTA_TICK_US;
                            TransportCcPacket {
                                sequence,
                                receive_delta: Some(delta),
                            }
                        })
                        .collect();
                    assert!(first >= previous_arrival_us);
                    previous_arrival_us = first;
                    estimator.on_transport_cc(
                        &TransportCc {
                            base_sequence,
                            reference_time: reference as i32,
                            packets,
                            ..TransportCc::default()
                        },
                        start + Duration::from_micros(t_us),
                    );
                }
                next_feedback_us += 100_000;
            }
        }
    }

    #[test]
    fn follows_what_the_path_takes() {
        let start = Instant::now();
        let mut estimator = SendSideBandwidthEstimator::new(start);
        assert_eq!(estimator.estimate(), None, "nothing measured yet");
        run(&mut estimator, start, 4, 800_000.0, 10_000_000.0);
        let roomy = estimator.estimate().expect("measured");
        assert!(
            roomy >= 700_000,
            "a free path: at least what is sent, got {roomy}"
        );
        assert!(estimator.path_keeps_up(start + Duration::from_secs(4)));
        estimator.confirm_delivered_rate();
        assert!(estimator.estimate().expect("measured") >= roomy);

        let mut estimator = SendSideBandwidthEstimator::new(start);
        run(&mut estimator, start, 8, 1_500_000.0, 500_000.0);
        let tight = estimator.estimate().expect("measured");
        assert!(
            tight < 550_000,
            "a 500 kbps path filled at 1.5 Mbps: the estimate drops to it, got {tight}"
        );
        assert!(
            !estimator.path_keeps_up(start + Duration::from_secs(8)),
            "it sends three times what arrives"
        );
    }

    #[test]
    fn a_burst_not_yet_reported_on_is_no_sign_of_a_slow_path() {
        let start = Instant::now();
        let mut estimator = SendSideBandwidthEstimator::new(start);
        run(&mut estimator, start, 4, 800_000.0, 10_000_000.0);
        // A keyframe of a higher layer leaves at once (77 kB); its feedback is not back yet.
        let burst = start + Duration::from_millis(4_001);
        for index in 0..64u16 {
            estimator.on_sent(40_000 + index, 1200, burst);
        }
        assert!(
            estimator.path_keeps_up(burst + Duration::from_millis(50)),
            "what feedback reported arrived as fast as it was sent"
        );
        // No feedback for more than a second while media goes out: the path does not keep up.
        let later = start + Duration::from_millis(5_200);
        estimator.on_sent(40_100, 1200, later);
        assert!(!estimator.path_keeps_up(later));
    }

    #[test]
    fn heavy_loss_lowers_the_estimate() {
        let start = Instant::now();
        let mut estimator = SendSideBandwidthEstimator::new(start);
        run(&mut estimator, start, 3, 800_000.0, 10_000_000.0);
        let before = estimator.estimate().expect("measured");
        // A second later, feedback on 100 more packets: 40 of them never arrived.
        let later = start + Duration::from_secs(4);
        for index in 0..100u16 {
            estimator.on_sent(50_000 + index, 1200, later);
        }
        let packets = (0..100u16)
            .map(|index| TransportCcPacket {
                sequence: 50_000 + index,
                receive_delta: (index % 5 >= 2).then_some(4),
            })
            .collect();
        estimator.on_transport_cc(
            &TransportCc {
                base_sequence: 50_000,
                reference_time: 100,
                packets,
                ..TransportCc::default()
            },
            later + Duration::from_millis(1100),
        );
        let after = estimator.estimate().expect("measured");
        // The loss window also holds the last feedback of the clean run: about a fifth
        // lost in all, so about a tenth less.
        assert!(
            after <= before * 92 / 100,
            "heavy loss: the estimate falls, {before} -> {after}"
        );
        let loss = estimator.packet_loss().expect("a loss window was judged");
        assert!((0.1..0.4).contains(&loss), "{loss}");
    }

    #[test]
    fn takes_an_endpoints_remb_when_it_has_no_transport_cc() {
        let mut estimator = SendSideBandwidthEstimator::new(Instant::now());
        estimator.on_remb(420_000);
        assert_eq!(estimator.estimate(), Some(420_000));
    }

    #[test]
    fn ignores_feedback_about_packets_it_does_not_remember() {
        let start = Instant::now();
        let mut estimator = SendSideBandwidthEstimator::new(start);
        estimator.on_sent(5, 1000, start);
        estimator.on_transport_cc(
            &TransportCc {
                base_sequence: 9000,
                reference_time: -(1 << 23),
                packets: (0..100)
                    .map(|index| TransportCcPacket {
                        sequence: 9000u16.wrapping_add(index),
                        receive_delta: Some(i16::MIN),
                    })
                    .collect(),
                ..TransportCc::default()
            },
            start,
        );
        assert_eq!(estimator.estimate(), None);
    }
}
