//! Sender and receiver reports (RFC 3550 §6.4.1, §6.4.2) and their reception report blocks.

use super::header::{packet_type, write_header, BodyReader, RtcpHeader};
use super::RtcpError;

const REPORT_BLOCK_LEN: usize = 24;
const SENDER_INFO_LEN: usize = 20;
/// The 24-bit cumulative loss field is signed (RFC 3550 §6.4.1 allows negative values when
/// duplicates outnumber losses).
const TOTAL_LOST_MIN: i32 = -(1 << 23);
const TOTAL_LOST_MAX: i32 = (1 << 23) - 1;

/// Reception statistics for one source (a report block).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ReceptionReport {
    /// The source this block reports on.
    pub ssrc: u32,
    /// Fraction of packets lost since the last report, in 1/256 units.
    pub fraction_lost: u8,
    /// Cumulative packets lost (24-bit signed).
    pub total_lost: i32,
    /// Extended highest sequence number received (cycles << 16 | sequence).
    pub highest_sequence: u32,
    /// Interarrival jitter in RTP timestamp units.
    pub jitter: u32,
    /// Middle 32 bits of the NTP timestamp of the last SR received (LSR).
    pub last_sr: u32,
    /// Delay since that SR, in 1/65536 s (DLSR).
    pub delay_since_last_sr: u32,
}

impl ReceptionReport {
    fn parse(reader: &mut BodyReader<'_>) -> Result<Self, RtcpError> {
        let ssrc = reader.u32()?;
        let loss = reader.u32()?;
        // Sign-extend the 24-bit cumulative loss.
        let total_lost = ((loss << 8) as i32) >> 8;
        Ok(ReceptionReport {
            ssrc,
            fraction_lost: (loss >> 24) as u8,
            total_lost,
            highest_sequence: reader.u32()?,
            jitter: reader.u32()?,
            last_sr: reader.u32()?,
            delay_since_last_sr: reader.u32()?,
        })
    }

    fn write(&self, out: &mut Vec<u8>) -> Result<(), RtcpError> {
        if !(TOTAL_LOST_MIN..=TOTAL_LOST_MAX).contains(&self.total_lost) {
            return Err(RtcpError::ValueOutOfRange {
                field: "total_lost",
                value: self.total_lost.unsigned_abs().into(),
                max: TOTAL_LOST_MAX as u64,
            });
        }
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        let loss = (u32::from(self.fraction_lost) << 24) | (self.total_lost as u32 & 0x00FF_FFFF);
        out.extend_from_slice(&loss.to_be_bytes());
        for value in [
            self.highest_sequence,
            self.jitter,
            self.last_sr,
            self.delay_since_last_sr,
        ] {
            out.extend_from_slice(&value.to_be_bytes());
        }
        Ok(())
    }
}

fn parse_blocks(
    reader: &mut BodyReader<'_>,
    count: u8,
    what: &'static str,
    body_len: usize,
) -> Result<Vec<ReceptionReport>, RtcpError> {
    if reader.remaining().len() < usize::from(count) * REPORT_BLOCK_LEN {
        return Err(RtcpError::CountMismatch {
            what,
            count: count.into(),
            body_len,
        });
    }
    (0..count).map(|_| ReceptionReport::parse(reader)).collect()
}

fn report_count(reports: &[ReceptionReport]) -> Result<u8, RtcpError> {
    u8::try_from(reports.len())
        .ok()
        .filter(|count| *count <= 31)
        .ok_or(RtcpError::ValueOutOfRange {
            field: "reports",
            value: reports.len() as u64,
            max: 31,
        })
}

/// A sender report (PT 200): what a sender sent, plus reception reports.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SenderReport {
    /// The sender.
    pub ssrc: u32,
    /// NTP timestamp, seconds part.
    pub ntp_seconds: u32,
    /// NTP timestamp, fraction part.
    pub ntp_fraction: u32,
    /// The RTP timestamp corresponding to the NTP timestamp.
    pub rtp_timestamp: u32,
    /// Packets sent.
    pub packet_count: u32,
    /// Payload octets sent.
    pub octet_count: u32,
    /// Up to 31 reception report blocks.
    pub reports: Vec<ReceptionReport>,
}

impl SenderReport {
    pub(super) fn parse(header: RtcpHeader, body: &[u8]) -> Result<Self, RtcpError> {
        let mut reader = BodyReader::new(body, "sender report");
        let ssrc = reader.u32()?;
        let ntp_seconds = reader.u32()?;
        let ntp_fraction = reader.u32()?;
        let rtp_timestamp = reader.u32()?;
        let packet_count = reader.u32()?;
        let octet_count = reader.u32()?;
        let reports = parse_blocks(&mut reader, header.count, "sender report", body.len())?;
        Ok(SenderReport {
            ssrc,
            ntp_seconds,
            ntp_fraction,
            rtp_timestamp,
            packet_count,
            octet_count,
            reports,
        })
    }

    pub(super) fn write(&self, out: &mut Vec<u8>) -> Result<(), RtcpError> {
        let count = report_count(&self.reports)?;
        let body_len = 4 + SENDER_INFO_LEN + self.reports.len() * REPORT_BLOCK_LEN;
        write_header(out, count, packet_type::SR, body_len)?;
        for value in [
            self.ssrc,
            self.ntp_seconds,
            self.ntp_fraction,
            self.rtp_timestamp,
            self.packet_count,
            self.octet_count,
        ] {
            out.extend_from_slice(&value.to_be_bytes());
        }
        self.reports.iter().try_for_each(|report| report.write(out))
    }
}

/// A receiver report (PT 201).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ReceiverReport {
    /// The reporter.
    pub ssrc: u32,
    /// Up to 31 reception report blocks.
    pub reports: Vec<ReceptionReport>,
}

impl ReceiverReport {
    pub(super) fn parse(header: RtcpHeader, body: &[u8]) -> Result<Self, RtcpError> {
        let mut reader = BodyReader::new(body, "receiver report");
        let ssrc = reader.u32()?;
        let reports = parse_blocks(&mut reader, header.count, "receiver report", body.len())?;
        Ok(ReceiverReport { ssrc, reports })
    }

    pub(super) fn write(&self, out: &mut Vec<u8>) -> Result<(), RtcpError> {
        let count = report_count(&self.reports)?;
        write_header(
            out,
            count,
            packet_type::RR,
            4 + self.reports.len() * REPORT_BLOCK_LEN,
        )?;
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        self.reports.iter().try_for_each(|report| report.write(out))
    }
}
