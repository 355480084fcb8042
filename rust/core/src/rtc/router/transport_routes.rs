//! What a router keeps per transport, in one place: how incoming packets find their producer
//! stream, how RTCP about its consumers finds them, the feedback its endpoint gets about what
//! it sends (transport-cc, REMB), what the transport can send its endpoint and how that is
//! shared, and the application's bitrate bounds. Removing a transport is dropping this.

use std::time::Instant;

use super::arena::{ConsumerIndex, ProducerIndex};
use super::rtp_listener::RtpListener;
use super::TransportKey;
use crate::id_hash::IdHashMap;
use crate::packet::rtp::RtpPacket;
use crate::rtc::bandwidth_allocation::UpgradeTrials;
use crate::rtc::ids::Ssrc;
use crate::rtc::remote_bitrate_estimator::RemoteBitrateEstimator;
use crate::rtc::rtp_traffic::{RtpTraffic, RtpTrafficFigures};
use crate::rtc::send_side_bandwidth_estimator::SendSideBandwidthEstimator;
use crate::rtc::token_bucket::TokenBucket;
use crate::rtc::transport_cc_feedback::TransportCcFeedback;

/// Retransmissions may take up to 1/this of a transport's estimate.
const RETRANSMISSION_SHARE_DIVISOR: u64 = 2;

/// What a transport's producers may forward above its `max_incoming_bitrate`, as a factor:
/// honest senders overshoot for a moment (a keyframe, the second before our REMB reaches
/// them); one that goes on ignoring the ceiling is cut back to it.
const POLICING_TOLERANCE: f64 = 1.5;
/// How long a burst at the tolerated rate fits before packets are dropped (a keyframe at a
/// low ceiling is most of a second of it).
const POLICING_BURST_SECONDS: f64 = 2.0;

/// The application's ceiling on what a transport's endpoint sends, and its enforcement.
#[derive(Debug)]
pub struct IncomingLimit {
    /// Bits per second.
    pub bitrate: u64,
    /// Bytes of RTP the endpoint's producers may forward.
    allowance: TokenBucket,
}

impl IncomingLimit {
    fn new(bitrate: u64) -> Self {
        let bytes_per_second = bitrate as f64 / 8.0 * POLICING_TOLERANCE;
        IncomingLimit {
            bitrate,
            allowance: TokenBucket::new(
                bytes_per_second,
                bytes_per_second * POLICING_BURST_SECONDS,
            ),
        }
    }
}

/// What the endpoint learns about what it sends us.
#[derive(Debug, Default)]
pub struct ReceiveFeedback {
    /// Its transport-wide sequence number extension id (from its producers that negotiated
    /// transport-cc), and the arrivals to report.
    pub transport_cc: Option<(u8, TransportCcFeedback)>,
    /// Our estimate of its bandwidth, for REMB, with its abs-send-time extension id (from
    /// its producers that negotiated REMB).
    pub remb: Option<(u8, RemoteBitrateEstimator)>,
}

/// What a transport can send its endpoint, and how that is shared among its consumers.
#[derive(Debug)]
pub struct SendBandwidth {
    /// From the endpoint's transport-cc feedback or REMB.
    pub estimator: SendSideBandwidthEstimator,
    /// One step more, tried when the path seems to allow it.
    pub trials: UpgradeTrials,
}

impl SendBandwidth {
    fn new(now: Instant) -> Self {
        SendBandwidth {
            estimator: SendSideBandwidthEstimator::new(now),
            trials: UpgradeTrials::new(now),
        }
    }
}

/// What a transport's routing knows for its stats (mediasoup's field in brackets).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TransportFigures {
    /// What it can send its endpoint, bits per second (`availableOutgoingBitrate`).
    pub available_outgoing_bitrate: Option<u64>,
    /// Our estimate of what the endpoint can send us, from its packets' send times, once
    /// measured (`availableIncomingBitrate`).
    pub available_incoming_bitrate: Option<u64>,
    /// The application's ceiling on what the endpoint sends (`maxIncomingBitrate`).
    pub max_incoming_bitrate: Option<u64>,
    /// The application's (min, max) for what its consumers are allocated
    /// (`minOutgoingBitrate`, `maxOutgoingBitrate`).
    pub outgoing_bounds: Option<(u64, u64)>,
    /// RTP packets dropped for going over the ceiling.
    pub rtp_packets_over_max_incoming: u64,
    /// Share of the endpoint's packets missing from our transport-cc feedback
    /// (`rtpPacketLossReceived`).
    pub rtp_packet_loss_received: Option<f64>,
    /// Share of our packets the endpoint's feedback reported lost (`rtpPacketLossSent`).
    pub rtp_packet_loss_sent: Option<f64>,
    /// RTP by kind, both ways (`rtpBytesReceived`, `rtxSendBitrate`...).
    pub traffic: RtpTrafficFigures,
}

/// One transport's routing state.
#[derive(Debug)]
pub struct TransportRoutes {
    /// How the caller names it when the router sends on it.
    pub key: TransportKey,
    /// Which producer stream incoming RTP belongs to.
    pub listener: RtpListener,
    /// Its producers.
    pub producers: Vec<ProducerIndex>,
    /// Its consumers, by the SSRC their endpoint receives them on (what RTCP feedback about
    /// them names).
    pub consumers: IdHashMap<Ssrc, ConsumerIndex>,
    /// Feedback about what the endpoint sends.
    pub receive_feedback: ReceiveFeedback,
    /// The transport-wide sequence number of the next packet sent to the endpoint (each
    /// transport numbers what it sends: the endpoint's feedback refers to those numbers).
    pub next_transport_sequence: u16,
    /// What it can send its endpoint, once there is anything to know.
    pub send_bandwidth: Option<SendBandwidth>,
    /// The application's (min, max) for what its consumers are allocated.
    pub outgoing_bounds: Option<(u64, u64)>,
    /// The application's ceiling on what the endpoint sends.
    pub max_incoming: Option<IncomingLimit>,
    /// RTP packets dropped for going over that ceiling (kept when the ceiling is lifted:
    /// stats counters only grow).
    pub over_max_incoming: u64,
    /// Its RTP by kind, both ways.
    pub traffic: RtpTraffic,
}

impl TransportRoutes {
    /// A transport with nothing on it yet.
    pub fn new(key: TransportKey) -> Self {
        TransportRoutes {
            key,
            listener: RtpListener::default(),
            producers: Vec::new(),
            consumers: IdHashMap::default(),
            receive_feedback: ReceiveFeedback::default(),
            next_transport_sequence: 0,
            send_bandwidth: None,
            outgoing_bounds: None,
            max_incoming: None,
            over_max_incoming: 0,
            traffic: RtpTraffic::default(),
        }
    }

    /// Records the arrival of any RTP packet carrying the endpoint's transport-wide sequence
    /// number or send time, before producers look at it: RTX padding (Chrome's bandwidth
    /// probes) belongs to no producer but must be acknowledged, or the sender takes its
    /// probes as lost. Whether transport-cc feedback now has something to say.
    pub fn record_arrival<B: AsRef<[u8]>>(&mut self, packet: &RtpPacket<B>, now: Instant) -> bool {
        let feedback = &mut self.receive_feedback;
        if let Some((id, estimator)) = &mut feedback.remb {
            if let Some(bytes) = packet
                .header_extension(*id)
                .and_then(<[u8]>::first_chunk::<3>)
            {
                let send_time = u32::from_be_bytes([0, bytes[0], bytes[1], bytes[2]]);
                estimator.on_packet(send_time, packet.len(), now);
            }
        }
        let Some((id, arrivals)) = &mut feedback.transport_cc else {
            return false;
        };
        let Some(&sequence) = packet
            .header_extension(*id)
            .and_then(<[u8]>::first_chunk::<2>)
        else {
            return false;
        };
        arrivals.on_packet(u16::from_be_bytes(sequence), packet.ssrc(), now);
        true
    }

    /// Whether a packet of `len` bytes fits the application's ceiling (counted when not).
    pub fn within_max_incoming(&mut self, len: usize, now: Instant) -> bool {
        let Some(limit) = &mut self.max_incoming else {
            return true;
        };
        if limit.allowance.take(len as f64, now) {
            return true;
        }
        self.over_max_incoming += 1;
        false
    }

    /// The send-side estimate, created at the first thing that needs it.
    pub fn send_bandwidth(&mut self, now: Instant) -> &mut SendBandwidth {
        self.send_bandwidth
            .get_or_insert_with(|| SendBandwidth::new(now))
    }

    /// Sets the application's bounds: what its endpoint is asked not to send above (and
    /// what is enforced), and what its consumers are allocated within.
    pub fn set_bitrates(&mut self, max_incoming: Option<u64>, outgoing: Option<(u64, u64)>) {
        match max_incoming {
            // The same ceiling again keeps its allowance.
            Some(max) => {
                if self
                    .max_incoming
                    .as_ref()
                    .is_none_or(|limit| limit.bitrate != max)
                {
                    self.max_incoming = Some(IncomingLimit::new(max));
                }
            }
            None => self.max_incoming = None,
        }
        self.outgoing_bounds = outgoing;
    }

    /// Its figures for the transport's stats, as of `now`.
    pub fn figures(&mut self, now: Instant) -> TransportFigures {
        let remb = self.receive_feedback.remb.as_ref();
        TransportFigures {
            available_outgoing_bitrate: self.available_outgoing_bitrate(),
            available_incoming_bitrate: remb
                .filter(|(_, estimator)| estimator.is_measured())
                .map(|(_, estimator)| estimator.estimate()),
            max_incoming_bitrate: self.max_incoming.as_ref().map(|limit| limit.bitrate),
            outgoing_bounds: self.outgoing_bounds,
            rtp_packets_over_max_incoming: self.over_max_incoming,
            rtp_packet_loss_received: self
                .receive_feedback
                .transport_cc
                .as_ref()
                .and_then(|(_, arrivals)| arrivals.packet_loss()),
            rtp_packet_loss_sent: self
                .send_bandwidth
                .as_ref()
                .and_then(|bandwidth| bandwidth.estimator.packet_loss()),
            traffic: self.traffic.figures(now),
        }
    }

    /// Whether retransmissions sent over the last seconds already take half of what the
    /// endpoint can receive. A path that drops packets asks for them again, and resending all
    /// it asks for into the queue that dropped them deepens it: measured at a 500 kbps
    /// bottleneck, resends took the send rate to 4-6 Mbps for a second. libwebrtc's pacer
    /// keeps retransmissions within its estimate likewise.
    pub fn retransmissions_over_budget(&mut self, now: Instant) -> bool {
        let Some(estimate) = self.available_outgoing_bitrate() else {
            return false;
        };
        let resent = self.traffic.rtx_sent.figures(now).bitrate;
        resent.saturating_mul(RETRANSMISSION_SHARE_DIVISOR) > estimate
    }

    /// What it can send its endpoint, bits per second, once measured (within the
    /// application's bounds; the maximum stands in while nothing is measured).
    pub fn available_outgoing_bitrate(&self) -> Option<u64> {
        let estimate = self
            .send_bandwidth
            .as_ref()
            .and_then(|bandwidth| bandwidth.estimator.estimate());
        within_bounds(estimate, self.outgoing_bounds)
    }
}

/// An estimate within the application's (min, max) bounds; the maximum stands in while
/// nothing is measured.
pub fn within_bounds(estimate: Option<u64>, bounds: Option<(u64, u64)>) -> Option<u64> {
    match (estimate, bounds) {
        (Some(estimate), Some((min, max))) => Some(estimate.clamp(min, max)),
        (None, Some((_, max))) if max < u64::MAX => Some(max),
        (estimate, _) => estimate,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn retransmissions_stop_at_half_the_estimate() {
        let start = Instant::now();
        let mut routes = TransportRoutes::new(TransportKey(0));
        // Nothing measured: no budget to hold them to.
        routes.traffic.rtx_sent.record(1_000_000, start);
        assert!(!routes.retransmissions_over_budget(start));
        let mut routes = TransportRoutes::new(TransportKey(0));
        routes.send_bandwidth(start).estimator.on_remb(400_000);
        // 2.5 s of 1200-byte resends at 150 kbps, then at 250 kbps.
        let mut at = start;
        for _ in 0..39 {
            at += Duration::from_millis(64);
            routes.traffic.rtx_sent.record(1_200, at);
        }
        assert!(!routes.retransmissions_over_budget(at));
        for _ in 0..30 {
            at += Duration::from_millis(10);
            routes.traffic.rtx_sent.record(1_200, at);
        }
        assert!(routes.retransmissions_over_budget(at));
    }
}
