//! Packets decrypted during a socket read, waiting for the routing phase that follows it
//! (routing needs every transport, while the read holds one transport's sockets). Storage is
//! allocated once and reused: no allocation per packet.

use super::udp_batch::{BATCH, SLOT_LEN};

/// Whether a queued packet is RTP or RTCP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketKind {
    /// RTP, from a producer's endpoint.
    Rtp,
    /// RTCP, from any endpoint.
    Rtcp,
}

/// Packets queued per read: a receive batch, or the frames of one TCP read chunk (many
/// more, when they are small).
const CAPACITY: usize = 2048;
/// Bytes queued per read: a full receive batch, with room to spare for a TCP read chunk.
const BYTES_CAPACITY: usize = 2 * BATCH * SLOT_LEN;

/// The queue.
#[derive(Debug)]
pub struct ForwardQueue {
    bytes: Vec<u8>,
    entries: Vec<(usize, PacketKind, usize, usize)>,
    /// Packets dropped because the queue was full.
    pub dropped: u64,
}

impl Default for ForwardQueue {
    fn default() -> Self {
        ForwardQueue {
            bytes: Vec::with_capacity(BYTES_CAPACITY),
            entries: Vec::with_capacity(CAPACITY),
            dropped: 0,
        }
    }
}

impl ForwardQueue {
    /// Queues a packet received on transport `slot`.
    pub fn push(&mut self, slot: usize, kind: PacketKind, packet: &[u8]) {
        if self.entries.len() == CAPACITY || self.bytes.len() + packet.len() > BYTES_CAPACITY {
            self.dropped += 1;
            return;
        }
        let start = self.bytes.len();
        self.bytes.extend_from_slice(packet);
        self.entries.push((slot, kind, start, packet.len()));
    }

    /// Number of queued packets.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Packet `index`: its transport slot, kind and bytes (mutable, for in-place rewriting).
    pub fn get_mut(&mut self, index: usize) -> Option<(usize, PacketKind, &mut [u8])> {
        let &(slot, kind, start, len) = self.entries.get(index)?;
        Some((slot, kind, self.bytes.get_mut(start..start + len)?))
    }

    /// Forgets every packet, keeping the storage.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.entries.clear();
    }
}
