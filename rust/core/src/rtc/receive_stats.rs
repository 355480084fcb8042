//! Reception statistics of one incoming RTP stream (RFC 3550 appendix A.1, A.3, A.8): the
//! extended highest sequence number, losses, interarrival jitter and the sender's last SR,
//! which become the report block of the receiver reports sent back to the sender, and the
//! 0-10 score mediasoup gives a stream.

use std::time::Instant;

use crate::packet::rtcp::ReceptionReport;
use crate::rtc::score::Score;

/// Sequence numbers further ahead than this are a restart, not loss (RFC 3550 A.1).
const MAX_DROPOUT: u16 = 3000;
/// Sequence numbers this far behind are old duplicates or reordering.
const MAX_MISORDER: u16 = 100;

/// The statistics.
#[derive(Debug, Clone)]
pub struct ReceiveStats {
    clock_rate: u32,
    started: bool,
    base_sequence: u32,
    max_sequence: u16,
    cycles: u32,
    received: u64,
    expected_prior: u64,
    received_prior: u64,
    /// RFC 3550 A.8 jitter, scaled by 16.
    jitter_q4: u32,
    last_transit: Option<i64>,
    first_arrival: Option<Instant>,
    /// Middle 32 bits of the last SR's NTP time, and when it arrived.
    last_sr: Option<(u32, Instant)>,
    /// Retransmitted packets that filled a gap.
    repaired: u64,
    repaired_prior: u64,
    /// The fraction lost (0-255) of the last report interval.
    fraction_lost: u8,
    score: Score,
}

impl ReceiveStats {
    /// Statistics for a stream with this RTP clock rate.
    pub fn new(clock_rate: u32) -> Self {
        ReceiveStats {
            clock_rate: clock_rate.max(1),
            started: false,
            base_sequence: 0,
            max_sequence: 0,
            cycles: 0,
            received: 0,
            expected_prior: 0,
            received_prior: 0,
            jitter_q4: 0,
            last_transit: None,
            first_arrival: None,
            last_sr: None,
            repaired: 0,
            repaired_prior: 0,
            fraction_lost: 0,
            score: Score::default(),
        }
    }

    /// Records a packet with `sequence` and `timestamp` arriving `now`; `repaired` for a
    /// retransmission (it fills a gap but says nothing of the network's jitter).
    pub fn on_packet(&mut self, sequence: u16, timestamp: u32, now: Instant, repaired: bool) {
        if !self.started {
            self.started = true;
            self.base_sequence = u32::from(sequence);
            self.max_sequence = sequence;
        }
        let delta = sequence.wrapping_sub(self.max_sequence);
        if delta < MAX_DROPOUT {
            if sequence < self.max_sequence {
                self.cycles = self.cycles.wrapping_add(1 << 16);
            }
            self.max_sequence = sequence;
        } else if delta <= u16::MAX - MAX_MISORDER {
            // A big jump: the sender restarted its sequence; start counting anew.
            self.base_sequence = u32::from(sequence);
            self.max_sequence = sequence;
            self.cycles = 0;
            self.received = 0;
            self.expected_prior = 0;
            self.received_prior = 0;
        }
        self.received += 1;
        if repaired {
            self.repaired += 1;
            return;
        }
        let first = *self.first_arrival.get_or_insert(now);
        let arrival =
            now.duration_since(first).as_micros() as i64 * i64::from(self.clock_rate) / 1_000_000;
        let transit = arrival - i64::from(timestamp);
        if let Some(last) = self.last_transit.replace(transit) {
            let d = (transit - last)
                .unsigned_abs()
                .min(u64::from(u32::MAX >> 4)) as u32;
            // J += (|D| - J) / 16, kept scaled by 16.
            self.jitter_q4 = self
                .jitter_q4
                .wrapping_add(d)
                .wrapping_sub((self.jitter_q4 + 8) >> 4);
        }
    }

    /// The sender's SR arrived (`ntp_middle`: the middle 32 bits of its NTP timestamp).
    pub fn on_sender_report(&mut self, ntp_middle: u32, now: Instant) {
        self.last_sr = Some((ntp_middle, now));
    }

    fn extended_max(&self) -> u32 {
        self.cycles.wrapping_add(u32::from(self.max_sequence))
    }

    /// Packets received so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Packets lost so far (expected minus received; negative with duplicates), as the
    /// report block's cumulative count.
    pub fn packets_lost(&self) -> i64 {
        if !self.started {
            return 0;
        }
        let expected = u64::from(self.extended_max().wrapping_sub(self.base_sequence)) + 1;
        expected as i64 - self.received as i64
    }

    /// The fraction lost (0-255) in the last report interval.
    pub fn fraction_lost(&self) -> u8 {
        self.fraction_lost
    }

    /// Interarrival jitter in RTP timestamp units (RFC 3550 A.8).
    pub fn jitter(&self) -> u32 {
        self.jitter_q4 >> 4
    }

    /// The stream's score, 0-10, from the last report interval.
    pub fn score(&self) -> u8 {
        self.score.get()
    }

    /// The report block for `ssrc` as of `now`; starts a new interval (for the fraction
    /// lost and the score). `None` before any packet.
    pub fn report(&mut self, ssrc: u32, now: Instant) -> Option<ReceptionReport> {
        if !self.started {
            return None;
        }
        let expected = u64::from(self.extended_max().wrapping_sub(self.base_sequence)) + 1;
        let lost = self.packets_lost();
        let expected_interval = expected.saturating_sub(self.expected_prior);
        let received_interval = self.received.saturating_sub(self.received_prior);
        let repaired_interval = self.repaired.saturating_sub(self.repaired_prior);
        self.expected_prior = expected;
        self.received_prior = self.received;
        self.repaired_prior = self.repaired;
        let lost_interval = expected_interval as i64 - received_interval as i64;
        let fraction_lost = if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            ((lost_interval << 8) / expected_interval as i64).min(255) as u8
        };
        self.fraction_lost = fraction_lost;
        if expected_interval > 0 {
            // mediasoup's score: the delivered share, to the 4th power, out of 10; packets
            // that only arrived as retransmissions count as half delivered.
            let delivered = received_interval as f64 - repaired_interval as f64 / 2.0;
            self.score.on_interval(delivered, expected_interval as f64);
        }
        let (last_sr, delay_since_last_sr) = match self.last_sr {
            Some((ntp_middle, at)) => {
                let delay = now.duration_since(at).as_secs_f64() * 65536.0;
                (ntp_middle, delay.min(f64::from(u32::MAX)) as u32)
            }
            None => (0, 0),
        };
        Some(ReceptionReport {
            ssrc,
            fraction_lost,
            total_lost: lost.clamp(-(1 << 23), (1 << 23) - 1) as i32,
            highest_sequence: self.extended_max(),
            jitter: self.jitter(),
            last_sr,
            delay_since_last_sr,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn counts_losses_across_a_wrap_and_reports_the_interval_fraction() {
        let mut stats = ReceiveStats::new(90_000);
        let start = Instant::now();
        let mut sent = 0u32;
        // 65530..=65535, 0..=13 with 3 and 7 missing: 20 expected, 18 received.
        for sequence in (65_530u16..=65_535).chain(0..=13) {
            sent += 1;
            if sequence == 3 || sequence == 7 {
                continue;
            }
            stats.on_packet(sequence, sent * 3000, start, false);
        }
        let report = stats.report(42, start).unwrap();
        assert_eq!(report.ssrc, 42);
        assert_eq!(report.highest_sequence, (1 << 16) | 13);
        assert_eq!(report.total_lost, 2);
        assert_eq!(report.fraction_lost, (2 * 256 / 20) as u8);
        assert_eq!(
            (stats.packets_lost(), stats.fraction_lost()),
            (2, report.fraction_lost)
        );
        assert_eq!(stats.score(), 7, "0.9^4 * 10 rounds to 7");
        // A clean interval afterwards scores 10 and reports no new loss.
        for sequence in 14..=40 {
            stats.on_packet(sequence, 0, start, false);
        }
        let report = stats.report(42, start).unwrap();
        assert_eq!((report.fraction_lost, report.total_lost), (0, 2));
        assert_eq!(stats.score(), 9, "weighted toward the clean interval");
    }

    #[test]
    fn the_last_sender_report_is_echoed_with_its_delay() {
        let mut stats = ReceiveStats::new(48_000);
        let start = Instant::now();
        stats.on_packet(1, 0, start, false);
        stats.on_sender_report(0x1234_5678, start);
        let report = stats.report(1, start + Duration::from_millis(500)).unwrap();
        assert_eq!(report.last_sr, 0x1234_5678);
        assert_eq!(report.delay_since_last_sr, 32768);
    }

    #[test]
    fn steady_arrivals_have_no_jitter_and_uneven_ones_do() {
        let start = Instant::now();
        let mut steady = ReceiveStats::new(90_000);
        let mut uneven = ReceiveStats::new(90_000);
        for index in 0..50u16 {
            let timestamp = u32::from(index) * 3000;
            let at = start + Duration::from_micros(u64::from(index) * 33_333);
            steady.on_packet(index, timestamp, at, false);
            let wobble = if index % 2 == 0 { 0 } else { 10_000 };
            uneven.on_packet(index, timestamp, at + Duration::from_micros(wobble), false);
        }
        assert!(steady.report(1, start).unwrap().jitter <= 1);
        assert!(uneven.report(1, start).unwrap().jitter > 500);
        // 10 ms of alternating delay is 900 ticks at 90 kHz between neighbours: the
        // estimate converges toward it.
        assert!(
            (500..=900).contains(&uneven.jitter()),
            "{}",
            uneven.jitter()
        );
    }

    #[test]
    fn a_restarted_sequence_is_not_counted_as_loss() {
        let mut stats = ReceiveStats::new(90_000);
        let start = Instant::now();
        for sequence in 100..110 {
            stats.on_packet(sequence, 0, start, false);
        }
        for sequence in 30_000..30_010 {
            stats.on_packet(sequence, 0, start, false);
        }
        assert_eq!(stats.report(1, start).unwrap().total_lost, 0);
    }
}
