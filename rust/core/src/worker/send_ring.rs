//! Sends of single datagrams on many sockets, submitted to the kernel in one system call
//! through an io_uring.
//!
//! A producer packet fanned out to consumers that each have their own socket (mediasoup's
//! port per transport) is one datagram per socket, which `sendmmsg` cannot batch: each
//! copy was one `sendto`. Measured on this project's machines (benches/results, fan-out
//! 500), the system call's own cost was most of the copy: entering and leaving the kernel,
//! looking the file up, and, on the way out of every call, being preempted by the receiver
//! the send just woke. Queued on a ring and submitted with one `io_uring_enter`, every send
//! of a flush runs inline in that one call (the sockets are non-blocking and each send says
//! `MSG_DONTWAIT`, so a full send buffer fails the send at once instead of parking it in
//! the kernel), and the call returns with every completion posted: nothing the ring points
//! at outlives [`SendRing::send_each`]. Where the kernel refuses io_uring (built without
//! it, `kernel.io_uring_disabled`, a container's seccomp profile), the caller keeps its
//! plain system calls.

use std::io;
use std::net::SocketAddr;
use std::os::fd::RawFd;

use io_uring::{opcode, types, IoUring};

use super::udp_batch::{to_storage, SocketAddress};

/// Sends one submission carries at most; more are submitted in several calls.
const ENTRIES: u32 = 256;
/// Submissions tried again after a transient refusal before the ring is given up.
const SUBMIT_RETRIES: u32 = 8;

/// One datagram to send: the socket, its destination and its bytes.
pub(super) struct Datagram<'a> {
    pub fd: RawFd,
    pub destination: &'a SocketAddr,
    pub bytes: &'a [u8],
}

/// The ring and the destination addresses of one submission (they must stay put until the
/// kernel has read them).
pub(super) struct SendRing {
    ring: IoUring,
    addresses: Vec<SocketAddress>,
}

impl std::fmt::Debug for SendRing {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("SendRing").finish_non_exhaustive()
    }
}

impl SendRing {
    /// A ring, or the reason the kernel refused one.
    pub fn new() -> io::Result<Self> {
        let ring = IoUring::builder()
            // A send that fails to start does not stop the others of its submission.
            .setup_submit_all()
            // Completions are posted without interrupting the worker: it waits for them.
            .setup_coop_taskrun()
            .build(ENTRIES)
            .or_else(|_| IoUring::new(ENTRIES))?;
        Ok(SendRing {
            ring,
            addresses: Vec::with_capacity(ENTRIES as usize),
        })
    }

    /// Sends every datagram, each on its own socket, in as few submissions as the ring's
    /// size allows; a datagram the kernel refuses (its send buffer full, an unreachable
    /// destination) is dropped, as UDP would lose it. Returns (sent, dropped), or an error
    /// when the ring itself failed (the datagrams not sent are counted in `dropped`; the
    /// ring is then not to be used again).
    pub fn send_each<'a>(
        &mut self,
        datagrams: impl Iterator<Item = Datagram<'a>>,
        sent: &mut u64,
        dropped: &mut u64,
    ) -> io::Result<()> {
        let mut datagrams = datagrams.peekable();
        while datagrams.peek().is_some() {
            self.addresses.clear();
            {
                let mut submission = self.ring.submission();
                // `addresses` never grows past its capacity, so an address does not move
                // once a submission entry points at it.
                while self.addresses.len() < ENTRIES as usize {
                    let Some(datagram) = datagrams.next() else {
                        break;
                    };
                    self.addresses.push(to_storage(datagram.destination));
                    let (address, address_len) = &self.addresses[self.addresses.len() - 1];
                    let send = opcode::Send::new(
                        types::Fd(datagram.fd),
                        datagram.bytes.as_ptr(),
                        datagram.bytes.len() as u32,
                    )
                    .flags(libc::MSG_DONTWAIT)
                    .dest_addr(std::ptr::from_ref(address).cast())
                    .dest_addr_len(*address_len)
                    .build();
                    // SAFETY: the bytes (borrowed for 'a) and the address (in `addresses`,
                    // untouched until the next submission) stay valid until the
                    // completions are reaped below, before this function returns; the
                    // queue, empty before each submission, has room for ENTRIES.
                    unsafe { submission.push(&send) }.expect("the queue has room");
                }
            }
            let count = self.addresses.len();
            if let Err(error) = self.submit_and_reap(count, sent, dropped) {
                *dropped += datagrams.count() as u64;
                return Err(error);
            }
        }
        Ok(())
    }

    /// Submits the `count` sends queued and waits for their completions, counting each as
    /// sent or dropped.
    fn submit_and_reap(
        &mut self,
        count: usize,
        sent: &mut u64,
        dropped: &mut u64,
    ) -> io::Result<()> {
        let (mut completed, mut retries) = (0, 0);
        while completed < count {
            match self.ring.submit_and_wait(count - completed) {
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
                Err(error) => {
                    *dropped += (count - completed) as u64;
                    return Err(error);
                }
            }
            for completion in self.ring.completion() {
                completed += 1;
                if completion.result() >= 0 {
                    *sent += 1;
                } else {
                    *dropped += 1;
                }
            }
        }
        Ok(())
    }
}
