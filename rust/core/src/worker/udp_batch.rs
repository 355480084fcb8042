//! Batched UDP I/O: `recvmmsg` and `sendmmsg` move up to [`BATCH`] datagrams per system call,
//! into and out of buffers allocated once per worker.

use std::io;
use std::mem::MaybeUninit;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6, UdpSocket};
use std::os::fd::{AsRawFd, RawFd};

/// Datagrams per system call.
pub const BATCH: usize = 32;
/// Bytes per buffer slot: above any WebRTC datagram (MTU-sized), with room for an SRTP tag
/// appended in place.
pub const SLOT_LEN: usize = 2048;

/// Receive buffers for one `recvmmsg`, reused for every call.
pub struct RecvBatch {
    buffers: Vec<[u8; SLOT_LEN]>,
    lengths: [usize; BATCH],
    sources: [Option<SocketAddr>; BATCH],
    count: usize,
}

impl std::fmt::Debug for RecvBatch {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("RecvBatch")
            .field("count", &self.count)
            .finish_non_exhaustive()
    }
}

impl Default for RecvBatch {
    fn default() -> Self {
        RecvBatch {
            buffers: vec![[0u8; SLOT_LEN]; BATCH],
            lengths: [0; BATCH],
            sources: [None; BATCH],
            count: 0,
        }
    }
}

impl RecvBatch {
    /// Datagrams received by the last [`recv_batch`].
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether the last call received nothing.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Datagram `index` as a mutable slot (its length is the datagram's; the slot has room
    /// after it) and its source.
    pub fn datagram_mut(
        &mut self,
        index: usize,
    ) -> Option<(&mut [u8; SLOT_LEN], usize, SocketAddr)> {
        if index >= self.count {
            return None;
        }
        let source = self.sources[index]?;
        Some((&mut self.buffers[index], self.lengths[index], source))
    }
}

fn to_socket_addr(storage: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match i32::from(storage.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says the storage holds a sockaddr_in, which fits in it.
            let address: &libc::sockaddr_in = unsafe { &*(storage as *const _ as *const _) };
            Some(SocketAddr::V4(SocketAddrV4::new(
                Ipv4Addr::from(u32::from_be(address.sin_addr.s_addr)),
                u16::from_be(address.sin_port),
            )))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says the storage holds a sockaddr_in6, which fits in it.
            let address: &libc::sockaddr_in6 = unsafe { &*(storage as *const _ as *const _) };
            Some(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(address.sin6_addr.s6_addr),
                u16::from_be(address.sin6_port),
                address.sin6_flowinfo,
                address.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

/// A socket address as the kernel takes it: the storage and the length used.
pub(super) type SocketAddress = (libc::sockaddr_storage, libc::socklen_t);

pub(super) fn to_storage(address: &SocketAddr) -> SocketAddress {
    // SAFETY: sockaddr_storage is plain data; all-zero is a valid (unspecified) value.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match address {
        SocketAddr::V4(v4) => {
            // SAFETY: sockaddr_in fits in sockaddr_storage, which is suitably aligned.
            let out: &mut libc::sockaddr_in = unsafe { &mut *(&mut storage as *mut _ as *mut _) };
            out.sin_family = libc::AF_INET as libc::sa_family_t;
            out.sin_port = v4.port().to_be();
            out.sin_addr.s_addr = u32::from(*v4.ip()).to_be();
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(v6) => {
            // SAFETY: sockaddr_in6 fits in sockaddr_storage, which is suitably aligned.
            let out: &mut libc::sockaddr_in6 = unsafe { &mut *(&mut storage as *mut _ as *mut _) };
            out.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            out.sin6_port = v6.port().to_be();
            out.sin6_addr.s6_addr = v6.ip().octets();
            out.sin6_flowinfo = v6.flowinfo();
            out.sin6_scope_id = v6.scope_id();
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as libc::socklen_t)
}

/// Receives up to [`BATCH`] datagrams without blocking; `Ok(0)` when none is waiting.
pub fn recv_batch(socket: &UdpSocket, batch: &mut RecvBatch) -> io::Result<usize> {
    batch.count = 0;
    let mut storages: [MaybeUninit<libc::sockaddr_storage>; BATCH] =
        [const { MaybeUninit::uninit() }; BATCH];
    let mut iovecs: [MaybeUninit<libc::iovec>; BATCH] = [const { MaybeUninit::uninit() }; BATCH];
    // SAFETY: mmsghdr is plain data; zeroed is a valid starting value, filled in below.
    let mut headers: [libc::mmsghdr; BATCH] = unsafe { std::mem::zeroed() };
    for (index, buffer) in batch.buffers.iter_mut().enumerate() {
        let iovec = iovecs[index].write(libc::iovec {
            iov_base: buffer.as_mut_ptr().cast(),
            iov_len: SLOT_LEN,
        });
        headers[index].msg_hdr.msg_iov = iovec;
        headers[index].msg_hdr.msg_iovlen = 1;
        headers[index].msg_hdr.msg_name = storages[index].as_mut_ptr().cast();
        headers[index].msg_hdr.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as _;
    }
    // SAFETY: every header points at a live buffer of SLOT_LEN bytes and a live
    // sockaddr_storage, all of which outlive the call; the kernel writes at most that much.
    let received = unsafe {
        libc::recvmmsg(
            socket.as_raw_fd(),
            headers.as_mut_ptr(),
            BATCH as libc::c_uint,
            libc::MSG_DONTWAIT,
            std::ptr::null_mut(),
        )
    };
    if received < 0 {
        let error = io::Error::last_os_error();
        return match error.kind() {
            io::ErrorKind::WouldBlock => Ok(0),
            _ => Err(error),
        };
    }
    let received = received as usize;
    for index in 0..received {
        batch.lengths[index] = (headers[index].msg_len as usize).min(SLOT_LEN);
        // SAFETY: the kernel filled msg_namelen bytes of this storage for each received
        // datagram; the family field is within them for AF_INET/AF_INET6.
        let storage = unsafe { storages[index].assume_init_ref() };
        batch.sources[index] = to_socket_addr(storage);
    }
    batch.count = received;
    Ok(received)
}

/// Datagrams waiting for one `sendmmsg`, in slots reused after every flush.
pub struct SendBatch {
    buffers: Vec<Vec<u8>>,
    destinations: Vec<SocketAddr>,
    count: usize,
    /// Datagrams dropped because the batch was full and could not be flushed.
    pub dropped: u64,
}

impl std::fmt::Debug for SendBatch {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("SendBatch")
            .field("count", &self.count)
            .field("dropped", &self.dropped)
            .finish_non_exhaustive()
    }
}

impl Default for SendBatch {
    fn default() -> Self {
        SendBatch {
            buffers: (0..BATCH).map(|_| Vec::with_capacity(SLOT_LEN)).collect(),
            destinations: Vec::with_capacity(BATCH),
            count: 0,
            dropped: 0,
        }
    }
}

impl SendBatch {
    /// Datagrams queued.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Whether another datagram fits before a flush.
    pub fn is_full(&self) -> bool {
        self.count == BATCH
    }

    /// Copies a datagram into the next slot; `false` when the batch is full.
    pub fn push(&mut self, destination: SocketAddr, datagram: &[u8]) -> bool {
        if self.is_full() {
            return false;
        }
        let slot = &mut self.buffers[self.count];
        slot.clear();
        slot.extend_from_slice(datagram);
        if self.destinations.len() > self.count {
            self.destinations[self.count] = destination;
        } else {
            self.destinations.push(destination);
        }
        self.count += 1;
        true
    }

    /// Sends everything queued on `socket` with as few `sendmmsg` calls as it takes. A
    /// datagram the kernel refuses (buffer full, unreachable) is dropped and counted, as UDP
    /// would lose it anyway; the batch is empty afterwards.
    pub fn flush(&mut self, socket: &UdpSocket) -> u64 {
        // Handshakes and probes, in few datagrams: not worth segmenting.
        let mut segmentation = Segmentation::Refused;
        let (sent, dropped) = send_datagrams(
            socket.as_raw_fd(),
            false,
            self.count,
            |index| (&self.destinations[index], self.buffers[index].as_slice()),
            &mut segmentation,
        );
        self.dropped += dropped;
        self.count = 0;
        sent
    }
}

/// The `UDP_SEGMENT` socket option and control message of Linux 4.18's UDP GSO
/// (`linux/udp.h`; the libc crate does not define it for glibc).
const UDP_SEGMENT: libc::c_int = 103;
/// Datagrams one GSO message may carry (the kernel's `UDP_MAX_SEGMENTS`).
const MAX_SEGMENTS: usize = 64;
/// Payload bytes one GSO message may carry: one IPv6 or IPv4 datagram's worth, less headers.
const MAX_SEGMENTED_BYTES: usize = 65_000;
/// iovecs one `sendmmsg` call may point at (each datagram of a GSO message is one).
const MAX_IOVECS: usize = 256;
/// Room for one control message carrying a `u16` (the GSO segment size), as `u64`s so that
/// it is aligned for `cmsghdr`.
pub(super) const CONTROL_WORDS: usize = 4;

/// Whether datagrams to one destination may leave as one UDP GSO message: the kernel
/// segments it, so the stack is crossed once for up to [`MAX_SEGMENTS`] datagrams. Turned
/// off for good when the kernel refuses it (no GSO support, or a device without checksum
/// offload on the path).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segmentation {
    Allowed,
    Refused,
}

/// How many of the datagrams from `start` (of `count`; `datagram(i)` gives the i-th
/// destination and bytes) leave as one message, at most `limit`: with segmentation allowed,
/// the first and those after it to the same destination with its length (the last may be
/// shorter), within one GSO message's bounds.
pub(super) fn message_len<'a>(
    start: usize,
    count: usize,
    limit: usize,
    datagram: &impl Fn(usize) -> (&'a SocketAddr, &'a [u8]),
    segmentation: Segmentation,
) -> usize {
    let (destination, first) = datagram(start);
    let (mut run, mut bytes, mut last) = (1, first.len(), first.len());
    while start + run < count
        && run < MAX_SEGMENTS.min(limit)
        && segmentation == Segmentation::Allowed
        // Only the last segment may be shorter.
        && last == first.len()
    {
        let (other, following) = datagram(start + run);
        if other != destination
            || following.len() > first.len()
            || following.is_empty()
            || bytes + following.len() > MAX_SEGMENTED_BYTES
        {
            break;
        }
        run += 1;
        bytes += following.len();
        last = following.len();
    }
    run
}

/// Sends `count` datagrams (`datagram(i)` gives the i-th destination and bytes) on socket
/// `fd` (`connected`: to the destination it is connected to, which the kernel is then not
/// given) with as few `sendmmsg` calls as it takes; a datagram the kernel refuses is dropped.
/// With segmentation allowed, consecutive datagrams to the same destination with the same
/// length (the last of a run may be shorter) leave as one GSO message. Returns (sent,
/// dropped).
pub(super) fn send_datagrams<'a>(
    fd: RawFd,
    connected: bool,
    count: usize,
    datagram: impl Fn(usize) -> (&'a SocketAddr, &'a [u8]),
    segmentation: &mut Segmentation,
) -> (u64, u64) {
    let (mut sent_total, mut dropped) = (0u64, 0u64);
    let mut start = 0;
    while start < count {
        // Only the entries of the messages sent are written: most calls send one or a few
        // (a consumer's copies of one round), and zeroing whole arrays cost as much as the
        // rest of the call outside the kernel.
        let mut storages: [MaybeUninit<(libc::sockaddr_storage, libc::socklen_t)>; BATCH] =
            [const { MaybeUninit::uninit() }; BATCH];
        let mut iovecs: [MaybeUninit<libc::iovec>; MAX_IOVECS] =
            [const { MaybeUninit::uninit() }; MAX_IOVECS];
        let mut controls: [MaybeUninit<[u64; CONTROL_WORDS]>; BATCH] =
            [const { MaybeUninit::uninit() }; BATCH];
        let mut headers: [MaybeUninit<libc::mmsghdr>; BATCH] =
            [const { MaybeUninit::uninit() }; BATCH];
        // Datagrams per message.
        let mut segments = [0usize; BATCH];
        let (mut messages, mut iovecs_used, mut next) = (0, 0, start);
        while messages < BATCH && next < count && iovecs_used < MAX_IOVECS {
            let (destination, first) = datagram(next);
            let run = message_len(
                next,
                count,
                MAX_IOVECS - iovecs_used,
                &datagram,
                *segmentation,
            );
            for offset in 0..run {
                let data = if offset == 0 {
                    first
                } else {
                    datagram(next + offset).1
                };
                iovecs[iovecs_used + offset].write(libc::iovec {
                    iov_base: data.as_ptr() as *mut libc::c_void,
                    iov_len: data.len(),
                });
            }
            let storage = storages[messages].write(to_storage(destination));
            // SAFETY: mmsghdr is plain data; zeroed is valid, the fields used are set below.
            let header = &mut headers[messages]
                .write(unsafe { std::mem::zeroed() })
                .msg_hdr;
            header.msg_iov = iovecs[iovecs_used].as_mut_ptr();
            header.msg_iovlen = run;
            if !connected {
                header.msg_name = (&mut storage.0 as *mut libc::sockaddr_storage).cast();
                header.msg_namelen = storage.1;
            }
            if run > 1 {
                let control = controls[messages].write([0; CONTROL_WORDS]);
                write_segment_size(header, control, first.len() as u16);
            }
            segments[messages] = run;
            messages += 1;
            iovecs_used += run;
            next += run;
        }
        let sent = if messages == 1 && segments[0] == 1 {
            // One datagram (a fan-out copy, one per consumer socket): sendto spares the
            // kernel importing a message header and its iovec array.
            // SAFETY: the first message's iovec and address were written above.
            let (iovec, storage) =
                unsafe { (iovecs[0].assume_init_ref(), storages[0].assume_init_ref()) };
            let (address, address_len) = if connected {
                (std::ptr::null(), 0)
            } else {
                (
                    (&storage.0 as *const libc::sockaddr_storage).cast(),
                    storage.1,
                )
            };
            // SAFETY: they point at live bytes and an address of the given length (none on
            // a connected socket); the kernel only reads them.
            let result = unsafe {
                libc::sendto(
                    fd,
                    iovec.iov_base,
                    iovec.iov_len,
                    libc::MSG_DONTWAIT,
                    address,
                    address_len,
                )
            };
            if result < 0 {
                -1
            } else {
                1
            }
        } else {
            // SAFETY: the first `messages` headers are written, each pointing at live
            // buffers, addresses and control messages that outlive the call; the kernel
            // only reads them.
            unsafe {
                libc::sendmmsg(
                    fd,
                    headers.as_mut_ptr().cast::<libc::mmsghdr>(),
                    messages as libc::c_uint,
                    libc::MSG_DONTWAIT,
                )
            }
        };
        if sent <= 0 {
            let error = io::Error::last_os_error().raw_os_error();
            if segments[0] > 1 && error.is_some_and(refuses_segmentation) {
                // Sent again one datagram per message.
                *segmentation = Segmentation::Refused;
                continue;
            }
            // The first message failed: drop it and carry on with the rest.
            dropped += segments[0] as u64;
            start += segments[0];
        } else {
            let datagrams: usize = segments[..sent as usize].iter().sum();
            sent_total += datagrams as u64;
            start += datagrams;
        }
    }
    (sent_total, dropped)
}

/// Whether a GSO message failed with `errno` because the kernel or the path cannot segment
/// (its datagrams are then sent one per message).
pub(super) fn refuses_segmentation(errno: i32) -> bool {
    matches!(
        errno,
        libc::EIO | libc::EINVAL | libc::ENOPROTOOPT | libc::EOPNOTSUPP
    )
}

/// Makes `header` carry a `UDP_SEGMENT` control message of `segment_size`, in `control`.
pub(super) fn write_segment_size(
    header: &mut libc::msghdr,
    control: &mut [u64; CONTROL_WORDS],
    segment_size: u16,
) {
    header.msg_control = control.as_mut_ptr().cast();
    // SAFETY: CMSG_SPACE only computes a size.
    header.msg_controllen = unsafe { libc::CMSG_SPACE(2) } as _;
    // SAFETY: `control` is aligned for cmsghdr and CONTROL_WORDS * 8 bytes exceed
    // CMSG_SPACE(2), so the first header and its 2-byte data lie inside it.
    unsafe {
        let message = libc::CMSG_FIRSTHDR(header);
        (*message).cmsg_level = libc::SOL_UDP;
        (*message).cmsg_type = UDP_SEGMENT;
        (*message).cmsg_len = libc::CMSG_LEN(2) as _;
        libc::CMSG_DATA(message)
            .cast::<u16>()
            .write_unaligned(segment_size);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_many_datagrams_per_call_with_content_and_sources() {
        let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
        receiver.set_nonblocking(true).unwrap();
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut outgoing = SendBatch::default();
        for index in 0..BATCH as u8 {
            assert!(outgoing.push(receiver.local_addr().unwrap(), &[index; 100]));
        }
        assert!(!outgoing.push(receiver.local_addr().unwrap(), b"full"));
        assert_eq!(outgoing.flush(&sender), BATCH as u64);
        assert!(outgoing.is_empty());

        let mut incoming = RecvBatch::default();
        let mut received = Vec::new();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        while received.len() < BATCH && std::time::Instant::now() < deadline {
            recv_batch(&receiver, &mut incoming).unwrap();
            for index in 0..incoming.len() {
                let (buffer, len, source) = incoming.datagram_mut(index).unwrap();
                assert_eq!(source, sender.local_addr().unwrap());
                received.push(buffer[..len].to_vec());
            }
        }
        assert_eq!(received.len(), BATCH);
        for (index, datagram) in received.iter().enumerate() {
            assert_eq!(datagram, &vec![index as u8; 100]);
        }
        assert_eq!(recv_batch(&receiver, &mut incoming).unwrap(), 0);
    }
}
