//! A producer stream: one encoding of a client's track entering a router (a simulcast
//! producer has one per encoding; mediasoup's RtpStreamRecv). The router's RTP listener finds
//! the stream of a packet (by SSRC, or by MID and RID until the SSRC is learned, which is
//! where [`ProducerStream::learn`] decides); the stream then rewrites the packet to the
//! router's payload types, header extension ids and the SSRC consumers know it by, keeps its
//! reception statistics, loss tracking and recent packets, and asks for keyframes.

use std::time::{Duration, Instant};

use crate::packet::codecs::dependency_descriptor::{DependencyDescriptor, TemplateLayers};
use crate::packet::codecs::vp8::Vp8PayloadDescriptor;
use crate::packet::codecs::{self, FrameInfo, PayloadCodec};
use crate::packet::rtcp::SenderReport;
use crate::packet::rtp::{rtx_decapsulate, ExtensionIdMap, RtpPacket};
use crate::rtc::capture_clock::{CaptureClock, Continuity, NtpOrigin, StreamClock};
use crate::rtc::ids::{PayloadType, Ssrc};
use crate::rtc::key_frame_requests::KeyFrameRequests;
use crate::rtc::nack_generator::{Arrival, NackGenerator};
use crate::rtc::rate_meter::RtpRateMeter;
use crate::rtc::receive_stats::ReceiveStats;
use crate::rtc::rtp_packet_store::RtpPacketStore;

/// How the signaling described a producer, resolved against the router's capabilities: what
/// its streams share, and one [`EncodingSpec`] per stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProducerSpec {
    /// Client payload type -> router payload type, with the router codec's descriptor.
    pub payload_types: Vec<(PayloadType, PayloadType, Option<PayloadCodec>)>,
    /// Client header extension id -> router id (extensions the router does not know are
    /// dropped).
    pub extension_ids: Vec<(u8, u8)>,
    /// The client's MID extension id and the MID of the producer's m-section, when both are
    /// known: packets on SSRCs not signaled are recognised by it.
    pub mid: Option<(u8, String)>,
    /// The client's RID extension id, for senders that tell encodings apart by RID.
    pub rid_extension_id: Option<u8>,
    /// The client's repaired-RID extension id: RTX packets carry their encoding's RID there.
    pub repaired_rid_extension_id: Option<u8>,
    /// One per encoding, lowest first (the streams of a simulcast producer).
    pub encodings: Vec<EncodingSpec>,
    /// Keep recent packets so consumers can answer NACKs (video).
    pub store_for_retransmission: bool,
    /// The media codec's RTP clock rate (for jitter).
    pub clock_rate: u32,
    /// Client RTX payload type -> client media payload type, when the client negotiated RTX.
    pub rtx_payload_types: Vec<(PayloadType, PayloadType)>,
    /// Ask the client to resend lost packets (it negotiated NACK).
    pub generate_nacks: bool,
    /// The client's id of the transport-wide sequence number extension, when it negotiated
    /// transport-cc feedback.
    pub transport_cc_extension_id: Option<u8>,
    /// The client's id of the abs-send-time extension, when it negotiated REMB (and no
    /// transport-cc): we estimate its bandwidth from it.
    pub remb_abs_send_time_extension_id: Option<u8>,
    /// The router's id of the ssrc-audio-level extension (RFC 6464), when the client
    /// negotiated it: audio level observers read it.
    pub audio_level_extension_id: Option<u8>,
    /// The router's id of the video orientation extension (3GPP TS 26.114 §7.4.5), when the
    /// client negotiated it.
    pub video_orientation_extension_id: Option<u8>,
    /// Least time between keyframe requests to the client (mediasoup's
    /// `keyFrameRequestDelay`).
    pub key_frame_request_delay: Duration,
    /// Ask for keyframes with FIR (the client negotiated `ccm fir` but not `nack pli`).
    pub use_fir: bool,
    /// The router's id of the dependency descriptor extension, when the client negotiated
    /// it: AV1 layers are read from it.
    pub dependency_descriptor_extension_id: Option<u8>,
}

impl ProducerSpec {
    /// The codec its media payload types map to (the first with a descriptor here).
    pub fn codec(&self) -> Option<PayloadCodec> {
        self.payload_types.iter().find_map(|(_, _, codec)| *codec)
    }
}

/// One encoding of a producer as signaled.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EncodingSpec {
    /// The client's SSRC, if signaled (else learned from the MID and RID).
    pub ssrc: Option<Ssrc>,
    /// The RID of this encoding, for senders that tell encodings apart by RID.
    pub rid: Option<String>,
    /// The client's RTX SSRC, if signaled (else learned like the media SSRC).
    pub rtx_ssrc: Option<Ssrc>,
    /// The SSRC consumers see.
    pub mapped_ssrc: Ssrc,
}

/// How a sending camera is oriented (the video orientation extension).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoOrientation {
    /// The back-facing camera, rather than the front one.
    pub camera: bool,
    /// Flipped horizontally.
    pub flip: bool,
    /// Clockwise rotation in degrees: 0, 90, 180 or 270.
    pub rotation: u16,
}

impl VideoOrientation {
    /// From the extension's byte: `0 0 0 0 C F R1 R0`.
    fn from_byte(byte: u8) -> Self {
        VideoOrientation {
            camera: byte & 0b1000 != 0,
            flip: byte & 0b100 != 0,
            rotation: u16::from(byte & 0b11) * 90,
        }
    }
}

/// What the stream made of one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProducedPacket {
    /// What its payload descriptor says (keyframe, layers); every packet of a codec without a
    /// descriptor here starts a keyframe.
    pub frame: FrameInfo,
    /// Its VP8 payload descriptor, for VP8.
    pub vp8: Option<Vp8PayloadDescriptor>,
    /// The client's SSRC (for keyframe requests sent back to it).
    pub client_ssrc: Ssrc,
    /// The loss before it is beyond repair: ask the client for a keyframe.
    pub request_key_frame: bool,
    /// The RFC 6464 level the packet carries (0 = loudest, 127 = silence), when the
    /// extension was negotiated.
    pub audio_level: Option<u8>,
    /// The sender's new orientation, when this packet changed it.
    pub video_orientation_change: Option<VideoOrientation>,
    /// It came as an RTX repair.
    pub repaired: bool,
}

/// What [`ProducerStream::ingest`] did with a packet.
#[derive(Debug)]
pub enum Ingest<'a> {
    /// Unusable (a payload type not negotiated, RTX padding, a duplicate repair).
    Dropped,
    /// Rewritten in place to router terms.
    Accepted {
        /// What it is.
        produced: ProducedPacket,
        /// The packet now (an RTX repair is shorter: it lost its original sequence number).
        packet: RtpPacket<&'a mut [u8]>,
    },
}

/// Which of a stream's two SSRCs a packet came on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamPart {
    /// The media stream.
    Media,
    /// Its RTX stream (RFC 4588): repairs, and padding probes.
    Rtx,
}

/// Spatial layers (inside one SVC stream) and temporal layers whose bitrates are kept apart.
pub const MAX_SPATIAL_LAYERS: usize = 3;
/// See [`MAX_SPATIAL_LAYERS`].
pub const MAX_TEMPORAL_LAYERS: usize = 4;

/// Counters of a producer stream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProducerStats {
    /// Bits per second over the last 2.5 s (mediasoup's RTP window) by (spatial, temporal) layer, as
    /// `[spatial * MAX_TEMPORAL_LAYERS + temporal]`: the layer alone, not cumulative. Layers
    /// come from the VP8/VP9 payload descriptors; other codecs count as layer 0.0.
    pub bitrate_by_layer: [u64; MAX_SPATIAL_LAYERS * MAX_TEMPORAL_LAYERS],
    /// Packets received and accepted.
    pub packets: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Packets whose payload type the producer did not negotiate.
    pub unknown_payload_type: u64,
    /// Keyframe requests sent to the client.
    pub key_frame_requests: u64,
    /// Of those, the ones sent as FIR (the others are PLIs).
    pub fir_requests: u64,
    /// Media packets dropped for a sequence number far from the stream's (mediasoup's
    /// "bad sequence number": late, or early until the next packet confirms a restart).
    pub discarded: u64,
    /// RTX packets that carried a packet (repairs and padding copies alike).
    pub retransmitted: u64,
    /// RTX packets dropped: padding copies of packets not missing, unknown payload types,
    /// undecodable or far out of sequence.
    pub rtx_discarded: u64,
    /// Interarrival jitter in RTP timestamp units (RFC 3550 A.8).
    pub jitter: u32,
    /// Packets lost so far (expected minus received).
    pub packets_lost: i64,
    /// The fraction lost (0-255) in the last receiver report interval.
    pub fraction_lost: u8,
    /// The client's RTX SSRC, once known (signaled, or learned).
    pub rtx_ssrc: Option<u32>,
    /// Lost packets that arrived later as retransmissions.
    pub repaired_packets: u64,
    /// RTX packets carrying a packet that was not missing (padding), dropped.
    pub rtx_duplicates: u64,
    /// NACKs sent to the client, and the packets they asked for.
    pub nacks: u64,
    /// Packets the NACKs asked for.
    pub nacked_packets: u64,
}

/// One stream of a producer.
#[derive(Debug)]
pub struct ProducerStream {
    spec: ProducerSpec,
    encoding: EncodingSpec,
    extension_map: ExtensionIdMap,
    /// The client's SSRCs once known (signaled, or learned).
    media_ssrc: Option<Ssrc>,
    rtx_ssrc: Option<Ssrc>,
    nack_generator: Option<NackGenerator>,
    key_frame_requests: KeyFrameRequests,
    /// The sequence number of our next FIR (RFC 5104 §4.3.1.1).
    fir_sequence: u8,
    video_orientation: Option<VideoOrientation>,
    store: Option<Box<RtpPacketStore>>,
    receive_stats: ReceiveStats,
    /// When its media was captured, from the client's sender reports; and its restarts.
    clock: StreamClock,
    /// Where the client's NTP clock stands on ours (its first sender report on this
    /// transport), once known.
    ntp_origin: Option<NtpOrigin>,
    /// Bytes per (spatial, temporal) layer, for the bitrates in the stats.
    layer_rates: [RtpRateMeter; MAX_SPATIAL_LAYERS * MAX_TEMPORAL_LAYERS],
    /// AV1 with the dependency descriptor: the last keyframe's template layers.
    av1_templates: Option<TemplateLayers>,
    stats: ProducerStats,
}

impl ProducerStream {
    /// Stream `encoding` of a producer described by `spec`; fails when an extension id
    /// mapping is invalid or there is no such encoding.
    pub fn new(spec: &ProducerSpec, encoding: usize) -> Result<Self, String> {
        let mut extension_map = ExtensionIdMap::new();
        for (from, to) in &spec.extension_ids {
            extension_map
                .insert(*from, *to)
                .map_err(|error| error.to_string())?;
        }
        let encoding = spec
            .encodings
            .get(encoding)
            .cloned()
            .ok_or_else(|| format!("no encoding {encoding}"))?;
        Ok(ProducerStream {
            media_ssrc: encoding.ssrc,
            rtx_ssrc: encoding.rtx_ssrc,
            nack_generator: spec.generate_nacks.then(NackGenerator::default),
            store: spec
                .store_for_retransmission
                .then(|| Box::new(RtpPacketStore::default())),
            receive_stats: ReceiveStats::new(spec.clock_rate),
            clock: StreamClock::new(spec.clock_rate),
            ntp_origin: None,
            key_frame_requests: KeyFrameRequests::new(spec.key_frame_request_delay),
            spec: ProducerSpec {
                encodings: Vec::new(),
                ..spec.clone()
            },
            encoding,
            extension_map,
            fir_sequence: 0,
            video_orientation: None,
            layer_rates: Default::default(),
            av1_templates: None,
            stats: ProducerStats::default(),
        })
    }

    /// The SSRC consumers see.
    pub fn mapped_ssrc(&self) -> Ssrc {
        self.encoding.mapped_ssrc
    }

    /// The RID of its encoding, if the client sends RIDs.
    pub fn rid(&self) -> Option<&str> {
        self.encoding.rid.as_deref()
    }

    /// Counters, with the bitrates as of `now`.
    pub fn stats(&mut self, now: Instant) -> ProducerStats {
        let mut stats = self.stats;
        for (rate, meter) in stats.bitrate_by_layer.iter_mut().zip(&mut self.layer_rates) {
            *rate = meter.bits_per_second(now);
        }
        stats.jitter = self.receive_stats.jitter();
        stats.packets_lost = self.receive_stats.packets_lost();
        stats.fraction_lost = self.receive_stats.fraction_lost();
        stats.rtx_ssrc = self.rtx_ssrc.map(|ssrc| ssrc.0);
        stats
    }

    /// The client's media SSRC, once known.
    pub fn client_ssrc(&self) -> Option<Ssrc> {
        self.media_ssrc
    }

    /// When the stream's media was captured, once a packet or sender report told.
    pub fn capture_clock(&self) -> Option<CaptureClock> {
        self.clock.clock()
    }

    /// Where the client's NTP clock stands on ours, once a sender report told.
    pub fn ntp_origin(&self) -> Option<NtpOrigin> {
        self.ntp_origin
    }

    /// Takes in the client's sender report on this stream, arrived `now`; `origin` is where
    /// the client's NTP clock stands on ours if another of its streams measured it (all of
    /// them share one, so their timing relative to each other stays the client's).
    pub fn on_sender_report(
        &mut self,
        report: &SenderReport,
        now: Instant,
        origin: Option<NtpOrigin>,
    ) {
        let middle = ((report.ntp_seconds & 0xFFFF) << 16) | (report.ntp_fraction >> 16);
        self.receive_stats.on_sender_report(middle, now);
        let ntp = (u64::from(report.ntp_seconds) << 32) | u64::from(report.ntp_fraction);
        let origin = self.ntp_origin.or(origin);
        self.ntp_origin = Some(
            self.clock
                .on_sender_report(report.rtp_timestamp, ntp, now, origin),
        );
    }

    /// The client's RTX SSRC, once known.
    pub fn rtx_ssrc(&self) -> Option<Ssrc> {
        self.rtx_ssrc
    }

    /// Whether a packet on an SSRC the router does not know yet, carrying this producer's
    /// MID (or RID), is this stream's, and on which part; the SSRC is learned if so. The
    /// media stream is learned from a media payload type only (Chrome's RTX padding probes
    /// carry the same MID first), and only once: another SSRC with the same MID later is not
    /// this stream's. With RIDs the RTX streams of several encodings share the MID: one is
    /// this encoding's when it carries its RID as the repaired RID.
    pub fn learn<B: AsRef<[u8]>>(&mut self, packet: &RtpPacket<B>) -> Option<StreamPart> {
        let ssrc = Ssrc(packet.ssrc());
        let payload_type = packet.payload_type();
        let is_media = self
            .spec
            .payload_types
            .iter()
            .any(|(client, _, _)| client.get() == payload_type);
        let carries = |id: Option<u8>| match (&self.encoding.rid, id) {
            (None, _) => true,
            (Some(rid), Some(id)) => packet.header_extension(id) == Some(rid.as_bytes()),
            (Some(_), None) => false,
        };
        if is_media && self.media_ssrc.is_none() && carries(self.spec.rid_extension_id) {
            self.media_ssrc = Some(ssrc);
            return Some(StreamPart::Media);
        }
        let is_rtx = self
            .spec
            .rtx_payload_types
            .iter()
            .any(|(rtx, _)| rtx.get() == payload_type);
        if is_rtx && self.rtx_ssrc.is_none() && carries(self.spec.repaired_rid_extension_id) {
            self.rtx_ssrc = Some(ssrc);
            return Some(StreamPart::Rtx);
        }
        None
    }

    /// Takes in a packet of this stream (found by the router's listener, on `part`):
    /// rewrites it in place to the router's payload type, extension ids and mapped SSRC
    /// (restoring the original packet first if it came on the RTX stream), updates reception
    /// statistics and loss tracking, and keeps a copy for consumers' retransmissions.
    pub fn ingest<'a>(
        &mut self,
        mut packet: RtpPacket<&'a mut [u8]>,
        part: StreamPart,
        now: Instant,
    ) -> Ingest<'a> {
        let repaired = part == StreamPart::Rtx;
        if repaired {
            let len = packet.len();
            let rtx_payload_type = packet.payload_type();
            let media = self
                .spec
                .rtx_payload_types
                .iter()
                .find(|(rtx, _)| rtx.get() == rtx_payload_type)
                .map(|(_, media)| *media);
            let (Some(media_payload_type), Some(media_ssrc)) = (media, self.media_ssrc) else {
                self.stats.unknown_payload_type += 1;
                self.stats.rtx_discarded += 1;
                return Ingest::Dropped;
            };
            // RTX padding (bandwidth probes) carries no original packet. A repair is a new
            // packet layout: this is the one case where the bytes are parsed again.
            let buffer = packet.into_inner();
            let Ok(original_len) =
                rtx_decapsulate(buffer, len, media_payload_type.get(), media_ssrc.0)
            else {
                self.stats.rtx_discarded += 1;
                return Ingest::Dropped;
            };
            let Ok(original) = RtpPacket::parse(&mut buffer[..original_len]) else {
                self.stats.rtx_discarded += 1;
                return Ingest::Dropped;
            };
            self.stats.retransmitted += 1;
            packet = original;
        }
        match self.rewrite(&mut packet, now, repaired) {
            Some(produced) => Ingest::Accepted { produced, packet },
            None => Ingest::Dropped,
        }
    }

    fn rewrite(
        &mut self,
        packet: &mut RtpPacket<&mut [u8]>,
        now: Instant,
        repaired: bool,
    ) -> Option<ProducedPacket> {
        let client_payload_type = packet.payload_type();
        let Some(&(_, router_payload_type, codec)) = self
            .spec
            .payload_types
            .iter()
            .find(|(client, _, _)| client.get() == client_payload_type)
        else {
            self.stats.unknown_payload_type += 1;
            return None;
        };
        let client_ssrc = Ssrc(packet.ssrc());
        let sequence = packet.sequence_number();
        match self
            .clock
            .on_packet(sequence, packet.timestamp(), now, repaired)
        {
            Continuity::Continues => {}
            // Far from the stream's numbers: dropped unless the next packet confirms the
            // client restarted (then consumers start anew on this epoch).
            Continuity::Probation => {
                if repaired {
                    self.stats.rtx_discarded += 1;
                } else {
                    self.stats.discarded += 1;
                }
                return None;
            }
            Continuity::Restarted => {
                self.nack_generator = self.spec.generate_nacks.then(NackGenerator::default);
            }
        }
        let arrival = self
            .nack_generator
            .as_mut()
            .map(|generator| generator.on_packet(sequence, now));
        if repaired {
            // Senders also pad with RTX copies of packets already received (Chrome probes
            // bandwidth so): only a packet we were missing is a repair. Forwarding the others
            // would replay old frames, old keyframes included, to consumers.
            if arrival != Some(Arrival::Recovered) {
                self.stats.rtx_duplicates += 1;
                self.stats.rtx_discarded += 1;
                return None;
            }
            self.stats.repaired_packets += 1;
        } else if arrival == Some(Arrival::Recovered) && self.spec.rtx_payload_types.is_empty() {
            // Without RTX, a resend comes on the media stream: a packet we were missing is
            // a retransmission that repaired a loss (as mediasoup counts it).
            self.stats.retransmitted += 1;
            self.stats.repaired_packets += 1;
        }
        self.receive_stats
            .on_packet(sequence, packet.timestamp(), now, repaired);
        let request_key_frame = arrival == Some(Arrival::KeyFrameNeeded);
        packet.set_payload_type(router_payload_type.get()).ok()?;
        packet
            .remap_header_extension_ids(&self.extension_map)
            .ok()?;
        packet.set_ssrc(self.encoding.mapped_ssrc.0);
        self.stats.packets += 1;
        self.stats.bytes += packet.len() as u64;
        // VP8's descriptor is kept for consumers, which renumber it. Codecs without a
        // descriptor here: every packet can start decoding.
        let mut vp8 = None;
        let mut frame = match codec {
            None => FrameInfo {
                is_keyframe: true,
                ..FrameInfo::default()
            },
            Some(PayloadCodec::Vp8) => {
                vp8 = Vp8PayloadDescriptor::parse(packet.payload()).ok();
                vp8.map_or_else(FrameInfo::default, |descriptor| FrameInfo {
                    is_keyframe: descriptor.is_keyframe,
                    spatial: 0,
                    temporal: descriptor.temporal_id.unwrap_or(0),
                })
            }
            Some(codec) => codecs::frame_info(codec, packet.payload()),
        };
        if codec == Some(PayloadCodec::Av1) {
            if let Some((spatial, temporal)) = self.av1_layers(packet) {
                frame.spatial = spatial;
                frame.temporal = temporal;
            }
        }
        let layer = usize::from(frame.spatial).min(MAX_SPATIAL_LAYERS - 1) * MAX_TEMPORAL_LAYERS
            + usize::from(frame.temporal).min(MAX_TEMPORAL_LAYERS - 1);
        self.layer_rates[layer].record(packet.len(), now);
        if frame.is_keyframe {
            self.key_frame_requests.on_key_frame();
        }
        if let Some(store) = &mut self.store {
            store.store(sequence, packet.as_bytes(), now);
        }
        let audio_level = self
            .spec
            .audio_level_extension_id
            .and_then(|id| packet.header_extension(id)?.first().map(|byte| byte & 0x7f));
        let video_orientation_change = self
            .spec
            .video_orientation_extension_id
            .and_then(|id| packet.header_extension(id)?.first().copied())
            .map(VideoOrientation::from_byte)
            .filter(|orientation| self.video_orientation != Some(*orientation));
        if video_orientation_change.is_some() {
            self.video_orientation = video_orientation_change;
        }
        Some(ProducedPacket {
            frame,
            vp8,
            client_ssrc,
            request_key_frame,
            audio_level,
            video_orientation_change,
            repaired,
        })
    }

    /// An AV1 packet's (spatial, temporal) layers, from its dependency descriptor and the
    /// template layers of the last keyframe's structure (kept as keyframes bring them).
    fn av1_layers(&mut self, packet: &RtpPacket<&mut [u8]>) -> Option<(u8, u8)> {
        let id = self.spec.dependency_descriptor_extension_id?;
        let descriptor = DependencyDescriptor::parse(packet.header_extension(id)?).ok()?;
        if let Some(structure) = descriptor.structure {
            self.av1_templates = Some(structure);
        }
        self.av1_templates
            .as_ref()?
            .layers_of(descriptor.template_id)
    }

    /// Appends the lost packets to ask the client for now to `lost`; true when some were
    /// given up on (a keyframe is needed).
    pub fn due_nacks(&mut self, now: Instant, lost: &mut Vec<u16>) -> bool {
        self.nack_generator
            .as_mut()
            .is_some_and(|generator| generator.due(now, None, lost))
    }

    /// When [`ProducerStream::due_nacks`] or [`ProducerStream::key_frame_request_due`]
    /// next have something to do.
    pub fn next_deadline(&self) -> Option<Instant> {
        let nacks = self
            .nack_generator
            .as_ref()
            .and_then(NackGenerator::next_deadline);
        let key_frames = self.key_frame_requests.next_deadline();
        nacks.into_iter().chain(key_frames).min()
    }

    /// Whether [`ProducerStream::next_deadline`] has a time, found without computing it
    /// (asked for every packet).
    pub fn has_deadline(&self) -> bool {
        self.nack_generator
            .as_ref()
            .is_some_and(NackGenerator::has_deadline)
            || self.key_frame_requests.has_deadline()
    }

    /// Reception statistics of the client's stream (for receiver reports and the score).
    pub fn receive_stats(&mut self) -> &mut ReceiveStats {
        &mut self.receive_stats
    }

    /// A recent packet (router terms) by its sequence number, for a retransmission.
    pub fn stored_packet(&self, sequence: u16, now: Instant) -> Option<&[u8]> {
        self.store.as_ref()?.get(sequence, now)
    }

    /// Counts a NACK sent to the client for `lost` packets.
    pub fn on_nack_sent(&mut self, lost: usize) {
        self.stats.nacks += 1;
        self.stats.nacked_packets += lost as u64;
    }

    /// A consumer or a loss needs a keyframe: whether a request goes to the client now (one
    /// pending at a time; see [`KeyFrameRequests`]).
    pub fn request_key_frame(&mut self, now: Instant) -> bool {
        let send = self.key_frame_requests.request(now);
        if send {
            self.count_key_frame_request();
        }
        send
    }

    /// Whether a deferred or retried keyframe request goes to the client now.
    pub fn key_frame_request_due(&mut self, now: Instant) -> bool {
        let send = self.key_frame_requests.due(now);
        if send {
            self.count_key_frame_request();
        }
        send
    }

    fn count_key_frame_request(&mut self) {
        self.stats.key_frame_requests += 1;
        if self.spec.use_fir {
            self.stats.fir_requests += 1;
        }
    }

    /// Whether it carries video (keyframes matter).
    pub fn is_video(&self) -> bool {
        self.spec.codec().is_some_and(PayloadCodec::is_video)
    }

    /// The codec of its media, when it has a descriptor here.
    pub fn codec(&self) -> Option<PayloadCodec> {
        self.spec.codec()
    }

    /// Whether keyframes are asked for with FIR rather than PLI.
    pub fn uses_fir(&self) -> bool {
        self.spec.use_fir
    }

    /// The sequence number for the next FIR.
    pub fn next_fir_sequence(&mut self) -> u8 {
        let sequence = self.fir_sequence;
        self.fir_sequence = sequence.wrapping_add(1);
        sequence
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::rtp::{ExtensionBlock, ExtensionForm, RtpHeader};

    /// Client numbering: VP8 on 96, RTX on 97, MID extension 1, RID 2, abs-send-time 3.
    fn packet(payload_type: u8, ssrc: u32, extensions: Vec<(u8, Vec<u8>)>) -> Vec<u8> {
        let header = RtpHeader {
            payload_type,
            sequence_number: 1,
            timestamp: 3000,
            ssrc,
            extensions: Some(ExtensionBlock {
                form: ExtensionForm::OneByte,
                elements: extensions,
            }),
            ..RtpHeader::default()
        };
        let mut out = Vec::new();
        // A VP8 payload descriptor starting a keyframe (S=1, PID 0; P bit clear).
        header
            .write_into(&[0x10, 0x00, 0x9d, 0x01, 0x2a], &mut out)
            .unwrap();
        out
    }

    fn pt(value: u8) -> PayloadType {
        PayloadType::new(value).unwrap()
    }

    fn stream(ssrc: Option<u32>, rid: Option<&str>) -> ProducerStream {
        let spec = ProducerSpec {
            payload_types: vec![(pt(96), pt(101), Some(PayloadCodec::Vp8))],
            extension_ids: vec![(1, 1), (3, 4)],
            mid: Some((1, "0".into())),
            rid_extension_id: Some(2),
            encodings: vec![EncodingSpec {
                ssrc: ssrc.map(Ssrc),
                rid: rid.map(str::to_owned),
                rtx_ssrc: None,
                mapped_ssrc: Ssrc(0x5EED),
            }],
            store_for_retransmission: true,
            clock_rate: 90_000,
            rtx_payload_types: vec![(pt(97), pt(96))],
            generate_nacks: true,
            ..ProducerSpec::default()
        };
        ProducerStream::new(&spec, 0).unwrap()
    }

    /// What the router's listener does for a packet of this stream's producer: its known
    /// SSRCs, else learning; then ingest.
    fn take<'a>(stream: &mut ProducerStream, bytes: &'a mut [u8], now: Instant) -> Ingest<'a> {
        let packet = RtpPacket::parse(&mut *bytes).unwrap();
        let ssrc = Some(Ssrc(packet.ssrc()));
        let part = if ssrc == stream.client_ssrc() {
            Some(StreamPart::Media)
        } else if ssrc == stream.rtx_ssrc() {
            Some(StreamPart::Rtx)
        } else {
            stream.learn(&packet)
        };
        match part {
            Some(part) => stream.ingest(packet, part, now),
            None => Ingest::Dropped,
        }
    }

    fn claim_and_rewrite(stream: &mut ProducerStream, bytes: &mut [u8]) -> Option<ProducedPacket> {
        match take(stream, bytes, Instant::now()) {
            Ingest::Accepted { produced, .. } => Some(produced),
            Ingest::Dropped => None,
        }
    }

    fn accepted_len(ingest: Ingest<'_>) -> Option<(ProducedPacket, usize)> {
        match ingest {
            Ingest::Accepted { produced, packet } => Some((produced, packet.len())),
            Ingest::Dropped => None,
        }
    }

    #[test]
    fn a_signaled_ssrc_is_rewritten_to_router_terms() {
        let mut stream = stream(Some(1111), None);
        let mut bytes = packet(96, 1111, vec![(3, vec![1, 2, 3]), (9, vec![5])]);
        let produced = claim_and_rewrite(&mut stream, &mut bytes).unwrap();
        assert!(produced.frame.is_keyframe);
        assert_eq!(produced.client_ssrc, Ssrc(1111));
        let view = RtpPacket::parse(&bytes[..]).unwrap();
        assert_eq!((view.payload_type(), view.ssrc()), (101, 0x5EED));
        assert_eq!(view.header_extension(4), Some([1, 2, 3].as_slice()));
        assert_eq!(view.header_extension(9), None, "unknown to the router");
        let stored = stream.stored_packet(1, Instant::now()).unwrap();
        assert_eq!(stored, &bytes[..], "kept in router terms");
    }

    #[test]
    fn the_media_ssrc_is_learned_from_a_media_payload_type_only() {
        let mut stream = stream(None, None);
        // Chrome's RTX padding comes first; it is the RTX stream, never the media stream.
        let mut rtx = packet(97, 3333, vec![]);
        assert_eq!(claim_and_rewrite(&mut stream, &mut rtx), None);
        assert_eq!(stream.rtx_ssrc(), Some(Ssrc(3333)));
        assert_eq!(stream.client_ssrc(), None);
        let mut media = packet(96, 5555, vec![]);
        assert!(claim_and_rewrite(&mut stream, &mut media).is_some());
        assert_eq!(stream.client_ssrc(), Some(Ssrc(5555)));
    }

    #[test]
    fn rtx_packets_are_restored_as_repairs_and_losses_are_nacked() {
        let mut stream = stream(None, None);
        let now = Instant::now();
        for sequence in [10u16, 13] {
            let mut media = packet(96, 5555, vec![]);
            media[2..4].copy_from_slice(&sequence.to_be_bytes());
            assert!(matches!(
                take(&mut stream, &mut media, now),
                Ingest::Accepted { .. }
            ));
        }
        let mut lost = Vec::new();
        assert!(!stream.due_nacks(now, &mut lost));
        assert_eq!(lost, [11, 12]);
        // The client resends 11 on its RTX stream (learned from its payload type): OSN
        // first.
        let mut rtx = packet(97, 6666, vec![]);
        let payload_at = rtx.len() - 5;
        rtx.splice(payload_at..payload_at, 11u16.to_be_bytes());
        let Some((produced, len)) = accepted_len(take(&mut stream, &mut rtx, now)) else {
            panic!("an RTX repair is accepted")
        };
        assert!(produced.repaired);
        let restored = RtpPacket::parse(&rtx[..len]).unwrap();
        assert_eq!(
            (
                restored.payload_type(),
                restored.ssrc(),
                restored.sequence_number()
            ),
            (101, 0x5EED, 11)
        );
        assert_eq!(restored.payload(), [0x10, 0x00, 0x9d, 0x01, 0x2a]);
        assert_eq!(stream.stats(Instant::now()).repaired_packets, 1);
        // Padding-only RTX (a bandwidth probe) is dropped.
        let mut probe = packet(97, 6666, vec![]);
        probe.truncate(probe.len() - 5);
        assert!(matches!(
            take(&mut stream, &mut probe, now),
            Ingest::Dropped
        ));
        // So is an RTX copy of a packet that was not missing (Chrome's payload padding):
        // forwarding it would replay an old frame.
        let mut padding = packet(97, 6666, vec![]);
        let payload_at = padding.len() - 5;
        padding.splice(payload_at..payload_at, 10u16.to_be_bytes());
        assert!(matches!(
            take(&mut stream, &mut padding, now),
            Ingest::Dropped
        ));
        assert_eq!(stream.stats(Instant::now()).rtx_duplicates, 1);
        assert_eq!(stream.stats(Instant::now()).repaired_packets, 1);
        // mediasoup's counters: both RTX packets that carried a packet were retransmissions,
        // the probe and the padding copy were discarded, and 12 is still lost.
        let stats = stream.stats(Instant::now());
        assert_eq!((stats.retransmitted, stats.rtx_discarded), (2, 2));
        assert_eq!((stats.packets_lost, stats.discarded), (1, 0));
        lost.clear();
        stream.due_nacks(now + Duration::from_secs(1), &mut lost);
        assert_eq!(lost, [12], "11 was repaired");
    }

    #[test]
    fn without_rtx_a_missing_packet_arriving_late_is_a_repair() {
        let mut stream = stream(None, None);
        stream.spec.rtx_payload_types.clear();
        let now = Instant::now();
        for sequence in [10u16, 12, 11] {
            let mut media = packet(96, 5555, vec![]);
            media[2..4].copy_from_slice(&sequence.to_be_bytes());
            assert!(matches!(
                take(&mut stream, &mut media, now),
                Ingest::Accepted { .. }
            ));
        }
        let stats = stream.stats(now);
        assert_eq!((stats.retransmitted, stats.repaired_packets), (1, 1));
        assert_eq!(stats.packets_lost, 0);
    }

    #[test]
    fn thousands_of_ssrcs_leave_one_stream_learned() {
        // An authenticated but abusive sender: every packet on a new SSRC, all with the
        // producer's MID. The first is learned; the others are not this stream's.
        let mut stream = stream(None, None);
        for ssrc in 10_000..12_000u32 {
            let mut bytes = packet(96, ssrc, vec![(1, b"0".to_vec())]);
            let claimed = claim_and_rewrite(&mut stream, &mut bytes).is_some();
            assert_eq!(claimed, ssrc == 10_000, "SSRC {ssrc}");
        }
        assert_eq!(stream.client_ssrc(), Some(Ssrc(10_000)));
    }

    #[test]
    fn with_a_rid_only_that_encoding_is_learned() {
        let mut stream = stream(None, Some("r0"));
        let mut high = packet(96, 7000, vec![(1, b"0".to_vec()), (2, b"r2".to_vec())]);
        assert_eq!(claim_and_rewrite(&mut stream, &mut high), None);
        let mut low = packet(96, 7001, vec![(1, b"0".to_vec()), (2, b"r0".to_vec())]);
        assert!(claim_and_rewrite(&mut stream, &mut low).is_some());
        assert_eq!(stream.client_ssrc(), Some(Ssrc(7001)));
    }

    #[test]
    fn unknown_payload_types_are_counted_and_dropped() {
        let mut stream = stream(Some(1111), None);
        let mut bytes = packet(111, 1111, vec![]);
        assert_eq!(claim_and_rewrite(&mut stream, &mut bytes), None);
        assert_eq!(stream.stats(Instant::now()).unknown_payload_type, 1);
        assert_eq!(stream.stats(Instant::now()).packets, 0);
    }

    #[test]
    fn a_keyframe_answers_the_pending_request() {
        let mut stream = stream(Some(1111), None);
        let start = Instant::now();
        assert!(stream.request_key_frame(start));
        assert!(!stream.request_key_frame(start + Duration::from_millis(10)));
        let mut keyframe = packet(96, 1111, vec![]);
        claim_and_rewrite(&mut stream, &mut keyframe).unwrap();
        assert!(stream.request_key_frame(start + Duration::from_millis(20)));
        assert_eq!(stream.stats(Instant::now()).key_frame_requests, 2);
    }

    #[test]
    fn audio_levels_and_orientation_changes_are_read_in_router_terms() {
        let spec = ProducerSpec {
            payload_types: vec![(pt(96), pt(101), Some(PayloadCodec::Vp8))],
            // Client ids 5 (audio level) and 6 (orientation) become the router's 10 and 11.
            extension_ids: vec![(5, 10), (6, 11)],
            audio_level_extension_id: Some(10),
            video_orientation_extension_id: Some(11),
            encodings: vec![EncodingSpec {
                ssrc: Some(Ssrc(1111)),
                mapped_ssrc: Ssrc(0x5EED),
                ..EncodingSpec::default()
            }],
            ..ProducerSpec::default()
        };
        let mut stream = ProducerStream::new(&spec, 0).unwrap();
        let mut first = packet(96, 1111, vec![(5, vec![0x80 | 42]), (6, vec![0b1011])]);
        let produced = claim_and_rewrite(&mut stream, &mut first).unwrap();
        assert_eq!(
            produced.audio_level,
            Some(42),
            "the voice activity bit is not level"
        );
        let orientation = VideoOrientation {
            camera: true,
            flip: false,
            rotation: 270,
        };
        assert_eq!(produced.video_orientation_change, Some(orientation));
        let mut same = packet(96, 1111, vec![(6, vec![0b1011])]);
        let produced = claim_and_rewrite(&mut stream, &mut same).unwrap();
        assert_eq!(produced.video_orientation_change, None, "unchanged");
        assert_eq!(produced.audio_level, None);
    }
}
