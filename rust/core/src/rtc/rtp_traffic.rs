//! A transport's RTP traffic by kind (media, RTX), in bytes and in bits per
//! second over the last 2.5 s (mediasoup's window for RTP): mediasoup's `rtpBytesReceived`, `rtxSendBitrate`... of a
//! transport's stats, counted where the router tells media from retransmissions.

use std::time::Instant;

use crate::rtc::rate_meter::RtpRateMeter;

/// Bytes so far and the rate over the last 2.5 s of one kind of traffic.
#[derive(Debug, Clone, Default)]
pub struct Transmission {
    bytes: u64,
    rate: RtpRateMeter,
}

impl Transmission {
    /// Counts `len` bytes going through `now`.
    pub fn record(&mut self, len: usize, now: Instant) {
        self.bytes += len as u64;
        self.rate.record(len, now);
    }

    /// Bytes so far and bits per second over the last 2.5 s, as of `now`.
    pub fn figures(&mut self, now: Instant) -> TransmissionFigures {
        TransmissionFigures {
            bytes: self.bytes,
            bitrate: self.rate.bits_per_second(now),
        }
    }
}

/// What a [`Transmission`] counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TransmissionFigures {
    /// Bytes so far.
    pub bytes: u64,
    /// Bits per second over the last 2.5 s.
    pub bitrate: u64,
}

/// A transport's RTP, both ways.
#[derive(Debug, Clone, Default)]
pub struct RtpTraffic {
    /// Media packets its producers took in (RTX excluded).
    pub rtp_received: Transmission,
    /// RTX packets that reached one of its producers' streams.
    pub rtx_received: Transmission,
    /// Copies its consumers sent.
    pub rtp_sent: Transmission,
    /// Retransmissions its consumers sent (on the RTX stream or, without RTX, as sent).
    pub rtx_sent: Transmission,
}

/// What [`RtpTraffic`] counted, as of one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RtpTrafficFigures {
    /// See [`RtpTraffic::rtp_received`].
    pub rtp_received: TransmissionFigures,
    /// See [`RtpTraffic::rtx_received`].
    pub rtx_received: TransmissionFigures,
    /// See [`RtpTraffic::rtp_sent`].
    pub rtp_sent: TransmissionFigures,
    /// See [`RtpTraffic::rtx_sent`].
    pub rtx_sent: TransmissionFigures,
}

impl RtpTraffic {
    /// The figures as of `now`.
    pub fn figures(&mut self, now: Instant) -> RtpTrafficFigures {
        RtpTrafficFigures {
            rtp_received: self.rtp_received.figures(now),
            rtx_received: self.rtx_received.figures(now),
            rtp_sent: self.rtp_sent.figures(now),
            rtx_sent: self.rtx_sent.figures(now),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bytes_accumulate_and_the_bitrate_forgets_after_its_window() {
        let start = Instant::now();
        let mut traffic = RtpTraffic::default();
        for tenth in 0..30u64 {
            let at = start + Duration::from_millis(tenth * 100);
            traffic.rtp_received.record(1250, at);
            traffic.rtx_sent.record(125, at);
        }
        let figures = traffic.figures(start + Duration::from_millis(2950));
        // 1250 bytes every 100 ms: 100 kbit/s; a tenth of that resent.
        let received = TransmissionFigures {
            bytes: 37_500,
            bitrate: 100_000,
        };
        assert_eq!(figures.rtp_received, received);
        let resent = TransmissionFigures {
            bytes: 3750,
            bitrate: 10_000,
        };
        assert_eq!(figures.rtx_sent, resent);
        assert_eq!(figures.rtp_sent, TransmissionFigures::default());
        let later = traffic.figures(start + Duration::from_secs(6));
        assert_eq!(later.rtp_received.bitrate, 0);
        assert_eq!(later.rtp_received.bytes, 37_500);
    }
}
