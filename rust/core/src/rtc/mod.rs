//! The SFU itself, sans-IO: transports (how media reaches a client) and, on top of them,
//! routing. The worker owns the sockets and feeds these types datagrams and time.
//!
//! - [`datagram_sink`]: where a transport writes the datagrams it sends.
//! - [`webrtc_connection`]: ICE-lite + DTLS + SRTP for one WebRtcTransport: which tuple media
//!   goes to, when keys exist, and the protect/unprotect of every packet.
//! - [`plain_connection`]: plain RTP/RTCP (optionally SRTP) for PlainTransport, with comedia.
//! - [`router`]: the router itself (producers, consumers, observers; the packet path and RTCP
//!   dispatch between transports), sans-IO like everything here.
//! - [`ids`]: newtypes for SSRCs and payload types.
//! - [`request_error`]: why a request failed, in the kinds the owner maps to exceptions.
//! - [`producer_stream`] and [`consumer`]: one encoding entering the router and a producer's
//!   copy for one endpoint (payload types, extension ids, SSRCs, sequence numbers,
//!   keyframes).
//! - [`nack_generator`]: loss detection on an incoming stream and the NACKs it sends.
//! - [`rate_meter`]: a stream's bitrate over the last second.
//! - [`receive_stats`]: loss, jitter and score of an incoming stream, for receiver reports.
//! - [`score`]: a stream's 0-10 score, mediasoup's way.
//! - [`transport_cc_feedback`]: arrival times reported to senders for their bandwidth
//!   estimation.
//! - [`remote_bitrate_estimator`]: our estimate of a sender's bandwidth, for REMB when it
//!   negotiated no transport-cc.
//! - [`token_bucket`]: an allowance refilled at a steady rate (retransmissions a consumer
//!   sends, bytes a transport's producers forward).
//! - [`rtp_packet_store`]: a video producer's recent packets, for consumers' retransmissions.
//! - [`key_frame_requests`]: when a producer's sender is asked for a keyframe.
//! - [`layer_selector`]: which simulcast stream and temporal layers a consumer forwards.
//! - [`svc_selector`]: which layers of an SVC (VP9) stream a consumer forwards.
//! - [`sequence_mapper`]: a consumer's gapless numbering across runs and dropped packets.
//! - [`capture_clock`]: when a producer stream's media was captured (from its sender
//!   reports): consumers' timestamps across switches and their own sender reports.
//! - [`producer_trace`]: the `trace` events a producer reports when asked.
//! - [`data_producer`] and [`data_consumer`]: DataChannel messages entering the router on a
//!   stream and each endpoint's copy (pause, subchannels, size limit, counters);
//!   [`data_routes`]: which consumers hear each data producer, and where each message goes.
//! - [`sctp_stream_ids`]: the stream ids a transport gives its DataConsumers.
//! - [`dominant_speaker`]: who holds the floor (the active speaker observer).
//! - [`audio_level_observer`]: the loudest audio producers each interval.
//! - [`frames`]: encoded frames from a stream's packets and packets from frames, per codec.

pub mod audio_level_observer;
pub mod bandwidth_allocation;
pub mod capture_clock;
pub mod consumer;
pub mod data_consumer;
pub mod data_producer;
pub mod data_routes;
pub mod datagram_sink;
pub mod dominant_speaker;
pub mod frames;
pub mod ids;
pub mod key_frame_requests;
pub mod layer_selector;
pub mod nack_generator;
pub mod plain_connection;
pub mod producer_stream;
pub mod producer_trace;
pub mod rate_meter;
pub mod receive_stats;
pub mod remote_bitrate_estimator;
pub mod request_error;
pub mod router;
pub mod rtp_packet_store;
pub mod rtp_traffic;
pub mod score;
pub mod sctp_stream_ids;
pub mod send_side_bandwidth_estimator;
pub mod sequence_mapper;
pub mod svc_selector;
pub mod token_bucket;
pub mod transport_cc_feedback;
pub mod webrtc_connection;
