//! A stream's 0-10 score as mediasoup keeps it: each report interval scores the delivered
//! share of packets to the 4th power, and the score shown is the average of the last
//! intervals' scores weighted toward the newest, so one bad second dents it and a few good
//! ones restore it.

use std::collections::VecDeque;

/// Interval scores remembered.
const HISTORY: usize = 24;

/// The weighted score of a stream.
#[derive(Debug, Clone)]
pub struct Score {
    /// Oldest first; the interval at position `i` weighs `i + 1`.
    intervals: VecDeque<u8>,
    /// The intervals' scores summed, and summed by weight: kept as intervals come and go
    /// instead of summed again at each report.
    sum: u32,
    weighted_sum: u32,
    current: u8,
}

impl Default for Score {
    fn default() -> Self {
        Score {
            intervals: VecDeque::with_capacity(HISTORY),
            sum: 0,
            weighted_sum: 0,
            current: 10,
        }
    }
}

impl Score {
    /// The score, 0-10.
    pub fn get(&self) -> u8 {
        self.current
    }

    /// One interval in which `delivered` of `expected` packets arrived.
    pub fn on_interval(&mut self, delivered: f64, expected: f64) {
        if expected <= 0.0 {
            return;
        }
        let ratio = (delivered / expected).clamp(0.0, 1.0);
        let interval = (ratio.powi(4) * 10.0).round() as u8;
        if self.intervals.len() == HISTORY {
            // Every remaining interval moves one weight down.
            let oldest = self.intervals.pop_front().map_or(0, u32::from);
            self.weighted_sum -= self.sum;
            self.sum -= oldest;
        }
        self.intervals.push_back(interval);
        self.sum += u32::from(interval);
        let count = self.intervals.len() as u32;
        self.weighted_sum += u32::from(interval) * count;
        let (weighted, weights) = (self.weighted_sum, count * (count + 1) / 2);
        self.current = (f64::from(weighted) / f64::from(weights)).round() as u8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_bad_interval_dents_the_score_and_good_ones_restore_it() {
        let mut score = Score::default();
        assert_eq!(score.get(), 10);
        score.on_interval(90.0, 100.0);
        assert_eq!(score.get(), 7, "0.9^4 * 10 rounds to 7");
        score.on_interval(100.0, 100.0);
        assert_eq!(score.get(), 9, "(7 * 1 + 10 * 2) / 3");
        for _ in 0..5 {
            score.on_interval(100.0, 100.0);
        }
        assert_eq!(score.get(), 10);
        score.on_interval(1.0, 0.0);
        assert_eq!(score.get(), 10, "an empty interval changes nothing");
    }

    #[test]
    fn the_kept_sums_give_the_weighted_average_of_the_history() {
        let mut score = Score::default();
        for round in 0..100u32 {
            let delivered = f64::from((round * 37) % 101);
            score.on_interval(delivered, 100.0);
            let (weighted, weights) = score.intervals.iter().zip(1u32..).fold(
                (0, 0),
                |(sum, weights), (interval, weight)| {
                    (sum + u32::from(*interval) * weight, weights + weight)
                },
            );
            let expected = (f64::from(weighted) / f64::from(weights)).round() as u8;
            assert_eq!(score.get(), expected, "round {round}");
        }
    }
}
