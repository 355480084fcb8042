//! Worker -> Python: a queue whose eventfd becomes readable when the queue goes from empty to
//! non-empty, so asyncio's `loop.add_reader` wakes once per burst, never per item, and
//! nothing polls.
//!
//! Items that can pile up while the owner is busy (a DirectTransport's packets) are pushed
//! with a bound, so a stalled owner costs bounded memory and the worker never waits for it;
//! their bytes travel in buffers the owner hands back after copying them, so the worker
//! thread does not allocate per packet.

use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Mutex;

/// Spare buffers kept for packets: more than a drain's worth is rarely in flight.
const SPARE_BUFFERS_KEPT: usize = 1024;

/// What a spare buffer is first allocated to hold: a full-size datagram.
const BUFFER_CAPACITY: usize = 1500;

/// A multi-producer queue drained by one consumer that waits on [`EventQueue::fd`].
#[derive(Debug)]
pub struct EventQueue<T> {
    queued: Mutex<Queued<T>>,
    spare_buffers: Mutex<Vec<Vec<u8>>>,
    eventfd: OwnedFd,
}

#[derive(Debug)]
struct Queued<T> {
    items: VecDeque<T>,
    /// How many of `items` came through [`EventQueue::push_within`].
    bounded: usize,
}

impl<T> EventQueue<T> {
    /// An empty queue with a non-blocking eventfd.
    pub fn new() -> io::Result<Self> {
        // SAFETY: eventfd has no pointer arguments; a negative result is an error.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(EventQueue {
            queued: Mutex::new(Queued {
                items: VecDeque::new(),
                bounded: 0,
            }),
            spare_buffers: Mutex::new(Vec::new()),
            // SAFETY: `fd` is a fresh descriptor this queue alone owns.
            eventfd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// The descriptor to watch for readability.
    pub fn fd(&self) -> RawFd {
        self.eventfd.as_raw_fd()
    }

    /// Appends an item; signals the eventfd only if the queue was empty.
    pub fn push(&self, item: T) {
        let mut queued = self.lock();
        self.append(&mut queued, item);
    }

    /// Appends an item unless `limit` items pushed this way are already waiting, in which
    /// case the item comes back (the owner is behind; the caller counts the drop).
    pub fn push_within(&self, item: T, limit: usize) -> Result<(), T> {
        let mut queued = self.lock();
        if queued.bounded >= limit {
            return Err(item);
        }
        queued.bounded += 1;
        self.append(&mut queued, item);
        Ok(())
    }

    /// How many items wait for the owner.
    pub fn len(&self) -> usize {
        self.lock().items.len()
    }

    /// Whether nothing waits for the owner.
    pub fn is_empty(&self) -> bool {
        self.lock().items.is_empty()
    }

    /// A buffer holding a copy of `bytes`: a spare one when the owner handed some back.
    pub fn buffer_holding(&self, bytes: &[u8]) -> Vec<u8> {
        let spare = self
            .spare_buffers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop();
        let mut buffer = spare.unwrap_or_else(|| Vec::with_capacity(BUFFER_CAPACITY));
        buffer.clear();
        buffer.extend_from_slice(bytes);
        buffer
    }

    /// Takes back a buffer whose bytes were consumed, for [`EventQueue::buffer_holding`].
    pub fn recycle(&self, buffer: Vec<u8>) {
        let mut spare = self
            .spare_buffers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if spare.len() < SPARE_BUFFERS_KEPT {
            spare.push(buffer);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queued<T>> {
        self.queued
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn append(&self, queued: &mut Queued<T>, item: T) {
        let was_empty = queued.items.is_empty();
        queued.items.push_back(item);
        if was_empty {
            let one: u64 = 1;
            // SAFETY: writes 8 bytes from a live u64 to our own eventfd. A full counter
            // (EAGAIN) still leaves the fd readable, which is all that matters.
            unsafe {
                libc::write(
                    self.eventfd.as_raw_fd(),
                    (&one as *const u64).cast(),
                    std::mem::size_of::<u64>(),
                );
            }
        }
    }

    /// Takes every queued item and clears the eventfd (under the same lock as `push`, so a
    /// concurrent push either lands in this drain or signals again).
    pub fn drain(&self) -> Vec<T> {
        let mut queued = self.lock();
        let mut counter: u64 = 0;
        // SAFETY: reads 8 bytes into a live u64 from our own non-blocking eventfd; EAGAIN
        // (nothing signalled) is fine.
        unsafe {
            libc::read(
                self.eventfd.as_raw_fd(),
                (&mut counter as *mut u64).cast(),
                std::mem::size_of::<u64>(),
            );
        }
        queued.bounded = 0;
        queued.items.drain(..).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn readable(fd: RawFd) -> bool {
        let mut poll = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, zero timeout.
        unsafe { libc::poll(&mut poll, 1, 0) == 1 }
    }

    #[test]
    fn signals_once_per_burst_and_drain_clears() {
        let queue = EventQueue::new().unwrap();
        assert!(!readable(queue.fd()));
        queue.push(1);
        queue.push(2);
        assert!(readable(queue.fd()));
        assert_eq!(queue.drain(), [1, 2]);
        assert!(!readable(queue.fd()));
        assert!(queue.drain().is_empty());
        queue.push(3);
        assert!(readable(queue.fd()));
    }

    #[test]
    fn bounded_pushes_stop_at_the_limit_until_a_drain() {
        let queue = EventQueue::new().unwrap();
        assert_eq!(queue.push_within(1, 2), Ok(()));
        // Unbounded items (responses) neither count against the limit nor are refused.
        queue.push(2);
        assert_eq!(queue.push_within(3, 2), Ok(()));
        assert_eq!(queue.push_within(4, 2), Err(4));
        queue.push(5);
        assert_eq!(queue.len(), 4);
        assert_eq!(queue.drain(), [1, 2, 3, 5]);
        assert_eq!(queue.push_within(6, 2), Ok(()));
    }

    #[test]
    fn recycled_buffers_are_reused() {
        let queue: EventQueue<()> = EventQueue::new().unwrap();
        let first = queue.buffer_holding(b"abc");
        let address = first.as_ptr();
        queue.recycle(first);
        let second = queue.buffer_holding(b"de");
        assert_eq!(second, b"de");
        assert_eq!(second.as_ptr(), address);
    }
}
