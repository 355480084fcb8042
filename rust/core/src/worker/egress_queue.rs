//! Media leaving during a routing phase, held until the phase ends and then sent with one
//! `sendmmsg` per socket for all of its datagrams.
//!
//! A producer packet fans out to consumers on many sockets, one datagram each; sent at
//! once, that is one system call per datagram, which costs several times the SRTP
//! encryption. Held for the whole phase (a receive batch of producer packets), each
//! consumer's socket gets its packets in one call, and a consumer's packets of one batch,
//! the same size as video packets of a frame are, leave as one UDP GSO message: the kernel
//! then crosses its stack once for all of them. Where the kernel allows an io_uring
//! ([`SendRing`]), all those messages, on every socket, leave in one submission: a large
//! fan-out's copies are one datagram per consumer socket, which `sendmmsg` cannot batch.
//! Storage is allocated once.

use std::net::SocketAddr;
use std::os::fd::RawFd;

use super::send_ring::SendRing;
use super::udp_batch::{message_len, refuses_segmentation, send_datagrams, Segmentation, SLOT_LEN};

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
    /// Whether `fd` is connected to `destination` (the kernel is then not given it).
    connected: bool,
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
    /// Where the kernel allows it, every message of a flush leaves in one submission.
    ring: Option<SendRing>,
    /// Flush scratch: (position in `order`, datagrams) of GSO messages the kernel refused.
    unsegmented: Vec<(usize, usize)>,
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
            unsegmented: Vec::with_capacity(CAPACITY),
            dropped: 0,
        }
    }

    /// Whether single datagrams leave through an io_uring.
    pub fn uses_io_uring(&self) -> bool {
        self.ring.is_some()
    }

    /// Queues a datagram for `destination` on socket `fd`, flushing first when full.
    pub fn push(&mut self, fd: RawFd, destination: SocketAddr, datagram: &[u8]) {
        self.queue(fd, destination, false, datagram);
    }

    /// Queues a datagram on socket `fd`, which is connected to `destination`: it leaves
    /// without an address, so the kernel uses the socket's cached route.
    pub fn push_connected(&mut self, fd: RawFd, destination: SocketAddr, datagram: &[u8]) {
        self.queue(fd, destination, true, datagram);
    }

    fn queue(&mut self, fd: RawFd, destination: SocketAddr, connected: bool, datagram: &[u8]) {
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
            connected,
            start,
            len: datagram.len(),
        });
    }

    /// Sends everything: through the ring if there is one, else one `sendmmsg` run per
    /// socket; returns how many were sent.
    pub fn flush(&mut self) -> u64 {
        self.order.clear();
        self.order.extend(
            self.entries
                .iter()
                .enumerate()
                .map(|(index, entry)| (entry.fd, destination_key(&entry.destination), index)),
        );
        self.order.sort_unstable();
        let sent = if self.ring.is_some() {
            self.flush_through_ring()
        } else {
            self.flush_with_system_calls()
        };
        self.entries.clear();
        self.bytes.clear();
        sent
    }

    fn flush_with_system_calls(&mut self) -> u64 {
        let mut sent = 0;
        let mut run_start = 0;
        while run_start < self.order.len() {
            let run_len = socket_run_len(&self.order, run_start);
            let run = &self.order[run_start..run_start + run_len];
            let (entries, bytes) = (&self.entries, &self.bytes);
            let (run_sent, run_dropped) = send_datagrams(
                run[0].0,
                entries[run[0].2].connected,
                run_len,
                |offset| datagram(entries, bytes, run[offset].2),
                &mut self.segmentation,
            );
            sent += run_sent;
            self.dropped += run_dropped;
            run_start += run_len;
        }
        sent
    }

    /// Every socket's messages (a GSO message for a run to one destination, as
    /// `send_datagrams` makes them) in as few ring submissions as they fit in. A socket's
    /// messages are queued in order and the kernel sends a submission's in order.
    fn flush_through_ring(&mut self) -> u64 {
        let Some(ring) = &mut self.ring else {
            return 0;
        };
        let (entries, bytes, order) = (&self.entries, &self.bytes, &self.order);
        let datagram_at = |position: usize| datagram(entries, bytes, order[position].2);
        let (mut sent, mut dropped) = (0u64, 0u64);
        // Messages whose GSO the kernel refused: sent again one datagram each.
        self.unsegmented.clear();
        let mut on_result = |tag: u64, result: i32| {
            let (start, len) = ((tag >> 32) as usize, (tag & 0xffff_ffff) as usize);
            if result >= 0 {
                sent += len as u64;
            } else if len > 1 && refuses_segmentation(-result) {
                self.unsegmented.push((start, len));
            } else {
                dropped += len as u64;
            }
        };
        let mut failed = false;
        {
            let mut submission = ring.submission();
            let mut position = 0;
            while position < order.len() && !failed {
                let fd = order[position].0;
                let run_end = position + socket_run_len(order, position);
                while position < run_end {
                    let len = message_len(
                        position,
                        run_end,
                        usize::MAX,
                        &datagram_at,
                        self.segmentation,
                    );
                    if !submission.has_room(len) {
                        failed = submission.complete(&mut on_result).is_err();
                        if failed {
                            break;
                        }
                    }
                    let entry = &entries[order[position].2];
                    let destination = (!entry.connected).then_some(&entry.destination);
                    let datagrams = (position..position + len).map(|at| datagram_at(at).1);
                    submission.push(
                        fd,
                        destination,
                        datagrams,
                        (position as u64) << 32 | len as u64,
                    );
                    position += len;
                }
            }
            if !failed {
                failed = submission.complete(&mut on_result).is_err();
            }
            if failed {
                // What has no result is lost with the ring.
                let retried: usize = self.unsegmented.iter().map(|&(_, len)| len).sum();
                dropped = (order.len() - retried) as u64 - sent;
            }
        }
        if failed {
            // The ring failed as a whole (not one send): plain system calls from now on.
            self.ring = None;
        }
        if !self.unsegmented.is_empty() {
            self.segmentation = Segmentation::Refused;
            for &(start, len) in &self.unsegmented {
                let (run_sent, run_dropped) = send_datagrams(
                    order[start].0,
                    entries[order[start].2].connected,
                    len,
                    |offset| datagram_at(start + offset),
                    &mut self.segmentation,
                );
                sent += run_sent;
                dropped += run_dropped;
            }
        }
        self.dropped += dropped;
        sent
    }
}

/// How many entries of `order` from `start` are for the same socket.
fn socket_run_len(order: &[(RawFd, u64, usize)], start: usize) -> usize {
    let fd = order[start].0;
    order[start..]
        .iter()
        .take_while(|(other, _, _)| *other == fd)
        .count()
}

/// Entry `index`'s destination and bytes.
fn datagram<'a>(entries: &'a [Entry], bytes: &'a [u8], index: usize) -> (&'a SocketAddr, &'a [u8]) {
    let entry = &entries[index];
    (
        &entry.destination,
        &bytes[entry.start..entry.start + entry.len],
    )
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

    /// A queue of each kind: through the ring (where the kernel allows one), and through
    /// system calls.
    fn both_kinds() -> [EgressQueue; 2] {
        let ring = EgressQueue::default();
        if !ring.uses_io_uring() {
            eprintln!("io_uring not in use (the kernel refused it, or MEDIASOUP_PY_IO_URING=0): the ring path was not exercised");
        }
        [ring, EgressQueue::with_system_calls()]
    }

    #[test]
    fn interleaved_datagrams_leave_from_their_own_socket_in_order() {
        for queue in both_kinds() {
            interleaved_datagrams(queue);
        }
    }

    #[test]
    fn datagrams_on_a_connected_socket_leave_without_an_address_from_its_port() {
        for mut queue in both_kinds() {
            let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
            receiver.set_nonblocking(true).unwrap();
            let destination = receiver.local_addr().unwrap();
            let unconnected =
                crate::worker::tuple_sockets::bind_reusable_udp("127.0.0.1:0".parse().unwrap())
                    .unwrap();
            let local = unconnected.local_addr().unwrap();
            let connected =
                crate::worker::tuple_sockets::connect_reusable_udp(local, destination).unwrap();
            // A lone datagram, a run of three of one size (one GSO message), and one from
            // the unconnected socket sharing the port, in between.
            queue.push_connected(connected.as_raw_fd(), destination, &[1; 40]);
            queue.push(unconnected.as_raw_fd(), destination, &[2; 40]);
            for _ in 0..3 {
                queue.push_connected(connected.as_raw_fd(), destination, &[3; 60]);
            }
            assert_eq!(queue.flush(), 5);
            let mut received = drain(&receiver);
            received.sort_by_key(|(_, bytes)| bytes[0]);
            let expected: Vec<(SocketAddr, Vec<u8>)> =
                [(1, 40), (2, 40), (3, 60), (3, 60), (3, 60)]
                    .into_iter()
                    .map(|(byte, len)| (local, vec![byte; len]))
                    .collect();
            assert_eq!(received, expected);
            assert_eq!(queue.dropped, 0);
        }
    }

    fn interleaved_datagrams(mut queue: EgressQueue) {
        let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
        receiver.set_nonblocking(true).unwrap();
        let first = UdpSocket::bind("127.0.0.1:0").unwrap();
        let second = UdpSocket::bind("127.0.0.1:0").unwrap();
        let destination = receiver.local_addr().unwrap();
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
    fn single_datagrams_on_many_sockets_leave_from_their_own_sockets() {
        for mut queue in both_kinds() {
            // More sockets than one ring submission carries.
            fan_out_round(&mut queue, 300);
            // The queue (and its ring) is reusable.
            fan_out_round(&mut queue, 20);
        }
    }

    #[test]
    fn a_datagram_the_kernel_refuses_is_dropped_and_counted_and_the_rest_leave() {
        for mut queue in both_kinds() {
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
        for queue in both_kinds() {
            runs_to_one_destination(queue);
        }
    }

    fn runs_to_one_destination(mut queue: EgressQueue) {
        let receivers: Vec<UdpSocket> = (0..3)
            .map(|_| {
                let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
                receiver.set_nonblocking(true).unwrap();
                receiver
            })
            .collect();
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
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
