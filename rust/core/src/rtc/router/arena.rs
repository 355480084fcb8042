//! Where a router keeps its transports, producers and consumers: slots reused through a free
//! list, so adding and removing are O(1) whatever the count, each kind named by its own index
//! type so a consumer's index cannot be used as a producer's.

use std::marker::PhantomData;

/// An index into one kind of [`Arena`].
pub trait ArenaIndex: Copy {
    /// The index of slot `slot`.
    fn from_slot(slot: usize) -> Self;
    /// Its slot.
    fn slot(self) -> usize;
}

macro_rules! arena_index {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(u32);

        impl ArenaIndex for $name {
            fn from_slot(slot: usize) -> Self {
                // Slots are bounded by memory long before 2^32 objects.
                $name(slot as u32)
            }

            fn slot(self) -> usize {
                self.0 as usize
            }
        }
    };
}

arena_index!(
    /// A transport of a router (its routing state, not its sockets).
    TransportIndex
);
arena_index!(
    /// A producer of a router.
    ProducerIndex
);
arena_index!(
    /// A consumer of a router.
    ConsumerIndex
);

/// Values in reusable slots.
#[derive(Debug)]
pub struct Arena<I, T> {
    slots: Vec<Option<T>>,
    free: Vec<usize>,
    len: usize,
    index: PhantomData<I>,
}

impl<I, T> Default for Arena<I, T> {
    fn default() -> Self {
        Arena {
            slots: Vec::new(),
            free: Vec::new(),
            len: 0,
            index: PhantomData,
        }
    }
}

impl<I: ArenaIndex, T> Arena<I, T> {
    /// Stores `value` in a free slot; its index.
    pub fn insert(&mut self, value: T) -> I {
        self.len += 1;
        match self.free.pop() {
            Some(slot) => {
                self.slots[slot] = Some(value);
                I::from_slot(slot)
            }
            None => {
                self.slots.push(Some(value));
                I::from_slot(self.slots.len() - 1)
            }
        }
    }

    /// Takes the value out of its slot, which becomes free.
    pub fn remove(&mut self, index: I) -> Option<T> {
        let value = self.slots.get_mut(index.slot())?.take()?;
        self.free.push(index.slot());
        self.len -= 1;
        Some(value)
    }

    /// The value at `index`.
    pub fn get(&self, index: I) -> Option<&T> {
        self.slots.get(index.slot())?.as_ref()
    }

    /// The value at `index`, writable.
    pub fn get_mut(&mut self, index: I) -> Option<&mut T> {
        self.slots.get_mut(index.slot())?.as_mut()
    }

    /// How many values are stored.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Every value with its index.
    pub fn iter(&self) -> impl Iterator<Item = (I, &T)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(slot, value)| Some((I::from_slot(slot), value.as_ref()?)))
    }

    /// The values in slots `first`, `first + step`, `first + 2 step`... with their indices,
    /// without visiting the slots between (a router serves 1/step of its objects at a time).
    pub fn iter_every(&self, first: usize, step: usize) -> impl Iterator<Item = (I, &T)> {
        self.slots
            .iter()
            .enumerate()
            .skip(first)
            .step_by(step)
            .filter_map(|(slot, value)| Some((I::from_slot(slot), value.as_ref()?)))
    }

    /// [`Arena::iter_every`], writable.
    pub fn iter_mut_every(
        &mut self,
        first: usize,
        step: usize,
    ) -> impl Iterator<Item = (I, &mut T)> {
        self.slots
            .iter_mut()
            .enumerate()
            .skip(first)
            .step_by(step)
            .filter_map(|(slot, value)| Some((I::from_slot(slot), value.as_mut()?)))
    }

    /// Every value with its index, writable.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (I, &mut T)> {
        self.slots
            .iter_mut()
            .enumerate()
            .filter_map(|(slot, value)| Some((I::from_slot(slot), value.as_mut()?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_step_th_slot_from_the_first_skips_free_slots() {
        let mut arena: Arena<ConsumerIndex, usize> = Arena::default();
        for value in 0..25 {
            arena.insert(value);
        }
        arena.remove(ConsumerIndex::from_slot(13));
        let values: Vec<usize> = arena.iter_every(3, 10).map(|(_, &value)| value).collect();
        assert_eq!(values, [3, 23]);
        let slots: Vec<usize> = arena
            .iter_mut_every(3, 5)
            .map(|(index, _)| index.slot())
            .collect();
        assert_eq!(slots, [3, 8, 18, 23]);
        assert_eq!(arena.iter_every(30, 10).count(), 0);
    }

    #[test]
    fn freed_slots_are_reused_and_stale_indices_find_nothing_until_then() {
        let mut arena: Arena<ProducerIndex, &str> = Arena::default();
        let a = arena.insert("a");
        let b = arena.insert("b");
        assert_eq!(arena.remove(a), Some("a"));
        assert_eq!(arena.get(a), None);
        assert_eq!(arena.remove(a), None, "removed once");
        let c = arena.insert("c");
        assert_eq!(c, a, "the free slot is reused");
        assert_eq!(arena.len(), 2);
        let values: Vec<_> = arena.iter().map(|(_, value)| *value).collect();
        assert_eq!(values, ["c", "b"]);
        assert_eq!(arena.get(b), Some(&"b"));
    }
}
