//! Receive-side bandwidth estimation for senders that negotiated REMB (and abs-send-time)
//! but not transport-cc: the delay-based estimator of Google congestion control
//! (draft-ietf-rmcat-gcc), sans-IO.
//!
//! Packets are grouped into the bursts they were sent in (abs-send-time within 5 ms) or read
//! in (closer together than sent, within 5 ms: out of one queue at once). Between
//! consecutive groups, the growth of one-way delay (arrival gap minus send gap) shows queues
//! building on the path. A trendline (least-squares slope of the smoothed accumulated delay
//! over the last groups) is compared with an adaptive threshold: above it the path is
//! overused and the estimate drops to 85% of what arrives; below its negative the queues
//! drain and the estimate holds; otherwise it grows by 8% a second. The estimate goes back
//! to the sender in REMB once a second, and at once when it drops.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// abs-send-time is seconds in 6.18 fixed point, 24 bits (it wraps every 64 s).
const ABS_SEND_TIME_UNITS_PER_MS: f64 = (1u32 << 18) as f64 / 1000.0;
const ABS_SEND_TIME_MASK: u32 = 0x00FF_FFFF;
/// Packets sent within this of a group's first belong to its burst.
const GROUP_LENGTH_MS: f64 = 5.0;
/// Packets read within this of a group's last, and closer together than they were sent,
/// came out of one queue at once: they join that group.
const BURST_GAP_MS: f64 = 5.0;
/// Groups in the trendline window, and the smoothing of the accumulated delay.
const TRENDLINE_WINDOW: usize = 20;
const SMOOTHING: f64 = 0.9;
const TRENDLINE_GAIN: f64 = 4.0;
/// The overuse threshold's start, bounds and adaptation rates (per ms, up and down).
const INITIAL_THRESHOLD_MS: f64 = 12.5;
const MIN_THRESHOLD_MS: f64 = 6.0;
const MAX_THRESHOLD_MS: f64 = 600.0;
const THRESHOLD_UP: f64 = 0.0087;
const THRESHOLD_DOWN: f64 = 0.039;
/// Overuse must last this long to count.
const OVERUSE_TIME_MS: f64 = 10.0;
/// Rate control.
const DECREASE_FACTOR: f64 = 0.85;
const INCREASE_PER_SECOND: f64 = 1.08;
const START_BITRATE: f64 = 300_000.0;
const MIN_BITRATE: f64 = 30_000.0;
/// The incoming rate is measured over this window.
const RATE_WINDOW: Duration = Duration::from_secs(1);
/// The estimate starts from what arrived in the first half second (senders probe their
/// path then), rather than from a guess.
const INITIAL_MEASUREMENT: Duration = Duration::from_millis(500);
/// REMB goes out this often, and at once after a decrease of more than 3%.
pub const REMB_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy)]
struct Group {
    first_send: u32,
    last_send: u32,
    last_arrival: Instant,
}

/// What the delay trend says about the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Usage {
    Normal,
    Overusing,
    Underusing,
}

/// One transport's estimate of what its sender can send.
#[derive(Debug)]
pub struct RemoteBitrateEstimator {
    start: Instant,
    current: Option<Group>,
    previous: Option<Group>,
    accumulated_delay_ms: f64,
    smoothed_delay_ms: f64,
    /// (arrival ms since start, smoothed delay ms) of the last groups.
    window: VecDeque<(f64, f64)>,
    deltas: u32,
    threshold_ms: f64,
    last_threshold_update: Option<Instant>,
    overusing_since: Option<Instant>,
    previous_trend: f64,
    usage: Usage,
    /// Bytes received in the rate window: (arrival, size).
    arrivals: VecDeque<(Instant, usize)>,
    arrived_bytes: usize,
    estimate_bps: f64,
    /// Whether the estimate was set from the first measurement yet.
    initialized: bool,
    first_arrival: Option<Instant>,
    last_update: Option<Instant>,
    next_remb: Option<Instant>,
    last_remb_bps: f64,
}

impl RemoteBitrateEstimator {
    /// An estimator starting at 300 kbps.
    pub fn new(now: Instant) -> Self {
        RemoteBitrateEstimator {
            start: now,
            current: None,
            previous: None,
            accumulated_delay_ms: 0.0,
            smoothed_delay_ms: 0.0,
            window: VecDeque::with_capacity(TRENDLINE_WINDOW + 1),
            deltas: 0,
            threshold_ms: INITIAL_THRESHOLD_MS,
            last_threshold_update: None,
            overusing_since: None,
            previous_trend: 0.0,
            usage: Usage::Normal,
            arrivals: VecDeque::new(),
            arrived_bytes: 0,
            estimate_bps: START_BITRATE,
            initialized: false,
            first_arrival: None,
            last_update: None,
            next_remb: None,
            last_remb_bps: 0.0,
        }
    }

    /// Whether the estimate comes from measurements yet (the first half second sets it).
    pub fn is_measured(&self) -> bool {
        self.initialized
    }

    /// The current estimate, bits per second.
    pub fn estimate(&self) -> u64 {
        self.estimate_bps as u64
    }

    /// A trial of a higher rate met no queue: the path takes `rate` (what was sent), and
    /// the estimate rises to it at once (as a probe's result would raise it).
    pub fn raise_to(&mut self, rate: f64) {
        if self.initialized && rate > self.estimate_bps {
            self.estimate_bps = rate;
        }
    }

    /// The path loses packets: the estimate falls to `rate` at once, if above it.
    pub fn lower_to(&mut self, rate: f64) {
        if self.initialized && rate < self.estimate_bps {
            self.estimate_bps = rate.max(MIN_BITRATE);
        }
    }

    /// The rate packets arrive at now, bits per second.
    pub fn incoming_bitrate(&self) -> f64 {
        self.arrived_bytes as f64 * 8.0 / RATE_WINDOW.as_secs_f64()
    }

    /// One RTP packet of `size` bytes with its abs-send-time value, arriving `now`.
    pub fn on_packet(&mut self, abs_send_time: u32, size: usize, now: Instant) {
        self.first_arrival.get_or_insert(now);
        self.arrivals.push_back((now, size));
        self.arrived_bytes += size;
        while let Some(&(at, bytes)) = self.arrivals.front() {
            if now.saturating_duration_since(at) <= RATE_WINDOW {
                break;
            }
            self.arrivals.pop_front();
            self.arrived_bytes -= bytes;
        }
        let send = abs_send_time & ABS_SEND_TIME_MASK;
        let Some(mut group) = self.current else {
            self.current = Some(Group {
                first_send: send,
                last_send: send,
                last_arrival: now,
            });
            return;
        };
        let since_first = send_gap_ms(group.first_send, send);
        if since_first < 0.0 {
            // Reordered from an earlier burst: it says nothing new.
            return;
        }
        // Packets read within a few ms of each other but sent further apart came out of a
        // queue together: one the reading thread left while it waited for a core, or one the
        // path drained at once. They are one burst, as libwebrtc's inter-arrival grouping
        // has it; compared group by group they would read as a queue growing by the wait.
        let arrival_gap_ms = now
            .saturating_duration_since(group.last_arrival)
            .as_secs_f64()
            * 1000.0;
        let read_in_burst =
            arrival_gap_ms <= BURST_GAP_MS && arrival_gap_ms < send_gap_ms(group.last_send, send);
        if since_first <= GROUP_LENGTH_MS || read_in_burst {
            group.last_send = send;
            group.last_arrival = now;
            self.current = Some(group);
            return;
        }
        // A new burst: the one before is complete.
        if let Some(previous) = self.previous {
            let send_delta = send_gap_ms(previous.last_send, group.last_send);
            let arrival_delta = group
                .last_arrival
                .saturating_duration_since(previous.last_arrival)
                .as_secs_f64()
                * 1000.0;
            self.on_delta(arrival_delta - send_delta, group.last_arrival);
        }
        self.previous = Some(group);
        self.current = Some(Group {
            first_send: send,
            last_send: send,
            last_arrival: now,
        });
        self.update_rate(now);
    }

    /// The trendline and the overuse detector on one delay variation between groups.
    fn on_delta(&mut self, delay_variation_ms: f64, arrival: Instant) {
        self.deltas = self.deltas.saturating_add(1);
        self.accumulated_delay_ms += delay_variation_ms;
        self.smoothed_delay_ms =
            SMOOTHING * self.smoothed_delay_ms + (1.0 - SMOOTHING) * self.accumulated_delay_ms;
        let arrival_ms = arrival.saturating_duration_since(self.start).as_secs_f64() * 1000.0;
        self.window.push_back((arrival_ms, self.smoothed_delay_ms));
        if self.window.len() > TRENDLINE_WINDOW {
            self.window.pop_front();
        }
        if self.window.len() < TRENDLINE_WINDOW {
            return;
        }
        let slope = linear_fit_slope(&self.window).unwrap_or(0.0);
        let trend = f64::from(self.deltas.min(60)) * slope * TRENDLINE_GAIN;
        self.detect(trend, arrival);
    }

    fn detect(&mut self, trend: f64, now: Instant) {
        if trend > self.threshold_ms {
            let since = *self.overusing_since.get_or_insert(now);
            let overused_ms = now.saturating_duration_since(since).as_secs_f64() * 1000.0;
            if overused_ms >= OVERUSE_TIME_MS && trend >= self.previous_trend {
                self.usage = Usage::Overusing;
            }
        } else if trend < -self.threshold_ms {
            self.overusing_since = None;
            self.usage = Usage::Underusing;
        } else {
            self.overusing_since = None;
            self.usage = Usage::Normal;
        }
        self.previous_trend = trend;
        // The threshold follows the trend, slowly up and faster down, so it neither starves
        // against competing flows nor ignores a real queue.
        let elapsed_ms = self.last_threshold_update.map_or(0.0, |last| {
            (now.saturating_duration_since(last).as_secs_f64() * 1000.0).min(100.0)
        });
        self.last_threshold_update = Some(now);
        if trend.abs() <= self.threshold_ms + 15.0 {
            let rate = if trend.abs() < self.threshold_ms {
                THRESHOLD_DOWN
            } else {
                THRESHOLD_UP
            };
            self.threshold_ms += rate * (trend.abs() - self.threshold_ms) * elapsed_ms;
            self.threshold_ms = self.threshold_ms.clamp(MIN_THRESHOLD_MS, MAX_THRESHOLD_MS);
        }
    }

    /// Additive-increase, multiplicative-decrease on the detector's verdict.
    fn update_rate(&mut self, now: Instant) {
        let elapsed = self.last_update.map_or(0.0, |last| {
            now.saturating_duration_since(last).as_secs_f64().min(1.0)
        });
        self.last_update = Some(now);
        let incoming = self.incoming_bitrate();
        if !self.initialized {
            let measuring = self
                .first_arrival
                .is_none_or(|first| now.saturating_duration_since(first) < INITIAL_MEASUREMENT);
            if measuring {
                return;
            }
            // What arrived in the first half second, as a rate.
            let measured = incoming * RATE_WINDOW.as_secs_f64() / INITIAL_MEASUREMENT.as_secs_f64();
            self.estimate_bps = measured.max(START_BITRATE);
            self.initialized = true;
        }
        match self.usage {
            Usage::Overusing => {
                let decreased = (DECREASE_FACTOR * incoming).max(MIN_BITRATE);
                if decreased < self.estimate_bps {
                    self.estimate_bps = decreased;
                    // A drop goes to the sender at once.
                    if self.estimate_bps < 0.97 * self.last_remb_bps {
                        self.next_remb = Some(now);
                    }
                }
                // One decrease per overuse episode: wait for new evidence.
                self.usage = Usage::Normal;
                self.overusing_since = None;
            }
            Usage::Underusing => {}
            Usage::Normal => {
                let increased = self.estimate_bps * INCREASE_PER_SECOND.powf(elapsed);
                // Never far above what the sender actually sends.
                let ceiling = 1.5 * incoming + 10_000.0;
                if increased <= ceiling || increased <= self.estimate_bps {
                    self.estimate_bps = increased;
                } else if self.estimate_bps < ceiling {
                    self.estimate_bps = ceiling;
                }
            }
        }
        self.next_remb.get_or_insert(now + REMB_INTERVAL);
    }

    /// The estimate to send in a REMB, when one is due.
    pub fn due_remb(&mut self, now: Instant) -> Option<u64> {
        let due = self.next_remb?;
        if due > now {
            return None;
        }
        self.next_remb = Some(now + REMB_INTERVAL);
        self.last_remb_bps = self.estimate_bps;
        Some(self.estimate())
    }

    /// When [`RemoteBitrateEstimator::due_remb`] next has something to send.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.next_remb
    }
}

/// The gap from send time `from` to `to` in ms (negative when `to` is earlier), across the
/// 64 s wrap.
fn send_gap_ms(from: u32, to: u32) -> f64 {
    let forward = to.wrapping_sub(from) & ABS_SEND_TIME_MASK;
    let signed = if forward & 0x0080_0000 != 0 {
        forward as i64 - (1 << 24)
    } else {
        forward as i64
    };
    signed as f64 / ABS_SEND_TIME_UNITS_PER_MS
}

/// Least-squares slope of y over x.
fn linear_fit_slope(points: &VecDeque<(f64, f64)>) -> Option<f64> {
    let count = points.len() as f64;
    let mean_x = points.iter().map(|(x, _)| x).sum::<f64>() / count;
    let mean_y = points.iter().map(|(_, y)| y).sum::<f64>() / count;
    let (numerator, denominator) = points.iter().fold((0.0, 0.0), |(num, den), (x, y)| {
        (
            num + (x - mean_x) * (y - mean_y),
            den + (x - mean_x) * (x - mean_x),
        )
    });
    (denominator != 0.0).then(|| numerator / denominator)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `seconds` of a sender sending `bps` in 1200-byte packets, in 5 ms bursts,
    /// through a path of `capacity_bps` (a queue builds when the sender exceeds it), to a
    /// receiver that reads each packet at `read_at(arrival ms)` (a thread waiting for a core
    /// reads late, and what queued meanwhile at once).
    #[allow(clippy::too_many_arguments)]
    fn run(
        estimator: &mut RemoteBitrateEstimator,
        start: Instant,
        from_ms: u64,
        seconds: u64,
        bps: impl Fn(f64) -> f64,
        capacity_bps: f64,
        read_at: impl Fn(f64) -> f64,
        rembs: &mut Vec<u64>,
    ) {
        let mut queue_free_at = 0.0f64;
        let mut sent_bits = 0.0;
        for ms in (from_ms..from_ms + seconds * 1000).step_by(5) {
            let rate = bps(estimator.estimate() as f64);
            sent_bits += rate * 0.005;
            while sent_bits >= 9600.0 {
                sent_bits -= 9600.0;
                let send_ms = ms as f64;
                let arrival = queue_free_at.max(send_ms) + 9600.0 / capacity_bps * 1000.0;
                queue_free_at = arrival;
                let abs_send_time = (send_ms * ABS_SEND_TIME_UNITS_PER_MS) as u32;
                let now = start + Duration::from_micros((read_at(arrival) * 1000.0) as u64);
                estimator.on_packet(abs_send_time, 1200, now);
                rembs.extend(estimator.due_remb(now));
            }
        }
    }

    #[test]
    fn the_estimate_grows_while_the_path_keeps_up() {
        let start = Instant::now();
        let mut estimator = RemoteBitrateEstimator::new(start);
        let mut rembs = Vec::new();
        // The sender follows the estimate, as Chrome does; the path has room for 5 Mbps.
        run(
            &mut estimator,
            start,
            0,
            20,
            |estimate| estimate,
            5_000_000.0,
            |arrival| arrival,
            &mut rembs,
        );
        assert!(rembs.len() >= 15, "about one a second: {rembs:?}");
        assert!(estimator.estimate() > 1_000_000, "grew: {rembs:?}");
        assert!(rembs.windows(2).all(|pair| pair[1] >= pair[0]), "{rembs:?}");
    }

    #[test]
    fn a_queue_building_on_the_path_brings_the_estimate_down() {
        let start = Instant::now();
        let mut estimator = RemoteBitrateEstimator::new(start);
        let mut rembs = Vec::new();
        // 2 Mbps into a 1 Mbps path: the queue grows at once.
        run(
            &mut estimator,
            start,
            0,
            6,
            |_| 2_000_000.0,
            1_000_000.0,
            |arrival| arrival,
            &mut rembs,
        );
        let last = *rembs.last().unwrap();
        assert!(last < 1_000_000, "{rembs:?}");
    }

    #[test]
    fn a_receiver_waiting_for_a_core_is_not_a_queue_on_the_path() {
        let start = Instant::now();
        let mut estimator = RemoteBitrateEstimator::new(start);
        let mut rembs = Vec::new();
        // The path has room for 5 Mbps, but the reading thread shares a busy core: it reads
        // nothing for 10 to 45 ms now and then, then everything that queued at once.
        let stall_ms = |period: u64| 10.0 + (period * 7919 % 36) as f64;
        let read_at = |arrival: f64| {
            let period = (arrival / 120.0) as u64;
            let stalled_until = period as f64 * 120.0 + stall_ms(period);
            arrival.max(stalled_until)
        };
        run(
            &mut estimator,
            start,
            0,
            20,
            |estimate| estimate,
            5_000_000.0,
            read_at,
            &mut rembs,
        );
        assert!(estimator.estimate() > 1_000_000, "grew: {rembs:?}");
        assert!(rembs.windows(2).all(|pair| pair[1] >= pair[0]), "{rembs:?}");
    }

    #[test]
    fn send_times_wrap_every_64_seconds() {
        let near_end = ABS_SEND_TIME_MASK - 10;
        assert!((send_gap_ms(near_end, 5) - 16.0 / ABS_SEND_TIME_UNITS_PER_MS).abs() < 1e-9);
        assert!(send_gap_ms(5, near_end) < 0.0);
    }
}
