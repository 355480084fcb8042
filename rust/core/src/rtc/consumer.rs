//! A consumer: one producer's stream as one endpoint receives it. It starts on a keyframe,
//! keeps its own SSRC and a sequence space without jumps across pauses and simulcast
//! switches, writes its MID, and passes on only the header extensions the endpoint
//! negotiated. Consumers of simulcast producers pick a stream and temporal layers
//! ([`LayerSelector`]) and keep VP8 picture ids continuous across switches.
//!
//! Timing: what it sends lies on one timeline, the producer stream's capture clock
//! ([`CaptureClock`]) shifted by an offset. Each run (a start, a resume, a switch to another
//! simulcast stream, a restart of the client's stream) places its first frame where that
//! frame's capture time falls on the timeline, so timestamps grow frame to frame; and its
//! sender reports map NTP to RTP along the same timeline, so a capture time gets the same
//! NTP time on every consumer of it. When the timeline would put a run's first frame at or
//! before the last frame sent (a new stream's keyframe captured before the old stream's last
//! frame arrived), that run is sent one frame later than its capture, and the reports keep
//! the timeline: a receiver that orders frames by the reports still sees them in order.
//!
//! When the producer's clock itself moves (its first sender report replaces the fallback, or
//! the sender's clock steps), what the reports say moves towards it by at most
//! [`REPORT_SLEW`] per report where that puts frames earlier: a receiver that places frames
//! by the reports (ffmpeg recording) would otherwise see later frames placed before earlier
//! ones. Moving them later goes at once.

use std::time::{Duration, Instant};

use crate::packet::codecs::dependency_descriptor::{DependencyDescriptor, TemplateLayers};
use crate::packet::codecs::vp8::Vp8PayloadDescriptor;
use crate::packet::codecs::vp9::Vp9PayloadDescriptor;
use crate::packet::codecs::{FrameInfo, PayloadCodec};
use crate::packet::rtcp::{ReceptionReport, SdesChunk, SdesItem, SenderReport};
use crate::packet::rtp::{
    rtx_encapsulate, write_copy, CopyHeader, CopySource, ExtensionIdMap, RtpPacket,
};
use crate::rtc::capture_clock::{signed, CaptureClock};
use crate::rtc::ids::{PayloadType, PayloadTypeSet, Ssrc};
use crate::rtc::layer_selector::{LayerChoice, LayerSelector, Layers, PacketLayers, Selection};
use crate::rtc::rate_meter::RtpRateMeter;
use crate::rtc::score::Score;
use crate::rtc::sequence_mapper::SequenceMapper;
use crate::rtc::svc_selector::{SvcPacket, SvcSelection, SvcSelector};
use crate::rtc::token_bucket::TokenBucket;

/// SDES item type of a CNAME (RFC 3550 §6.5.1).
const SDES_CNAME: u8 = 1;

/// Retransmissions per second a consumer may send in the long run: an endpoint that NACKs
/// everything cannot make us resend without bound, while honest repair of a few percent of
/// a stream always fits.
const RETRANSMISSIONS_PER_SECOND: f64 = 500.0;
/// And in a burst (a lost keyframe is a few dozen packets).
const RETRANSMISSION_BURST: f64 = 250.0;
/// The frame rate assumed until two frames have been sent.
const DEFAULT_FRAME_RATE: u32 = 30;
/// How far one sender report may move frames earlier than the last one placed them: under
/// the shortest frame interval in use (60 fps), so frames placed by reports stay in order.
pub const REPORT_SLEW: Duration = Duration::from_millis(10);

/// How the signaling described the consumer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConsumerSpec {
    /// The SSRC the endpoint expects.
    pub ssrc: Ssrc,
    /// Router payload types the endpoint accepted.
    pub payload_types: Vec<PayloadType>,
    /// Router header extension ids the endpoint accepted (others are removed).
    pub extension_ids: Vec<u8>,
    /// The consumer's MID and the extension id it is written with.
    pub mid: Option<(u8, String)>,
    /// Video: wait for a keyframe before sending anything.
    pub needs_key_frame: bool,
    /// Retransmissions go on this RTX stream when the endpoint accepted RTX; otherwise the
    /// packet is resent as it was.
    pub rtx: Option<RtxSpec>,
    /// The codec's RTP clock rate (for sender reports).
    pub clock_rate: u32,
    /// The CNAME sent in SDES (the producer's, so the endpoint groups its tracks).
    pub cname: String,
    /// The id of the transport-wide sequence number extension, when the endpoint accepted
    /// it: the transport numbers everything it sends there.
    pub transport_cc_extension_id: Option<u8>,
    /// The media codec, for codec-aware forwarding (VP8 temporal layers and picture ids).
    pub codec: Option<PayloadCodec>,
    /// The producer's layers, for a simulcast consumer.
    pub layers: Option<LayerSpec>,
    /// Without layers: the producer stream it carries. A pipe consumer of a simulcast
    /// producer carries every stream, each as one of these on its own SSRC.
    pub stream: u8,
    /// The dependency descriptor's extension id, when negotiated: an AV1 SVC consumer reads
    /// layers from it.
    pub dependency_descriptor_extension_id: Option<u8>,
}

/// The layers a simulcast or SVC consumer chooses among.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerSpec {
    /// The layers are inside one SVC stream (VP9) rather than simulcast streams.
    pub svc: bool,
    /// The producer's streams (simulcast) or spatial layers (SVC).
    pub spatial_layers: u8,
    /// Temporal layers per stream.
    pub temporal_layers: u8,
    /// The layers the consumer aims at.
    pub preferred: Layers,
}

/// The consumer's RTX stream (RFC 4588).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RtxSpec {
    /// Its SSRC.
    pub ssrc: Ssrc,
    /// Media payload type -> RTX payload type.
    pub payload_types: Vec<(PayloadType, PayloadType)>,
}

/// A producer packet in router terms, as each of its consumers reads it: parsed once when it
/// arrived, with what its payload descriptor says.
#[derive(Debug, Clone, Copy)]
pub struct ProducerRtp<'a> {
    /// The packet.
    pub packet: &'a RtpPacket<&'a [u8]>,
    /// The producer stream (encoding) it is on.
    pub stream: u8,
    /// Keyframe and layers.
    pub frame: FrameInfo,
    /// Its VP8 payload descriptor, for a VP8 producer.
    pub vp8: Option<Vp8PayloadDescriptor>,
    /// The capture clock of its producer stream, once a packet or sender report told it.
    pub clock: Option<CaptureClock>,
    /// What every consumer's copy is made of, found once.
    source: CopySource<'a>,
    /// Header fields every consumer reads, read from the packet once.
    payload_type: u8,
    sequence_number: u16,
    timestamp: u32,
    marker: bool,
}

impl<'a> ProducerRtp<'a> {
    /// `packet`, on producer stream `stream`, with what its payload descriptor says and its
    /// stream's capture clock.
    pub fn new(
        packet: &'a RtpPacket<&'a [u8]>,
        stream: u8,
        frame: FrameInfo,
        vp8: Option<Vp8PayloadDescriptor>,
        clock: Option<CaptureClock>,
    ) -> Self {
        ProducerRtp {
            packet,
            stream,
            frame,
            vp8,
            clock,
            source: CopySource::new(packet),
            payload_type: packet.payload_type(),
            sequence_number: packet.sequence_number(),
            timestamp: packet.timestamp(),
            marker: packet.marker(),
        }
    }
}

/// What the consumer does with a producer packet. An explicit tag: told apart with one
/// comparison for every copy (the default layout folds it into the sequence number's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Forward {
    /// The copy is the first `len` bytes of the output buffer.
    Send {
        /// Its length.
        len: usize,
        /// The transport-wide sequence number it carries, when the endpoint takes them.
        transport_sequence: Option<u16>,
    },
    /// Dropped: waiting for a keyframe of this producer stream (the caller requests one).
    NeedKeyFrame(u8),
    /// Dropped: paused, or a payload type the endpoint did not accept.
    Skip,
}

/// Counters of a consumer.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ConsumerStats {
    /// Packets sent to the endpoint.
    pub packets: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Keyframe requests from the endpoint (PLI/FIR).
    pub key_frame_requests: u64,
    /// Of those, FIRs (the others are PLIs).
    pub fir_requests: u64,
    /// Bits per second sent over the last 2.5 s (retransmissions included).
    pub bitrate: u64,
    /// Copies of producer packets dropped because they could not be written for the
    /// endpoint (mediasoup's send stream discards what it cannot send).
    pub discarded: u64,
    /// Retransmissions that could not be put on the RTX stream (no RTX payload type for
    /// the packet's, or no room), dropped.
    pub rtx_discarded: u64,
    /// Packets resent for the first time: repairs of a loss the endpoint reported (a packet
    /// resent again after that counts in `retransmitted_packets` only).
    pub repaired_packets: u64,
    /// Interarrival jitter from the endpoint's last receiver report, in RTP timestamp units.
    pub jitter: u32,
    /// NACK packets from the endpoint.
    pub nacks: u64,
    /// Sequence numbers those NACKs asked for.
    pub nacked_packets: u64,
    /// Packets resent in answer.
    pub retransmitted_packets: u64,
    /// NACKed packets not resent because the endpoint asked for more than the budget, or
    /// because its transport's resends already took their share of the estimate.
    pub retransmissions_refused: u64,
    /// Round-trip time from the endpoint's last receiver report, in milliseconds.
    pub round_trip_time_ms: Option<f64>,
    /// Fraction lost in that report (0-255).
    pub fraction_lost: u8,
    /// Cumulative packets lost in that report.
    pub packets_lost: i32,
    /// Score from that report, 0-10.
    pub score: u8,
}

/// The VP8 numbering a consumer keeps continuous across simulcast switches and dropped
/// temporal layers.
#[derive(Debug)]
struct Vp8Numbering {
    picture_ids: SequenceMapper,
    /// Producer TL0PICIDX + offset = ours (base layer frames are never dropped).
    tl0_offset: u8,
    last_tl0: Option<u8>,
}

/// How a consumer picks layers.
#[derive(Debug)]
enum Layering {
    /// Among a simulcast producer's streams.
    Simulcast(LayerSelector),
    /// Inside an SVC stream.
    Svc(SvcSelector),
}

impl std::ops::Deref for Layering {
    type Target = LayerChoice;

    fn deref(&self) -> &LayerChoice {
        match self {
            Layering::Simulcast(selector) => selector,
            Layering::Svc(selector) => selector,
        }
    }
}

impl std::ops::DerefMut for Layering {
    fn deref_mut(&mut self) -> &mut LayerChoice {
        match self {
            Layering::Simulcast(selector) => selector,
            Layering::Svc(selector) => selector,
        }
    }
}

/// One consumer of a producer: simple (one stream), simulcast (a [`LayerSelector`]) or SVC
/// (an [`SvcSelector`]).
#[derive(Debug)]
pub struct Consumer {
    spec: ConsumerSpec,
    extension_map: ExtensionIdMap,
    /// The payload types of `spec` as a set, checked per packet.
    accepted_payload_types: PayloadTypeSet,
    /// Simulcast VP8: picture ids and TL0PICIDX are renumbered across streams.
    renumbers_vp8: bool,
    /// Paused by the application.
    pub paused: bool,
    /// Paused because its producer is.
    pub producer_paused: bool,
    /// Producer sequence numbers to ours; a new run at each (re)start.
    sequences: SequenceMapper,
    /// The producer stream the current run forwards (its packets answer our NACKs).
    run_stream: u8,
    /// Boxed: most consumers have none, and the check for one runs for every copy.
    selector: Option<Box<Layering>>,
    /// The capture clock of the current run's stream, as of its last packet.
    run_clock: Option<CaptureClock>,
    /// Producer timestamp + this = ours on the timeline; set at each run's start.
    line_offset: u32,
    /// Producer timestamp + this = ours as our sender reports tell it: `line_offset`, or on
    /// its way there after the producer's clock moved (see [`REPORT_SLEW`]).
    report_offset: u32,
    /// Producer timestamp + this = what we send: `line_offset`, or a frame later when the
    /// timeline puts the run's first frame before the last one sent.
    timestamp_offset: u32,
    /// The highest timestamp sent (`None` before the first packet).
    highest_timestamp: Option<u32>,
    /// The last step between frames sent, in ticks: how far a run placed too early goes.
    frame_step: u32,
    /// The first packet went out and no sender report yet: receivers that align streams
    /// by reports (ffmpeg) should have one before the media.
    opening_report_due: bool,
    /// AV1 SVC: the template layers of the last keyframe's dependency structure, and that
    /// keyframe's RTP timestamp (its higher spatial layers reference no earlier picture).
    av1_templates: Option<(TemplateLayers, u32)>,
    vp8: Option<Vp8Numbering>,
    rtx_sequence: u16,
    /// From the endpoint's receiver reports.
    score: Score,
    /// Bounds what an endpoint that NACKs everything can make us resend.
    retransmissions: TokenBucket,
    /// Our sequence numbers already resent once, as bit `sequence % RESENT_WINDOW`
    /// (cleared when the number is first sent): tells repairs from repeated resends.
    resent: [u64; RESENT_WINDOW / 64],
    /// Bytes sent, for the bitrate.
    sent_rate: RtpRateMeter,
    stats: ConsumerStats,
}

/// How many of our latest sequence numbers `Consumer::resent` tells apart: more than the
/// producer's retransmission store keeps, so a stale bit is never read.
const RESENT_WINDOW: usize = 2048;

impl Consumer {
    /// A consumer for `spec`, whose first sequence numbers are `initial_sequences` (media,
    /// RTX; random, as RFC 3550 asks).
    pub fn new(
        spec: ConsumerSpec,
        paused: bool,
        initial_sequences: (u16, u16),
    ) -> Result<Self, String> {
        let mut extension_map = ExtensionIdMap::new();
        for id in &spec.extension_ids {
            extension_map
                .insert(*id, *id)
                .map_err(|error| error.to_string())?;
        }
        let stream = spec.stream;
        let frame_step = (spec.clock_rate / DEFAULT_FRAME_RATE).max(1);
        let selector = spec.layers.map(|layers| {
            let (spatial, temporal) = (layers.spatial_layers, layers.temporal_layers);
            if layers.svc {
                Box::new(Layering::Svc(SvcSelector::new(
                    spatial,
                    temporal,
                    layers.preferred,
                )))
            } else {
                Box::new(Layering::Simulcast(LayerSelector::new(
                    spatial,
                    temporal,
                    layers.preferred,
                )))
            }
        });
        let accepted_payload_types = spec.payload_types.iter().copied().collect();
        let renumbers_vp8 = matches!(selector.as_deref(), Some(Layering::Simulcast(_)))
            && spec.codec == Some(PayloadCodec::Vp8);
        Ok(Consumer {
            spec,
            extension_map,
            accepted_payload_types,
            renumbers_vp8,
            paused,
            producer_paused: false,
            sequences: SequenceMapper::new(0xFFFF, initial_sequences.0),
            run_stream: stream,
            selector,
            run_clock: None,
            line_offset: 0,
            report_offset: 0,
            timestamp_offset: 0,
            highest_timestamp: None,
            frame_step,
            opening_report_due: false,
            av1_templates: None,
            vp8: None,
            rtx_sequence: initial_sequences.1,
            score: Score::default(),
            retransmissions: TokenBucket::new(RETRANSMISSIONS_PER_SECOND, RETRANSMISSION_BURST),
            resent: [0; RESENT_WINDOW / 64],
            sent_rate: RtpRateMeter::default(),
            stats: ConsumerStats {
                score: 10,
                ..ConsumerStats::default()
            },
        })
    }

    /// Where its packets carry the transport-wide sequence number, if anywhere.
    pub fn transport_cc_extension_id(&self) -> Option<u8> {
        self.spec.transport_cc_extension_id
    }

    /// Whether it carries video (keyframes matter).
    pub fn is_video(&self) -> bool {
        self.spec.codec.is_some_and(PayloadCodec::is_video)
    }

    /// The SSRC the endpoint receives.
    pub fn ssrc(&self) -> Ssrc {
        self.spec.ssrc
    }

    /// The SSRC of its RTX stream, when the endpoint accepted RTX.
    pub fn rtx_ssrc(&self) -> Option<Ssrc> {
        self.spec.rtx.as_ref().map(|rtx| rtx.ssrc)
    }

    /// Counters, with the bitrate as of `now`.
    pub fn stats(&mut self, now: Instant) -> ConsumerStats {
        ConsumerStats {
            bitrate: self.sent_rate.bits_per_second(now),
            ..self.stats
        }
    }

    /// Pauses or resumes; resuming waits for a keyframe again (video).
    pub fn set_paused(&mut self, paused: bool) {
        if self.paused != paused {
            self.paused = paused;
            self.stop_run();
        }
    }

    /// The producer paused or resumed.
    pub fn set_producer_paused(&mut self, paused: bool) {
        if self.producer_paused != paused {
            self.producer_paused = paused;
            self.stop_run();
        }
    }

    fn stop_run(&mut self) {
        self.sequences.stop();
        if let Some(selector) = self.selector.as_deref_mut() {
            selector.reset();
        }
    }

    /// A simulcast consumer's preferred layers (clamped to the producer's); switching
    /// follows at the next keyframe or layer sync point.
    pub fn set_preferred_layers(&mut self, preferred: Layers) {
        if let Some(selector) = self.selector.as_deref_mut() {
            selector.set_preferred(preferred);
        }
    }

    /// Limits a simulcast or SVC consumer to what its transport's bandwidth allows
    /// (`None`: no limit).
    pub fn set_bandwidth_limit(&mut self, limit: Option<Layers>) {
        if let Some(selector) = self.selector.as_deref_mut() {
            selector.set_limit(limit);
        }
    }

    /// What a simulcast or SVC consumer chooses among, with its preferred layers now.
    pub fn layer_spec(&self) -> Option<LayerSpec> {
        let selector = self.selector.as_deref()?;
        let spec = self.spec.layers?;
        Some(LayerSpec {
            preferred: selector.preferred(),
            ..spec
        })
    }

    /// A simulcast consumer's (preferred, current) layers.
    pub fn layers(&self) -> Option<(Layers, Option<Layers>)> {
        let selector = self.selector.as_deref()?;
        Some((selector.preferred(), selector.current()))
    }

    /// The current layers, if they changed since the last call (`Some(None)`: nothing is
    /// being sent).
    pub fn take_layers_change(&mut self) -> Option<Option<Layers>> {
        let selector = self.selector.as_deref_mut()?;
        selector.take_change().then(|| selector.current())
    }

    /// Timers: a simulcast consumer whose producer sends nothing any more sends nothing.
    pub fn on_tick(&mut self, now: Instant) {
        if let Some(Layering::Simulcast(selector)) = self.selector.as_deref_mut() {
            selector.on_tick(now);
        }
    }

    /// The producer stream it forwards now.
    pub fn current_stream(&self) -> u8 {
        self.run_stream
    }

    /// Counts a keyframe request from the endpoint (`fir`: a FIR, else a PLI).
    pub fn on_key_frame_request(&mut self, fir: bool) {
        self.stats.key_frame_requests += 1;
        if fir {
            self.stats.fir_requests += 1;
        }
    }

    /// Writes the consumer's copy of a producer packet into `output`, which needs room for
    /// the MID and transport-wide sequence number extensions and an SRTP tag. When the copy
    /// goes out, the endpoint takes transport-wide sequence numbers and `transport_sequence`
    /// is given (its transport's next: the producer packet carried one), the copy carries
    /// that number, which then advances.
    pub fn forward(
        &mut self,
        produced: &ProducerRtp<'_>,
        now: Instant,
        transport_sequence: Option<&mut u16>,
        output: &mut [u8],
    ) -> Forward {
        if self.paused || self.producer_paused {
            return Forward::Skip;
        }
        if !self.accepted_payload_types.contains(produced.payload_type) {
            return Forward::Skip;
        }
        // The stream's clock moves rarely (a sender report, a restart): most packets have
        // nothing to follow. Compared in place: the clock is not small.
        let clock_moved = match (&produced.clock, &self.run_clock) {
            (Some(clock), Some(run)) => clock != run,
            (Some(_), None) => true,
            (None, _) => false,
        };
        // Most copies are of the one stream a consumer without layers carries, in a run
        // under way on an unchanged clock: nothing to decide.
        let steady = self.selector.is_none()
            && !clock_moved
            && produced.stream == self.spec.stream
            && self.sequences.started();
        let (marker, vp8) = if steady {
            (produced.marker, None)
        } else {
            let moved_clock = produced.clock.filter(|_| clock_moved);
            match self.admit(produced, moved_clock, now) {
                Ok(admitted) => admitted,
                Err(dropped) => return dropped,
            }
        };
        let producer_sequence = produced.sequence_number;
        let Some(sequence) = self.sequences.map(producer_sequence) else {
            return Forward::Skip;
        };
        let timestamp = produced.timestamp.wrapping_add(self.timestamp_offset);
        let transport_sequence =
            transport_sequence.filter(|_| self.spec.transport_cc_extension_id.is_some());
        let number = transport_sequence.as_deref().copied();
        let Some(len) = self.write_copy(
            &produced.source,
            sequence,
            timestamp,
            marker,
            number,
            vp8,
            output,
        ) else {
            self.stats.discarded += 1;
            return Forward::Skip;
        };
        if let Some(next) = transport_sequence {
            *next = next.wrapping_add(1);
        }
        self.stats.packets += 1;
        self.stats.bytes += len as u64;
        self.sent_rate.record(len, now);
        // Mostly nothing was resent: the word is then left alone.
        let resent_bit = usize::from(sequence) % RESENT_WINDOW;
        if let Some(word) = self
            .resent
            .get_mut(resent_bit / 64)
            .filter(|word| **word != 0)
        {
            *word &= !(1 << (resent_bit % 64));
        }
        self.on_sent(timestamp);
        Forward::Send {
            len,
            transport_sequence: number,
        }
    }

    /// What a packet the consumer is not simply continuing with does: a (re)start, a
    /// restarted or moved clock, a layer choice. The copy's marker bit and the VP8
    /// descriptor to renumber, or why nothing is sent.
    // Kept out of `forward`, whose steady path then needs a smaller frame.
    #[inline(never)]
    fn admit(
        &mut self,
        produced: &ProducerRtp<'_>,
        moved_clock: Option<CaptureClock>,
        now: Instant,
    ) -> Result<(bool, Option<Vp8PayloadDescriptor>), Forward> {
        let view = produced.packet;
        let stream = produced.stream;
        let producer_sequence = produced.sequence_number;
        let is_keyframe = produced.frame.is_keyframe;
        let clock = produced.clock;
        let restarted =
            |run: &CaptureClock| moved_clock.is_some_and(|clock| clock.epoch() != run.epoch());
        if stream == self.run_stream && self.run_clock.as_ref().is_some_and(restarted) {
            // The client restarted the stream: its numbers and timestamps start elsewhere, so
            // a new run starts (on a keyframe).
            self.stop_run();
        }
        // Simulcast VP8 is forwarded by its layers and renumbered across streams.
        let vp8 = produced.vp8.filter(|_| self.renumbers_vp8);
        let mut marker = produced.marker;
        let restart = match self.selector.as_deref_mut() {
            Some(Layering::Svc(_)) => {
                let Some(packet) = self.svc_packet(view) else {
                    // AV1 before a keyframe's dependency structure reached this consumer
                    // (it came before the consumer did): ask for one.
                    let waiting =
                        self.spec.codec == Some(PayloadCodec::Av1) && self.av1_templates.is_none();
                    return Err(if waiting {
                        Forward::NeedKeyFrame(stream)
                    } else {
                        Forward::Skip
                    });
                };
                let Some(Layering::Svc(selector)) = self.selector.as_deref_mut() else {
                    return Err(Forward::Skip);
                };
                match selector.select(packet, produced.marker) {
                    SvcSelection::Forward { marker: wanted } => {
                        marker = wanted;
                        !self.sequences.started()
                    }
                    SvcSelection::NeedKeyFrame => return Err(Forward::NeedKeyFrame(stream)),
                    SvcSelection::Drop => {
                        // A layer not sent: no gap for the endpoint to see.
                        self.sequences.drop_input(producer_sequence);
                        return Err(Forward::Skip);
                    }
                }
            }
            Some(Layering::Simulcast(selector)) => {
                // With one temporal layer signaled, whatever layer ids a sender writes
                // are all forwarded.
                let temporal_layers = self.spec.layers.map_or(1, |layers| layers.temporal_layers);
                let temporal = vp8.and_then(|vp8| vp8.temporal_id).unwrap_or(0);
                let layers = PacketLayers {
                    spatial: stream,
                    temporal: if temporal_layers > 1 { temporal } else { 0 },
                    layer_sync: vp8.is_some_and(|vp8| vp8.layer_sync),
                    keyframe: is_keyframe,
                };
                match selector.select(layers, now) {
                    Selection::Forward { restart } => restart || !self.sequences.started(),
                    Selection::NeedKeyFrame(stream) => return Err(Forward::NeedKeyFrame(stream)),
                    Selection::Drop => {
                        if stream == self.run_stream {
                            // A temporal layer not sent: no gap for the endpoint to see.
                            self.sequences.drop_input(producer_sequence);
                            if let (Some(numbering), Some((id, _))) =
                                (&mut self.vp8, vp8.and_then(|vp8| vp8.picture_id))
                            {
                                numbering.picture_ids.drop_input(id);
                            }
                        }
                        return Err(Forward::Skip);
                    }
                }
            }
            // One stream, one sequence space: without layer selection, the one stream it
            // carries.
            None if stream != self.spec.stream => return Err(Forward::Skip),
            None if self.sequences.started() => false,
            None if self.spec.needs_key_frame && !is_keyframe => {
                return Err(Forward::NeedKeyFrame(stream))
            }
            None => true,
        };
        if restart {
            self.start_run(view, stream, vp8, clock, now);
        } else if let Some(clock) = moved_clock {
            self.follow_clock(clock, now);
        }
        Ok((marker, vp8))
    }

    /// The layers of an SVC packet: VP9's from its payload descriptor; AV1's from the
    /// dependency descriptor, by the template layers of the last keyframe's structure.
    fn svc_packet(&mut self, view: &RtpPacket<&[u8]>) -> Option<SvcPacket> {
        if self.spec.codec != Some(PayloadCodec::Av1) {
            let vp9 = Vp9PayloadDescriptor::parse(view.payload()).ok()?;
            let layer = vp9.layer;
            return Some(SvcPacket {
                spatial: layer.map_or(0, |layer| layer.spatial_id),
                temporal: layer.map_or(0, |layer| layer.temporal_id),
                switching_up_point: layer.is_some_and(|layer| layer.switching_up_point),
                starts_layer_frame: vp9.start_of_frame,
                ends_layer_frame: vp9.end_of_frame,
                inter_picture_predicted: vp9.inter_picture_predicted,
            });
        }
        let id = self.spec.dependency_descriptor_extension_id?;
        let descriptor = DependencyDescriptor::parse(view.header_extension(id)?).ok()?;
        if let Some(structure) = descriptor.structure {
            // Keyframes carry the structure, on their first packet.
            self.av1_templates = Some((structure, view.timestamp()));
        }
        let (templates, key_timestamp) = self.av1_templates.as_ref()?;
        let (spatial, temporal) = templates.layers_of(descriptor.template_id)?;
        Some(SvcPacket {
            spatial,
            temporal,
            // WebRTC's AV1 temporal structures (L1T2, L1T3 and their spatial forms) never
            // reference a frame of the same temporal layer above the base: any frame of a
            // higher layer decodes from the lower ones.
            switching_up_point: true,
            starts_layer_frame: descriptor.start_of_frame,
            ends_layer_frame: descriptor.end_of_frame,
            // Every layer frame of the keyframe's picture refers only to that picture.
            inter_picture_predicted: view.timestamp() != *key_timestamp,
        })
    }

    /// Starts a run on `first`, a packet of producer stream `stream` whose capture clock is
    /// `clock`: our numbering continues, our timestamps stay on the timeline (see the module
    /// documentation), and for simulcast VP8 picture ids and TL0PICIDX continue.
    fn start_run(
        &mut self,
        first: &RtpPacket<&[u8]>,
        stream: u8,
        vp8: Option<Vp8PayloadDescriptor>,
        clock: Option<CaptureClock>,
        now: Instant,
    ) {
        self.sequences.start(first.sequence_number());
        let previous_stream = std::mem::replace(&mut self.run_stream, stream);
        let first_timestamp = first.timestamp();
        // Without the producer's clock (nothing reached it yet), the run's own: captured now.
        let clock = clock
            .unwrap_or_else(|| CaptureClock::new(self.spec.clock_rate, first_timestamp, now, 0));
        let same_stream = self
            .run_clock
            .is_some_and(|previous| previous.epoch() == clock.epoch());
        if stream == previous_stream && same_stream {
            // A resume: this stream's clock may have moved meanwhile, the timeline with it.
            self.follow_clock(clock, now);
        }
        if let (Some(previous), Some(highest)) = (self.run_clock, self.highest_timestamp) {
            let on_line = clock
                .map_to(first_timestamp, &previous)
                .wrapping_add(self.line_offset);
            let moved = on_line
                .wrapping_sub(first_timestamp)
                .wrapping_sub(self.line_offset);
            // Same timeline on the new run's clock: the reports move with it.
            self.line_offset = self.line_offset.wrapping_add(moved);
            self.report_offset = self.report_offset.wrapping_add(moved);
            let earliest = highest.wrapping_add(self.frame_step);
            let sent_as = if signed(on_line.wrapping_sub(earliest)) < 0 {
                earliest
            } else {
                on_line
            };
            self.timestamp_offset = sent_as.wrapping_sub(first_timestamp);
        }
        self.run_clock = Some(clock);
        if !matches!(self.selector.as_deref(), Some(Layering::Simulcast(_))) {
            return;
        }
        let Some((picture_id, width)) = vp8.and_then(|vp8| vp8.picture_id) else {
            return;
        };
        let numbering = self.vp8.get_or_insert_with(|| Vp8Numbering {
            picture_ids: SequenceMapper::new(width.max(), picture_id),
            tl0_offset: 0,
            last_tl0: None,
        });
        numbering.picture_ids.start(picture_id);
        if let (Some(last), Some(tl0)) = (numbering.last_tl0, vp8.and_then(|vp8| vp8.tl0_pic_idx)) {
            numbering.tl0_offset = last.wrapping_add(1).wrapping_sub(tl0);
        }
    }

    /// Writes our VP8 picture id and TL0PICIDX into a copy's payload.
    fn renumber_vp8(&mut self, payload: &mut [u8], mut descriptor: Vp8PayloadDescriptor) {
        let Some(numbering) = self.vp8.as_mut() else {
            return;
        };
        if let Some((id, _)) = descriptor.picture_id {
            if let Some(ours) = numbering.picture_ids.map(id) {
                let _ = descriptor.set_picture_id(payload, ours);
            }
        }
        if let Some(tl0) = descriptor.tl0_pic_idx {
            let ours = tl0.wrapping_add(numbering.tl0_offset);
            let _ = descriptor.set_tl0_pic_idx(payload, ours);
            numbering.last_tl0 = Some(ours);
        }
    }

    /// The current run's stream's clock is now `clock`: the timeline follows it; if it moved,
    /// the reports stay where they were and catch up report by report.
    fn follow_clock(&mut self, clock: CaptureClock, now: Instant) {
        if let Some(previous) = self.run_clock.replace(clock) {
            if previous != clock {
                let moved = previous
                    .timestamp_at(now)
                    .wrapping_sub(clock.timestamp_at(now));
                self.report_offset = self.report_offset.wrapping_add(moved);
            }
        }
    }

    /// Moves what the reports say towards the timeline: later at once, earlier by at most
    /// [`REPORT_SLEW`].
    fn slew_reports(&mut self) {
        let gap = signed(self.line_offset.wrapping_sub(self.report_offset));
        let slew = (REPORT_SLEW.as_millis() as u32 * self.spec.clock_rate / 1000) as i32;
        // A larger offset puts a timestamp at an earlier capture time.
        let step = gap.min(slew.max(1));
        self.report_offset = self.report_offset.wrapping_add(step as u32);
    }

    /// How far the reports have still to move to reach the timeline, in ticks.
    #[cfg(test)]
    fn report_gap(&self) -> i32 {
        signed(self.line_offset.wrapping_sub(self.report_offset))
    }

    /// Books a packet sent with `timestamp`.
    fn on_sent(&mut self, timestamp: u32) {
        let Some(highest) = self.highest_timestamp else {
            self.highest_timestamp = Some(timestamp);
            self.opening_report_due = true;
            return;
        };
        let step = signed(timestamp.wrapping_sub(highest));
        if step > 0 {
            // Steps longer than a fifth of a second are gaps (a pause), not frames.
            if step.unsigned_abs() <= self.spec.clock_rate / 5 {
                self.frame_step = step.unsigned_abs();
            }
            self.highest_timestamp = Some(timestamp);
        }
    }

    /// The sender report and SDES chunk describing what we sent, as of `now` (`ntp`: the
    /// wall clock as 64-bit NTP time); `None` before the first packet. Its RTP timestamp is
    /// the one captured now on our timeline: the producer's capture clock, shifted as our
    /// timestamps are.
    pub fn sender_report(&mut self, now: Instant, ntp: u64) -> Option<(SenderReport, SdesChunk)> {
        self.highest_timestamp?;
        let clock = self.run_clock?;
        self.slew_reports();
        let report = SenderReport {
            ssrc: self.spec.ssrc.0,
            ntp_seconds: (ntp >> 32) as u32,
            ntp_fraction: ntp as u32,
            rtp_timestamp: clock.timestamp_at(now).wrapping_add(self.report_offset),
            packet_count: self.stats.packets as u32,
            octet_count: self.stats.bytes as u32,
            reports: Vec::new(),
        };
        let chunk = SdesChunk {
            ssrc: self.spec.ssrc.0,
            items: vec![SdesItem {
                item_type: SDES_CNAME,
                value: self.spec.cname.as_bytes().to_vec(),
            }],
        };
        Some((report, chunk))
    }

    /// The sender report due ahead of the first packet just sent, once: `ntp` gives the
    /// wall clock as in [`Consumer::sender_report`].
    pub fn opening_report(
        &mut self,
        now: Instant,
        ntp: impl FnOnce() -> u64,
    ) -> Option<(SenderReport, SdesChunk)> {
        if !std::mem::take(&mut self.opening_report_due) {
            return None;
        }
        self.sender_report(now, ntp())
    }

    /// The endpoint's report block on our stream (`ntp_middle`: the middle 32 bits of the
    /// NTP time now): round-trip time, loss and the score.
    pub fn on_receiver_report(&mut self, block: &ReceptionReport, ntp_middle: u32) {
        if block.last_sr != 0 {
            // RFC 3550 §6.4.1: A - LSR - DLSR, in 1/65536 s.
            let rtt = ntp_middle
                .wrapping_sub(block.last_sr)
                .wrapping_sub(block.delay_since_last_sr);
            if rtt < 0x8000_0000 {
                self.stats.round_trip_time_ms = Some(f64::from(rtt) * 1000.0 / 65536.0);
            }
        }
        self.stats.fraction_lost = block.fraction_lost;
        self.stats.packets_lost = block.total_lost;
        self.stats.jitter = block.jitter;
        let delivered = 1.0 - f64::from(block.fraction_lost) / 256.0;
        self.score.on_interval(delivered, 1.0);
        self.stats.score = self.score.get();
    }

    /// Writes our copy of a router-terms packet in one pass: our SSRC, `sequence`,
    /// `timestamp` and `marker`, the extensions the endpoint accepted, our MID and the
    /// transport-wide sequence number `number`, then for VP8 our picture id and TL0PICIDX.
    /// Its length. Inlined: it runs for every copy, and its arguments cost as much as its
    /// own work.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn write_copy(
        &mut self,
        source: &CopySource<'_>,
        sequence: u16,
        timestamp: u32,
        marker: bool,
        number: Option<u16>,
        vp8: Option<Vp8PayloadDescriptor>,
        output: &mut [u8],
    ) -> Option<usize> {
        let number_bytes = number.map(u16::to_be_bytes);
        let mut added: [(u8, &[u8]); 2] = [(0, &[]); 2];
        let mut count = 0;
        if let Some((id, mid)) = &self.spec.mid {
            added[count] = (*id, mid.as_bytes());
            count += 1;
        }
        if let (Some(id), Some(bytes)) = (self.spec.transport_cc_extension_id, &number_bytes) {
            added[count] = (id, bytes);
            count += 1;
        }
        let header = CopyHeader {
            ssrc: self.spec.ssrc.0,
            sequence_number: sequence,
            timestamp,
            marker,
            extension_ids: &self.extension_map,
            added: &added[..count],
        };
        let layout = write_copy(source, &header, output).ok()?;
        if let Some(descriptor) = vp8 {
            let payload_end = layout.len - source.padding_len();
            if let Some(payload) = output.get_mut(layout.payload_offset..payload_end) {
                self.renumber_vp8(payload, descriptor);
            }
        }
        Some(layout.len)
    }

    /// Counts a NACK from the endpoint asking for `lost` packets.
    pub fn on_nack(&mut self, lost: usize) {
        self.stats.nacks += 1;
        self.stats.nacked_packets += lost as u64;
    }

    /// The producer stream and sequence number of the packet we sent as `sequence`, if it
    /// was sent in the current run (before a pause or switch, the mapping was another).
    pub fn producer_sequence(&self, sequence: u16) -> Option<(u8, u16)> {
        Some((self.run_stream, self.sequences.unmap(sequence)?))
    }

    /// Counts a NACKed packet not resent because its transport's retransmissions are at
    /// their share of the estimate.
    pub fn refuse_retransmission(&mut self) {
        self.stats.retransmissions_refused += 1;
    }

    /// Writes the retransmission of our packet `sequence`, whose producer copy is `stored`,
    /// into `output`: on the RTX stream when negotiated, else as sent. Like
    /// [`Consumer::forward`], it carries `transport_sequence` when the endpoint takes
    /// transport-wide sequence numbers and it is video or the stored packet carried one. Its
    /// length and that number.
    pub fn retransmit(
        &mut self,
        stored: &[u8],
        sequence: u16,
        now: Instant,
        transport_sequence: &mut u16,
        output: &mut [u8],
    ) -> Option<(usize, Option<u16>)> {
        if !self.retransmissions.take(1.0, now) {
            self.stats.retransmissions_refused += 1;
            return None;
        }
        let view = RtpPacket::parse(stored).ok()?;
        let timestamp = view.timestamp().wrapping_add(self.timestamp_offset);
        let vp8 = match (self.vp8.is_some(), self.spec.codec) {
            (true, Some(PayloadCodec::Vp8)) => Vp8PayloadDescriptor::parse(view.payload()).ok(),
            _ => None,
        };
        let number = self
            .spec
            .transport_cc_extension_id
            .filter(|&id| self.is_video() || view.header_extension(id).is_some())
            .map(|_| *transport_sequence);
        let len = self.write_copy(
            &CopySource::new(&view),
            sequence,
            timestamp,
            view.marker(),
            number,
            vp8,
            output,
        )?;
        let len = match &self.spec.rtx {
            Some(rtx) => {
                let rtx_payload_type = rtx
                    .payload_types
                    .iter()
                    .find(|(media, _)| media.get() == view.payload_type())
                    .map(|&(_, rtx_payload_type)| rtx_payload_type);
                let encapsulated = rtx_payload_type.and_then(|rtx_payload_type| {
                    rtx_encapsulate(
                        output,
                        len,
                        rtx_payload_type.get(),
                        rtx.ssrc.0,
                        self.rtx_sequence,
                    )
                    .ok()
                });
                let Some(rtx_len) = encapsulated else {
                    self.stats.rtx_discarded += 1;
                    return None;
                };
                self.rtx_sequence = self.rtx_sequence.wrapping_add(1);
                rtx_len
            }
            None => len,
        };
        if number.is_some() {
            *transport_sequence = transport_sequence.wrapping_add(1);
        }
        self.stats.retransmitted_packets += 1;
        let resent_bit = usize::from(sequence) % RESENT_WINDOW;
        let (word, bit) = (resent_bit / 64, 1 << (resent_bit % 64));
        if self.resent[word] & bit == 0 {
            self.resent[word] |= bit;
            self.stats.repaired_packets += 1;
        }
        self.sent_rate.record(len, now);
        Some((len, number))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::rtp::{ExtensionBlock, ExtensionForm, RtpHeader};
    use proptest::prelude::*;

    fn packet(sequence: u16, extensions: Vec<(u8, Vec<u8>)>) -> Vec<u8> {
        let header = RtpHeader {
            payload_type: 101,
            sequence_number: sequence,
            timestamp: 90_000,
            ssrc: 7,
            extensions: Some(ExtensionBlock {
                form: ExtensionForm::OneByte,
                elements: extensions,
            }),
            ..RtpHeader::default()
        };
        let mut out = Vec::new();
        header.write_into(&[1, 2, 3, 4], &mut out).unwrap();
        out
    }

    fn pt(value: u8) -> PayloadType {
        PayloadType::new(value).unwrap()
    }

    /// The consumer's copy of `packet`, from producer stream `stream`, whose capture clock
    /// nothing told yet.
    fn forward(
        consumer: &mut Consumer,
        packet: &[u8],
        stream: u8,
        is_keyframe: bool,
        now: Instant,
        output: &mut [u8],
    ) -> Forward {
        forward_clocked(consumer, packet, stream, is_keyframe, None, now, output)
    }

    /// The consumer's copy of `packet`, from producer stream `stream` whose capture clock is
    /// `clock`.
    fn forward_clocked(
        consumer: &mut Consumer,
        packet: &[u8],
        stream: u8,
        is_keyframe: bool,
        clock: Option<CaptureClock>,
        now: Instant,
        output: &mut [u8],
    ) -> Forward {
        let view = RtpPacket::parse(packet).unwrap();
        let frame = FrameInfo {
            is_keyframe,
            ..FrameInfo::default()
        };
        let produced = ProducerRtp::new(&view, stream, frame, None, clock);
        consumer.forward(&produced, now, Some(&mut 0), output)
    }

    fn spec(needs_key_frame: bool) -> ConsumerSpec {
        ConsumerSpec {
            ssrc: Ssrc(0xABCD),
            payload_types: vec![pt(101)],
            extension_ids: vec![1, 4],
            mid: Some((1, "3".into())),
            needs_key_frame,
            clock_rate: 90_000,
            cname: "cname".into(),
            transport_cc_extension_id: None,
            codec: None,
            layers: None,
            stream: 0,
            dependency_descriptor_extension_id: None,
            rtx: Some(RtxSpec {
                ssrc: Ssrc(0xABCE),
                payload_types: vec![(pt(101), pt(102))],
            }),
        }
    }

    #[test]
    fn starts_on_a_keyframe_and_rewrites_ssrc_sequence_mid_and_extensions() {
        let mut consumer = Consumer::new(spec(true), false, (1000, 0)).unwrap();
        let mut output = [0u8; 256];
        let input = packet(
            50,
            vec![(1, b"0".to_vec()), (4, vec![1, 2, 3]), (9, vec![7])],
        );
        assert_eq!(
            forward(&mut consumer, &input, 0, false, Instant::now(), &mut output),
            Forward::NeedKeyFrame(0)
        );
        let Forward::Send { len, .. } =
            forward(&mut consumer, &input, 0, true, Instant::now(), &mut output)
        else {
            panic!("a keyframe starts the consumer");
        };
        let sent = RtpPacket::parse(&output[..len]).unwrap();
        assert_eq!((sent.ssrc(), sent.sequence_number()), (0xABCD, 1000));
        assert_eq!(sent.header_extension(1), Some(b"3".as_slice()));
        assert_eq!(sent.header_extension(4), Some([1, 2, 3].as_slice()));
        assert_eq!(
            sent.header_extension(9),
            None,
            "not negotiated by the endpoint"
        );
        assert_eq!(sent.payload(), [1, 2, 3, 4]);
    }

    #[test]
    fn a_consumer_without_layers_carries_only_its_stream() {
        // As a pipe consumer carries the second stream of a simulcast producer.
        let mut consumer = Consumer::new(
            ConsumerSpec {
                stream: 1,
                ..spec(false)
            },
            false,
            (500, 0),
        )
        .unwrap();
        let mut output = [0u8; 256];
        let now = Instant::now();
        assert_eq!(
            forward(
                &mut consumer,
                &packet(10, vec![]),
                0,
                true,
                now,
                &mut output
            ),
            Forward::Skip
        );
        let Forward::Send { len, .. } = forward(
            &mut consumer,
            &packet(20, vec![]),
            1,
            true,
            now,
            &mut output,
        ) else {
            panic!("its own stream goes out");
        };
        let sent = RtpPacket::parse(&output[..len]).unwrap();
        assert_eq!((sent.ssrc(), sent.sequence_number()), (0xABCD, 500));
        assert_eq!(consumer.current_stream(), 1);
        assert_eq!(
            forward(
                &mut consumer,
                &packet(11, vec![]),
                0,
                true,
                now,
                &mut output
            ),
            Forward::Skip
        );
    }

    #[test]
    fn pause_and_resume_continue_the_sequence_without_a_jump() {
        let mut consumer = Consumer::new(spec(false), false, (0, 0)).unwrap();
        let mut output = [0u8; 256];
        let mut sent = Vec::new();
        for producer_sequence in [10u16, 11, 12] {
            if let Forward::Send { len, .. } = forward(
                &mut consumer,
                &packet(producer_sequence, vec![]),
                0,
                true,
                Instant::now(),
                &mut output,
            ) {
                sent.push(RtpPacket::parse(&output[..len]).unwrap().sequence_number());
            }
        }
        consumer.set_paused(true);
        assert_eq!(
            forward(
                &mut consumer,
                &packet(13, vec![]),
                0,
                true,
                Instant::now(),
                &mut output
            ),
            Forward::Skip
        );
        consumer.set_paused(false);
        for producer_sequence in [500u16, 501] {
            if let Forward::Send { len, .. } = forward(
                &mut consumer,
                &packet(producer_sequence, vec![]),
                0,
                true,
                Instant::now(),
                &mut output,
            ) {
                sent.push(RtpPacket::parse(&output[..len]).unwrap().sequence_number());
            }
        }
        assert_eq!(sent, [0, 1, 2, 3, 4]);
    }

    #[test]
    fn nacked_packets_of_the_current_run_are_resent_on_the_rtx_stream() {
        let mut consumer = Consumer::new(spec(false), false, (1000, 7)).unwrap();
        let mut output = [0u8; 256];
        for producer_sequence in [50u16, 51, 52] {
            forward(
                &mut consumer,
                &packet(producer_sequence, vec![]),
                0,
                true,
                Instant::now(),
                &mut output,
            );
        }
        // We sent 1000..=1002 for producer packets 50..=52.
        assert_eq!(consumer.producer_sequence(1001), Some((0, 51)));
        assert_eq!(consumer.producer_sequence(1003), None, "not sent yet");
        assert_eq!(consumer.producer_sequence(999), None, "before this run");
        let (len, _) = consumer
            .retransmit(
                &packet(51, vec![]),
                1001,
                Instant::now(),
                &mut 0,
                &mut output,
            )
            .unwrap();
        let rtx = RtpPacket::parse(&output[..len]).unwrap();
        assert_eq!(
            (rtx.ssrc(), rtx.payload_type(), rtx.sequence_number()),
            (0xABCE, 102, 7)
        );
        // The original sequence number leads the payload (RFC 4588).
        assert_eq!(rtx.payload(), [0x03, 0xE9, 1, 2, 3, 4]);
        assert_eq!(rtx.header_extension(1), Some(b"3".as_slice()));
        // Resending it again is a retransmission but not another repair (mediasoup's
        // packetsRepaired counts each lost packet once).
        consumer
            .retransmit(
                &packet(51, vec![]),
                1001,
                Instant::now(),
                &mut 0,
                &mut output,
            )
            .unwrap();
        let stats = consumer.stats(Instant::now());
        assert_eq!(
            (stats.retransmitted_packets, stats.repaired_packets),
            (2, 1)
        );
        assert!(stats.bitrate > 0, "the sends count in the bitrate");
        // A restart maps our numbers anew: packets of the previous run are not resent.
        consumer.set_paused(true);
        consumer.set_paused(false);
        forward(
            &mut consumer,
            &packet(900, vec![]),
            0,
            true,
            Instant::now(),
            &mut output,
        );
        assert_eq!(consumer.producer_sequence(1001), None);
        assert_eq!(consumer.producer_sequence(1003), Some((0, 900)));
        assert_eq!(consumer.stats(Instant::now()).retransmitted_packets, 2);
    }

    #[test]
    fn without_layer_selection_only_the_first_stream_is_forwarded() {
        let mut consumer = Consumer::new(spec(false), false, (10, 0)).unwrap();
        let mut output = [0u8; 256];
        let now = Instant::now();
        assert!(matches!(
            forward(&mut consumer, &packet(1, vec![]), 0, true, now, &mut output),
            Forward::Send { .. }
        ));
        assert_eq!(
            forward(
                &mut consumer,
                &packet(900, vec![]),
                1,
                true,
                now,
                &mut output
            ),
            Forward::Skip,
            "another simulcast stream's numbers would break the sequence"
        );
    }

    proptest! {
        /// Across random pauses and producer jumps the output never skips or repeats a number,
        /// except where the producer itself had a gap inside a sending run (real loss).
        #[test]
        fn output_sequence_is_continuous_across_pauses(
            steps in proptest::collection::vec((any::<bool>(), 1u16..5, any::<u16>()), 1..60),
        ) {
            let mut consumer = Consumer::new(spec(false), false, (40_000, 0)).unwrap();
            let mut output = [0u8; 256];
            let mut expected = 40_000u16;
            let mut producer_sequence = 0u16;
            let mut sending = false;
            for (pause, gap, jump) in steps {
                consumer.set_paused(pause);
                if pause {
                    // While paused the producer moves on arbitrarily.
                    producer_sequence = producer_sequence.wrapping_add(jump);
                    sending = false;
                    continue;
                }
                if sending {
                    // A loss inside a sending run shows as the same gap on the way out.
                    producer_sequence = producer_sequence.wrapping_add(gap - 1);
                    expected = expected.wrapping_add(gap - 1);
                }
                sending = true;
                for _ in 0..3 {
                    producer_sequence = producer_sequence.wrapping_add(1);
                    let forwarded =
                        forward(&mut consumer, &packet(producer_sequence, vec![]), 0, true, Instant::now(), &mut output);
                    let Forward::Send { len, .. } = forwarded else {
                        return Err(TestCaseError::fail(format!("not sent: {forwarded:?}")));
                    };
                    let sent = RtpPacket::parse(&output[..len]).unwrap().sequence_number();
                    prop_assert_eq!(sent, expected);
                    expected = expected.wrapping_add(1);
                }
            }
        }
    }

    /// Timing: capture clocks, runs and sender reports.
    mod timing {
        use super::*;
        use crate::rtc::capture_clock::{Continuity, NtpOrigin, StreamClock};
        use crate::rtc::layer_selector::Layers;
        use std::time::Duration;

        const RATE: u32 = 90_000;
        /// 30 frames a second.
        const FRAME_TICKS: u32 = 3000;
        const FRAME: Duration = Duration::from_nanos(33_333_333);
        /// The sender's NTP time of its frame 0.
        const SENDER_NTP_AT_START: u64 = 3_900_000_000 << 32;

        fn video(sequence: u16, timestamp: u32) -> Vec<u8> {
            let header = RtpHeader {
                payload_type: 101,
                sequence_number: sequence,
                timestamp,
                ssrc: 7,
                ..RtpHeader::default()
            };
            let mut out = Vec::new();
            header.write_into(&[1, 2, 3, 4], &mut out).unwrap();
            out
        }

        fn simulcast(preferred: u8) -> ConsumerSpec {
            ConsumerSpec {
                needs_key_frame: true,
                clock_rate: RATE,
                mid: None,
                rtx: None,
                layers: Some(LayerSpec {
                    svc: false,
                    spatial_layers: 3,
                    temporal_layers: 1,
                    preferred: Layers {
                        spatial: preferred,
                        temporal: 0,
                    },
                }),
                ..spec(true)
            }
        }

        fn sent_timestamp(forwarded: Forward, output: &[u8]) -> Option<u32> {
            let Forward::Send { len, .. } = forwarded else {
                return None;
            };
            Some(RtpPacket::parse(&output[..len]).unwrap().timestamp())
        }

        fn sender_ntp(since_start: Duration) -> u64 {
            SENDER_NTP_AT_START + ((since_start.as_nanos() << 32) / 1_000_000_000) as u64
        }

        /// Our wall clock as NTP, a fixed distance from the sender's.
        fn our_ntp(start: Instant, now: Instant) -> u64 {
            sender_ntp(now - start) + (1234 << 32)
        }

        /// When (ns after `start`) a consumer's report made at `made` puts its timestamp
        /// `timestamp`.
        fn reported_at(
            report: &SenderReport,
            start: Instant,
            made: Instant,
            timestamp: u32,
        ) -> i64 {
            let ticks = i64::from(signed(timestamp.wrapping_sub(report.rtp_timestamp)));
            nanos_since(start, made) + ticks * 1_000_000_000 / i64::from(RATE)
        }

        fn nanos_since(start: Instant, instant: Instant) -> i64 {
            instant.duration_since(start).as_nanos() as i64
        }

        #[test]
        fn a_switch_places_the_new_stream_where_the_sender_reports_put_its_frame() {
            let start = Instant::now();
            let origin = NtpOrigin {
                ntp: SENDER_NTP_AT_START,
                at: start,
            };
            // Stream 0 and stream 2 number the same frames from unrelated bases.
            let bases = [1_000u32, 0, 4_000_000_000];
            let clock = |stream: usize| {
                CaptureClock::from_report(RATE, bases[stream], SENDER_NTP_AT_START, origin, 0)
            };
            let mut low = Consumer::new(simulcast(0), false, (0, 0)).unwrap();
            let mut top = Consumer::new(simulcast(2), false, (0, 0)).unwrap();
            let mut output = [0u8; 256];
            let at = |frame: u32| start + FRAME * frame;
            // Frames 0-2 on stream 0 only: both start there.
            for frame in 0..3u32 {
                let timestamp = bases[0] + frame * FRAME_TICKS;
                for consumer in [&mut low, &mut top] {
                    let forwarded = forward_clocked(
                        consumer,
                        &video(frame as u16, timestamp),
                        0,
                        frame == 0,
                        clock(0),
                        at(frame),
                        &mut output,
                    );
                    assert_eq!(sent_timestamp(forwarded, &output), Some(timestamp));
                }
            }
            // Stream 2 appears with a keyframe of frame 3: `top` moves there, its frame 3 is
            // where stream 0's frame 3 would have been.
            let forwarded = forward_clocked(
                &mut top,
                &video(100, bases[2].wrapping_add(3 * FRAME_TICKS)),
                2,
                true,
                clock(2),
                at(3),
                &mut output,
            );
            assert_eq!(
                sent_timestamp(forwarded, &output),
                Some(bases[0] + 3 * FRAME_TICKS)
            );
            // Both consumers' reports give frame 3 the same time.
            let now = at(3) + Duration::from_millis(5);
            let ntp = our_ntp(start, now);
            let (low_report, _) = low.sender_report(now, ntp).unwrap();
            let (top_report, _) = top.sender_report(now, ntp).unwrap();
            assert_eq!(low_report.rtp_timestamp, top_report.rtp_timestamp);
            assert_eq!(
                low_report.rtp_timestamp,
                bases[0] + 3 * FRAME_TICKS + 5 * RATE / 1000
            );
        }

        #[test]
        fn a_keyframe_captured_before_the_last_frame_sent_goes_a_frame_after_it() {
            let start = Instant::now();
            let clock = |base| Some(CaptureClock::new(RATE, base, start, 0));
            let mut consumer = Consumer::new(simulcast(2), false, (0, 0)).unwrap();
            let mut output = [0u8; 256];
            let mut sent = Vec::new();
            for frame in 0..5u32 {
                let forwarded = forward_clocked(
                    &mut consumer,
                    &video(frame as u16, 10 + frame * FRAME_TICKS),
                    0,
                    frame == 0,
                    clock(10),
                    start + FRAME * frame,
                    &mut output,
                );
                sent.extend(sent_timestamp(forwarded, &output));
            }
            // Stream 1's keyframe of frame 3 arrives after stream 0's frame 4: it goes one
            // frame after frame 4, and so do its next frames.
            for frame in 3..6u32 {
                let forwarded = forward_clocked(
                    &mut consumer,
                    &video(200 + frame as u16, 50 + frame * FRAME_TICKS),
                    1,
                    frame == 3,
                    clock(50),
                    start + FRAME * 5,
                    &mut output,
                );
                sent.extend(sent_timestamp(forwarded, &output));
            }
            let frames: Vec<u32> = sent
                .iter()
                .map(|timestamp| (timestamp - 10) / FRAME_TICKS)
                .collect();
            assert_eq!(frames, [0, 1, 2, 3, 4, 5, 6, 7]);
            // The reports keep the timeline: what was captured now is frame 5, though the
            // late run's frame 5 went out as frame 7.
            let now = start + FRAME * 5;
            let (report, _) = consumer.sender_report(now, our_ntp(start, now)).unwrap();
            assert_eq!(report.rtp_timestamp, 10 + 5 * FRAME_TICKS);
            // Back on stream 2 at frame 9, exactly on the timeline again: nothing accumulates.
            let forwarded = forward_clocked(
                &mut consumer,
                &video(900, 77 + 9 * FRAME_TICKS),
                2,
                true,
                clock(77),
                start + FRAME * 9,
                &mut output,
            );
            assert_eq!(
                sent_timestamp(forwarded, &output),
                Some(10 + 9 * FRAME_TICKS)
            );
        }

        #[test]
        fn a_restarted_client_stream_continues_our_timeline_and_numbers() {
            let start = Instant::now();
            let mut producer_clock = StreamClock::new(48_000);
            let mut consumer = Consumer::new(
                ConsumerSpec {
                    clock_rate: 48_000,
                    ..spec(false)
                },
                false,
                (500, 0),
            )
            .unwrap();
            let mut output = [0u8; 256];
            let mut sent = Vec::new();
            let mut send =
                |sequence: u16, timestamp: u32, at: Instant, sent: &mut Vec<(u16, u32)>| {
                    if producer_clock.on_packet(sequence, timestamp, at, false)
                        == Continuity::Probation
                    {
                        return;
                    }
                    let forwarded = forward_clocked(
                        &mut consumer,
                        &packet_at(sequence, timestamp),
                        0,
                        true,
                        producer_clock.clock(),
                        at,
                        &mut output,
                    );
                    if let Forward::Send { len, .. } = forwarded {
                        let view = RtpPacket::parse(&output[..len]).unwrap();
                        sent.push((view.sequence_number(), view.timestamp()));
                    }
                };
            let ms20 = Duration::from_millis(20);
            for nth in 0..3u32 {
                send(100 + nth as u16, 960 * nth, start + ms20 * nth, &mut sent);
            }
            // The client restarts 1 s later, numbering from elsewhere: the first packet is
            // held back, the second starts a new run 1 s on.
            for nth in 0..3u32 {
                let at = start + Duration::from_secs(1) + ms20 * nth;
                send(40_000 + nth as u16, 7_777_777 + 960 * nth, at, &mut sent);
            }
            assert_eq!(
                sent,
                [
                    (500, 0),
                    (501, 960),
                    (502, 1920),
                    (503, 48_000 + 960),
                    (504, 48_000 + 1920)
                ]
            );
        }

        fn packet_at(sequence: u16, timestamp: u32) -> Vec<u8> {
            let header = RtpHeader {
                payload_type: 101,
                sequence_number: sequence,
                timestamp,
                ssrc: 7,
                ..RtpHeader::default()
            };
            let mut out = Vec::new();
            header.write_into(&[1, 2, 3, 4], &mut out).unwrap();
            out
        }

        #[test]
        fn the_opening_report_comes_once_with_the_first_packet() {
            let start = Instant::now();
            let mut consumer = Consumer::new(spec(false), false, (0, 0)).unwrap();
            let mut output = [0u8; 256];
            assert!(consumer.opening_report(start, || 1 << 32).is_none());
            let clock = Some(CaptureClock::new(RATE, 90_000, start, 0));
            forward_clocked(
                &mut consumer,
                &packet_at(1, 90_000),
                0,
                true,
                clock,
                start,
                &mut output,
            );
            let (report, chunk) = consumer.opening_report(start, || 5 << 32).unwrap();
            assert_eq!((report.ntp_seconds, report.rtp_timestamp), (5, 90_000));
            assert_eq!(chunk.ssrc, 0xABCD);
            forward_clocked(
                &mut consumer,
                &packet_at(2, 90_000),
                0,
                true,
                clock,
                start,
                &mut output,
            );
            assert!(consumer.opening_report(start, || 6 << 32).is_none());
        }

        /// The sender's report on stream `index` (whose timestamps start at `base`), sent
        /// `at` as the stream stands then, arriving a few ms later.
        fn report(
            clock: &mut StreamClock,
            base: u32,
            start: Instant,
            at: Instant,
            index: usize,
            origin: Option<NtpOrigin>,
        ) -> NtpOrigin {
            let sent_at = at - start;
            let ticks = sent_at.as_nanos() * u128::from(RATE) / 1_000_000_000;
            let arrival = at + Duration::from_millis(index as u64 * 7);
            clock.on_sender_report(
                base.wrapping_add(ticks as u32),
                sender_ntp(sent_at),
                arrival,
                origin,
            )
        }

        /// What the simulated sender does next.
        #[derive(Debug, Clone)]
        enum Step {
            /// The next frame, on the streams of `streams` (bits), keyframes on those of
            /// `keyframes`, in `packets` packets each, each stream's arriving `latency_ms`
            /// after capture.
            Frame {
                streams: u8,
                keyframes: u8,
                packets: u8,
                latency_ms: [u8; 3],
            },
            /// A sender report on a stream.
            Report(u8),
            /// The first consumer pauses or resumes.
            Pause(bool),
            /// The first consumer prefers another stream.
            Prefer(u8),
            /// The client restarts a stream from other numbers, reporting first or not.
            Restart(u8, u32, bool),
        }

        fn step() -> impl Strategy<Value = Step> {
            prop_oneof![
                6 => (1u8..8, 0u8..8, 1u8..4, [0u8..90, 0u8..90, 0u8..90]).prop_map(
                    |(streams, keyframes, packets, latency_ms)| Step::Frame {
                        streams,
                        keyframes,
                        packets,
                        latency_ms,
                    }
                ),
                1 => (0u8..3).prop_map(Step::Report),
                1 => any::<bool>().prop_map(Step::Pause),
                1 => (0u8..3).prop_map(Step::Prefer),
                1 => ((0u8..3), any::<u32>(), any::<bool>())
                    .prop_map(|(stream, base, reports)| Step::Restart(stream, base, reports)),
            ]
        }

        /// A consumer under test and what the checks remember of it.
        struct Observed {
            consumer: Consumer,
            /// The last packet sent: its (stream, epoch, frame, timestamp), and whether a
            /// pause came since.
            last: Option<(u8, u32, u32, u32)>,
            paused_since: bool,
            /// How far the reports put this run's frames after their capture (ns), once its
            /// stream's clock is reported.
            run_error: Option<i64>,
            /// The last report, and when it was made.
            last_report: Option<(SenderReport, Instant)>,
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(200))]
            /// Arbitrary frames on three simulcast streams (any subset, any latency, any
            /// keyframes), sender reports, pauses, preference changes and restarts of the
            /// client's streams, through three consumers (one moving among the streams, one
            /// on the top stream, one carrying stream 0 alone): every consumer's timestamps
            /// grow from frame to frame and stay equal within one; once the sender reported
            /// a stream, a consumer's reports put each frame it sends at its capture time, or
            /// by one fixed amount later for the whole of a run that the timeline placed
            /// before the last frame sent, never earlier.
            #[test]
            fn timestamps_grow_frame_to_frame_and_reports_follow_the_capture_clock(
                steps in proptest::collection::vec(step(), 1..120),
                bases in [any::<u32>(), any::<u32>(), any::<u32>()],
            ) {
                let start = Instant::now();
                let mut bases = bases;
                let mut sequences = [0u16, 20_000, 40_000];
                let mut clocks = [StreamClock::new(RATE), StreamClock::new(RATE), StreamClock::new(RATE)];
                let mut origin: Option<NtpOrigin> = None;
                let mut observed: Vec<Observed> = [simulcast(1), simulcast(2), ConsumerSpec { clock_rate: RATE, ..spec(true) }]
                    .into_iter()
                    .map(|spec| Observed {
                        consumer: Consumer::new(spec, false, (0, 0)).unwrap(),
                        last: None,
                        paused_since: false,
                        run_error: None,
                        last_report: None,
                    })
                    .collect();
                let mut started = [false; 3];
                let mut reported_bases: [Option<u32>; 3] = [None; 3];
                let mut frame = 0u32;
                let mut now = start;
                let mut output = [0u8; 256];
                for step in steps {
                    match step {
                        Step::Frame { streams, keyframes, packets, latency_ms } => {
                            frame += 1;
                            let captured = start + FRAME * frame;
                            for stream in 0..3u8 {
                                if streams & (1 << stream) == 0 {
                                    continue;
                                }
                                let index = usize::from(stream);
                                now = now.max(captured + Duration::from_millis(u64::from(latency_ms[index])));
                                let timestamp = bases[index].wrapping_add(frame * FRAME_TICKS);
                                for nth in 0..packets {
                                    let sequence = sequences[index];
                                    sequences[index] = sequence.wrapping_add(1);
                                    started[index] = true;
                                    if clocks[index].on_packet(sequence, timestamp, now, false) == Continuity::Probation {
                                        continue;
                                    }
                                    let clock = clocks[index].clock();
                                    let is_keyframe = nth == 0 && keyframes & (1 << stream) != 0;
                                    let input = video(sequence, timestamp);
                                    for seen in &mut observed {
                                        let forwarded = forward_clocked(&mut seen.consumer, &input, stream, is_keyframe, clock, now, &mut output);
                                        let Some(sent) = sent_timestamp(forwarded, &output) else {
                                            continue;
                                        };
                                        let epoch = clock.map_or(0, |clock| clock.epoch());
                                        let new_run = match seen.last {
                                            Some((last_stream, last_epoch, last_frame, last_sent)) => {
                                                let same = last_stream == stream && last_epoch == epoch && !seen.paused_since;
                                                let step = signed(sent.wrapping_sub(last_sent));
                                                if same && last_frame == frame {
                                                    prop_assert_eq!(step, 0, "one frame, one timestamp");
                                                } else {
                                                    prop_assert!(step > 0, "frame {} sent at {} after frame {} at {}", frame, sent, last_frame, last_sent);
                                                }
                                                !same
                                            }
                                            None => true,
                                        };
                                        if new_run {
                                            seen.run_error = None;
                                        }
                                        seen.last = Some((stream, epoch, frame, sent));
                                        seen.paused_since = false;
                                        // A report after each packet: it never puts a frame
                                        // more than REPORT_SLEW earlier than the last one did.
                                        let (report, _) = seen.consumer.sender_report(now, our_ntp(start, now)).unwrap();
                                        // A tick of rounding at each end.
                                        let tick = 1_000_000_000 / i64::from(RATE);
                                        let placed = reported_at(&report, start, now, sent);
                                        if let Some((previous, previous_at)) = seen.last_report.replace((report, now)) {
                                            let placed_before = reported_at(&previous, start, previous_at, sent);
                                            let slew = REPORT_SLEW.as_nanos() as i64;
                                            prop_assert!(placed >= placed_before - slew - 2 * tick, "moved {} ns earlier", placed_before - placed);
                                        }
                                        // Once the reports caught up with a reported clock, they
                                        // put each frame at its capture time, or the whole run a
                                        // fixed amount later.
                                        if clock.is_some_and(|clock| clock.is_reported()) && seen.consumer.report_gap() == 0 {
                                            let error = placed - nanos_since(start, captured);
                                            prop_assert!(error >= -2 * tick, "reported {} ns before capture", -error);
                                            match seen.run_error {
                                                Some(run_error) => prop_assert!((error - run_error).abs() <= 2 * tick, "{} then {}", run_error, error),
                                                None => seen.run_error = Some(error),
                                            }
                                        }
                                    }
                                }
                            }
                        }
                        Step::Report(stream) => {
                            now += Duration::from_millis(3);
                            let index = usize::from(stream);
                            origin = Some(report(&mut clocks[index], bases[index], start, now, index, origin));
                            reported_bases[index] = Some(bases[index]);
                        }
                        Step::Pause(paused) => {
                            let seen = &mut observed[0];
                            seen.paused_since |= paused != seen.consumer.paused;
                            seen.consumer.set_paused(paused);
                        }
                        Step::Prefer(spatial) => {
                            observed[0].consumer.set_preferred_layers(Layers { spatial, temporal: 0 });
                        }
                        Step::Restart(stream, base, reports) => {
                            let index = usize::from(stream);
                            // A sender restarts what it sent; its reports always describe
                            // what it sends.
                            if !started[index] {
                                continue;
                            }
                            // Far from the numbers the last report described (a random base
                            // almost always is).
                            bases[index] = reported_bases[index]
                                .unwrap_or(bases[index])
                                .wrapping_add(1 << 31)
                                .wrapping_add(base % (1 << 30));
                            sequences[index] = sequences[index].wrapping_add(30_000);
                            if reports {
                                origin = Some(report(&mut clocks[index], bases[index], start, now, index, origin));
                                reported_bases[index] = Some(bases[index]);
                            }
                        }
                    }
                }
            }
        }
    }
}
