//! RTCP (RFC 3550 §6) compound packets: every packet type a WebRTC SFU sends or receives,
//! parsed into owned values and serialized back.
//!
//! RTCP is a few packets per second per stream, so owned values (with `Vec`s) are fine; the
//! router can still peek at a compound without allocating through [`RtcpCompoundIter`].
//! Lengths, counts and padding are validated against the datagram, never trusted.
//!
//! With the `serde` feature every type converts to and from a tagged map
//! (`{"type": "pli", "sender_ssrc": 1, "media_ssrc": 2}`), which is what the Python binding
//! hands to Python.

mod bye;
mod error;
mod extended_report;
mod feedback;
mod header;
mod remb;
mod reports;
mod sdes;
mod transport_cc;

pub use bye::{App, Bye};
pub use error::RtcpError;
pub use extended_report::{DlrrSubBlock, ExtendedReport, XrBlock};
pub use feedback::{Fir, FirEntry, Nack, NackItem, Pli, UnknownFeedback};
pub use header::{packet_type, RtcpCompoundIter, RtcpHeader, HEADER_LEN};
pub use remb::Remb;
pub use reports::{ReceiverReport, ReceptionReport, SenderReport};
pub use sdes::{SdesChunk, SdesItem, SourceDescription, SDES_CNAME};
pub use transport_cc::{TransportCc, TransportCcPacket, DELTA_TICK_US, REFERENCE_TIME_TICK_US};

use feedback::{FMT_AFB, FMT_FIR, FMT_NACK, FMT_PLI, FMT_TRANSPORT_CC};
use header::write_header;

/// One packet of a compound RTCP packet.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(tag = "type", rename_all = "snake_case")
)]
pub enum RtcpPacket {
    /// SR (PT 200).
    SenderReport(SenderReport),
    /// RR (PT 201).
    ReceiverReport(ReceiverReport),
    /// SDES (PT 202).
    SourceDescription(SourceDescription),
    /// BYE (PT 203).
    Bye(Bye),
    /// APP (PT 204).
    App(App),
    /// Generic NACK (RTPFB 1).
    Nack(Nack),
    /// Transport-wide congestion control feedback (RTPFB 15).
    TransportCc(TransportCc),
    /// Picture loss indication (PSFB 1).
    Pli(Pli),
    /// Full intra request (PSFB 4).
    Fir(Fir),
    /// Receiver estimated maximum bitrate (PSFB 15, "REMB").
    Remb(Remb),
    /// Extended report (PT 207).
    ExtendedReport(ExtendedReport),
    /// A feedback message of another format.
    UnknownFeedback(UnknownFeedback),
    /// A packet of another type, kept whole.
    Unknown(UnknownPacket),
}

/// A packet type this module does not interpret.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct UnknownPacket {
    /// The packet type.
    pub packet_type: u8,
    /// The 5-bit count/format field.
    pub count: u8,
    /// The body after the header (a multiple of 4 bytes).
    #[cfg_attr(feature = "serde", serde(with = "serde_bytes"))]
    pub body: Vec<u8>,
}

impl RtcpPacket {
    /// Parses one packet from its header and body (as [`RtcpCompoundIter`] yields them).
    pub fn parse(header: RtcpHeader, body: &[u8]) -> Result<Self, RtcpError> {
        Ok(match (header.packet_type, header.count) {
            (packet_type::SR, _) => RtcpPacket::SenderReport(SenderReport::parse(header, body)?),
            (packet_type::RR, _) => {
                RtcpPacket::ReceiverReport(ReceiverReport::parse(header, body)?)
            }
            (packet_type::SDES, _) => {
                RtcpPacket::SourceDescription(SourceDescription::parse(header, body)?)
            }
            (packet_type::BYE, _) => RtcpPacket::Bye(Bye::parse(header, body)?),
            (packet_type::APP, _) => RtcpPacket::App(App::parse(header, body)?),
            (packet_type::RTPFB, FMT_NACK) => RtcpPacket::Nack(Nack::parse(body)?),
            (packet_type::RTPFB, FMT_TRANSPORT_CC) => {
                RtcpPacket::TransportCc(TransportCc::parse(body)?)
            }
            (packet_type::PSFB, FMT_PLI) => RtcpPacket::Pli(Pli::parse(body)?),
            (packet_type::PSFB, FMT_FIR) => RtcpPacket::Fir(Fir::parse(body)?),
            (packet_type::PSFB, FMT_AFB) if Remb::matches(body) => {
                RtcpPacket::Remb(Remb::parse(body)?)
            }
            (packet_type::RTPFB | packet_type::PSFB, format) => RtcpPacket::UnknownFeedback(
                UnknownFeedback::parse(header.packet_type, format, body)?,
            ),
            (packet_type::XR, _) => RtcpPacket::ExtendedReport(ExtendedReport::parse(body)?),
            (other, count) => RtcpPacket::Unknown(UnknownPacket {
                packet_type: other,
                count,
                body: body.to_vec(),
            }),
        })
    }

    /// Appends this packet's wire form to `out`; on error `out` may hold a partial packet
    /// (callers serialize into a buffer they discard on error, as [`serialize_compound`] does).
    pub fn write(&self, out: &mut Vec<u8>) -> Result<(), RtcpError> {
        match self {
            RtcpPacket::SenderReport(packet) => packet.write(out),
            RtcpPacket::ReceiverReport(packet) => packet.write(out),
            RtcpPacket::SourceDescription(packet) => packet.write(out),
            RtcpPacket::Bye(packet) => packet.write(out),
            RtcpPacket::App(packet) => packet.write(out),
            RtcpPacket::Nack(packet) => packet.write(out),
            RtcpPacket::TransportCc(packet) => packet.write(out),
            RtcpPacket::Pli(packet) => packet.write(out),
            RtcpPacket::Fir(packet) => packet.write(out),
            RtcpPacket::Remb(packet) => packet.write(out),
            RtcpPacket::ExtendedReport(packet) => packet.write(out),
            RtcpPacket::UnknownFeedback(packet) => packet.write(out),
            RtcpPacket::Unknown(packet) => {
                if packet.body.len() % 4 != 0 {
                    return Err(RtcpError::Malformed {
                        what: "packet",
                        reason: "body must be a multiple of 4 bytes",
                    });
                }
                write_header(out, packet.count, packet.packet_type, packet.body.len())?;
                out.extend_from_slice(&packet.body);
                Ok(())
            }
        }
    }
}

/// Parses every packet of a compound RTCP datagram.
pub fn parse_compound(datagram: &[u8]) -> Result<Vec<RtcpPacket>, RtcpError> {
    RtcpCompoundIter::new(datagram)
        .map(|item| item.and_then(|(header, body)| RtcpPacket::parse(header, body)))
        .collect()
}

/// Appends the compound packet made of `packets` to `out`; on error `out` is unchanged.
pub fn serialize_compound(packets: &[RtcpPacket], out: &mut Vec<u8>) -> Result<(), RtcpError> {
    let start = out.len();
    let result = packets.iter().try_for_each(|packet| packet.write(out));
    if result.is_err() {
        out.truncate(start);
    }
    result
}

#[cfg(test)]
mod tests;
