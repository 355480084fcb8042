//! Bytes per second over the last second, in ten 100 ms buckets: a stream's bitrate for its
//! stats, without allocating per packet.

use std::time::{Duration, Instant};

const BUCKETS: usize = 10;
const BUCKET: Duration = Duration::from_millis(100);

/// A sliding one-second byte counter.
#[derive(Debug, Clone, Default)]
pub struct RateMeter {
    buckets: [u64; BUCKETS],
    /// When the current bucket started, and its index.
    current: Option<(Instant, usize)>,
}

impl RateMeter {
    /// Moves the window to `now`, emptying the buckets it left behind.
    fn advance(&mut self, now: Instant) {
        let Some((started, index)) = self.current else {
            self.current = Some((now, 0));
            return;
        };
        let elapsed = now.saturating_duration_since(started);
        let steps = (elapsed.as_millis() / BUCKET.as_millis()) as usize;
        if steps == 0 {
            return;
        }
        for step in 1..=steps.min(BUCKETS) {
            self.buckets[(index + step) % BUCKETS] = 0;
        }
        self.current = Some((started + BUCKET * steps as u32, (index + steps) % BUCKETS));
    }

    /// Counts `bytes` arriving `now`.
    pub fn record(&mut self, bytes: usize, now: Instant) {
        self.advance(now);
        if let Some((_, index)) = self.current {
            self.buckets[index] += bytes as u64;
        }
    }

    /// Bits per second over the last second.
    pub fn bits_per_second(&mut self, now: Instant) -> u64 {
        self.advance(now);
        self.buckets.iter().sum::<u64>() * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_the_last_second_only() {
        let start = Instant::now();
        let mut meter = RateMeter::default();
        for tenth in 0..10u32 {
            meter.record(1000, start + BUCKET * tenth);
        }
        assert_eq!(meter.bits_per_second(start + BUCKET * 9), 80_000);
        // Half a second later, half of it has left the window.
        assert_eq!(meter.bits_per_second(start + BUCKET * 14), 40_000);
        assert_eq!(meter.bits_per_second(start + Duration::from_secs(5)), 0);
    }
}
