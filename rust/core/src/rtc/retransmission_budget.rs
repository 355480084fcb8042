//! How many retransmissions a consumer may send: a token bucket, so that an endpoint that
//! NACKs everything cannot make the SFU resend without bound (to itself or, with a spoofed
//! feedback path closed by ICE anyway, to anyone), while honest loss repair of a few percent
//! of a stream always fits.

use std::time::Instant;

/// Retransmissions per second a consumer may send in the long run.
pub const RETRANSMISSIONS_PER_SECOND: f64 = 500.0;
/// And in a burst (a lost keyframe is a few dozen packets).
pub const RETRANSMISSION_BURST: f64 = 250.0;

/// A consumer's retransmission allowance.
#[derive(Debug, Clone)]
pub struct RetransmissionBudget {
    tokens: f64,
    refilled_at: Option<Instant>,
}

impl Default for RetransmissionBudget {
    fn default() -> Self {
        RetransmissionBudget {
            tokens: RETRANSMISSION_BURST,
            refilled_at: None,
        }
    }
}

impl RetransmissionBudget {
    /// Whether one more retransmission may go out now (and takes it from the budget).
    pub fn allow(&mut self, now: Instant) -> bool {
        if let Some(last) = self.refilled_at {
            let elapsed = now.saturating_duration_since(last).as_secs_f64();
            self.tokens =
                (self.tokens + elapsed * RETRANSMISSIONS_PER_SECOND).min(RETRANSMISSION_BURST);
        }
        self.refilled_at = Some(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
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
        let mut budget = RetransmissionBudget::default();
        let burst = (0..10_000).filter(|_| budget.allow(start)).count();
        assert_eq!(burst, RETRANSMISSION_BURST as usize);
        // A second of storm later: the rate's worth, capped at the burst.
        let later = start + Duration::from_millis(200);
        let refilled = (0..10_000).filter(|_| budget.allow(later)).count();
        assert_eq!(refilled, (0.2 * RETRANSMISSIONS_PER_SECOND) as usize);
    }

    #[test]
    fn honest_repair_always_fits() {
        let start = Instant::now();
        let mut budget = RetransmissionBudget::default();
        // 5% of a 2000 packets/s stream, for a minute.
        for tenth in 0..600 {
            let now = start + Duration::from_millis(100 * tenth);
            assert!((0..10).all(|_| budget.allow(now)));
        }
    }
}
