//! Feedback messages (RFC 4585 §6): generic NACK (RTPFB 1), PLI (PSFB 1), FIR (RFC 5104
//! §4.3.1, PSFB 4), and feedback of formats this crate does not interpret.

use super::header::{packet_type, write_header, BodyReader};
use super::RtcpError;

/// RTPFB format: generic NACK.
pub const FMT_NACK: u8 = 1;
/// RTPFB format: transport-wide congestion control.
pub const FMT_TRANSPORT_CC: u8 = 15;
/// PSFB format: picture loss indication.
pub const FMT_PLI: u8 = 1;
/// PSFB format: full intra request.
pub const FMT_FIR: u8 = 4;
/// PSFB format: application layer feedback (REMB).
pub const FMT_AFB: u8 = 15;

/// Sender and media SSRC, the first 8 bytes of every feedback message.
pub(super) fn read_ssrcs(reader: &mut BodyReader<'_>) -> Result<(u32, u32), RtcpError> {
    Ok((reader.u32()?, reader.u32()?))
}

/// Writes a feedback header and the two SSRCs for an FCI of `fci_len` bytes.
pub(super) fn write_feedback_header(
    out: &mut Vec<u8>,
    format: u8,
    packet_type: u8,
    sender_ssrc: u32,
    media_ssrc: u32,
    fci_len: usize,
) -> Result<(), RtcpError> {
    write_header(out, format, packet_type, 8 + fci_len)?;
    out.extend_from_slice(&sender_ssrc.to_be_bytes());
    out.extend_from_slice(&media_ssrc.to_be_bytes());
    Ok(())
}

/// One NACK item: a lost packet id and a bitmask of the 16 following losses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct NackItem {
    /// Sequence number of a lost packet.
    pub pid: u16,
    /// Bit i set: `pid + i + 1` is lost too.
    pub blp: u16,
}

/// A generic NACK (RTPFB 1): please retransmit these packets.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Nack {
    /// Who sends the feedback.
    pub sender_ssrc: u32,
    /// The stream with losses.
    pub media_ssrc: u32,
    /// The lost packets.
    pub items: Vec<NackItem>,
}

impl Nack {
    /// Builds the items for a list of lost sequence numbers, in order, 17 per item at most.
    pub fn from_lost(sender_ssrc: u32, media_ssrc: u32, lost: &[u16]) -> Self {
        let mut items: Vec<NackItem> = Vec::new();
        for &sequence in lost {
            match items.last_mut() {
                Some(item) if (1..=16).contains(&sequence.wrapping_sub(item.pid)) => {
                    item.blp |= 1 << (sequence.wrapping_sub(item.pid) - 1);
                }
                Some(item) if item.pid == sequence => {}
                _ => items.push(NackItem {
                    pid: sequence,
                    blp: 0,
                }),
            }
        }
        Nack {
            sender_ssrc,
            media_ssrc,
            items,
        }
    }

    /// Every lost sequence number the items name, in item order.
    pub fn lost_sequence_numbers(&self) -> impl Iterator<Item = u16> + '_ {
        self.items.iter().flat_map(|item| {
            std::iter::once(item.pid).chain(
                (0..16)
                    .filter(move |bit| item.blp & (1 << bit) != 0)
                    .map(move |bit| item.pid.wrapping_add(bit + 1)),
            )
        })
    }

    pub(super) fn parse(body: &[u8]) -> Result<Self, RtcpError> {
        let mut reader = BodyReader::new(body, "NACK");
        let (sender_ssrc, media_ssrc) = read_ssrcs(&mut reader)?;
        let fci = reader.remaining();
        if fci.is_empty() || fci.len() % 4 != 0 {
            return Err(RtcpError::Malformed {
                what: "NACK",
                reason: "FCI must be one or more 4-byte items",
            });
        }
        let items = fci
            .chunks_exact(4)
            .map(|item| NackItem {
                pid: u16::from_be_bytes([item[0], item[1]]),
                blp: u16::from_be_bytes([item[2], item[3]]),
            })
            .collect();
        Ok(Nack {
            sender_ssrc,
            media_ssrc,
            items,
        })
    }

    pub(super) fn write(&self, out: &mut Vec<u8>) -> Result<(), RtcpError> {
        write_feedback_header(
            out,
            FMT_NACK,
            packet_type::RTPFB,
            self.sender_ssrc,
            self.media_ssrc,
            4 * self.items.len(),
        )?;
        for item in &self.items {
            out.extend_from_slice(&item.pid.to_be_bytes());
            out.extend_from_slice(&item.blp.to_be_bytes());
        }
        Ok(())
    }
}

/// A picture loss indication (PSFB 1): send a keyframe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Pli {
    /// Who sends the feedback.
    pub sender_ssrc: u32,
    /// The stream that needs a keyframe.
    pub media_ssrc: u32,
}

impl Pli {
    pub(super) fn parse(body: &[u8]) -> Result<Self, RtcpError> {
        let (sender_ssrc, media_ssrc) = read_ssrcs(&mut BodyReader::new(body, "PLI"))?;
        Ok(Pli {
            sender_ssrc,
            media_ssrc,
        })
    }

    pub(super) fn write(&self, out: &mut Vec<u8>) -> Result<(), RtcpError> {
        write_feedback_header(
            out,
            FMT_PLI,
            packet_type::PSFB,
            self.sender_ssrc,
            self.media_ssrc,
            0,
        )
    }
}

/// One FIR entry: the stream to refresh and a request sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct FirEntry {
    /// The stream that must send a keyframe.
    pub ssrc: u32,
    /// Incremented for each new request (RFC 5104 §4.3.1.1).
    pub sequence_number: u8,
}

/// A full intra request (PSFB 4).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Fir {
    /// Who sends the request.
    pub sender_ssrc: u32,
    /// Always 0 for FIR (the targets are in the entries), kept as received.
    pub media_ssrc: u32,
    /// The streams to refresh.
    pub entries: Vec<FirEntry>,
}

impl Fir {
    pub(super) fn parse(body: &[u8]) -> Result<Self, RtcpError> {
        let mut reader = BodyReader::new(body, "FIR");
        let (sender_ssrc, media_ssrc) = read_ssrcs(&mut reader)?;
        let fci = reader.remaining();
        if fci.is_empty() || fci.len() % 8 != 0 {
            return Err(RtcpError::Malformed {
                what: "FIR",
                reason: "FCI must be one or more 8-byte entries",
            });
        }
        let entries = fci
            .chunks_exact(8)
            .map(|entry| FirEntry {
                ssrc: u32::from_be_bytes([entry[0], entry[1], entry[2], entry[3]]),
                sequence_number: entry[4],
            })
            .collect();
        Ok(Fir {
            sender_ssrc,
            media_ssrc,
            entries,
        })
    }

    pub(super) fn write(&self, out: &mut Vec<u8>) -> Result<(), RtcpError> {
        write_feedback_header(
            out,
            FMT_FIR,
            packet_type::PSFB,
            self.sender_ssrc,
            self.media_ssrc,
            8 * self.entries.len(),
        )?;
        for entry in &self.entries {
            out.extend_from_slice(&entry.ssrc.to_be_bytes());
            out.extend_from_slice(&[entry.sequence_number, 0, 0, 0]);
        }
        Ok(())
    }
}

/// A transport-layer or payload-specific feedback message of a format not interpreted
/// here (TMMBR, SLI, RPSI, application feedback other than REMB, ...), kept whole.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct UnknownFeedback {
    /// 205 (RTPFB) or 206 (PSFB).
    pub packet_type: u8,
    /// The FMT field.
    pub format: u8,
    /// Who sends the feedback.
    pub sender_ssrc: u32,
    /// The media source.
    pub media_ssrc: u32,
    /// The feedback control information, a multiple of 4 bytes.
    #[cfg_attr(feature = "serde", serde(with = "serde_bytes"))]
    pub fci: Vec<u8>,
}

impl UnknownFeedback {
    pub(super) fn parse(packet_type: u8, format: u8, body: &[u8]) -> Result<Self, RtcpError> {
        let mut reader = BodyReader::new(body, "feedback");
        let (sender_ssrc, media_ssrc) = read_ssrcs(&mut reader)?;
        Ok(UnknownFeedback {
            packet_type,
            format,
            sender_ssrc,
            media_ssrc,
            fci: reader.remaining().to_vec(),
        })
    }

    pub(super) fn write(&self, out: &mut Vec<u8>) -> Result<(), RtcpError> {
        if self.fci.len() % 4 != 0 {
            return Err(RtcpError::Malformed {
                what: "feedback",
                reason: "FCI must be a multiple of 4 bytes",
            });
        }
        write_feedback_header(
            out,
            self.format,
            self.packet_type,
            self.sender_ssrc,
            self.media_ssrc,
            self.fci.len(),
        )?;
        out.extend_from_slice(&self.fci);
        Ok(())
    }
}
