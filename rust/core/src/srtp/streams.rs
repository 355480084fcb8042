//! What an SRTP session remembers per SSRC, found once per packet. A session's packets come
//! in runs of one SSRC (a consumer's transport sends its video packets one after another;
//! a producer's arrive so), so the SSRC last found is checked before the table: most
//! packets then cost a comparison instead of a hash lookup.

use super::replay::ReplayWindow;
use crate::id_hash::IdHashMap;

/// What a session remembers about one SSRC.
#[derive(Debug, Default)]
pub struct StreamState {
    /// Highest SRTP index protected (for the rollover counter of outgoing packets).
    pub highest_sent: Option<u64>,
    /// Indices of authenticated incoming SRTP packets.
    pub received: ReplayWindow,
    /// Index of the last SRTCP packet protected.
    pub srtcp_sent: Option<u32>,
    /// Indices of authenticated incoming SRTCP packets.
    pub srtcp_received: ReplayWindow,
}

/// Per-SSRC states, at most `limit` of them.
#[derive(Debug)]
pub struct Streams {
    states: Vec<StreamState>,
    /// SSRC -> index in `states`; hashed fast (bounded by `limit`, see `id_hash`).
    slots: IdHashMap<u32, usize>,
    /// The SSRC found last and its index.
    last: Option<(u32, usize)>,
    limit: usize,
}

impl Streams {
    /// An empty table that holds up to `limit` SSRCs.
    pub fn new(limit: usize) -> Self {
        Streams {
            states: Vec::new(),
            slots: IdHashMap::default(),
            last: None,
            limit,
        }
    }

    /// How many SSRCs it holds.
    pub fn len(&self) -> usize {
        self.states.len()
    }

    /// The state of `ssrc`, if it has one.
    #[inline]
    pub fn get(&mut self, ssrc: u32) -> Option<&mut StreamState> {
        let slot = match self.last {
            Some((last, slot)) if last == ssrc => slot,
            _ => self.find(ssrc)?,
        };
        self.states.get_mut(slot)
    }

    /// The state of `ssrc`, created when it has none; `None` when the table is full.
    #[inline]
    pub fn get_or_add(&mut self, ssrc: u32) -> Option<&mut StreamState> {
        let slot = match self.last {
            Some((last, slot)) if last == ssrc => slot,
            _ => match self.find(ssrc) {
                Some(slot) => slot,
                None => self.add(ssrc)?,
            },
        };
        self.states.get_mut(slot)
    }

    fn find(&mut self, ssrc: u32) -> Option<usize> {
        let slot = *self.slots.get(&ssrc)?;
        self.last = Some((ssrc, slot));
        Some(slot)
    }

    #[cold]
    fn add(&mut self, ssrc: u32) -> Option<usize> {
        if self.states.len() >= self.limit {
            return None;
        }
        let slot = self.states.len();
        self.states.push(StreamState::default());
        self.slots.insert(ssrc, slot);
        self.last = Some((ssrc, slot));
        Some(slot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_ssrc_keeps_its_own_state_whichever_was_found_last() {
        let mut streams = Streams::new(3);
        assert!(streams.get(1).is_none());
        streams.get_or_add(1).unwrap().highest_sent = Some(10);
        streams.get_or_add(2).unwrap().highest_sent = Some(20);
        assert_eq!(streams.get(1).unwrap().highest_sent, Some(10));
        assert_eq!(streams.get(2).unwrap().highest_sent, Some(20));
        assert_eq!(streams.get_or_add(1).unwrap().highest_sent, Some(10));
        assert!(streams.get(3).is_none());
        assert_eq!(streams.len(), 2);
    }

    #[test]
    fn a_full_table_takes_no_new_ssrc_but_finds_its_own() {
        let mut streams = Streams::new(2);
        streams.get_or_add(1).unwrap();
        streams.get_or_add(2).unwrap();
        assert!(streams.get_or_add(3).is_none());
        assert!(streams.get(3).is_none());
        assert!(streams.get_or_add(1).is_some());
        assert_eq!(streams.len(), 2);
    }
}
