//! Transport-wide congestion control feedback (draft-holmer-rmcat-transport-wide-cc-
//! extensions-01): the arrival time of every packet an endpoint sent on a transport, by its
//! transport-wide sequence number, reported back every 100 ms. Senders such as Chrome
//! estimate their available bandwidth from it; without it their video stays at the start
//! bitrate.

use std::time::{Duration, Instant};

use crate::packet::rtcp::TransportCc;

/// How often feedback goes back (libwebrtc's default).
pub const FEEDBACK_INTERVAL: Duration = Duration::from_millis(100);
/// Packets one feedback covers at most; a larger jump starts a new run.
const MAX_PACKETS: usize = 2000;

/// Arrivals on one transport since the last feedback.
#[derive(Debug)]
pub struct TransportCcFeedback {
    epoch: Instant,
    base_sequence: Option<u16>,
    arrivals_us: Vec<Option<i64>>,
    feedback_count: u8,
    media_ssrc: u32,
    /// The share of packets missing from the feedbacks sent, smoothed over about the last
    /// second of them (ten); `None` before the first.
    packet_loss: Option<f64>,
}

/// How much one feedback's loss moves [`TransportCcFeedback::packet_loss`].
const LOSS_SMOOTHING: f64 = 0.1;

impl TransportCcFeedback {
    /// A recorder whose arrival times count from `epoch`.
    pub fn new(epoch: Instant) -> Self {
        TransportCcFeedback {
            epoch,
            base_sequence: None,
            arrivals_us: Vec::with_capacity(MAX_PACKETS),
            feedback_count: 0,
            media_ssrc: 0,
            packet_loss: None,
        }
    }

    /// Records that the packet with transport-wide `sequence` (of the stream `media_ssrc`)
    /// arrived `now`.
    pub fn on_packet(&mut self, sequence: u16, media_ssrc: u32, now: Instant) {
        let base = *self.base_sequence.get_or_insert(sequence);
        let offset = usize::from(sequence.wrapping_sub(base));
        if offset >= 0x8000 {
            // Older than what was already reported: too late to tell.
            return;
        }
        if offset >= MAX_PACKETS {
            self.base_sequence = Some(sequence);
            self.arrivals_us.clear();
            return self.on_packet(sequence, media_ssrc, now);
        }
        if self.arrivals_us.len() <= offset {
            self.arrivals_us.resize(offset + 1, None);
        }
        self.arrivals_us[offset] = Some(now.duration_since(self.epoch).as_micros() as i64);
        self.media_ssrc = media_ssrc;
    }

    /// The share (0-1) of the endpoint's packets that did not arrive, by the transport-wide
    /// numbers reported so far (mediasoup's `rtpPacketLossReceived`).
    pub fn packet_loss(&self) -> Option<f64> {
        self.packet_loss
    }

    /// Whether arrivals wait to be reported.
    pub fn is_pending(&self) -> bool {
        !self.arrivals_us.is_empty()
    }

    /// The feedback for everything recorded since the last one (`sender_ssrc`: ours);
    /// `None` when there is nothing to report.
    pub fn feedback(&mut self, sender_ssrc: u32) -> Option<TransportCc> {
        let base = self.base_sequence?;
        if self.arrivals_us.is_empty() {
            return None;
        }
        let built = TransportCc::from_arrivals(
            sender_ssrc,
            self.media_ssrc,
            self.feedback_count,
            base,
            &self.arrivals_us,
        );
        let missing = self.arrivals_us.iter().filter(|at| at.is_none()).count();
        let loss = missing as f64 / self.arrivals_us.len() as f64;
        self.packet_loss = Some(match self.packet_loss {
            Some(smoothed) => smoothed + (loss - smoothed) * LOSS_SMOOTHING,
            None => loss,
        });
        self.base_sequence = Some(base.wrapping_add(self.arrivals_us.len() as u16));
        self.arrivals_us.clear();
        self.feedback_count = self.feedback_count.wrapping_add(1);
        // Arrivals too far apart for one message (over 8 s between packets) are dropped;
        // the sender treats them as lost and the next feedback starts afresh.
        built.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrivals_and_gaps_are_reported_once_then_continue_from_there() {
        let epoch = Instant::now();
        let mut recorder = TransportCcFeedback::new(epoch);
        for (sequence, at_ms) in [(100u16, 10u64), (101, 12), (103, 20)] {
            recorder.on_packet(sequence, 7, epoch + Duration::from_millis(at_ms));
        }
        assert!(recorder.is_pending());
        let feedback = recorder.feedback(1).unwrap();
        assert_eq!((feedback.base_sequence, feedback.media_ssrc), (100, 7));
        let arrivals: Vec<_> = feedback.arrival_times_us().collect();
        assert_eq!(
            arrivals,
            [
                (100, Some(10_000)),
                (101, Some(12_000)),
                (102, None),
                (103, Some(20_000))
            ]
        );
        assert_eq!(recorder.packet_loss(), Some(0.25), "one of four missing");
        assert!(!recorder.is_pending());
        assert_eq!(recorder.feedback(1), None);
        recorder.on_packet(104, 7, epoch + Duration::from_millis(30));
        let next = recorder.feedback(1).unwrap();
        assert_eq!((next.base_sequence, next.feedback_count), (104, 1));
        // A late packet from the first run is not reported again.
        recorder.on_packet(102, 7, epoch + Duration::from_millis(31));
        assert!(!recorder.is_pending());
    }
}
