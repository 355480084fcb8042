//! Replay protection (RFC 3711 §3.3.2): a sliding window of the most recent packet indices.

/// Packets this far behind the highest index are still accepted once (libsrtp's default
/// window is 128; WebRTC streams with retransmissions and reordering need more).
pub const REPLAY_WINDOW_LEN: u64 = 1024;

const WORDS: usize = (REPLAY_WINDOW_LEN / 64) as usize;

/// Why an index is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayVerdict {
    /// Already received.
    Replayed,
    /// Older than the window: cannot be told apart from a replay.
    TooOld {
        /// The highest index received.
        highest: u64,
    },
}

/// The highest index received and a bitmap of which of the previous indices were.
#[derive(Debug, Clone, Default)]
pub struct ReplayWindow {
    /// `None` until the first packet is accepted.
    highest: Option<u64>,
    /// A ring: bit `i % REPLAY_WINDOW_LEN` (word `/ 64`, bit `% 64`) is set when index `i`
    /// of the window was received. Moving the window forward clears only the bits of the
    /// indices it passes (one per packet in order), never shifts the whole map.
    seen: [u64; WORDS],
}

impl ReplayWindow {
    /// The highest accepted index.
    pub fn highest(&self) -> Option<u64> {
        self.highest
    }

    /// Whether `index` may be accepted; does not change the window (call [`Self::accept`]
    /// once the packet is authenticated, so forged packets cannot move it).
    pub fn check(&self, index: u64) -> Result<(), ReplayVerdict> {
        let Some(highest) = self.highest else {
            return Ok(());
        };
        if index > highest {
            return Ok(());
        }
        if highest - index >= REPLAY_WINDOW_LEN {
            return Err(ReplayVerdict::TooOld { highest });
        }
        if self.is_seen(index) {
            Err(ReplayVerdict::Replayed)
        } else {
            Ok(())
        }
    }

    /// Records `index` as received (after [`Self::check`] and authentication passed).
    pub fn accept(&mut self, index: u64) {
        let Some(highest) = self.highest else {
            self.highest = Some(index);
            self.seen = [0; WORDS];
            self.mark(index);
            return;
        };
        if index > highest {
            self.forget(highest + 1, index);
            self.highest = Some(index);
            self.mark(index);
        } else if highest - index < REPLAY_WINDOW_LEN {
            self.mark(index);
        }
    }

    fn position(index: u64) -> (usize, u64) {
        let bit = index % REPLAY_WINDOW_LEN;
        ((bit / 64) as usize, 1 << (bit % 64))
    }

    fn is_seen(&self, index: u64) -> bool {
        let (word, bit) = Self::position(index);
        self.seen.get(word).is_some_and(|w| w & bit != 0)
    }

    fn mark(&mut self, index: u64) {
        let (word, bit) = Self::position(index);
        if let Some(w) = self.seen.get_mut(word) {
            *w |= bit;
        }
    }

    /// Clears the bits of `first..=last`, indices entering the window, whose places held
    /// indices a window length older.
    fn forget(&mut self, first: u64, last: u64) {
        if last - first >= REPLAY_WINDOW_LEN {
            self.seen = [0; WORDS];
            return;
        }
        let mut index = first;
        while index <= last {
            let (word, _) = Self::position(index);
            // The rest of this word, or up to `last` in it.
            let in_word = (64 - index % 64).min(last - index + 1);
            let mask = if in_word == 64 {
                u64::MAX
            } else {
                ((1u64 << in_word) - 1) << (index % 64)
            };
            if let Some(w) = self.seen.get_mut(word) {
                *w &= !mask;
            }
            index += in_word;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_each_index_once_and_out_of_order_within_the_window() {
        let mut window = ReplayWindow::default();
        for index in [10, 12, 11, 500, 13, 499] {
            assert_eq!(window.check(index), Ok(()), "index {index}");
            window.accept(index);
            assert_eq!(window.check(index), Err(ReplayVerdict::Replayed));
        }
        assert_eq!(window.check(14), Ok(()));
        window.accept(2000);
        assert_eq!(
            window.check(500),
            Err(ReplayVerdict::TooOld { highest: 2000 })
        );
        assert_eq!(window.check(2000 - 1023), Ok(()));
        assert_eq!(
            window.check(2000 - 1024),
            Err(ReplayVerdict::TooOld { highest: 2000 })
        );
    }

    proptest! {
        /// The bitmap agrees with a set of every accepted index inside the window.
        #[test]
        fn matches_a_reference_set(steps in proptest::collection::vec(0u64..3000, 1..300)) {
            let mut window = ReplayWindow::default();
            let mut accepted = std::collections::BTreeSet::new();
            for index in steps {
                let expected = match accepted.last().copied() {
                    None => Ok(()),
                    Some(highest) if index > highest => Ok(()),
                    Some(highest) if highest - index >= REPLAY_WINDOW_LEN => {
                        Err(ReplayVerdict::TooOld { highest })
                    }
                    Some(_) if accepted.contains(&index) => Err(ReplayVerdict::Replayed),
                    Some(_) => Ok(()),
                };
                prop_assert_eq!(window.check(index), expected);
                if expected.is_ok() {
                    window.accept(index);
                    accepted.insert(index);
                }
            }
        }
    }
}
