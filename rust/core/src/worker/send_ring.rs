//! The worker's sends, on many sockets, submitted to the kernel in one system call through
//! an io_uring.
//!
//! A producer packet fanned out to consumers that each have their own socket (mediasoup's
//! port per transport) is one datagram per socket, which `sendmmsg` cannot batch: each
//! copy was one `sendto`, and in an audio room each consumer socket's few copies one
//! `sendmmsg`. Measured on this project's machine (docs/benchmarks.md), the system calls'
//! own cost was most of a copy's: entering and leaving the kernel, looking the file up,
//! and, at the end of each call (and between a `sendmmsg`'s messages), being preempted by
//! the receiver the send had just woken. Queued on a ring and submitted with one
//! `io_uring_enter`, every message of a flush is sent inline in that one call (the sockets
//! are non-blocking and each message says `MSG_DONTWAIT`, so a full send buffer fails it
//! at once instead of parking it in the kernel), and the call returns with every result
//! posted: nothing a [`Submission`] points at outlives it. Where the kernel refuses
//! io_uring (built without it, `kernel.io_uring_disabled`, a container's seccomp profile),
//! the worker keeps its plain system calls.

use std::io;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::os::fd::RawFd;

use io_uring::{opcode, types, IoUring};

use super::udp_batch::{to_storage, write_segment_size, SocketAddress, CONTROL_WORDS};

/// Messages one submission carries at most; more are submitted in several calls.
const ENTRIES: usize = 256;
/// Datagrams one submission carries at most (a GSO message carries several).
const DATAGRAMS: usize = 1024;
/// Submissions tried again after a transient refusal before the ring is given up.
const SUBMIT_RETRIES: u32 = 8;

/// The ring and the addresses (one per message), iovecs, message headers and control
/// messages (of GSO messages) of one submission. Each is a vector allocated once that never grows past its capacity, so what
/// a queued message points at does not move until the submission completes.
pub(super) struct SendRing {
    ring: IoUring,
    headers: Vec<libc::msghdr>,
    addresses: Vec<SocketAddress>,
    iovecs: Vec<libc::iovec>,
    controls: Vec<[u64; CONTROL_WORDS]>,
}

// SAFETY: the raw pointers in the scratch vectors point into the ring's own vectors and the
// bytes of one submission only, which completes before the ring is used again; nothing is
// shared with another thread.
unsafe impl Send for SendRing {}

impl std::fmt::Debug for SendRing {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("SendRing").finish_non_exhaustive()
    }
}

impl SendRing {
    /// A ring, or the reason the kernel refused one.
    pub fn new() -> io::Result<Self> {
        let ring = IoUring::builder()
            // A message that fails to start does not stop the others of its submission.
            .setup_submit_all()
            // Completions are posted without interrupting the worker: it waits for them.
            .setup_coop_taskrun()
            .build(ENTRIES as u32)
            .or_else(|_| IoUring::new(ENTRIES as u32))?;
        Ok(SendRing {
            ring,
            headers: Vec::with_capacity(ENTRIES),
            addresses: Vec::with_capacity(ENTRIES),
            iovecs: Vec::with_capacity(DATAGRAMS),
            controls: Vec::with_capacity(ENTRIES),
        })
    }

    /// Starts a submission of messages whose bytes live for `'a`.
    pub fn submission<'a>(&mut self) -> Submission<'_, 'a> {
        self.clear();
        Submission {
            ring: self,
            bytes: PhantomData,
        }
    }

    fn clear(&mut self) {
        self.headers.clear();
        self.addresses.clear();
        self.iovecs.clear();
        self.controls.clear();
    }
}

/// Messages queued on the ring, sent by [`Submission::complete`] (or when dropped).
pub(super) struct Submission<'r, 'a> {
    ring: &'r mut SendRing,
    bytes: PhantomData<&'a [u8]>,
}

impl<'a> Submission<'_, 'a> {
    /// Whether a message of `datagrams` datagrams fits before [`Submission::complete`].
    pub fn has_room(&self, datagrams: usize) -> bool {
        self.ring.addresses.len() < ENTRIES && self.ring.iovecs.len() + datagrams <= DATAGRAMS
    }

    /// Queues one message on socket `fd` to `destination` (none: `fd` is connected): one
    /// datagram, or several of the first's length (the last may be shorter) as one UDP GSO
    /// message. `tag` comes back with the message's result. The caller checks
    /// [`Submission::has_room`] first.
    pub fn push(
        &mut self,
        fd: RawFd,
        destination: Option<&SocketAddr>,
        datagrams: impl Iterator<Item = &'a [u8]>,
        tag: u64,
    ) {
        let ring = &mut *self.ring;
        let first_iovec = ring.iovecs.len();
        let mut segment_size = 0;
        for datagram in datagrams {
            if ring.iovecs.len() == first_iovec {
                segment_size = datagram.len();
            }
            assert!(ring.iovecs.len() < DATAGRAMS, "checked by has_room");
            ring.iovecs.push(libc::iovec {
                iov_base: datagram.as_ptr() as *mut libc::c_void,
                iov_len: datagram.len(),
            });
        }
        let count = ring.iovecs.len() - first_iovec;
        assert!(ring.addresses.len() < ENTRIES, "checked by has_room");
        // One entry per message (connected or not): `has_room` counts them.
        ring.addresses
            .push(destination.map_or_else(unaddressed, to_storage));
        let address = ring.addresses.last_mut().expect("just pushed");
        let send = if count == 1 {
            // A lone datagram (a fan-out copy): SEND with an address spares the kernel
            // importing a message header and its iovec array.
            let iovec = &ring.iovecs[first_iovec];
            let send =
                opcode::Send::new(types::Fd(fd), iovec.iov_base.cast(), iovec.iov_len as u32)
                    .flags(libc::MSG_DONTWAIT);
            if destination.is_some() {
                send.dest_addr(std::ptr::from_ref(&address.0).cast())
                    .dest_addr_len(address.1)
                    .build()
            } else {
                send.build()
            }
        } else {
            // SAFETY: msghdr is plain data; zeroed is valid, the fields used are set below.
            let mut header: libc::msghdr = unsafe { std::mem::zeroed() };
            if destination.is_some() {
                header.msg_name = std::ptr::from_mut(&mut address.0).cast();
                header.msg_namelen = address.1;
            }
            header.msg_iov = ring.iovecs[first_iovec..].as_mut_ptr();
            header.msg_iovlen = count;
            ring.controls.push([0; CONTROL_WORDS]);
            let control = ring.controls.last_mut().expect("just pushed");
            write_segment_size(&mut header, control, segment_size as u16);
            ring.headers.push(header);
            let header = ring.headers.last().expect("just pushed");
            opcode::SendMsg::new(types::Fd(fd), std::ptr::from_ref(header))
                .flags(libc::MSG_DONTWAIT as u32)
                .build()
        }
        .user_data(tag);
        // SAFETY: the header, and the address, iovecs, control message and bytes it points
        // at, stay valid and in place until `complete` (called at the latest on drop) has
        // reaped every completion; the queue, empty when the submission started, has room
        // for ENTRIES entries and this submission pushes no more.
        unsafe { ring.ring.submission().push(&send) }.expect("the queue has room");
    }

    /// Submits what is queued and waits for every message's result (`on_result(tag,
    /// result)`: bytes sent, or a negated errno). An error is the ring's own failure: the
    /// messages without a result were not sent, and the ring is not to be used again.
    pub fn complete(&mut self, mut on_result: impl FnMut(u64, i32)) -> io::Result<()> {
        let queued = self.ring.addresses.len();
        let (mut completed, mut retries) = (0, 0);
        let outcome = loop {
            if completed == queued {
                break Ok(());
            }
            match self.ring.ring.submit_and_wait(queued - completed) {
                Ok(_) => {}
                // Interrupted, or the kernel short of memory for a moment: again.
                Err(error)
                    if retries < SUBMIT_RETRIES
                        && matches!(
                            error.raw_os_error(),
                            Some(libc::EINTR | libc::EAGAIN | libc::EBUSY)
                        ) =>
                {
                    retries += 1;
                }
                Err(error) => break Err(error),
            }
            for completion in self.ring.ring.completion() {
                completed += 1;
                on_result(completion.user_data(), completion.result());
            }
        };
        self.ring.clear();
        outcome
    }
}

/// The address of a message on a connected socket: none.
fn unaddressed() -> SocketAddress {
    // SAFETY: sockaddr_storage is plain data; all-zero is a valid (unspecified) value.
    (unsafe { std::mem::zeroed() }, 0)
}

impl Drop for Submission<'_, '_> {
    fn drop(&mut self) {
        // Nothing may stay queued past the bytes' lifetime.
        if !self.ring.addresses.is_empty() {
            let _ = self.complete(|_, _| {});
        }
    }
}
