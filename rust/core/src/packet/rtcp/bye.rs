//! Goodbye (RFC 3550 §6.6) and application-defined (RFC 3550 §6.7) packets.

use super::header::{packet_type, padding_to_word, write_header, BodyReader, RtcpHeader};
use super::RtcpError;

/// A BYE packet (PT 203): these sources are leaving.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Bye {
    /// Up to 31 sources.
    pub ssrcs: Vec<u32>,
    /// Optional reason (255 bytes at most).
    #[cfg_attr(feature = "serde", serde(with = "serde_bytes"))]
    pub reason: Option<Vec<u8>>,
}

impl Bye {
    pub(super) fn parse(header: RtcpHeader, body: &[u8]) -> Result<Self, RtcpError> {
        let mut reader = BodyReader::new(body, "BYE");
        let ssrcs = (0..header.count)
            .map(|_| reader.u32())
            .collect::<Result<Vec<_>, _>>()?;
        let reason = match reader.remaining().first() {
            None => None,
            Some(&len) => {
                reader.u8()?;
                Some(reader.take(usize::from(len))?.to_vec())
            }
        };
        Ok(Bye { ssrcs, reason })
    }

    pub(super) fn write(&self, out: &mut Vec<u8>) -> Result<(), RtcpError> {
        let count = u8::try_from(self.ssrcs.len())
            .ok()
            .filter(|count| *count <= 31)
            .ok_or(RtcpError::ValueOutOfRange {
                field: "ssrcs",
                value: self.ssrcs.len() as u64,
                max: 31,
            })?;
        let reason_len = match &self.reason {
            Some(reason) if reason.len() > 255 => {
                return Err(RtcpError::ValueOutOfRange {
                    field: "reason length",
                    value: reason.len() as u64,
                    max: 255,
                })
            }
            Some(reason) => 1 + reason.len(),
            None => 0,
        };
        let body_len = 4 * self.ssrcs.len() + reason_len + padding_to_word(reason_len);
        write_header(out, count, packet_type::BYE, body_len)?;
        for ssrc in &self.ssrcs {
            out.extend_from_slice(&ssrc.to_be_bytes());
        }
        if let Some(reason) = &self.reason {
            out.push(reason.len() as u8);
            out.extend_from_slice(reason);
            out.resize(out.len() + padding_to_word(reason_len), 0);
        }
        Ok(())
    }
}

/// An APP packet (PT 204).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct App {
    /// The 5-bit subtype.
    pub subtype: u8,
    /// The sender.
    pub ssrc: u32,
    /// Four ASCII characters naming the application.
    #[cfg_attr(feature = "serde", serde(with = "serde_bytes"))]
    pub name: [u8; 4],
    /// Application data, a multiple of 4 bytes.
    #[cfg_attr(feature = "serde", serde(with = "serde_bytes"))]
    pub data: Vec<u8>,
}

impl App {
    pub(super) fn parse(header: RtcpHeader, body: &[u8]) -> Result<Self, RtcpError> {
        let mut reader = BodyReader::new(body, "APP");
        Ok(App {
            subtype: header.count,
            ssrc: reader.u32()?,
            name: reader.array()?,
            data: reader.remaining().to_vec(),
        })
    }

    pub(super) fn write(&self, out: &mut Vec<u8>) -> Result<(), RtcpError> {
        if self.data.len() % 4 != 0 {
            return Err(RtcpError::Malformed {
                what: "APP",
                reason: "data must be a multiple of 4 bytes",
            });
        }
        write_header(out, self.subtype, packet_type::APP, 8 + self.data.len())?;
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        out.extend_from_slice(&self.name);
        out.extend_from_slice(&self.data);
        Ok(())
    }
}
