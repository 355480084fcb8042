//! Receiver estimated maximum bitrate (draft-alvestrand-rmcat-remb-03): an application
//! layer feedback (PSFB 15) whose FCI starts with "REMB".

use super::feedback::{read_ssrcs, write_feedback_header, FMT_AFB};
use super::header::{packet_type, BodyReader};
use super::RtcpError;

const REMB_IDENTIFIER: &[u8; 4] = b"REMB";
const MANTISSA_BITS: u32 = 18;
const MAX_MANTISSA: u64 = (1 << MANTISSA_BITS) - 1;
const MAX_EXPONENT: u32 = 63;

/// A REMB: the receiver's estimate of the total bitrate these streams may use.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Remb {
    /// Who sends the estimate.
    pub sender_ssrc: u32,
    /// Bits per second; written as an 18-bit mantissa and 6-bit exponent, rounding down.
    pub bitrate: u64,
    /// The streams the estimate applies to (at most 255).
    pub ssrcs: Vec<u32>,
}

impl Remb {
    /// Whether a PSFB application-layer FCI is a REMB.
    pub(super) fn matches(body: &[u8]) -> bool {
        body.get(8..12) == Some(REMB_IDENTIFIER.as_slice())
    }

    pub(super) fn parse(body: &[u8]) -> Result<Self, RtcpError> {
        let mut reader = BodyReader::new(body, "REMB");
        let (sender_ssrc, _media_ssrc) = read_ssrcs(&mut reader)?;
        reader.take(REMB_IDENTIFIER.len())?;
        let count = reader.u8()?;
        let [b0, b1, b2] = reader.array::<3>()?;
        let exponent = u32::from(b0 >> 2);
        let mantissa = (u64::from(b0 & 0x03) << 16) | (u64::from(b1) << 8) | u64::from(b2);
        let bitrate = mantissa
            .checked_shl(exponent)
            .filter(|value| value >> exponent == mantissa)
            .ok_or(RtcpError::Malformed {
                what: "REMB",
                reason: "bitrate overflows 64 bits",
            })?;
        let ssrcs = (0..count)
            .map(|_| reader.u32())
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Remb {
            sender_ssrc,
            bitrate,
            ssrcs,
        })
    }

    /// The (exponent, mantissa) pair that writes `bitrate` rounded down.
    fn exponent_and_mantissa(bitrate: u64) -> (u32, u64) {
        let mut exponent = 0;
        while bitrate >> exponent > MAX_MANTISSA && exponent < MAX_EXPONENT {
            exponent += 1;
        }
        (exponent, bitrate >> exponent)
    }

    pub(super) fn write(&self, out: &mut Vec<u8>) -> Result<(), RtcpError> {
        let count = u8::try_from(self.ssrcs.len()).map_err(|_| RtcpError::ValueOutOfRange {
            field: "ssrcs",
            value: self.ssrcs.len() as u64,
            max: 255,
        })?;
        write_feedback_header(
            out,
            FMT_AFB,
            packet_type::PSFB,
            self.sender_ssrc,
            0,
            8 + 4 * self.ssrcs.len(),
        )?;
        let (exponent, mantissa) = Self::exponent_and_mantissa(self.bitrate);
        out.extend_from_slice(REMB_IDENTIFIER);
        out.push(count);
        out.push(((exponent as u8) << 2) | (mantissa >> 16) as u8);
        out.extend_from_slice(&(mantissa as u16).to_be_bytes());
        for ssrc in &self.ssrcs {
            out.extend_from_slice(&ssrc.to_be_bytes());
        }
        Ok(())
    }
}
