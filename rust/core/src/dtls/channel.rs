//! The I/O under OpenSSL's DTLS: queues of whole datagrams, so OpenSSL never touches a socket.

use std::collections::VecDeque;
use std::io::{self, Read, Write};

/// Datagrams received but not yet read by OpenSSL are bounded: a flood cannot grow memory,
/// and a handshake never needs more than a few flights in flight.
pub const MAX_QUEUED_DATAGRAMS: usize = 32;

/// One datagram per `read` and per `write`, as a DTLS BIO expects.
#[derive(Debug, Default)]
pub struct DatagramChannel {
    incoming: VecDeque<Vec<u8>>,
    outgoing: VecDeque<Vec<u8>>,
}

impl DatagramChannel {
    /// Queues a received datagram for OpenSSL; `false` (and dropped) when the queue is full.
    pub fn push_incoming(&mut self, datagram: &[u8]) -> bool {
        if self.incoming.len() >= MAX_QUEUED_DATAGRAMS {
            return false;
        }
        self.incoming.push_back(datagram.to_vec());
        true
    }

    /// The next datagram OpenSSL wrote.
    pub fn pop_outgoing(&mut self) -> Option<Vec<u8>> {
        self.outgoing.pop_front()
    }

    /// Forgets unread incoming datagrams (after a fatal error).
    pub fn clear_incoming(&mut self) {
        self.incoming.clear();
    }
}

impl Read for DatagramChannel {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(datagram) = self.incoming.pop_front() else {
            return Err(io::ErrorKind::WouldBlock.into());
        };
        // A datagram larger than OpenSSL's buffer is truncated, as a UDP socket would do.
        let len = datagram.len().min(buf.len());
        buf[..len].copy_from_slice(&datagram[..len]);
        Ok(len)
    }
}

impl Write for DatagramChannel {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.outgoing.len() >= MAX_QUEUED_DATAGRAMS {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        self.outgoing.push_back(buf.to_vec());
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_datagram_per_read_and_write_with_a_bounded_queue() {
        let mut channel = DatagramChannel::default();
        for _ in 0..MAX_QUEUED_DATAGRAMS {
            assert!(channel.push_incoming(b"abc"));
        }
        assert!(!channel.push_incoming(b"dropped"));
        let mut buffer = [0u8; 2];
        assert_eq!(channel.read(&mut buffer).unwrap(), 2, "truncated like UDP");
        channel.clear_incoming();
        assert_eq!(
            channel.read(&mut buffer).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        channel.write_all(b"one").unwrap();
        channel.write_all(b"two").unwrap();
        assert_eq!(channel.pop_outgoing().unwrap(), b"one");
        assert_eq!(channel.pop_outgoing().unwrap(), b"two");
        assert_eq!(channel.pop_outgoing(), None);
    }
}
