//! How a consumer numbers what it sends (RTP sequence numbers, VP8 picture ids) so that its
//! endpoint sees no jump: each run (a start, a resume, a switch to another simulcast stream)
//! continues right after the last number sent, and numbers the consumer chose not to send
//! (dropped temporal layers) are taken out, so only real loss shows as a gap.

use std::collections::VecDeque;

/// Dropped numbers remembered per run; older ones are folded into the run's base.
const MAX_DROPS: usize = 512;

/// Maps one input number space onto a gapless output space, modulo `mask + 1`.
#[derive(Debug, Clone)]
pub struct SequenceMapper {
    /// All-ones in the number's width: 0xFFFF for sequence numbers, 0x7FFF for picture ids.
    mask: u16,
    /// Whether a run is under way.
    started: bool,
    /// Nothing has been mapped or dropped in this run yet.
    fresh: bool,
    /// The run's first input and its output.
    base_in: u16,
    base_out: u16,
    /// The highest input of the run so far, relative to `base_in`.
    highest: u16,
    /// Inputs dropped above everything sent before them, ascending, relative to `base_in`.
    drops: VecDeque<u16>,
    /// The output the next new input gets.
    next_out: u16,
}

impl SequenceMapper {
    /// A mapper over `mask + 1` numbers whose first output is `first_out`.
    pub fn new(mask: u16, first_out: u16) -> Self {
        SequenceMapper {
            mask,
            started: false,
            fresh: true,
            base_in: 0,
            base_out: first_out & mask,
            highest: 0,
            drops: VecDeque::new(),
            next_out: first_out & mask,
        }
    }

    /// Whether a run is under way.
    pub fn started(&self) -> bool {
        self.started
    }

    /// Ends the run: the next input starts a new one (see [`SequenceMapper::start`]).
    pub fn stop(&mut self) {
        self.started = false;
    }

    /// Starts a run whose first input is `first_in`, continuing the output.
    pub fn start(&mut self, first_in: u16) {
        self.started = true;
        self.fresh = true;
        self.base_in = first_in & self.mask;
        self.base_out = self.next_out;
        self.highest = 0;
        self.drops.clear();
    }

    fn relative(&self, input: u16) -> Option<u16> {
        let relative = input.wrapping_sub(self.base_in) & self.mask;
        // Within the half of the space after the base: older inputs belong to an earlier
        // run, whose mapping is gone.
        (relative <= self.mask / 2).then_some(relative)
    }

    /// The output number of `input`, or `None` for inputs from before the run. Inlined: it
    /// runs for every copy a consumer sends.
    #[inline(always)]
    pub fn map(&mut self, input: u16) -> Option<u16> {
        if !self.started {
            return None;
        }
        let relative = self.relative(input)?;
        let dropped_below = if self.drops.is_empty() {
            0
        } else {
            self.drops.partition_point(|drop| *drop < relative) as u16
        };
        let output = self
            .base_out
            .wrapping_add(relative)
            .wrapping_sub(dropped_below)
            & self.mask;
        if relative > self.highest || self.fresh {
            self.fresh = false;
            self.highest = self.highest.max(relative);
            self.next_out = output.wrapping_add(1) & self.mask;
            self.slide();
        }
        Some(output)
    }

    /// Keeps the run's base a little behind the newest input, so a run can last for ever:
    /// inputs are related to the base within half the number space, and late packets up to
    /// an eighth of it back still map.
    #[inline]
    fn slide(&mut self) {
        if self.highest > self.mask / 8 * 3 {
            self.move_base();
        }
    }

    /// Moves the run's base to an eighth of the space behind the newest input.
    fn move_base(&mut self) {
        let keep = self.mask / 8 + 1;
        let new_base = self.highest - keep;
        let dropped_below = self.drops.partition_point(|drop| *drop < new_base);
        // What the input at the new base maps to (whether or not it was dropped).
        self.base_out = self
            .base_out
            .wrapping_add(new_base)
            .wrapping_sub(dropped_below as u16)
            & self.mask;
        self.base_in = self.base_in.wrapping_add(new_base) & self.mask;
        self.highest -= new_base;
        self.drops.drain(..dropped_below);
        for drop in &mut self.drops {
            *drop -= new_base;
        }
    }

    /// Takes `input` out of the output space (the consumer drops it). Only inputs above
    /// everything sent shift later numbers: a late one's place is already taken.
    pub fn drop_input(&mut self, input: u16) {
        if !self.started {
            return;
        }
        let Some(relative) = self.relative(input) else {
            return;
        };
        let is_new = relative > self.highest || (relative == 0 && self.fresh);
        if !is_new || self.drops.back() == Some(&relative) {
            return;
        }
        if self.drops.len() == MAX_DROPS {
            self.fold_oldest_drop();
        }
        // The base may have moved.
        let relative = input.wrapping_sub(self.base_in) & self.mask;
        self.fresh = false;
        self.highest = relative;
        self.drops.push_back(relative);
        self.slide();
    }

    /// Forgets the oldest drop by moving the run's base past it (inputs before it become
    /// too old to map, which at 512 drops back they are anyway).
    fn fold_oldest_drop(&mut self) {
        let Some(oldest) = self.drops.pop_front() else {
            return;
        };
        let shift = oldest.wrapping_add(1);
        // The input right after the dropped one (no drop is below it) maps to this output.
        self.base_out = self.base_out.wrapping_add(oldest) & self.mask;
        self.base_in = self.base_in.wrapping_add(shift) & self.mask;
        self.highest = self.highest.wrapping_sub(shift);
        for drop in &mut self.drops {
            *drop = drop.wrapping_sub(shift);
        }
    }

    /// The input that was sent as `output` in this run, if any.
    pub fn unmap(&self, output: u16) -> Option<u16> {
        if !self.started {
            return None;
        }
        let sent = self.next_out.wrapping_sub(self.base_out) & self.mask;
        let mut relative = output.wrapping_sub(self.base_out) & self.mask;
        if relative >= sent {
            return None;
        }
        // Every drop at or below the candidate pushes it one further.
        for drop in &self.drops {
            if *drop <= relative {
                relative += 1;
            } else {
                break;
            }
        }
        Some(self.base_in.wrapping_add(relative) & self.mask)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn runs_continue_the_output_and_drops_leave_no_gap() {
        let mut mapper = SequenceMapper::new(0xFFFF, 100);
        mapper.start(5000);
        assert_eq!(mapper.map(5000), Some(100));
        assert_eq!(mapper.map(5001), Some(101));
        mapper.drop_input(5002);
        assert_eq!(mapper.map(5003), Some(102));
        assert_eq!(mapper.unmap(102), Some(5003));
        assert_eq!(mapper.unmap(101), Some(5001));
        // A loss stays a gap.
        assert_eq!(mapper.map(5005), Some(104));
        // The late packet fills it.
        assert_eq!(mapper.map(5004), Some(103));
        // Another run (a switch to a stream numbered elsewhere) continues after 104.
        mapper.start(9);
        assert_eq!(mapper.map(9), Some(105));
        assert_eq!(mapper.unmap(104), None, "sent in the previous run");
        assert_eq!(mapper.map(5), None, "before the run");
    }

    #[test]
    fn a_run_lasts_for_ever_across_wraps() {
        let mut mapper = SequenceMapper::new(0xFFFF, 7);
        mapper.start(1000);
        let mut expected = 7u16;
        for step in 0..300_000u32 {
            let input = (1000 + step) as u16;
            if step % 10 == 3 {
                mapper.drop_input(input);
                continue;
            }
            assert_eq!(mapper.map(input), Some(expected), "step {step}");
            expected = expected.wrapping_add(1);
            // A packet 1000 back still maps to what it got then.
            if step > 2000 && step % 1000 == 0 {
                let late = input.wrapping_sub(1000);
                let output = mapper.map(late).unwrap();
                assert_eq!(mapper.unmap(output), Some(late));
            }
        }
    }

    #[test]
    fn picture_ids_wrap_at_fifteen_bits() {
        let mut mapper = SequenceMapper::new(0x7FFF, 0x7FFE);
        mapper.start(10);
        assert_eq!(mapper.map(10), Some(0x7FFE));
        assert_eq!(mapper.map(11), Some(0x7FFF));
        assert_eq!(mapper.map(12), Some(0));
    }

    #[test]
    fn the_oldest_drops_fold_into_the_base() {
        let mut mapper = SequenceMapper::new(0xFFFF, 0);
        mapper.start(0);
        let mut expected = 0u16;
        for input in 0..4000u16 {
            if input % 3 == 1 {
                mapper.drop_input(input);
            } else {
                assert_eq!(mapper.map(input), Some(expected));
                assert_eq!(mapper.unmap(expected), Some(input));
                expected += 1;
            }
        }
    }

    proptest! {
        /// In-order input with random drops, losses and restarts: the output of a run is
        /// gapless except where input was lost, and every output maps back.
        #[test]
        fn output_is_gapless_except_for_loss(
            steps in proptest::collection::vec((0u8..10, 1u16..4, any::<u16>()), 1..300),
            mask_is_picture_id in any::<bool>(),
        ) {
            let mask = if mask_is_picture_id { 0x7FFF } else { 0xFFFF };
            let mut mapper = SequenceMapper::new(mask, 0);
            let mut input = 0u16;
            let mut expected: Option<u16> = None;
            for (action, gap, jump) in steps {
                match action {
                    // Restart on an arbitrary input (a switch or a resume).
                    0 => {
                        input = jump & mask;
                        mapper.start(input);
                    }
                    // Drop: later outputs do not move.
                    1..=2 if mapper.started() => {
                        input = input.wrapping_add(1) & mask;
                        mapper.drop_input(input);
                        continue;
                    }
                    // Lose `gap - 1` inputs, then send one.
                    _ => {
                        if !mapper.started() {
                            mapper.start(input);
                        } else {
                            input = input.wrapping_add(gap) & mask;
                            if let Some(previous) = expected.as_mut() {
                                *previous = previous.wrapping_add(gap - 1) & mask;
                            }
                        }
                    }
                }
                let output = mapper.map(input).unwrap();
                if let Some(previous) = expected {
                    prop_assert_eq!(output, previous);
                }
                prop_assert_eq!(mapper.unmap(output), Some(input));
                expected = Some(output.wrapping_add(1) & mask);
            }
        }
    }
}
