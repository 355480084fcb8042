//! Worker -> Python: a queue whose eventfd becomes readable when the queue goes from empty to
//! non-empty, so asyncio's `loop.add_reader` wakes once per burst, never per item, and
//! nothing polls.

use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Mutex;

/// A multi-producer queue drained by one consumer that waits on [`EventQueue::fd`].
#[derive(Debug)]
pub struct EventQueue<T> {
    items: Mutex<VecDeque<T>>,
    eventfd: OwnedFd,
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
            items: Mutex::new(VecDeque::new()),
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
        let mut items = self
            .items
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let was_empty = items.is_empty();
        items.push_back(item);
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
        let mut items = self
            .items
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
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
        items.drain(..).collect()
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
}
