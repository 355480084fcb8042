//! RTCP through a router: a received compound parsed once into typed packets, each handed to
//! what it is about through the transport's SSRC maps (str0m's and mediasoup's single
//! dispatch), and the compounds the router sends.

use std::time::Instant;

use super::arena::TransportIndex;
use super::rtp::consumer_trace;
use super::{Router, RouterOutput};
use crate::packet::rtcp::{serialize_compound, RtcpCompoundIter, RtcpPacket, SenderReport};
use crate::rtc::capture_clock::NtpOrigin;
use crate::rtc::ids::Ssrc;
use crate::rtc::producer_stream::{ProducerStream, StreamPart};
use crate::rtc::producer_trace::{TraceInfo, TraceKind};

/// Whether a received compound parsed whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RtcpParse {
    /// Every packet parsed.
    Whole,
    /// Some packet's framing or contents did not parse (those that did were still used, as
    /// mediasoup does).
    Malformed,
}

impl Router {
    /// Takes in an RTCP compound `transport` received (decrypted): sender reports to the
    /// producer streams they describe, report blocks, NACKs, PLIs and FIRs to the consumers
    /// they are about, transport-cc feedback and REMB to the transport's send-side estimate.
    pub fn handle_rtcp(
        &mut self,
        transport: TransportIndex,
        compound: &[u8],
        now: Instant,
        out: &mut dyn RouterOutput,
    ) -> RtcpParse {
        let mut parse = RtcpParse::Whole;
        for item in RtcpCompoundIter::new(compound) {
            let Ok((header, body)) = item else {
                // The framing is lost: nothing after this point can be found.
                return RtcpParse::Malformed;
            };
            match RtcpPacket::parse(header, body) {
                Ok(packet) => self.dispatch(transport, packet, now, out),
                Err(_) => parse = RtcpParse::Malformed,
            }
        }
        parse
    }

    fn dispatch(
        &mut self,
        transport: TransportIndex,
        packet: RtcpPacket,
        now: Instant,
        out: &mut dyn RouterOutput,
    ) {
        match packet {
            RtcpPacket::SenderReport(mut report) => {
                let blocks = std::mem::take(&mut report.reports);
                self.on_sender_report(transport, &report, now);
                self.on_report_blocks(transport, &blocks, now);
            }
            RtcpPacket::ReceiverReport(report) => {
                self.on_report_blocks(transport, &report.reports, now);
            }
            RtcpPacket::Nack(nack) => {
                let Some(consumer) = self.consumer_by_ssrc(transport, Ssrc(nack.media_ssrc)) else {
                    return;
                };
                let mut lost = std::mem::take(&mut self.nacked);
                lost.clear();
                lost.extend(nack.lost_sequence_numbers());
                if let Some(entry) = self.consumers.get_mut(consumer) {
                    entry.consumer.on_nack(lost.len());
                    if TraceKind::Nack.is_in(entry.trace) {
                        let info = TraceInfo::Nack {
                            ssrc: nack.media_ssrc,
                            lost: lost.len(),
                        };
                        let wall_ms = self.wall_clock.unix_ms(now);
                        self.events
                            .push(consumer_trace(&entry.id, TraceKind::Nack, info, wall_ms));
                    }
                }
                for &sequence in &lost {
                    self.retransmit(consumer, sequence, now, out);
                }
                self.nacked = lost;
            }
            RtcpPacket::Pli(pli) => {
                self.on_key_frame_request(
                    transport,
                    Ssrc(pli.media_ssrc),
                    TraceKind::Pli,
                    now,
                    out,
                );
            }
            RtcpPacket::Fir(fir) => {
                for entry in &fir.entries {
                    self.on_key_frame_request(
                        transport,
                        Ssrc(entry.ssrc),
                        TraceKind::Fir,
                        now,
                        out,
                    );
                }
            }
            RtcpPacket::TransportCc(feedback) => {
                if let Some(bandwidth) = self
                    .transports
                    .get_mut(transport)
                    .and_then(|routes| routes.send_bandwidth.as_mut())
                {
                    bandwidth.estimator.on_transport_cc(&feedback, now);
                }
            }
            RtcpPacket::Remb(remb) => {
                if let Some(routes) = self.transports.get_mut(transport) {
                    routes.send_bandwidth(now).estimator.on_remb(remb.bitrate);
                }
            }
            RtcpPacket::SourceDescription(_)
            | RtcpPacket::Bye(_)
            | RtcpPacket::App(_)
            | RtcpPacket::ExtendedReport(_)
            | RtcpPacket::UnknownFeedback(_)
            | RtcpPacket::Unknown(_) => {}
        }
    }

    /// A sender report on a producer stream: the time it was sent (echoed in our receiver
    /// reports) and the capture time of its media (the stream's capture clock, which its
    /// consumers' timestamps and reports follow).
    fn on_sender_report(&mut self, transport: TransportIndex, report: &SenderReport, now: Instant) {
        let Some(routes) = self.transports.get(transport) else {
            return;
        };
        let Some(route) = routes.listener.route_of(Ssrc(report.ssrc)) else {
            return;
        };
        if route.part != StreamPart::Media {
            return;
        }
        // One endpoint, one NTP clock: its streams share where it stands on ours, and so do
        // endpoints whose clocks agree with it.
        let mut own = None;
        let mut known = Vec::new();
        for (_, producer) in self.producers.iter() {
            for origin in producer
                .streams
                .iter()
                .filter_map(ProducerStream::ntp_origin)
            {
                if producer.transport == transport {
                    own = Some(origin);
                }
                known.push(origin);
            }
        }
        let ntp = (u64::from(report.ntp_seconds) << 32) | u64::from(report.ntp_fraction);
        let origin = own.or_else(|| NtpOrigin::agreeing(known, ntp, now));
        if let Some(stream) = self
            .producers
            .get_mut(route.producer)
            .and_then(|producer| producer.streams.get_mut(usize::from(route.stream)))
        {
            stream.on_sender_report(report, now, origin);
        }
    }

    /// Report blocks from an endpoint about what our consumers send it: round-trip time,
    /// loss, the consumer's score.
    fn on_report_blocks(
        &mut self,
        transport: TransportIndex,
        blocks: &[crate::packet::rtcp::ReceptionReport],
        now: Instant,
    ) {
        if blocks.is_empty() {
            return;
        }
        let ntp_middle = (self.wall_clock.ntp(now) >> 16) as u32;
        for block in blocks {
            let Some(consumer) = self.consumer_by_ssrc(transport, Ssrc(block.ssrc)) else {
                continue;
            };
            if let Some(entry) = self.consumers.get_mut(consumer) {
                entry.consumer.on_receiver_report(block, ntp_middle);
            }
        }
    }

    /// A PLI or FIR from an endpoint about one of our consumers: its producer's endpoint is
    /// asked for a keyframe of the stream the consumer sends.
    fn on_key_frame_request(
        &mut self,
        transport: TransportIndex,
        ssrc: Ssrc,
        kind: TraceKind,
        now: Instant,
        out: &mut dyn RouterOutput,
    ) {
        let Some(consumer) = self.consumer_by_ssrc(transport, ssrc) else {
            return;
        };
        let Some(entry) = self.consumers.get_mut(consumer) else {
            return;
        };
        entry.consumer.on_key_frame_request(kind == TraceKind::Fir);
        if kind.is_in(entry.trace) {
            let info = TraceInfo::KeyFrameRequest {
                ssrc: ssrc.0,
                fir_sequence_number: None,
            };
            let wall_ms = self.wall_clock.unix_ms(now);
            self.events
                .push(consumer_trace(&entry.id, kind, info, wall_ms));
        }
        let (producer, stream) = (entry.producer, entry.consumer.current_stream());
        self.request_key_frame(producer, stream, now, out);
    }

    /// Sends a compound made of `packets` on a transport.
    pub(super) fn send_rtcp(
        &mut self,
        transport: TransportIndex,
        packets: &[RtcpPacket],
        out: &mut dyn RouterOutput,
    ) {
        let Some(routes) = self.transports.get(transport) else {
            return;
        };
        if let Some(len) = write_compound(packets, &mut self.rtcp_buffer) {
            out.send_rtcp(routes.key, &mut self.rtcp_buffer, len);
        }
    }
}

/// Writes a compound made of `packets` into `buffer`, with room after it for the SRTCP
/// trailer the transport appends; its length.
pub(super) fn write_compound(packets: &[RtcpPacket], buffer: &mut Vec<u8>) -> Option<usize> {
    buffer.clear();
    serialize_compound(packets, buffer).ok()?;
    let len = buffer.len();
    buffer.resize(len + super::COPY_HEADROOM, 0);
    Some(len)
}
