//! What the receiver accumulates: a one-way latency histogram and, per RTP stream, sequence
//! gaps and reordering.

/// Latency buckets of 1 µs up to this many µs; longer latencies land in the last bucket.
const HISTOGRAM_MICROS: usize = 200_000;

/// One-way latencies in 1 µs buckets, so percentiles cost nothing per packet and are exact
/// to the microsecond below 200 ms.
pub struct LatencyHistogram {
    buckets: Vec<u32>,
    count: u64,
    max_micros: u64,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        LatencyHistogram {
            buckets: vec![0; HISTOGRAM_MICROS + 1],
            count: 0,
            max_micros: 0,
        }
    }
}

impl LatencyHistogram {
    pub fn record(&mut self, micros: u64) {
        let bucket = (micros as usize).min(HISTOGRAM_MICROS);
        self.buckets[bucket] = self.buckets[bucket].saturating_add(1);
        self.count += 1;
        self.max_micros = self.max_micros.max(micros);
    }

    /// Adds `other`'s samples (another thread's).
    pub fn merge(&mut self, other: &LatencyHistogram) {
        for (bucket, &samples) in self.buckets.iter_mut().zip(&other.buckets) {
            *bucket = bucket.saturating_add(samples);
        }
        self.count += other.count;
        self.max_micros = self.max_micros.max(other.max_micros);
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn max_micros(&self) -> u64 {
        self.max_micros
    }

    /// The smallest latency that at least `quantile` (0..=1) of the samples do not exceed
    /// (the nearest-rank percentile); `None` without samples.
    pub fn percentile(&self, quantile: f64) -> Option<u64> {
        if self.count == 0 {
            return None;
        }
        let rank = ((quantile * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut seen = 0u64;
        for (micros, &samples) in self.buckets.iter().enumerate() {
            seen += u64::from(samples);
            if seen >= rank {
                return Some(micros as u64);
            }
        }
        Some(self.max_micros)
    }
}

/// Sequence accounting of one RTP stream as it arrives.
#[derive(Default)]
pub struct SequenceTracker {
    /// The highest sequence number seen, extended past 16-bit wrap-around.
    highest: Option<u64>,
    /// Sequence numbers skipped over when a packet arrived ahead of the next expected one.
    pub gaps: u64,
    /// Packets that arrived after a higher sequence number (late or duplicated).
    pub reordered: u64,
}

impl SequenceTracker {
    pub fn observe(&mut self, sequence: u16) {
        let Some(highest) = self.highest else {
            self.highest = Some(u64::from(sequence));
            return;
        };
        // The signed 16-bit distance from the highest seen: RTP's wrap-around arithmetic.
        let delta = i64::from(sequence.wrapping_sub(highest as u16) as i16);
        if delta > 0 {
            self.gaps += (delta - 1) as u64;
            self.highest = Some(highest + delta as u64);
        } else {
            self.reordered += 1;
        }
    }

    /// Sequence numbers skipped and never filled in later: an estimate of packets lost.
    pub fn lost(&self) -> u64 {
        self.gaps.saturating_sub(self.reordered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut histogram = LatencyHistogram::default();
        assert_eq!(histogram.percentile(0.5), None);
        for micros in 1..=1000 {
            histogram.record(micros);
        }
        assert_eq!(histogram.percentile(0.5), Some(500));
        assert_eq!(histogram.percentile(0.99), Some(990));
        assert_eq!(histogram.percentile(0.999), Some(999));
        assert_eq!(histogram.percentile(1.0), Some(1000));
        assert_eq!(histogram.percentile(0.0), Some(1));
        assert_eq!(histogram.count(), 1000);
    }

    #[test]
    fn one_slow_packet_in_a_thousand_is_the_p999() {
        let mut histogram = LatencyHistogram::default();
        for _ in 0..999 {
            histogram.record(300);
        }
        histogram.record(5000);
        assert_eq!(histogram.percentile(0.99), Some(300));
        assert_eq!(histogram.percentile(0.999), Some(300));
        assert_eq!(histogram.percentile(1.0), Some(5000));
        assert_eq!(histogram.max_micros(), 5000);
    }

    #[test]
    fn latencies_past_the_histogram_count_in_its_last_bucket() {
        let mut histogram = LatencyHistogram::default();
        histogram.record(10_000_000);
        assert_eq!(histogram.percentile(0.5), Some(HISTOGRAM_MICROS as u64));
        assert_eq!(histogram.max_micros(), 10_000_000);
    }

    #[test]
    fn in_order_packets_leave_no_gaps() {
        let mut tracker = SequenceTracker::default();
        for sequence in 65_000u16..=65_535 {
            tracker.observe(sequence);
        }
        for sequence in 0u16..100 {
            tracker.observe(sequence);
        }
        assert_eq!((tracker.gaps, tracker.reordered, tracker.lost()), (0, 0, 0));
    }

    #[test]
    fn a_skip_counts_the_missing_numbers_across_wrap_around() {
        let mut tracker = SequenceTracker::default();
        tracker.observe(65_534);
        tracker.observe(2);
        assert_eq!((tracker.gaps, tracker.reordered, tracker.lost()), (3, 0, 3));
    }

    #[test]
    fn a_late_packet_is_reordered_and_fills_its_gap() {
        let mut tracker = SequenceTracker::default();
        for sequence in [10, 11, 13, 12, 14] {
            tracker.observe(sequence);
        }
        assert_eq!((tracker.gaps, tracker.reordered, tracker.lost()), (1, 1, 0));
    }

    #[test]
    fn a_duplicate_is_reordered() {
        let mut tracker = SequenceTracker::default();
        for sequence in [5, 6, 6, 7] {
            tracker.observe(sequence);
        }
        assert_eq!((tracker.gaps, tracker.reordered), (0, 1));
    }
}
