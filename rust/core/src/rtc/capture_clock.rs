//! When the media of a producer stream was captured, on this host's clock: the line that
//! maps the stream's RTP timestamps to time.
//!
//! Consumers use it twice. When a consumer moves to another stream (a simulcast switch) or
//! the sender restarts, the new stream's first frame is placed where its capture time falls
//! in the consumer's timeline, as mediasoup places it from the producers' sender reports; and
//! the consumer's own sender reports map NTP to RTP along this same line, so a capture time
//! gets the same NTP time on every consumer of it, and audio and video of one sender stay as
//! aligned as the sender had them.
//!
//! The line comes from the sender's reports (RFC 3550 §6.4.1: an RTP timestamp and the
//! sender's NTP time of it). The sender's NTP clock is carried onto ours by one offset,
//! measured when the first report from that endpoint arrived and shared by all its streams
//! ([`NtpOrigin`]): the line then moves only when the sender's reports move it, never with
//! the network's jitter or how long we took to read a report, and streams of one endpoint
//! keep exactly the relative timing the sender gave them. Endpoints whose clocks agree with
//! ours to within [`ORIGIN_TOLERANCE`] share one offset too: an ffmpeg sending video and
//! audio to two transports is one clock, and so are other workers on this host.
//!
//! Before the first report (or for a sender that sends none) the line is a fallback: the
//! stream's first packet is taken as captured [`FALLBACK_LATENCY`] before it arrived. When
//! the first report comes, the line moves to where the report puts it.

use std::time::{Duration, Instant};

/// What the fallback line assumes a packet took from capture to arrival: a sender's
/// encoding, packetization and pacing and the network. Set above what a browser typically
/// takes, so the line usually moves later, not earlier, when the first report corrects it: a
/// recorder that aligns its streams by our reports then sees a small gap, not timestamps
/// going back.
pub const FALLBACK_LATENCY: Duration = Duration::from_millis(50);

/// Senders whose NTP clocks, carried onto ours, agree to within this are taken as one clock
/// (one host, or hosts synchronised by NTP): well above how late a loaded worker reads a
/// report, well below how far apart unsynchronised clocks are.
pub const ORIGIN_TOLERANCE: Duration = Duration::from_millis(100);

/// Sequence numbers this far ahead of the highest one are a restart of the sender, not loss
/// (RFC 3550 A.1).
const MAX_DROPOUT: u16 = 3000;
/// And this far behind: not a late packet.
const MAX_MISORDER: u16 = 100;
/// Timestamps this far from the reported line (in seconds) are not the reported stream's: a
/// restarted sender's report only applies to its new packets when they are close to it.
const RESTART_REPORT_WINDOW_SECONDS: i64 = 10;

/// Where an endpoint's NTP clock stands on ours: an NTP time of it and the instant that
/// report arrived. Measured once per endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NtpOrigin {
    /// The sender's NTP time (RFC 3550's 64-bit fixed point).
    pub ntp: u64,
    /// When it was received.
    pub at: Instant,
}

impl NtpOrigin {
    /// Of `known` origins, the one that places a report of NTP time `ntp` arriving `at`
    /// closest to `at`, if within [`ORIGIN_TOLERANCE`]: that sender's clock agrees with it.
    pub fn agreeing(
        known: impl IntoIterator<Item = NtpOrigin>,
        ntp: u64,
        at: Instant,
    ) -> Option<NtpOrigin> {
        let tolerance = ORIGIN_TOLERANCE.as_nanos() as i64;
        known
            .into_iter()
            .filter_map(|origin| {
                let apart = signed_nanos(origin.instant_of(ntp)?, at).abs();
                (apart <= tolerance).then_some((apart, origin))
            })
            .min_by_key(|(apart, _)| *apart)
            .map(|(_, origin)| origin)
    }

    /// The instant on our clock of the sender's NTP time `ntp`.
    fn instant_of(&self, ntp: u64) -> Option<Instant> {
        shift(self.at, ntp_nanos(ntp.wrapping_sub(self.ntp)))
    }
}

/// A stream's line: an RTP timestamp and when it was captured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaptureClock {
    clock_rate: u32,
    timestamp: u32,
    /// When `timestamp` was captured, on our clock.
    captured_at: Instant,
    /// The sender's NTP time of `timestamp`, when the line comes from its reports.
    sender_ntp: Option<u64>,
    /// The sender's incarnation: timestamps of another epoch are on an unrelated line.
    epoch: u32,
}

impl CaptureClock {
    /// A line through `timestamp` captured at `captured_at` (the fallback, or a test's).
    pub fn new(clock_rate: u32, timestamp: u32, captured_at: Instant, epoch: u32) -> Self {
        CaptureClock {
            clock_rate: clock_rate.max(1),
            timestamp,
            captured_at,
            sender_ntp: None,
            epoch,
        }
    }

    /// The line of a sender report (`rtp` captured at the sender's NTP time `ntp`), carried
    /// onto our clock through `origin`.
    pub fn from_report(
        clock_rate: u32,
        rtp: u32,
        ntp: u64,
        origin: NtpOrigin,
        epoch: u32,
    ) -> Option<Self> {
        Some(CaptureClock {
            sender_ntp: Some(ntp),
            ..CaptureClock::new(clock_rate, rtp, origin.instant_of(ntp)?, epoch)
        })
    }

    /// The sender's incarnation.
    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// Whether the line comes from the sender's reports (not the fallback).
    pub fn is_reported(&self) -> bool {
        self.sender_ntp.is_some()
    }

    /// The RTP clock rate.
    pub fn clock_rate(&self) -> u32 {
        self.clock_rate
    }

    /// The timestamp captured at `instant`.
    pub fn timestamp_at(&self, instant: Instant) -> u32 {
        let nanos = signed_nanos(instant, self.captured_at);
        self.timestamp
            .wrapping_add(nanos_to_ticks(nanos, self.clock_rate) as u32)
    }

    /// The timestamp on `other`'s line captured when `timestamp` was on this one. Between two
    /// reported lines (streams of one sender) this goes through the sender's NTP clock, as
    /// mediasoup does, so it is exact whatever the network did to the reports.
    pub fn map_to(&self, timestamp: u32, other: &CaptureClock) -> u32 {
        let since_anchor = ticks_to_nanos(
            signed(timestamp.wrapping_sub(self.timestamp)),
            self.clock_rate,
        );
        let anchors_apart = match (self.sender_ntp, other.sender_ntp) {
            (Some(ours), Some(theirs)) => ntp_nanos(ours.wrapping_sub(theirs)),
            _ => signed_nanos(self.captured_at, other.captured_at),
        };
        let ticks = nanos_to_ticks(anchors_apart + since_anchor, other.clock_rate);
        other.timestamp.wrapping_add(ticks as u32)
    }
}

/// A producer stream's line as its packets and reports tell it, and the sender's restarts.
#[derive(Debug, Clone)]
pub struct StreamClock {
    clock_rate: u32,
    clock: Option<CaptureClock>,
    epoch: u32,
    /// The highest sequence number of this epoch.
    highest: Option<u16>,
    /// A packet far from `highest`: a restart if the next one follows it.
    probation: Option<u16>,
}

/// What [`StreamClock::on_packet`] made of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Continuity {
    /// It belongs to the stream as it is.
    Continues,
    /// It is far from the stream's numbers: held back until the next packet tells whether
    /// the sender restarted (RFC 3550 A.1's probation).
    Probation,
    /// The sender restarted: this packet starts a new epoch.
    Restarted,
}

impl StreamClock {
    /// The clock of a stream with this RTP clock rate, before any packet.
    pub fn new(clock_rate: u32) -> Self {
        StreamClock {
            clock_rate: clock_rate.max(1),
            clock: None,
            epoch: 0,
            highest: None,
            probation: None,
        }
    }

    /// The line, once a packet or report gave one.
    pub fn clock(&self) -> Option<CaptureClock> {
        self.clock
    }

    /// Takes in a packet (`repaired`: a retransmission, which says nothing about the
    /// stream's numbers moving on) arriving `now`.
    pub fn on_packet(
        &mut self,
        sequence: u16,
        timestamp: u32,
        now: Instant,
        repaired: bool,
    ) -> Continuity {
        let Some(highest) = self.highest else {
            self.highest = Some(sequence);
            self.anchor_if_unknown(timestamp, now);
            return Continuity::Continues;
        };
        let ahead = sequence.wrapping_sub(highest);
        let far = (MAX_DROPOUT..=u16::MAX - MAX_MISORDER).contains(&ahead);
        if repaired || !far {
            if !repaired && ahead < MAX_DROPOUT {
                self.highest = Some(sequence);
            }
            self.probation = None;
            return Continuity::Continues;
        }
        if self.probation != Some(sequence.wrapping_sub(1)) {
            self.probation = Some(sequence);
            return Continuity::Probation;
        }
        self.probation = None;
        self.highest = Some(sequence);
        self.epoch = self.epoch.wrapping_add(1);
        // A report the new sender sent ahead of its packets (ffmpeg does) already describes
        // them; an older one does not.
        let reported = self.clock.filter(|clock| {
            let apart = signed(timestamp.wrapping_sub(clock.timestamp));
            clock.is_reported()
                && i64::from(apart).abs()
                    < RESTART_REPORT_WINDOW_SECONDS * i64::from(self.clock_rate)
        });
        self.clock = match reported {
            Some(clock) => Some(CaptureClock {
                epoch: self.epoch,
                ..clock
            }),
            None => Some(self.fallback(timestamp, now)),
        };
        Continuity::Restarted
    }

    /// Takes in the sender's report (`rtp` captured at its NTP time `ntp`) arriving `now`;
    /// `origin` is the endpoint's, if one of its streams measured it already. Returns the
    /// origin the line uses.
    pub fn on_sender_report(
        &mut self,
        rtp: u32,
        ntp: u64,
        now: Instant,
        origin: Option<NtpOrigin>,
    ) -> NtpOrigin {
        let origin = origin.unwrap_or(NtpOrigin { ntp, at: now });
        if let Some(clock) =
            CaptureClock::from_report(self.clock_rate, rtp, ntp, origin, self.epoch)
        {
            self.clock = Some(clock);
        }
        origin
    }

    fn anchor_if_unknown(&mut self, timestamp: u32, now: Instant) {
        if self.clock.is_none() {
            self.clock = Some(self.fallback(timestamp, now));
        }
    }

    fn fallback(&self, timestamp: u32, arrival: Instant) -> CaptureClock {
        let captured_at = arrival.checked_sub(FALLBACK_LATENCY).unwrap_or(arrival);
        CaptureClock::new(self.clock_rate, timestamp, captured_at, self.epoch)
    }
}

/// A timestamp difference as signed (modulo wrap).
pub fn signed(difference: u32) -> i32 {
    difference as i32
}

/// `a - b` in nanoseconds, signed.
fn signed_nanos(a: Instant, b: Instant) -> i64 {
    match a.checked_duration_since(b) {
        Some(after) => after.as_nanos() as i64,
        None => -(b.duration_since(a).as_nanos() as i64),
    }
}

/// `instant` moved by `nanos`, if that is representable.
fn shift(instant: Instant, nanos: i64) -> Option<Instant> {
    let by = Duration::from_nanos(nanos.unsigned_abs());
    if nanos >= 0 {
        instant.checked_add(by)
    } else {
        instant.checked_sub(by)
    }
}

/// A difference of NTP times (32.32 fixed point, modulo wrap) in nanoseconds.
fn ntp_nanos(difference: u64) -> i64 {
    ((i128::from(difference as i64) * 1_000_000_000) >> 32) as i64
}

fn ticks_to_nanos(ticks: i32, clock_rate: u32) -> i64 {
    i64::from(ticks) * 1_000_000_000 / i64::from(clock_rate)
}

/// Nanoseconds in RTP ticks, rounded to the nearest.
fn nanos_to_ticks(nanos: i64, clock_rate: u32) -> i64 {
    let scaled = i128::from(nanos) * i128::from(clock_rate);
    let half = 500_000_000 * scaled.signum();
    ((scaled + half) / 1_000_000_000) as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SECOND_NTP: u64 = 1 << 32;

    #[test]
    fn a_line_maps_time_to_timestamps_both_ways() {
        let start = Instant::now();
        let clock = CaptureClock::new(90_000, 1000, start, 0);
        assert_eq!(
            clock.timestamp_at(start + Duration::from_millis(100)),
            10_000
        );
        // Before its anchor, modulo wrap.
        let later = CaptureClock::new(90_000, 5, start + Duration::from_secs(1), 0);
        assert_eq!(later.timestamp_at(start), 5u32.wrapping_sub(90_000));
        // Audio captured with video's frame 1000 + 9000 (100 ms on): 100 ms on audio's line.
        let audio = CaptureClock::new(48_000, 7, start, 0);
        assert_eq!(clock.map_to(10_000, &audio), 4807);
    }

    #[test]
    fn reported_lines_map_through_the_sender_clock_whatever_the_reports_took() {
        let start = Instant::now();
        let origin = NtpOrigin {
            ntp: 100 * SECOND_NTP,
            at: start,
        };
        let low = CaptureClock::from_report(90_000, 50, 101 * SECOND_NTP, origin, 0).unwrap();
        let high = CaptureClock::from_report(90_000, 7_000, 103 * SECOND_NTP, origin, 0).unwrap();
        // high's 7000 was captured 2 s after low's 50.
        assert_eq!(high.map_to(7_000, &low), 50 + 180_000);
        assert_eq!(low.timestamp_at(start + Duration::from_secs(1)), 50);
        assert!(low.is_reported());
    }

    #[test]
    fn the_fallback_line_is_replaced_by_the_first_report() {
        let start = Instant::now();
        let mut stream = StreamClock::new(48_000);
        assert_eq!(
            stream.on_packet(10, 4800, start, false),
            Continuity::Continues
        );
        let fallback = stream.clock().unwrap();
        assert!(!fallback.is_reported());
        assert_eq!(fallback.timestamp_at(start), 4800 + 48 * 50);
        let origin = stream.on_sender_report(9600, 7 * SECOND_NTP, start, None);
        assert_eq!(origin.ntp, 7 * SECOND_NTP);
        let reported = stream.clock().unwrap();
        assert!(reported.is_reported());
        assert_eq!(reported.timestamp_at(start), 9600);
        // The origin stays: a later report that took longer to arrive does not move the line.
        let again = stream.on_sender_report(
            9600 + 48_000,
            8 * SECOND_NTP,
            start + Duration::from_millis(1030),
            Some(origin),
        );
        assert_eq!(again, origin);
        assert_eq!(
            stream
                .clock()
                .unwrap()
                .timestamp_at(start + Duration::from_secs(1)),
            9600 + 48_000
        );
    }

    #[test]
    fn senders_whose_clocks_agree_share_an_origin() {
        let start = Instant::now();
        let first = NtpOrigin {
            ntp: 50 * SECOND_NTP,
            at: start,
        };
        let far = NtpOrigin {
            ntp: 10 * SECOND_NTP,
            at: start,
        };
        // A report read 30 ms late agrees with the first; one 3 s off agrees with none.
        let late = start + Duration::from_millis(1030);
        assert_eq!(
            NtpOrigin::agreeing([far, first], 51 * SECOND_NTP, late),
            Some(first)
        );
        assert_eq!(
            NtpOrigin::agreeing([far, first], 54 * SECOND_NTP, late),
            None
        );
    }

    #[test]
    fn a_restart_takes_two_packets_and_keeps_a_report_sent_ahead_of_them() {
        let start = Instant::now();
        let mut stream = StreamClock::new(90_000);
        for sequence in 100..110u16 {
            stream.on_packet(sequence, 1000, start, false);
        }
        // A repair far behind is no restart, nor is one packet far ahead.
        assert_eq!(stream.on_packet(9, 1, start, true), Continuity::Continues);
        assert_eq!(
            stream.on_packet(40_000, 1, start, false),
            Continuity::Probation
        );
        assert_eq!(
            stream.on_packet(110, 1000, start, false),
            Continuity::Continues
        );
        // The new sender reports first, then sends.
        stream.on_sender_report(
            77_000,
            5 * SECOND_NTP,
            start,
            Some(NtpOrigin {
                ntp: 5 * SECOND_NTP,
                at: start,
            }),
        );
        assert_eq!(
            stream.on_packet(20_000, 77_000, start, false),
            Continuity::Probation
        );
        assert_eq!(
            stream.on_packet(20_001, 77_000, start, false),
            Continuity::Restarted
        );
        let clock = stream.clock().unwrap();
        assert_eq!((clock.epoch(), clock.is_reported()), (1, true));
        // Restarted again without a report: the fallback from the new packets.
        stream.on_packet(30_000, 2_000_000_000, start, false);
        assert_eq!(
            stream.on_packet(30_001, 2_000_000_000, start, false),
            Continuity::Restarted
        );
        let clock = stream.clock().unwrap();
        assert_eq!((clock.epoch(), clock.is_reported()), (2, false));
    }

    proptest! {
        /// Mapping a timestamp to another line and back returns it (within a tick of
        /// rounding per step), reported or not.
        #[test]
        fn mapping_round_trips(
            timestamps in (any::<u32>(), any::<u32>(), -(1i32 << 27)..(1 << 27)),
            rates in (prop::sample::select(vec![8_000u32, 48_000, 90_000]), prop::sample::select(vec![8_000u32, 48_000, 90_000])),
            apart_ms in -100_000i64..100_000,
            reported in any::<bool>(),
        ) {
            let start = Instant::now() + Duration::from_secs(200);
            let at = shift(start, apart_ms * 1_000_000).unwrap();
            let (a, b) = if reported {
                let origin = NtpOrigin { ntp: 1000 * SECOND_NTP, at: start };
                let ntp_b = (1000 * SECOND_NTP).wrapping_add(((apart_ms as i128 * (1i128 << 32)) / 1000) as u64);
                (
                    CaptureClock::from_report(rates.0, timestamps.0, 1000 * SECOND_NTP, origin, 0).unwrap(),
                    CaptureClock::from_report(rates.1, timestamps.1, ntp_b, origin, 0).unwrap(),
                )
            } else {
                (CaptureClock::new(rates.0, timestamps.0, start, 0), CaptureClock::new(rates.1, timestamps.1, at, 0))
            };
            // Within 2^27 ticks of a's anchor (over 20 minutes at 90 kHz): timestamps are
            // only comparable within half their range, whatever the clock rates.
            let timestamp = timestamps.0.wrapping_add(timestamps.2 as u32);
            let there = a.map_to(timestamp, &b);
            let back = b.map_to(there, &a);
            let error = signed(back.wrapping_sub(timestamp)).unsigned_abs();
            // One tick of b's rounding is rates.0 / rates.1 ticks of a's.
            prop_assert!(u64::from(error) <= 1 + u64::from(rates.0 / rates.1), "{} -> {} -> {}", timestamp, there, back);
        }
    }
}
