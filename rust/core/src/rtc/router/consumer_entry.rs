//! A consumer as the router holds it: the [`Consumer`] that writes each copy, and where it
//! sits (its transport, its producer and its place in that producer's list), what was last
//! reported of it, and its share of its transport's bandwidth.

use super::arena::{ProducerIndex, TransportIndex};
use crate::rtc::consumer::Consumer;

/// The router's entry for one consumer.
#[derive(Debug)]
pub struct ConsumerEntry {
    /// The caller's id.
    pub id: String,
    /// The transport it sends on.
    pub transport: TransportIndex,
    /// The producer it consumes.
    pub producer: ProducerIndex,
    /// Its index in that producer's consumer list.
    pub position: usize,
    /// Its copies of the producer's packets.
    pub consumer: Consumer,
    /// The (score, producer score) last reported to the owner.
    pub reported_scores: Option<(u8, u8)>,
    /// The trace kinds it reports.
    pub trace: u8,
    /// Bytes it had sent at the last bandwidth allocation (its rate since then).
    pub bytes_at_allocation: u64,
    /// Its share of the transport's bandwidth relative to the others (1-255).
    pub priority: u8,
}
