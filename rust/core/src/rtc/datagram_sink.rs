//! The output side of a sans-IO transport: it hands each datagram it sends, with the tuple to
//! send it on, to a sink. The worker's sink copies it into a `sendmmsg` batch; tests collect.

use crate::ice::TransportTuple;

/// Accepts datagrams to send. Implementations must not keep `datagram` (it is the caller's
/// reused buffer).
pub trait DatagramSink {
    /// Queues `datagram` for sending from `tuple.local` to `tuple.remote` over `tuple.protocol`.
    fn send(&mut self, tuple: &TransportTuple, datagram: &[u8]);
}

/// Collects owned copies: for tests and for callers that batch elsewhere.
impl DatagramSink for Vec<(TransportTuple, Vec<u8>)> {
    fn send(&mut self, tuple: &TransportTuple, datagram: &[u8]) {
        self.push((*tuple, datagram.to_vec()));
    }
}
