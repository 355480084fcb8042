//! Loss detection on an incoming stream and the NACKs that ask its sender to resend
//! (RFC 4585 generic NACK), with mediasoup's limits: each missing packet is asked for right
//! away, then again each round-trip time, at most ten times; a gap too large to repair is
//! given up on in favour of a keyframe.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Missing packets tracked at most; beyond that a keyframe is cheaper than repair.
pub const MAX_MISSING: usize = 1000;
/// Requests per missing packet (mediasoup's limit).
pub const MAX_RETRIES: u8 = 10;
/// Spacing of repeated requests when the round-trip time is not known.
pub const DEFAULT_RTT: Duration = Duration::from_millis(100);
/// Shortest spacing of repeated requests.
const MIN_RETRY_INTERVAL: Duration = Duration::from_millis(20);

#[derive(Debug, Clone, Copy)]
struct Missing {
    sequence: u16,
    requests: u8,
    next_request: Instant,
}

/// What a packet told the generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// In order (or a duplicate).
    InOrder,
    /// It filled a gap: a repair.
    Recovered,
    /// The gap before it is too large to repair: ask for a keyframe instead.
    KeyFrameNeeded,
}

/// The generator of one stream.
#[derive(Debug)]
pub struct NackGenerator {
    highest: Option<u16>,
    missing: VecDeque<Missing>,
    /// Packets given up on after the last request.
    pub abandoned: u64,
}

impl Default for NackGenerator {
    fn default() -> Self {
        NackGenerator {
            highest: None,
            missing: VecDeque::with_capacity(MAX_MISSING),
            abandoned: 0,
        }
    }
}

impl NackGenerator {
    /// Records the arrival of `sequence`.
    pub fn on_packet(&mut self, sequence: u16, now: Instant) -> Arrival {
        let Some(highest) = self.highest else {
            self.highest = Some(sequence);
            return Arrival::InOrder;
        };
        let ahead = sequence.wrapping_sub(highest);
        if ahead == 0 {
            return Arrival::InOrder;
        }
        if ahead >= 0x8000 {
            // Older than the highest: a retransmission or a reordered packet.
            return match self.missing.iter().position(|m| m.sequence == sequence) {
                Some(index) => {
                    self.missing.remove(index);
                    Arrival::Recovered
                }
                None => Arrival::InOrder,
            };
        }
        self.highest = Some(sequence);
        let gap = usize::from(ahead - 1);
        if self.missing.len() + gap > MAX_MISSING {
            self.abandoned += (self.missing.len() + gap) as u64;
            self.missing.clear();
            return Arrival::KeyFrameNeeded;
        }
        for offset in 1..ahead {
            self.missing.push_back(Missing {
                sequence: highest.wrapping_add(offset),
                requests: 0,
                next_request: now,
            });
        }
        Arrival::InOrder
    }

    /// Appends to `lost` the packets to ask for now, and schedules their next request one
    /// round trip later; packets asked for too often are given up on. Returns true when a
    /// packet was given up on (the receiver will need a keyframe).
    pub fn due(&mut self, now: Instant, rtt: Option<Duration>, lost: &mut Vec<u16>) -> bool {
        let interval = rtt.unwrap_or(DEFAULT_RTT).max(MIN_RETRY_INTERVAL);
        let before = self.missing.len();
        self.missing.retain_mut(|missing| {
            if missing.next_request > now {
                return true;
            }
            if missing.requests >= MAX_RETRIES {
                return false;
            }
            missing.requests += 1;
            missing.next_request = now + interval;
            lost.push(missing.sequence);
            true
        });
        let given_up = before - self.missing.len();
        self.abandoned += given_up as u64;
        given_up > 0
    }

    /// Whether some packet is still missing (then [`NackGenerator::next_deadline`] has a
    /// time).
    pub fn has_deadline(&self) -> bool {
        !self.missing.is_empty()
    }

    /// When [`NackGenerator::due`] next has something to do.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.missing
            .iter()
            .map(|missing| missing.next_request)
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_are_asked_for_at_once_then_each_rtt_until_repaired() {
        let mut generator = NackGenerator::default();
        let start = Instant::now();
        for sequence in [65_533u16, 65_534, 1, 2] {
            assert_eq!(generator.on_packet(sequence, start), Arrival::InOrder);
        }
        let mut lost = Vec::new();
        generator.due(start, None, &mut lost);
        assert_eq!(lost, [65_535, 0], "the gap across the wrap");
        lost.clear();
        generator.due(start + Duration::from_millis(50), None, &mut lost);
        assert!(lost.is_empty(), "not again before a round trip");
        assert_eq!(generator.on_packet(0, start), Arrival::Recovered);
        generator.due(start + DEFAULT_RTT, None, &mut lost);
        assert_eq!(lost, [65_535]);
        assert_eq!(
            generator.next_deadline(),
            Some(start + DEFAULT_RTT + DEFAULT_RTT)
        );
        assert!(generator.has_deadline());
    }

    #[test]
    fn a_packet_is_asked_for_ten_times_then_given_up() {
        let mut generator = NackGenerator::default();
        let mut now = Instant::now();
        generator.on_packet(1, now);
        generator.on_packet(3, now);
        let mut requests = 0;
        let mut gave_up = false;
        for _ in 0..20 {
            let mut lost = Vec::new();
            gave_up |= generator.due(now, Some(Duration::from_millis(30)), &mut lost);
            requests += lost.len();
            now += Duration::from_millis(30);
        }
        assert_eq!(requests, usize::from(MAX_RETRIES));
        assert!(gave_up);
        assert_eq!(generator.abandoned, 1);
        assert_eq!(generator.next_deadline(), None);
        assert!(!generator.has_deadline());
    }

    #[test]
    fn a_huge_gap_asks_for_a_keyframe_instead() {
        let mut generator = NackGenerator::default();
        let now = Instant::now();
        generator.on_packet(0, now);
        assert_eq!(generator.on_packet(5000, now), Arrival::KeyFrameNeeded);
        assert_eq!(generator.next_deadline(), None);
        assert_eq!(generator.on_packet(5001, now), Arrival::InOrder);
    }
}
