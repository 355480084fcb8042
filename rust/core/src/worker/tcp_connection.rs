//! One accepted ICE-TCP connection (RFC 6544, passive): RFC 4571 framing, each frame a
//! 2-byte big-endian length then one STUN/DTLS/RTP/RTCP packet, several frames per read and
//! frames split across reads.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::Instant;

use mio::net::TcpStream;

/// Largest frame (the 16-bit length field).
const MAX_FRAME_LEN: usize = u16::MAX as usize;
const LENGTH_PREFIX_LEN: usize = 2;
/// Bytes read per system call.
const READ_CHUNK: usize = 16 * 1024;
/// Bytes a slow reader may leave queued on our side before frames are dropped (a peer that
/// stops reading must not grow our memory).
const MAX_PENDING_WRITE: usize = 1 << 20;

/// What one read gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadOutcome {
    /// Bytes were appended to the read buffer; read again after handling them.
    Data,
    /// Nothing more for now (the loop is edge-triggered: wait for the next readable edge).
    Drained,
    /// The peer closed or the connection failed.
    Closed,
}

/// An accepted connection with its framing state.
#[derive(Debug)]
pub struct TcpConnection {
    stream: TcpStream,
    /// The peer's address.
    pub remote: SocketAddr,
    /// Our end's address.
    pub local: SocketAddr,
    /// Bytes read but not yet a whole frame.
    read_buffer: Vec<u8>,
    /// Frames written but not yet accepted by the kernel.
    pending_write: Vec<u8>,
    /// Frames dropped because `pending_write` was full.
    pub dropped_frames: u64,
    /// When it was accepted.
    pub accepted_at: Instant,
    /// Whether it carried a packet of a tuple ICE validated (such a connection keeps its
    /// slot; one that never did may lose it to a newcomer when the slots run out).
    pub validated: bool,
}

impl TcpConnection {
    /// Wraps a non-blocking stream accepted at `accepted_at`.
    pub fn new(
        stream: TcpStream,
        remote: SocketAddr,
        local: SocketAddr,
        accepted_at: Instant,
    ) -> Self {
        TcpConnection {
            stream,
            remote,
            local,
            read_buffer: Vec::with_capacity(LENGTH_PREFIX_LEN + MAX_FRAME_LEN + READ_CHUNK),
            pending_write: Vec::new(),
            dropped_frames: 0,
            accepted_at,
            validated: false,
        }
    }

    /// The stream, for registration with the event loop.
    pub fn stream_mut(&mut self) -> &mut TcpStream {
        &mut self.stream
    }

    /// Reads up to one chunk into the read buffer.
    pub fn read_chunk(&mut self) -> ReadOutcome {
        let start = self.read_buffer.len();
        self.read_buffer.resize(start + READ_CHUNK, 0);
        let outcome = loop {
            match self.stream.read(&mut self.read_buffer[start..]) {
                Ok(0) => break (0, ReadOutcome::Closed),
                Ok(read) => break (read, ReadOutcome::Data),
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    break (0, ReadOutcome::Drained)
                }
                Err(_) => break (0, ReadOutcome::Closed),
            }
        };
        self.read_buffer.truncate(start + outcome.0);
        outcome.1
    }

    /// Lends the read buffer out, so frames can be handled while this connection stays
    /// reachable for the answers they produce; give it back with [`Self::restore_read_buffer`].
    pub fn take_read_buffer(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.read_buffer)
    }

    /// Returns the buffer lent by [`Self::take_read_buffer`] (with the unconsumed bytes).
    pub fn restore_read_buffer(&mut self, buffer: Vec<u8>) {
        self.read_buffer = buffer;
    }

    /// Frames `packet` and writes it, queueing what the kernel does not take now.
    pub fn send_frame(&mut self, packet: &[u8]) {
        let Ok(len) = u16::try_from(packet.len()) else {
            self.dropped_frames += 1;
            return;
        };
        if self.pending_write.len() + LENGTH_PREFIX_LEN + packet.len() > MAX_PENDING_WRITE {
            self.dropped_frames += 1;
            return;
        }
        self.pending_write.extend_from_slice(&len.to_be_bytes());
        self.pending_write.extend_from_slice(packet);
        self.flush();
    }

    /// Writes queued bytes until the kernel would block (called again on writability).
    pub fn flush(&mut self) {
        let mut written = 0;
        while written < self.pending_write.len() {
            match self.stream.write(&self.pending_write[written..]) {
                Ok(0) => break,
                Ok(count) => written += count,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                // WouldBlock waits for the next writable edge; other errors surface as a
                // close on the next read.
                Err(_) => break,
            }
        }
        self.pending_write.drain(..written);
    }
}

/// Hands each complete RFC 4571 frame of `buffer` to `on_frame`, in order, and removes them
/// (a partial frame stays for the next read). Empty frames are skipped.
pub fn for_each_frame(buffer: &mut Vec<u8>, mut on_frame: impl FnMut(&mut [u8])) {
    let mut start = 0;
    while let Some(&[high, low]) = buffer.get(start..start + LENGTH_PREFIX_LEN) {
        let len = usize::from(u16::from_be_bytes([high, low]));
        let frame_start = start + LENGTH_PREFIX_LEN;
        let Some(frame) = buffer.get_mut(frame_start..frame_start + len) else {
            break;
        };
        if !frame.is_empty() {
            on_frame(frame);
        }
        start = frame_start + len;
    }
    buffer.drain(..start);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_split_and_batched_across_reads() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (accepted, remote) = listener.accept().unwrap();
        accepted.set_nonblocking(true).unwrap();
        let local = accepted.local_addr().unwrap();
        let mut connection = TcpConnection::new(
            TcpStream::from_std(accepted),
            remote,
            local,
            std::time::Instant::now(),
        );

        // Two frames in one write, then a frame split in two writes, then an empty frame.
        client
            .write_all(&[0, 3, b'a', b'b', b'c', 0, 1, b'd', 0, 4, b'e'])
            .unwrap();
        let mut frames = Vec::new();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        let read = |connection: &mut TcpConnection, frames: &mut Vec<Vec<u8>>| {
            let outcome = connection.read_chunk();
            let mut buffer = connection.take_read_buffer();
            for_each_frame(&mut buffer, |frame| frames.push(frame.to_vec()));
            connection.restore_read_buffer(buffer);
            outcome
        };
        while frames.len() < 2 && std::time::Instant::now() < deadline {
            read(&mut connection, &mut frames);
        }
        assert_eq!(frames, [b"abc".to_vec(), b"d".to_vec()]);
        client.write_all(&[b'f', b'g', b'h', 0, 0]).unwrap();
        while frames.len() < 3 && std::time::Instant::now() < deadline {
            read(&mut connection, &mut frames);
        }
        assert_eq!(frames[2], b"efgh");

        connection.send_frame(b"reply");
        let mut reply = [0u8; 7];
        client.read_exact(&mut reply).unwrap();
        assert_eq!(&reply, b"\x00\x05reply");

        drop(client);
        let mut outcome = ReadOutcome::Drained;
        while outcome != ReadOutcome::Closed && std::time::Instant::now() < deadline {
            outcome = read(&mut connection, &mut frames);
        }
        assert_eq!(outcome, ReadOutcome::Closed);
    }
}
