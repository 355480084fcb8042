//! When to ask a producer's sender for a keyframe (a PLI or FIR), as mediasoup's
//! KeyFrameRequestManager does: however many consumers and losses ask, one request is
//! pending at a time; a pending request that brings no keyframe within a second is sent once
//! more and then dropped; and with a `key_frame_request_delay` requests are at most that
//! frequent, a request arriving sooner being sent when the delay ends.

use std::time::{Duration, Instant};

/// How long a request waits for its keyframe before it is retried (once) or dropped.
pub const KEY_FRAME_WAIT: Duration = Duration::from_secs(1);

/// The keyframe request state of one stream.
#[derive(Debug, Default)]
pub struct KeyFrameRequests {
    /// The producer's `key_frame_request_delay`.
    delay: Duration,
    /// When the pending request went out, and whether it was the retry.
    pending: Option<(Instant, bool)>,
    /// When the last request went out.
    last_sent: Option<Instant>,
    /// A request held back by the delay, due then.
    deferred_until: Option<Instant>,
}

impl KeyFrameRequests {
    /// Requests spaced by at least `delay` (zero: no spacing beyond one pending request).
    pub fn new(delay: Duration) -> Self {
        KeyFrameRequests {
            delay,
            ..KeyFrameRequests::default()
        }
    }

    /// Someone needs a keyframe: true when a request must go out now.
    pub fn request(&mut self, now: Instant) -> bool {
        if self.pending.is_some() || self.deferred_until.is_some() {
            return false;
        }
        if let Some(last) = self.last_sent {
            let allowed = last + self.delay;
            if now < allowed {
                self.deferred_until = Some(allowed);
                return false;
            }
        }
        self.sent(now, false);
        true
    }

    /// A keyframe arrived: nothing is pending any more.
    pub fn on_key_frame(&mut self) {
        self.pending = None;
    }

    /// Timers: true when a request must go out now (a deferred request, or the retry of an
    /// unanswered one).
    pub fn due(&mut self, now: Instant) -> bool {
        if let Some((sent, retried)) = self.pending {
            if now < sent + KEY_FRAME_WAIT {
                return false;
            }
            if retried {
                self.pending = None;
            } else {
                self.sent(now, true);
                return true;
            }
        }
        match self.deferred_until {
            Some(until) if until <= now => {
                self.deferred_until = None;
                self.sent(now, false);
                true
            }
            _ => false,
        }
    }

    /// Whether a request is pending or deferred (then [`KeyFrameRequests::next_deadline`]
    /// has a time).
    pub fn has_deadline(&self) -> bool {
        self.pending.is_some() || self.deferred_until.is_some()
    }

    /// When [`KeyFrameRequests::due`] next has something to do.
    pub fn next_deadline(&self) -> Option<Instant> {
        let retry = self.pending.map(|(sent, _)| sent + KEY_FRAME_WAIT);
        retry.into_iter().chain(self.deferred_until).min()
    }

    fn sent(&mut self, now: Instant, retry: bool) {
        self.pending = Some((now, retry));
        self.last_sent = Some(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn one_request_is_pending_and_a_key_frame_ends_it() {
        let start = Instant::now();
        let mut requests = KeyFrameRequests::new(Duration::ZERO);
        assert!(requests.request(start));
        assert!(!requests.request(start + 10 * MS));
        requests.on_key_frame();
        assert!(requests.request(start + 20 * MS));
        assert_eq!(
            requests.next_deadline(),
            Some(start + 20 * MS + KEY_FRAME_WAIT)
        );
        assert!(requests.has_deadline());
    }

    #[test]
    fn an_unanswered_request_is_retried_once_then_dropped() {
        let start = Instant::now();
        let mut requests = KeyFrameRequests::new(Duration::ZERO);
        assert!(requests.request(start));
        assert!(!requests.due(start + 999 * MS));
        assert!(requests.due(start + KEY_FRAME_WAIT));
        assert!(!requests.request(start + KEY_FRAME_WAIT + MS));
        assert!(!requests.due(start + 2 * KEY_FRAME_WAIT));
        assert_eq!(requests.next_deadline(), None);
        assert!(!requests.has_deadline());
        // Dropped: the next need sends a new request.
        assert!(requests.request(start + 2 * KEY_FRAME_WAIT + MS));
    }

    #[test]
    fn with_a_delay_requests_coming_sooner_are_sent_when_it_ends() {
        let start = Instant::now();
        let delay = 3000 * MS;
        let mut requests = KeyFrameRequests::new(delay);
        assert!(requests.request(start));
        requests.on_key_frame();
        assert!(!requests.request(start + 500 * MS));
        assert!(!requests.request(start + 600 * MS));
        assert_eq!(requests.next_deadline(), Some(start + delay));
        assert!(requests.has_deadline(), "deferred");
        assert!(!requests.due(start + 2999 * MS));
        assert!(requests.due(start + delay));
        assert!(!requests.due(start + delay + MS));
    }
}
