//! Extended reports (RFC 3611, PT 207) with the two blocks WebRTC uses for receiver-side RTT:
//! receiver reference time (RRTR, §4.4) and DLRR (§4.5).

use super::header::{packet_type, write_header, BodyReader};
use super::RtcpError;

const BLOCK_RRTR: u8 = 4;
const BLOCK_DLRR: u8 = 5;

/// One DLRR sub-block: the delay since the last RRTR from `ssrc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct DlrrSubBlock {
    /// The receiver whose RRTR is answered.
    pub ssrc: u32,
    /// Middle 32 bits of that RRTR's NTP timestamp.
    pub last_rr: u32,
    /// Delay since receiving it, in 1/65536 s.
    pub delay_since_last_rr: u32,
}

/// A report block of an XR packet.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(tag = "block", rename_all = "snake_case")
)]
pub enum XrBlock {
    /// RRTR: the receiver's NTP time, so senders can compute RTT.
    ReceiverReferenceTime {
        /// NTP seconds.
        ntp_seconds: u32,
        /// NTP fraction.
        ntp_fraction: u32,
    },
    /// DLRR: answers to RRTRs.
    Dlrr {
        /// One per answered receiver.
        sub_blocks: Vec<DlrrSubBlock>,
    },
    /// Any other block type, kept whole.
    Unknown {
        /// Block type.
        block_type: u8,
        /// The type-specific byte.
        type_specific: u8,
        /// The block contents (a multiple of 4 bytes).
        #[cfg_attr(feature = "serde", serde(with = "serde_bytes"))]
        data: Vec<u8>,
    },
}

impl XrBlock {
    fn body_len(&self) -> usize {
        match self {
            XrBlock::ReceiverReferenceTime { .. } => 8,
            XrBlock::Dlrr { sub_blocks } => 12 * sub_blocks.len(),
            XrBlock::Unknown { data, .. } => data.len(),
        }
    }
}

/// An XR packet.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ExtendedReport {
    /// The sender of the report.
    pub ssrc: u32,
    /// Its blocks, in order.
    pub blocks: Vec<XrBlock>,
}

impl ExtendedReport {
    pub(super) fn parse(body: &[u8]) -> Result<Self, RtcpError> {
        let mut reader = BodyReader::new(body, "XR");
        let ssrc = reader.u32()?;
        let mut blocks = Vec::new();
        while !reader.remaining().is_empty() {
            let block_type = reader.u8()?;
            let type_specific = reader.u8()?;
            let words = usize::from(reader.u16()?);
            let mut block = BodyReader::new(reader.take(4 * words)?, "XR block");
            blocks.push(match block_type {
                BLOCK_RRTR if words == 2 => XrBlock::ReceiverReferenceTime {
                    ntp_seconds: block.u32()?,
                    ntp_fraction: block.u32()?,
                },
                BLOCK_DLRR if words % 3 == 0 => XrBlock::Dlrr {
                    sub_blocks: (0..words / 3)
                        .map(|_| {
                            Ok(DlrrSubBlock {
                                ssrc: block.u32()?,
                                last_rr: block.u32()?,
                                delay_since_last_rr: block.u32()?,
                            })
                        })
                        .collect::<Result<_, RtcpError>>()?,
                },
                BLOCK_RRTR | BLOCK_DLRR => {
                    return Err(RtcpError::Malformed {
                        what: "XR",
                        reason: "RRTR or DLRR block of the wrong length",
                    })
                }
                _ => XrBlock::Unknown {
                    block_type,
                    type_specific,
                    data: block.remaining().to_vec(),
                },
            });
        }
        Ok(ExtendedReport { ssrc, blocks })
    }

    pub(super) fn write(&self, out: &mut Vec<u8>) -> Result<(), RtcpError> {
        let mut body_len = 4;
        for block in &self.blocks {
            let len = block.body_len();
            if len % 4 != 0 || len / 4 > usize::from(u16::MAX) {
                return Err(RtcpError::Malformed {
                    what: "XR",
                    reason: "block length must be a multiple of 4 bytes up to 262140",
                });
            }
            body_len += 4 + len;
        }
        write_header(out, 0, packet_type::XR, body_len)?;
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        for block in &self.blocks {
            let (block_type, type_specific) = match block {
                XrBlock::ReceiverReferenceTime { .. } => (BLOCK_RRTR, 0),
                XrBlock::Dlrr { .. } => (BLOCK_DLRR, 0),
                XrBlock::Unknown {
                    block_type,
                    type_specific,
                    ..
                } => (*block_type, *type_specific),
            };
            out.push(block_type);
            out.push(type_specific);
            out.extend_from_slice(&((block.body_len() / 4) as u16).to_be_bytes());
            match block {
                XrBlock::ReceiverReferenceTime {
                    ntp_seconds,
                    ntp_fraction,
                } => {
                    out.extend_from_slice(&ntp_seconds.to_be_bytes());
                    out.extend_from_slice(&ntp_fraction.to_be_bytes());
                }
                XrBlock::Dlrr { sub_blocks } => {
                    for sub in sub_blocks {
                        out.extend_from_slice(&sub.ssrc.to_be_bytes());
                        out.extend_from_slice(&sub.last_rr.to_be_bytes());
                        out.extend_from_slice(&sub.delay_since_last_rr.to_be_bytes());
                    }
                }
                XrBlock::Unknown { data, .. } => out.extend_from_slice(data),
            }
        }
        Ok(())
    }
}
