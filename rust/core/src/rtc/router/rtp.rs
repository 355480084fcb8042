//! The RTP path through a router: a received packet to its producer stream, then one copy
//! per consumer; keyframe requests for consumers waiting for one and for losses beyond
//! repair; retransmissions asked for by NACKs.

use std::time::Instant;

use super::arena::{ConsumerIndex, ProducerIndex, TransportIndex};
use super::consumer_entry::ConsumerEntry;
use super::events::RouterEvent;
use super::producer::Producer;
use super::rtcp::write_compound;
use super::rtp_listener::{Lookup, StreamRoute};
use super::{Router, RouterOutput};
use crate::packet::rtcp::{Fir, FirEntry, Pli, RtcpPacket, SourceDescription};
use crate::packet::rtp::RtpPacket;
use crate::rtc::consumer::{Forward, ProducerRtp};
use crate::rtc::ids::Ssrc;
use crate::rtc::producer_stream::{Ingest, ProducedPacket, StreamPart};
use crate::rtc::producer_trace::{ProducerTrace, TraceInfo, TraceKind};
use crate::rtc::transport_cc_feedback::FEEDBACK_INTERVAL;

impl Router {
    /// Routes an RTP packet `transport` received (decrypted): the producer stream it is on
    /// takes it in, rewriting `buffer` in place, and each of the producer's consumers sends
    /// its copy through `out`. Packets that are no producer's, or that their producer does
    /// not forward, stop here.
    pub fn handle_rtp(
        &mut self,
        transport: TransportIndex,
        buffer: &mut [u8],
        now: Instant,
        out: &mut dyn RouterOutput,
    ) {
        let Ok(packet) = RtpPacket::parse(buffer) else {
            return;
        };
        let Some(routes) = self.transports.get_mut(transport) else {
            return;
        };
        if routes.record_arrival(&packet, now) && self.next_transport_cc.is_none() {
            self.next_transport_cc = Some(now + FEEDBACK_INTERVAL);
        }
        let route = match routes.listener.find(&packet) {
            Lookup::Known(route) => route,
            Lookup::Producer(producer) => {
                let Some(learned) = learn(self.producers.get_mut(producer), producer, &packet)
                else {
                    return;
                };
                routes.listener.learn(Ssrc(packet.ssrc()), learned);
                learned
            }
            Lookup::Unknown => return,
        };
        let Some(producer) = self.producers.get_mut(route.producer) else {
            return;
        };
        let stream_index = route.stream;
        let Some(stream) = producer.streams.get_mut(usize::from(stream_index)) else {
            return;
        };
        let received_len = packet.len();
        let Ingest::Accepted { produced, packet } = stream.ingest(packet, route.part, now) else {
            return;
        };
        match route.part {
            StreamPart::Media => routes.traffic.rtp_received.record(received_len, now),
            StreamPart::Rtx => routes.traffic.rtx_received.record(received_len, now),
        }
        let capture_clock = stream.capture_clock();
        if stream.has_deadline() && !self.timed_streams.contains(&(route.producer, stream_index)) {
            self.timed_streams.push((route.producer, stream_index));
        }
        if producer.paused {
            return;
        }
        // After the stream counted it, so its stats show what was sent and it does not ask
        // for what is dropped here.
        if !routes.within_max_incoming(packet.len(), now) {
            return;
        }
        let wall_clock = self.wall_clock;
        if let Some(orientation) = produced.video_orientation_change {
            self.events.push(RouterEvent::VideoOrientationChange {
                producer_id: producer.id.clone(),
                orientation,
            });
        }
        if producer.trace != 0 {
            trace_rtp(
                producer,
                &packet,
                &produced,
                wall_clock.unix_ms(now),
                &mut self.events,
            );
        }
        if let Some(level) = produced.audio_level {
            self.observers.record(route.producer, level, now);
        }
        let view = packet.borrowed();
        let rtp = ProducerRtp::new(
            &view,
            stream_index,
            produced.frame,
            produced.vp8,
            capture_clock,
        );
        // Streams (bits) whose keyframe some consumer waits for.
        let mut needs_key_frame = 0u32;
        // Copies carry a transport-wide sequence number where the consumer's endpoint takes
        // them: every video copy (mediasoup's producer gives each video packet the slot, so
        // the video of a piped or plain producer is estimated too), an audio copy when the
        // producer's packet carried one (checked once per extension id).
        let mut carries_sequence: Option<(u8, bool)> = None;
        for &consumer in &producer.consumers {
            let Some(entry) = self.consumers.get_mut(consumer) else {
                continue;
            };
            let Some(routes) = self.transports.get_mut(entry.transport) else {
                continue;
            };
            let numbered = entry
                .consumer
                .transport_cc_extension_id()
                .is_some_and(|id| {
                    entry.consumer.is_video()
                        || match carries_sequence {
                            Some((checked, carries)) if checked == id => carries,
                            _ => {
                                let carries = view.header_extension(id).is_some();
                                carries_sequence = Some((id, carries));
                                carries
                            }
                        }
                });
            let forward = entry.consumer.forward(
                &rtp,
                now,
                numbered.then_some(&mut routes.next_transport_sequence),
                &mut self.copy_buffer,
            );
            if let Some(layers) = entry.consumer.take_layers_change() {
                self.events.push(RouterEvent::ConsumerLayersChange {
                    consumer_id: entry.id.clone(),
                    layers,
                });
            }
            match forward {
                Forward::Send {
                    len,
                    transport_sequence,
                } => {
                    if let Some(sequence) = transport_sequence {
                        routes
                            .send_bandwidth(now)
                            .estimator
                            .on_sent(sequence, len, now);
                    }
                    if entry.trace != 0 {
                        let key_frame = produced.frame.is_keyframe && entry.consumer.is_video();
                        trace_sent(
                            entry,
                            &self.copy_buffer[..len],
                            key_frame,
                            wall_clock.unix_ms(now),
                            &mut self.events,
                        );
                    }
                    // A consumer's first report goes ahead of its first packet: ffmpeg,
                    // recording, aligns streams by reports and would place packets that came
                    // before one wrongly.
                    let opening = entry.consumer.opening_report(now, || wall_clock.ntp(now));
                    if let Some((report, chunk)) = opening {
                        let packets = [
                            RtcpPacket::SenderReport(report),
                            RtcpPacket::SourceDescription(SourceDescription {
                                chunks: vec![chunk],
                            }),
                        ];
                        if let Some(len) = write_compound(&packets, &mut self.rtcp_buffer) {
                            out.send_rtcp(routes.key, &mut self.rtcp_buffer, len);
                        }
                    }
                    routes.traffic.rtp_sent.record(len, now);
                    out.send_rtp(routes.key, &mut self.copy_buffer, len);
                }
                Forward::NeedKeyFrame(wanted) => {
                    needs_key_frame |= 1u32.checked_shl(u32::from(wanted)).unwrap_or(0);
                }
                Forward::Skip => {}
            }
        }
        let producer_index = route.producer;
        if produced.request_key_frame {
            self.request_key_frame(producer_index, stream_index, now, out);
        }
        while needs_key_frame != 0 {
            let wanted = needs_key_frame.trailing_zeros() as u8;
            needs_key_frame &= needs_key_frame - 1;
            self.request_key_frame(producer_index, wanted, now, out);
        }
    }

    /// Asks a producer stream's endpoint for a keyframe (PLI, or FIR when that is what it
    /// negotiated), unless a request is pending or held back.
    pub(super) fn request_key_frame(
        &mut self,
        producer: ProducerIndex,
        stream: u8,
        now: Instant,
        out: &mut dyn RouterOutput,
    ) {
        let Some(entry) = self.producers.get_mut(producer) else {
            return;
        };
        let Some(producer_stream) = entry.streams.get_mut(usize::from(stream)) else {
            return;
        };
        if producer_stream.client_ssrc().is_none() {
            return;
        }
        let send = producer_stream.request_key_frame(now);
        // Sent now, or held back by the producer's delay: either way a timer follows (the
        // retry of an unanswered request, or the deferred request).
        if producer_stream.has_deadline() && !self.timed_streams.contains(&(producer, stream)) {
            self.timed_streams.push((producer, stream));
        }
        if send {
            self.send_key_frame_request(producer, stream, now, out);
        }
    }

    /// Sends the RTCP asking a producer stream's endpoint for a keyframe, and traces it.
    pub(super) fn send_key_frame_request(
        &mut self,
        producer: ProducerIndex,
        stream: u8,
        now: Instant,
        out: &mut dyn RouterOutput,
    ) {
        let Some(entry) = self.producers.get_mut(producer) else {
            return;
        };
        let Some(producer_stream) = entry.streams.get_mut(usize::from(stream)) else {
            return;
        };
        let Some(media_ssrc) = producer_stream.client_ssrc() else {
            return;
        };
        // The sender SSRC of SFU feedback: the mapped SSRC, which the client never uses.
        let sender_ssrc = producer_stream.mapped_ssrc().0;
        let (packet, kind, fir_sequence_number) = if producer_stream.uses_fir() {
            let sequence_number = producer_stream.next_fir_sequence();
            let fir = Fir {
                sender_ssrc,
                media_ssrc: 0,
                entries: vec![FirEntry {
                    ssrc: media_ssrc.0,
                    sequence_number,
                }],
            };
            (RtcpPacket::Fir(fir), TraceKind::Fir, Some(sequence_number))
        } else {
            let pli = Pli {
                sender_ssrc,
                media_ssrc: media_ssrc.0,
            };
            (RtcpPacket::Pli(pli), TraceKind::Pli, None)
        };
        if kind.is_in(entry.trace) {
            self.events.push(RouterEvent::ProducerTrace {
                producer_id: entry.id.clone(),
                trace: ProducerTrace {
                    kind,
                    incoming: false,
                    timestamp_ms: self.wall_clock.unix_ms(now),
                    info: TraceInfo::KeyFrameRequest {
                        ssrc: media_ssrc.0,
                        fir_sequence_number,
                    },
                },
            });
        }
        let transport = entry.transport;
        self.send_rtcp(transport, &[packet], out);
    }

    /// Resends what consumer `consumer` sent as `sequence`, if its producer still has it.
    pub(super) fn retransmit(
        &mut self,
        consumer: ConsumerIndex,
        sequence: u16,
        now: Instant,
        out: &mut dyn RouterOutput,
    ) {
        let Some(entry) = self.consumers.get_mut(consumer) else {
            return;
        };
        let Some((stream, producer_sequence)) = entry.consumer.producer_sequence(sequence) else {
            return;
        };
        let Some(stored) = self
            .producers
            .get(entry.producer)
            .and_then(|producer| producer.streams.get(usize::from(stream)))
            .and_then(|stream| stream.stored_packet(producer_sequence, now))
        else {
            return;
        };
        let Some(routes) = self.transports.get_mut(entry.transport) else {
            return;
        };
        if routes.retransmissions_over_budget(now) {
            entry.consumer.refuse_retransmission();
            return;
        }
        let Some((len, transport_sequence)) = entry.consumer.retransmit(
            stored,
            sequence,
            now,
            &mut routes.next_transport_sequence,
            &mut self.copy_buffer,
        ) else {
            return;
        };
        if let (Some(sequence), Some(bandwidth)) = (transport_sequence, &mut routes.send_bandwidth)
        {
            bandwidth.estimator.on_sent(sequence, len, now);
        }
        routes.traffic.rtx_sent.record(len, now);
        out.send_rtp(routes.key, &mut self.copy_buffer, len);
    }
}

/// The stream of a producer that learns a packet on an unknown SSRC carrying its MID or RID.
fn learn<B: AsRef<[u8]>>(
    producer: Option<&mut Producer>,
    index: ProducerIndex,
    packet: &RtpPacket<B>,
) -> Option<StreamRoute> {
    let producer = producer?;
    producer
        .streams
        .iter_mut()
        .enumerate()
        .find_map(|(stream, producer_stream)| {
            let part = producer_stream.learn(packet)?;
            Some(StreamRoute {
                producer: index,
                stream: stream as u8,
                part,
            })
        })
}

/// The `rtp` and `keyframe` traces of an accepted packet, as the producer asked for.
fn trace_rtp(
    producer: &Producer,
    packet: &RtpPacket<&mut [u8]>,
    produced: &ProducedPacket,
    wall_ms: u64,
    events: &mut Vec<RouterEvent>,
) {
    let key_frame = produced.frame.is_keyframe && producer.is_video();
    for (kind, applies) in [(TraceKind::Rtp, true), (TraceKind::KeyFrame, key_frame)] {
        if !applies || !kind.is_in(producer.trace) {
            continue;
        }
        let Some(info) = TraceInfo::of_rtp(
            packet.as_bytes(),
            produced.client_ssrc.0,
            key_frame,
            produced.repaired,
        ) else {
            return;
        };
        events.push(RouterEvent::ProducerTrace {
            producer_id: producer.id.clone(),
            trace: ProducerTrace {
                kind,
                incoming: true,
                timestamp_ms: wall_ms,
                info,
            },
        });
    }
}

/// The `rtp` and `keyframe` traces of a copy a consumer sent, as it asked for.
fn trace_sent(
    entry: &ConsumerEntry,
    copy: &[u8],
    key_frame: bool,
    wall_ms: u64,
    events: &mut Vec<RouterEvent>,
) {
    for (kind, applies) in [(TraceKind::Rtp, true), (TraceKind::KeyFrame, key_frame)] {
        if !applies || !kind.is_in(entry.trace) {
            continue;
        }
        let ssrc = entry.consumer.ssrc().0;
        if let Some(info) = TraceInfo::of_rtp(copy, ssrc, key_frame, false) {
            events.push(consumer_trace(&entry.id, kind, info, wall_ms));
        }
    }
}

/// A consumer's trace event: what it sent (`rtp`, `keyframe`) or what its endpoint asked.
pub(super) fn consumer_trace(
    consumer_id: &str,
    kind: TraceKind,
    info: TraceInfo,
    wall_ms: u64,
) -> RouterEvent {
    RouterEvent::ConsumerTrace {
        consumer_id: consumer_id.to_owned(),
        trace: ProducerTrace {
            kind,
            // Media goes out to the endpoint; feedback comes in from it.
            incoming: !matches!(kind, TraceKind::Rtp | TraceKind::KeyFrame),
            timestamp_ms: wall_ms,
            info,
        },
    }
}
