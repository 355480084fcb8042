//! A producer as the router holds it: a client's track on one transport, its streams (one
//! per encoding), whether it is paused, and the consumers it feeds.

use super::arena::{ConsumerIndex, TransportIndex};
use super::rtp_listener::ProducerKeys;
use crate::rtc::ids::Ssrc;
use crate::rtc::producer_stream::{ProducerSpec, ProducerStream, StreamPart};
use crate::rtc::request_error::RequestError;

/// A producer.
#[derive(Debug)]
pub struct Producer {
    /// The caller's id.
    pub id: String,
    /// The transport it receives on.
    pub transport: TransportIndex,
    /// One per encoding (the streams of a simulcast producer), in spatial layer order.
    pub streams: Vec<ProducerStream>,
    /// What its transport's listener knows it by.
    pub keys: ProducerKeys,
    /// Paused producers take packets in but forward none.
    pub paused: bool,
    /// The consumers it feeds; each knows its position here, so removal is O(1).
    pub consumers: Vec<ConsumerIndex>,
    /// The score of each stream last reported to the owner.
    pub reported_scores: Vec<Option<u8>>,
    /// The trace kinds it reports (bits of
    /// [`TraceKind`](crate::rtc::producer_trace::TraceKind)).
    pub trace: u8,
}

impl Producer {
    /// A producer described by `spec`, receiving on `transport`.
    pub fn new(
        id: String,
        transport: TransportIndex,
        spec: &ProducerSpec,
        paused: bool,
    ) -> Result<Self, RequestError> {
        if spec.encodings.is_empty() {
            return Err(RequestError::invalid(
                "rtp_parameters.encodings",
                "a producer needs at least one encoding",
            ));
        }
        if spec.encodings.len() > usize::from(u8::MAX) {
            return Err(RequestError::invalid(
                "rtp_parameters.encodings",
                "too many encodings",
            ));
        }
        let streams = (0..spec.encodings.len())
            .map(|encoding| ProducerStream::new(spec, encoding))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|reason| RequestError::invalid("rtp_parameters.headerExtensions", reason))?;
        let mut ssrcs = Vec::new();
        for (stream, encoding) in (0u8..).zip(&spec.encodings) {
            ssrcs.extend(encoding.ssrc.map(|ssrc| (ssrc, stream, StreamPart::Media)));
            ssrcs.extend(
                encoding
                    .rtx_ssrc
                    .map(|ssrc| (ssrc, stream, StreamPart::Rtx)),
            );
        }
        let rids: Vec<String> = spec
            .encodings
            .iter()
            .filter_map(|encoding| encoding.rid.clone())
            .collect();
        let keys = ProducerKeys {
            ssrcs,
            mid: spec.mid.clone(),
            rids: spec
                .rid_extension_id
                .filter(|_| !rids.is_empty())
                .map(|id| (id, rids)),
        };
        Ok(Producer {
            id,
            transport,
            reported_scores: vec![None; streams.len()],
            streams,
            keys,
            paused,
            consumers: Vec::new(),
            trace: 0,
        })
    }

    /// The SSRCs its streams learned (not signaled), for the listener to forget.
    pub fn learned_ssrcs(&self) -> impl Iterator<Item = Ssrc> + '_ {
        self.streams
            .iter()
            .flat_map(|stream| [stream.client_ssrc(), stream.rtx_ssrc()])
            .flatten()
            .filter(|ssrc| !self.keys.ssrcs.iter().any(|(known, ..)| known == ssrc))
    }

    /// Whether it carries video.
    pub fn is_video(&self) -> bool {
        self.streams.iter().any(ProducerStream::is_video)
    }
}
