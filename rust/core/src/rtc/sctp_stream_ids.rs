//! The SCTP stream ids a transport gives its DataConsumers: the server chooses them (the
//! client opens a negotiated channel on the id it is told), as mediasoup's
//! `Transport.getNextSctpStreamId` does: the next free id after the last one given, wrapping
//! within the transport's stream count, so a closed consumer's id is reused last.

/// Which stream ids are in use on one transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SctpStreamIds {
    in_use: Vec<bool>,
    next: usize,
}

impl SctpStreamIds {
    /// Ids `0..count` (mediasoup takes the transport's `MIS`).
    pub fn new(count: u16) -> Self {
        SctpStreamIds {
            in_use: vec![false; usize::from(count)],
            next: 0,
        }
    }

    /// A free id, now in use; `None` when all are taken.
    pub fn allocate(&mut self) -> Option<u16> {
        let count = self.in_use.len();
        let id = (0..count)
            .map(|offset| (self.next + offset) % count)
            .find(|&id| !self.in_use[id])?;
        self.in_use[id] = true;
        self.next = id + 1;
        u16::try_from(id).ok()
    }

    /// `id` is free again (its consumer closed).
    pub fn release(&mut self, id: u16) {
        if let Some(slot) = self.in_use.get_mut(usize::from(id)) {
            *slot = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gives_the_next_free_id_and_reuses_released_ones_last() {
        let mut ids = SctpStreamIds::new(3);
        assert_eq!(ids.allocate(), Some(0));
        assert_eq!(ids.allocate(), Some(1));
        ids.release(0);
        assert_eq!(ids.allocate(), Some(2));
        assert_eq!(ids.allocate(), Some(0));
        assert_eq!(ids.allocate(), None);
        ids.release(1);
        ids.release(60_000);
        assert_eq!(ids.allocate(), Some(1));
        assert_eq!(SctpStreamIds::new(0).allocate(), None);
    }
}
