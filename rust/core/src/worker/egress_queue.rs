//! Media leaving during a routing phase, held until the phase ends and then sent with one
//! `sendmmsg` per socket for all of its datagrams.
//!
//! A producer packet fans out to consumers on many sockets, one datagram each; sent at
//! once, that is one system call per datagram, which costs several times the SRTP
//! encryption. Held for the whole phase (a receive batch of producer packets), each
//! consumer's socket gets its packets in one call, and a consumer's packets of one batch,
//! the same size as video packets of a frame are, leave as one UDP GSO message: the kernel
//! then crosses its stack once for all of them. The sockets that have a single datagram
//! (a large fan-out's usual case: one copy per consumer socket per packet) have theirs
//! sent together, in one submission to an io_uring ([`SendRing`]), where the kernel allows
//! one. Storage is allocated once.

use std::net::SocketAddr;
use std::os::fd::RawFd;

use super::send_ring::{Datagram, SendRing};
use super::udp_batch::{send_datagrams, Segmentation, SLOT_LEN};

/// The environment variable that, set to `0`, keeps every send a plain system call (no
/// io_uring): for comparing the two on one build, and for a kernel where io_uring misbehaves.
pub const IO_URING_VARIABLE: &str = "MEDIASOUP_PY_IO_URING";

/// Datagrams held at most: a full receive batch fanned out to a hundred consumers, and
/// more before a forced flush.
const CAPACITY: usize = 4096;
/// Bytes held at most.
const BYTES_CAPACITY: usize = CAPACITY * 1400;

#[derive(Debug, Clone, Copy)]
struct Entry {
    fd: RawFd,
    destination: SocketAddr,
    start: usize,
    len: usize,
}

/// The queue. Sockets are named by file descriptor: every socket with queued datagrams
/// must stay open until [`EgressQueue::flush`], which the routing phase calls before it
/// returns (nothing closes sockets inside it).
#[derive(Debug)]
pub struct EgressQueue {
    bytes: Vec<u8>,
    entries: Vec<Entry>,
    /// Flush scratch: (socket, destination key, entry index), sorted so each socket's
    /// datagrams are adjacent, those to one destination together, each in queue order.
    order: Vec<(RawFd, u64, usize)>,
    /// Whether runs of datagrams to one destination leave as one GSO message.
    segmentation: Segmentation,
    /// Sockets with a single datagram in a flush send it through this ring, when there is
    /// one (entries of `order`).
    ring: Option<SendRing>,
    singles: Vec<usize>,
    /// Datagrams the kernel refused (its buffer full, an unreachable destination).
    pub dropped: u64,
}

impl Default for EgressQueue {
    /// A queue that sends single datagrams through an io_uring where the kernel allows it
    /// (and [`IO_URING_VARIABLE`] does not say `0`).
    fn default() -> Self {
        let refused = std::env::var_os(IO_URING_VARIABLE).is_some_and(|value| value == "0");
        let mut queue = EgressQueue::with_system_calls();
        if !refused {
            queue.ring = SendRing::new().ok();
        }
        queue
    }
}

impl EgressQueue {
    /// A queue that sends with `sendto`/`sendmmsg` alone.
    pub fn with_system_calls() -> Self {
        EgressQueue {
            bytes: Vec::with_capacity(BYTES_CAPACITY),
            entries: Vec::with_capacity(CAPACITY),
            order: Vec::with_capacity(CAPACITY),
            segmentation: Segmentation::Allowed,
            ring: None,
            singles: Vec::with_capacity(CAPACITY),
            dropped: 0,
        }
    }

    /// Whether single datagrams leave through an io_uring.
    pub fn uses_io_uring(&self) -> bool {
        self.ring.is_some()
    }

    /// Queues a datagram for `destination` on socket `fd`, flushing first when full.
    pub fn push(&mut self, fd: RawFd, destination: SocketAddr, datagram: &[u8]) {
        if datagram.len() > SLOT_LEN {
            self.dropped += 1;
            return;
        }
        if self.entries.len() == CAPACITY || self.bytes.len() + datagram.len() > BYTES_CAPACITY {
            self.flush();
        }
        let start = self.bytes.len();
        self.bytes.extend_from_slice(datagram);
        self.entries.push(Entry {
            fd,
            destination,
            start,
            len: datagram.len(),
        });
    }

    /// Sends everything, one `sendmmsg` run per socket (the sockets with one datagram
    /// together through the ring, if any); returns how many were sent.
    pub fn flush(&mut self) -> u64 {
        self.order.clear();
        self.order.extend(
            self.entries
                .iter()
                .enumerate()
                .map(|(index, entry)| (entry.fd, destination_key(&entry.destination), index)),
        );
        self.order.sort_unstable();
        let mut sent = 0;
        let mut run_start = 0;
        self.singles.clear();
        while run_start < self.order.len() {
            let fd = self.order[run_start].0;
            let run_len = self.order[run_start..]
                .iter()
                .take_while(|(other, _, _)| *other == fd)
                .count();
            if run_len == 1 && self.ring.is_some() {
                self.singles.push(self.order[run_start].2);
                run_start += 1;
                continue;
            }
            let run = &self.order[run_start..run_start + run_len];
            let (entries, bytes) = (&self.entries, &self.bytes);
            let (run_sent, run_dropped) = send_datagrams(
                fd,
                run_len,
                |offset| {
                    let entry = &entries[run[offset].2];
                    (
                        &entry.destination,
                        &bytes[entry.start..entry.start + entry.len],
                    )
                },
                &mut self.segmentation,
            );
            sent += run_sent;
            self.dropped += run_dropped;
            run_start += run_len;
        }
        if let Some(ring) = &mut self.ring {
            let (entries, bytes) = (&self.entries, &self.bytes);
            let singles = self.singles.iter().map(|&index| {
                let entry = &entries[index];
                Datagram {
                    fd: entry.fd,
                    destination: &entry.destination,
                    bytes: &bytes[entry.start..entry.start + entry.len],
                }
            });
            if ring
                .send_each(singles, &mut sent, &mut self.dropped)
                .is_err()
            {
                // The ring failed as a whole (not a send): plain system calls from now on.
                self.ring = None;
            }
        }
        self.entries.clear();
        self.bytes.clear();
        sent
    }
}

/// A sort key that sets one destination's datagrams side by side. Two destinations may
/// share a key (IPv6); their datagrams then interleave and are sent apart, still in order.
fn destination_key(destination: &SocketAddr) -> u64 {
    match destination {
        SocketAddr::V4(v4) => u64::from(v4.ip().to_bits()) << 16 | u64::from(v4.port()),
        SocketAddr::V6(v6) => (v6.ip().to_bits() as u64) << 16 | u64::from(v6.port()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::worker::udp_batch::{recv_batch, RecvBatch};
    use std::net::UdpSocket;
    use std::os::fd::AsRawFd;

    fn drain(receiver: &UdpSocket) -> Vec<(SocketAddr, Vec<u8>)> {
        let mut batch = RecvBatch::default();
        let mut received = Vec::new();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        while std::time::Instant::now() < deadline {
            let count = recv_batch(receiver, &mut batch).unwrap();
            for index in 0..count {
                let (buffer, len, source) = batch.datagram_mut(index).unwrap();
                received.push((source, buffer[..len].to_vec()));
            }
            if count == 0 && !received.is_empty() {
                break;
            }
        }
        received
    }

    #[test]
    fn interleaved_datagrams_leave_from_their_own_socket_in_order() {
        let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
        receiver.set_nonblocking(true).unwrap();
        let first = UdpSocket::bind("127.0.0.1:0").unwrap();
        let second = UdpSocket::bind("127.0.0.1:0").unwrap();
        let destination = receiver.local_addr().unwrap();
        let mut queue = EgressQueue::default();
        for index in 0..40u8 {
            let socket = if index % 2 == 0 { &first } else { &second };
            queue.push(socket.as_raw_fd(), destination, &[index; 50]);
        }
        assert_eq!(queue.flush(), 40);
        assert_eq!(queue.flush(), 0, "emptied by the flush");
        let received = drain(&receiver);
        assert_eq!(received.len(), 40);
        for (source, expected_parity) in [
            (first.local_addr().unwrap(), 0),
            (second.local_addr().unwrap(), 1),
        ] {
            let from_socket: Vec<u8> = received
                .iter()
                .filter(|(from, _)| *from == source)
                .map(|(_, bytes)| bytes[0])
                .collect();
            let expected: Vec<u8> = (0..40u8)
                .filter(|index| index % 2 == expected_parity)
                .collect();
            assert_eq!(from_socket, expected);
        }
    }

    /// A fan-out round: one datagram on each of many sockets, each to its own receiver.
    fn fan_out_round(queue: &mut EgressQueue, consumers: usize) {
        let receivers: Vec<UdpSocket> = (0..consumers)
            .map(|_| {
                let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
                receiver.set_nonblocking(true).unwrap();
                receiver
            })
            .collect();
        let senders: Vec<UdpSocket> = (0..consumers)
            .map(|_| UdpSocket::bind("127.0.0.1:0").unwrap())
            .collect();
        // One socket with a run of three among the singles: it keeps its sendmmsg.
        let run_sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        for round in 0..3u8 {
            queue.push(
                run_sender.as_raw_fd(),
                receivers[0].local_addr().unwrap(),
                &[0xf0 + round; 30],
            );
        }
        for (index, (sender, receiver)) in senders.iter().zip(&receivers).enumerate() {
            let datagram: Vec<u8> = (0..100 + index % 50)
                .map(|byte| (byte + index) as u8)
                .collect();
            queue.push(
                sender.as_raw_fd(),
                receiver.local_addr().unwrap(),
                &datagram,
            );
        }
        assert_eq!(queue.flush(), consumers as u64 + 3);
        assert_eq!(queue.dropped, 0);
        for (index, (sender, receiver)) in senders.iter().zip(&receivers).enumerate() {
            let mut received = drain(receiver);
            if index == 0 {
                let run: Vec<(SocketAddr, Vec<u8>)> = received
                    .iter()
                    .filter(|(from, _)| *from == run_sender.local_addr().unwrap())
                    .cloned()
                    .collect();
                let bytes: Vec<u8> = run.iter().map(|(_, datagram)| datagram[0]).collect();
                assert_eq!(bytes, [0xf0, 0xf1, 0xf2], "the run, in order");
                received.retain(|(from, _)| *from != run_sender.local_addr().unwrap());
            }
            let expected: Vec<u8> = (0..100 + index % 50)
                .map(|byte| (byte + index) as u8)
                .collect();
            assert_eq!(
                received,
                [(sender.local_addr().unwrap(), expected)],
                "consumer {index}: its one datagram, from its own socket"
            );
        }
    }

    #[test]
    fn single_datagrams_on_many_sockets_leave_through_the_ring() {
        let mut queue = EgressQueue::default();
        if !queue.uses_io_uring() {
            // The kernel refused io_uring here; the same round through system calls is the
            // next test. Say so rather than pass in silence.
            eprintln!("io_uring not in use (the kernel refused it, or MEDIASOUP_PY_IO_URING=0): the ring path was not exercised");
        }
        // More sockets than one submission carries.
        fan_out_round(&mut queue, 300);
        // The queue and the ring are reusable.
        fan_out_round(&mut queue, 20);
    }

    #[test]
    fn single_datagrams_on_many_sockets_leave_through_system_calls() {
        let mut queue = EgressQueue::with_system_calls();
        assert!(!queue.uses_io_uring());
        fan_out_round(&mut queue, 50);
    }

    #[test]
    fn a_datagram_the_kernel_refuses_is_dropped_and_counted_and_the_rest_leave() {
        for mut queue in [EgressQueue::default(), EgressQueue::with_system_calls()] {
            let had_ring = queue.uses_io_uring();
            let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
            receiver.set_nonblocking(true).unwrap();
            let senders: Vec<UdpSocket> = (0..4)
                .map(|_| UdpSocket::bind("127.0.0.1:0").unwrap())
                .collect();
            for (index, sender) in senders.iter().enumerate() {
                // An IPv6 destination on an IPv4 socket: refused by the kernel.
                let destination = if index == 1 {
                    "[::1]:9".parse().unwrap()
                } else {
                    receiver.local_addr().unwrap()
                };
                queue.push(sender.as_raw_fd(), destination, &[index as u8; 20]);
            }
            assert_eq!(queue.flush(), 3);
            assert_eq!(queue.dropped, 1);
            let mut firsts: Vec<u8> = drain(&receiver).iter().map(|(_, d)| d[0]).collect();
            firsts.sort_unstable();
            assert_eq!(firsts, [0, 2, 3]);
            assert_eq!(
                queue.uses_io_uring(),
                had_ring,
                "one send refused does not give the ring up"
            );
        }
    }

    #[test]
    fn runs_to_one_destination_arrive_as_the_datagrams_queued() {
        let receivers: Vec<UdpSocket> = (0..3)
            .map(|_| {
                let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
                receiver.set_nonblocking(true).unwrap();
                receiver
            })
            .collect();
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut queue = EgressQueue::default();
        // Interleaved destinations; equal sizes broken by a shorter and a longer datagram;
        // more datagrams to one destination than a GSO message carries (but no more than a
        // default receive buffer holds); full-size slots.
        let sizes = [1200, 1200, 1200, 800, 1200, 1300, 1300, 40, 40];
        let mut expected: Vec<Vec<Vec<u8>>> = vec![Vec::new(); 3];
        for round in 0..70usize {
            for (index, receiver) in receivers.iter().enumerate() {
                let len = match index {
                    0 => sizes[round % sizes.len()],
                    1 => 100,
                    _ if round % 10 == 0 => SLOT_LEN,
                    _ => 300,
                };
                let datagram: Vec<u8> = (0..len).map(|byte| (byte + round) as u8).collect();
                queue.push(
                    sender.as_raw_fd(),
                    receiver.local_addr().unwrap(),
                    &datagram,
                );
                expected[index].push(datagram);
            }
        }
        assert_eq!(queue.flush(), 210);
        assert_eq!(queue.dropped, 0);
        for (receiver, expected) in receivers.iter().zip(expected) {
            let received: Vec<Vec<u8>> = drain(receiver).into_iter().map(|(_, d)| d).collect();
            assert_eq!(received.len(), expected.len());
            assert!(received == expected, "each datagram whole, in order");
        }
    }
}
