//! Bytes per second over a sliding window of 100 ms buckets: a stream's or transport's
//! bitrate for its stats, without allocating per packet. mediasoup averages RTP rates
//! (streams, and a transport's RTP, RTX and probation) over 2.5 s and a transport's
//! datagrams over 1 s; [`RtpRateMeter`] and [`RateMeter`] are those two windows.

use std::time::{Duration, Instant};

const BUCKET: Duration = Duration::from_millis(100);

/// A sliding byte counter over `BUCKETS` tenths of a second (one second by default).
#[derive(Debug, Clone)]
pub struct RateMeter<const BUCKETS: usize = 10> {
    buckets: [u64; BUCKETS],
    /// The current bucket's index and when it ends: a byte counted before then needs only
    /// a comparison (this runs for every packet and every copy).
    current: Option<(usize, Instant)>,
}

/// Over 2.5 s, as mediasoup's RTP counters.
pub type RtpRateMeter = RateMeter<25>;

impl<const BUCKETS: usize> Default for RateMeter<BUCKETS> {
    fn default() -> Self {
        RateMeter {
            buckets: [0; BUCKETS],
            current: None,
        }
    }
}

impl<const BUCKETS: usize> RateMeter<BUCKETS> {
    /// Moves the window to `now`, emptying the buckets it left behind.
    #[inline]
    fn advance(&mut self, now: Instant) {
        match self.current {
            Some((_, ends)) if now < ends => {}
            _ => self.move_window(now),
        }
    }

    #[cold]
    fn move_window(&mut self, now: Instant) {
        let Some((index, ends)) = self.current else {
            self.current = Some((0, now + BUCKET));
            return;
        };
        let steps = 1 + (now.duration_since(ends).as_nanos() / BUCKET.as_nanos()) as usize;
        if steps >= BUCKETS {
            // The whole window has passed.
            self.buckets = [0; BUCKETS];
            self.current = Some((0, now + BUCKET));
            return;
        }
        for step in 1..=steps {
            self.buckets[(index + step) % BUCKETS] = 0;
        }
        self.current = Some(((index + steps) % BUCKETS, ends + BUCKET * steps as u32));
    }

    /// Counts `bytes` arriving `now`.
    #[inline]
    pub fn record(&mut self, bytes: usize, now: Instant) {
        self.advance(now);
        if let Some((index, _)) = self.current {
            self.buckets[index] += bytes as u64;
        }
    }

    /// Bits per second over the window.
    pub fn bits_per_second(&mut self, now: Instant) -> u64 {
        self.advance(now);
        // Bytes over BUCKETS tenths of a second, as bits per second.
        self.buckets.iter().sum::<u64>() * 80 / BUCKETS as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_the_last_second_only() {
        let start = Instant::now();
        let mut meter = RateMeter::<10>::default();
        for tenth in 0..10u32 {
            meter.record(1000, start + BUCKET * tenth);
        }
        assert_eq!(meter.bits_per_second(start + BUCKET * 9), 80_000);
        // Half a second later, half of it has left the window.
        assert_eq!(meter.bits_per_second(start + BUCKET * 14), 40_000);
        assert_eq!(meter.bits_per_second(start + Duration::from_secs(5)), 0);
    }

    #[test]
    fn the_rtp_window_averages_over_two_and_a_half_seconds() {
        let start = Instant::now();
        let mut meter = RtpRateMeter::default();
        // 1000 bytes every 100 ms for 3 s: 80 kbps however long the window.
        for tenth in 0..30u32 {
            meter.record(1000, start + BUCKET * tenth);
        }
        assert_eq!(meter.bits_per_second(start + BUCKET * 29), 80_000);
        // A burst of 25,000 bytes more within one tenth moves the 2.5 s average by 80 kbps,
        // where a one-second window would move by 200 kbps.
        meter.record(25_000, start + BUCKET * 29);
        assert_eq!(meter.bits_per_second(start + BUCKET * 29), 160_000);
    }
}
