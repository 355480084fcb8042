//! What a router tells its owner about its producers, consumers and observers (mediasoup's
//! `score`, `videoorientationchange`, `trace`, `layerschange` and observer events), by id.

use super::observers::RtpObserverReport;
use crate::rtc::ids::Ssrc;
use crate::rtc::layer_selector::Layers;
use crate::rtc::producer_stream::VideoOrientation;
use crate::rtc::producer_trace::ProducerTrace;

/// An event of a router.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouterEvent {
    /// A producer stream's score changed (from our reception statistics).
    ProducerScore {
        /// The producer.
        producer_id: String,
        /// The stream (encoding index).
        stream: u8,
        /// The client's SSRC of the stream.
        ssrc: Ssrc,
        /// 0-10.
        score: u8,
    },
    /// A consumer's score changed (from its endpoint's receiver reports), or its producer's.
    ConsumerScore {
        /// The consumer.
        consumer_id: String,
        /// 0-10.
        score: u8,
        /// Its producer's score.
        producer_score: u8,
    },
    /// A producer's `videoorientationchange`.
    VideoOrientationChange {
        /// The producer.
        producer_id: String,
        /// Its new orientation.
        orientation: VideoOrientation,
    },
    /// A producer's `trace`.
    ProducerTrace {
        /// The producer.
        producer_id: String,
        /// The event.
        trace: ProducerTrace,
    },
    /// A consumer's `trace` (`rtp` and `keyframe` it sends, `nack`, `pli` and `fir` it gets).
    ConsumerTrace {
        /// The consumer.
        consumer_id: String,
        /// The event.
        trace: ProducerTrace,
    },
    /// A simulcast or SVC consumer's `layerschange` (`None`: nothing is being sent).
    ConsumerLayersChange {
        /// The consumer.
        consumer_id: String,
        /// Its current layers.
        layers: Option<Layers>,
    },
    /// An RTP observer's report, by producer id.
    RtpObserver {
        /// The observer.
        observer_id: String,
        /// What it found.
        report: RtpObserverReport<String>,
    },
}
