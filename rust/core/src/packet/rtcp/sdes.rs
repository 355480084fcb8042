//! Source description (RFC 3550 §6.5): chunks of items per source, CNAME above all.

use super::header::{packet_type, padding_to_word, write_header, BodyReader, RtcpHeader};
use super::RtcpError;

/// The CNAME item type.
pub const SDES_CNAME: u8 = 1;

/// One SDES item (type and value; 255 bytes at most).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SdesItem {
    /// Item type (1 CNAME, 2 NAME, ... 8 PRIV).
    pub item_type: u8,
    /// The value.
    #[cfg_attr(feature = "serde", serde(with = "serde_bytes"))]
    pub value: Vec<u8>,
}

/// The items describing one source.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SdesChunk {
    /// The source.
    pub ssrc: u32,
    /// Its items, in order.
    pub items: Vec<SdesItem>,
}

impl SdesChunk {
    /// The CNAME value, if the chunk has one.
    pub fn cname(&self) -> Option<&[u8]> {
        self.items
            .iter()
            .find(|item| item.item_type == SDES_CNAME)
            .map(|item| item.value.as_slice())
    }

    fn encoded_len(&self) -> usize {
        let items: usize = self.items.iter().map(|item| 2 + item.value.len()).sum();
        // SSRC, items, then the null terminator and padding to a word boundary.
        let unpadded = 4 + items + 1;
        unpadded + padding_to_word(unpadded)
    }
}

/// A source description packet (PT 202).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SourceDescription {
    /// Up to 31 chunks.
    pub chunks: Vec<SdesChunk>,
}

impl SourceDescription {
    pub(super) fn parse(header: RtcpHeader, body: &[u8]) -> Result<Self, RtcpError> {
        let mut reader = BodyReader::new(body, "SDES chunk");
        let mut chunks = Vec::with_capacity(usize::from(header.count));
        for _ in 0..header.count {
            let chunk_start = body.len() - reader.remaining().len();
            let ssrc = reader.u32()?;
            let mut items = Vec::new();
            loop {
                let item_type = reader.u8()?;
                if item_type == 0 {
                    break;
                }
                let len = usize::from(reader.u8()?);
                items.push(SdesItem {
                    item_type,
                    value: reader.take(len)?.to_vec(),
                });
            }
            // Skip the rest of the null padding up to the next word boundary.
            let consumed = body.len() - reader.remaining().len() - chunk_start;
            reader.take(padding_to_word(consumed))?;
            chunks.push(SdesChunk { ssrc, items });
        }
        Ok(SourceDescription { chunks })
    }

    pub(super) fn write(&self, out: &mut Vec<u8>) -> Result<(), RtcpError> {
        let count = u8::try_from(self.chunks.len())
            .ok()
            .filter(|count| *count <= 31)
            .ok_or(RtcpError::ValueOutOfRange {
                field: "chunks",
                value: self.chunks.len() as u64,
                max: 31,
            })?;
        for item in self.chunks.iter().flat_map(|chunk| &chunk.items) {
            if item.item_type == 0 || item.value.len() > 255 {
                return Err(RtcpError::ValueOutOfRange {
                    field: "SDES item length",
                    value: item.value.len() as u64,
                    max: 255,
                });
            }
        }
        let body_len = self.chunks.iter().map(SdesChunk::encoded_len).sum();
        write_header(out, count, packet_type::SDES, body_len)?;
        for chunk in &self.chunks {
            let start = out.len();
            out.extend_from_slice(&chunk.ssrc.to_be_bytes());
            for item in &chunk.items {
                out.push(item.item_type);
                out.push(item.value.len() as u8);
                out.extend_from_slice(&item.value);
            }
            out.push(0);
            let written = out.len() - start;
            out.resize(out.len() + padding_to_word(written), 0);
        }
        Ok(())
    }
}
