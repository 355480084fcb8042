//! A DirectTransport: no sockets. The owner hands it RTP and RTCP (a bot, a recorder, a
//! test feeding a producer), and what its consumers send goes back to the owner as events
//! instead of onto the network.

use super::messages::TransportStats;

/// One DirectTransport.
#[derive(Debug)]
pub struct WorkerDirectTransport {
    /// The caller's id.
    pub id: String,
    stats: TransportStats,
}

impl WorkerDirectTransport {
    /// A transport with this id.
    pub fn new(id: String) -> Self {
        WorkerDirectTransport {
            id,
            stats: TransportStats::default(),
        }
    }

    /// Counts a packet the owner sent in.
    pub fn on_received(&mut self, len: usize, rtcp: bool) {
        self.stats.datagrams_received += 1;
        self.stats.bytes_received += len as u64;
        if rtcp {
            self.stats.rtcp_packets_received += 1;
        } else {
            self.stats.rtp_packets_received += 1;
        }
    }

    /// Counts an RTCP compound that did not parse whole.
    pub fn count_malformed_rtcp(&mut self) {
        self.stats.rtcp_packets_malformed += 1;
    }

    /// Counts a packet handed to the owner.
    pub fn on_sent(&mut self, len: usize) {
        self.stats.datagrams_sent += 1;
        self.stats.bytes_sent += len as u64;
    }

    /// Counters.
    pub fn stats(&self) -> TransportStats {
        self.stats.clone()
    }
}
