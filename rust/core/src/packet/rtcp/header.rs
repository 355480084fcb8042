//! The common RTCP header (RFC 3550 §6.4.1) and compound packet iteration.

use super::RtcpError;

/// Length of the common header.
pub const HEADER_LEN: usize = 4;

/// Packet types (RFC 3550 §12.1, RFC 4585 §6.1, RFC 3611 §2).
pub mod packet_type {
    /// Sender report.
    pub const SR: u8 = 200;
    /// Receiver report.
    pub const RR: u8 = 201;
    /// Source description.
    pub const SDES: u8 = 202;
    /// Goodbye.
    pub const BYE: u8 = 203;
    /// Application-defined.
    pub const APP: u8 = 204;
    /// Transport-layer feedback.
    pub const RTPFB: u8 = 205;
    /// Payload-specific feedback.
    pub const PSFB: u8 = 206;
    /// Extended report.
    pub const XR: u8 = 207;
}

/// The common header of one packet of a compound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtcpHeader {
    /// Reception report count, SDES chunk count, BYE source count, APP subtype, or feedback
    /// message type (FMT): 5 bits.
    pub count: u8,
    /// Packet type.
    pub packet_type: u8,
}

/// Iterates over the packets of a compound RTCP datagram without allocating: each item is
/// a header and its body (after the 4-byte header, padding removed). A malformed packet ends
/// the iteration with an error.
#[derive(Debug, Clone)]
pub struct RtcpCompoundIter<'a> {
    rest: &'a [u8],
    failed: bool,
}

impl<'a> RtcpCompoundIter<'a> {
    /// Iterates over `datagram`.
    pub fn new(datagram: &'a [u8]) -> Self {
        RtcpCompoundIter {
            rest: datagram,
            failed: false,
        }
    }

    fn next_packet(&mut self) -> Result<(RtcpHeader, &'a [u8]), RtcpError> {
        let header: &[u8; HEADER_LEN] = self.rest.first_chunk().ok_or(RtcpError::Truncated {
            part: "header",
            needed: HEADER_LEN,
            got: self.rest.len(),
        })?;
        let version = header[0] >> 6;
        if version != 2 {
            return Err(RtcpError::BadVersion(version));
        }
        let has_padding = header[0] & 0x20 != 0;
        let declared = (usize::from(u16::from_be_bytes([header[2], header[3]])) + 1) * 4;
        if declared > self.rest.len() {
            return Err(RtcpError::LengthExceedsBuffer {
                declared,
                available: self.rest.len(),
            });
        }
        let (packet, rest) = self.rest.split_at(declared);
        let mut body = &packet[HEADER_LEN..];
        if has_padding {
            let padding = usize::from(*body.last().unwrap_or(&0));
            if padding == 0 || padding > body.len() {
                return Err(RtcpError::BadPadding {
                    padding,
                    body_len: body.len(),
                });
            }
            body = &body[..body.len() - padding];
        }
        self.rest = rest;
        Ok((
            RtcpHeader {
                count: header[0] & 0x1F,
                packet_type: header[1],
            },
            body,
        ))
    }
}

impl<'a> Iterator for RtcpCompoundIter<'a> {
    type Item = Result<(RtcpHeader, &'a [u8]), RtcpError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.rest.is_empty() {
            return None;
        }
        let item = self.next_packet();
        self.failed = item.is_err();
        Some(item)
    }
}

impl std::iter::FusedIterator for RtcpCompoundIter<'_> {}

/// Appends a header for a body of `body_len` bytes (a multiple of 4).
pub fn write_header(
    out: &mut Vec<u8>,
    count: u8,
    packet_type: u8,
    body_len: usize,
) -> Result<(), RtcpError> {
    if count > 31 {
        return Err(RtcpError::ValueOutOfRange {
            field: "count",
            value: u64::from(count),
            max: 31,
        });
    }
    let words = body_len / 4;
    let length = u16::try_from(words).map_err(|_| RtcpError::ValueOutOfRange {
        field: "length",
        value: words as u64,
        max: u64::from(u16::MAX),
    })?;
    // The whole packet's room at once, not a reallocation per part that outgrows it.
    out.reserve(HEADER_LEN + body_len);
    out.push(0x80 | count);
    out.push(packet_type);
    out.extend_from_slice(&length.to_be_bytes());
    Ok(())
}

/// A big-endian reader over a packet body with typed truncation errors.
#[derive(Debug, Clone)]
pub struct BodyReader<'a> {
    bytes: &'a [u8],
    offset: usize,
    part: &'static str,
}

impl<'a> BodyReader<'a> {
    /// Reads `bytes`; errors name `part`.
    pub fn new(bytes: &'a [u8], part: &'static str) -> Self {
        BodyReader {
            bytes,
            offset: 0,
            part,
        }
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> &'a [u8] {
        self.bytes.get(self.offset..).unwrap_or_default()
    }

    /// Takes the next `len` bytes.
    pub fn take(&mut self, len: usize) -> Result<&'a [u8], RtcpError> {
        let end = self.offset + len;
        let slice = self
            .bytes
            .get(self.offset..end)
            .ok_or(RtcpError::Truncated {
                part: self.part,
                needed: end,
                got: self.bytes.len(),
            })?;
        self.offset = end;
        Ok(slice)
    }

    /// Takes a fixed-size array.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], RtcpError> {
        let slice = self.take(N)?;
        let mut array = [0u8; N];
        array.copy_from_slice(slice);
        Ok(array)
    }

    /// Reads a u8.
    pub fn u8(&mut self) -> Result<u8, RtcpError> {
        Ok(self.array::<1>()?[0])
    }

    /// Reads a big-endian u16.
    pub fn u16(&mut self) -> Result<u16, RtcpError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    /// Reads a big-endian u32.
    pub fn u32(&mut self) -> Result<u32, RtcpError> {
        Ok(u32::from_be_bytes(self.array()?))
    }
}

/// Bytes of zero padding that bring `len` to a multiple of 4.
pub fn padding_to_word(len: usize) -> usize {
    (4 - len % 4) % 4
}
