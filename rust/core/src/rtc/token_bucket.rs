//! A token bucket: an allowance that refills at a steady rate up to a burst. It bounds what
//! an endpoint can make the SFU do or forward per second (retransmissions a consumer sends,
//! bytes a transport's producers forward) while honest traffic, bursty as it is, always fits.

use std::time::Instant;

/// An allowance of `rate` per second, at most `burst` at once.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    refilled_at: Option<Instant>,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(rate: f64, burst: f64) -> Self {
        TokenBucket {
            rate,
            burst,
            tokens: burst,
            refilled_at: None,
        }
    }

    /// Whether `amount` fits in the allowance now (and takes it if so).
    pub fn take(&mut self, amount: f64, now: Instant) -> bool {
        if let Some(last) = self.refilled_at {
            let elapsed = now.saturating_duration_since(last).as_secs_f64();
            self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        }
        self.refilled_at = Some(now);
        if self.tokens >= amount {
            self.tokens -= amount;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_storm_gets_the_burst_then_the_rate() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(500.0, 250.0);
        let burst = (0..10_000).filter(|_| bucket.take(1.0, start)).count();
        assert_eq!(burst, 250);
        let later = start + Duration::from_millis(200);
        let refilled = (0..10_000).filter(|_| bucket.take(1.0, later)).count();
        assert_eq!(refilled, 100);
    }

    #[test]
    fn a_steady_flow_below_the_rate_always_fits() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(500.0, 250.0);
        // 450 per second for a minute, in tenths of a second.
        for tenth in 0..600 {
            let now = start + Duration::from_millis(100 * tenth);
            assert!((0..45).all(|_| bucket.take(1.0, now)));
        }
    }

    #[test]
    fn amounts_larger_than_one_token_are_taken_whole() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(1000.0, 1500.0);
        assert!(bucket.take(1200.0, start));
        assert!(!bucket.take(1200.0, start));
        // Half a second refills 500: 800 in all, still short of 1200.
        assert!(!bucket.take(1200.0, start + Duration::from_millis(500)));
        assert!(bucket.take(1200.0, start + Duration::from_millis(900)));
    }
}
