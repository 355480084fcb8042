//! Sharing the bandwidth a transport's endpoint can receive among its consumers, the way
//! mediasoup's transports do: what cannot adapt (audio, single-stream video) is taken off the
//! top; then the simulcast and SVC consumers start at their lowest layers and climb together,
//! highest priority first, each as many layer steps per turn as its priority, while the next
//! step still fits.
//!
//! An estimate only learns that the path takes more when more is sent (it stays near what
//! arrives), so when consumers want more than it allows and the path keeps up with what is
//! sent, [`UpgradeTrials`] now and then allocates what twice the estimate allows (at least one
//! step more) for a few seconds, as libwebrtc probes at twice its estimate: if the path keeps
//! up with that too, the estimate rises to what it delivered; if not, back down, and the next
//! trial waits twice as long.

use std::time::{Duration, Instant};

use super::layer_selector::Layers;

/// The first trial, and trials after a success, wait this long.
const TRIAL_INTERVAL: Duration = Duration::from_secs(2);
/// After a failed trial, or when the estimate takes layers away, the next trial waits at
/// least this, doubling with each failure up to [`MAX_TRIAL_INTERVAL`]: a trial on a path
/// that cannot take it overloads it for a moment.
const FAILED_TRIAL_INTERVAL: Duration = Duration::from_secs(8);
const MAX_TRIAL_INTERVAL: Duration = Duration::from_secs(40);
/// A trial the estimate has not refused by then went through.
const TRIAL_LENGTH: Duration = Duration::from_secs(3);

/// What one simulcast or SVC consumer could send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayeredDemand {
    /// The most it may send.
    pub preferred: Layers,
    /// Layer steps it climbs per turn (mediasoup's consumer priority, 1-255).
    pub priority: u8,
    /// Bits per second it sends at each layer, `[spatial][temporal]`: for simulcast the one
    /// stream with its temporal layers up to that one, for SVC every layer it needs. Zero:
    /// the producer does not send that layer now.
    pub bitrates: Vec<Vec<u64>>,
}

impl LayeredDemand {
    fn bitrate(&self, layers: Layers) -> u64 {
        self.bitrates
            .get(usize::from(layers.spatial))
            .and_then(|temporal| temporal.get(usize::from(layers.temporal)))
            .copied()
            .unwrap_or(0)
    }

    /// The next layer up from `layers` that the producer sends, within the preferred: the
    /// next temporal layer, else the next stream's base layer.
    fn next_step(&self, layers: Layers) -> Option<Layers> {
        let preferred = self.preferred;
        let mut candidate = layers;
        loop {
            let top_temporal = if candidate.spatial == preferred.spatial {
                preferred.temporal
            } else {
                let temporal_layers = self.bitrates.get(usize::from(candidate.spatial))?.len();
                u8::try_from(temporal_layers.saturating_sub(1)).ok()?
            };
            if candidate.temporal < top_temporal {
                candidate.temporal += 1;
            } else if candidate.spatial < preferred.spatial {
                candidate = Layers {
                    spatial: candidate.spatial + 1,
                    temporal: 0,
                };
            } else {
                return None;
            }
            if self.bitrate(candidate) > 0 {
                return Some(candidate);
            }
        }
    }
}

/// The layers each demand gets out of `budget` bits per second once `fixed` are spent, and
/// the bitrate that uses in all. Each gets at least its lowest layer.
pub fn allocate(budget: u64, fixed: u64, demands: &[LayeredDemand]) -> (Vec<Layers>, u64) {
    let mut layers: Vec<Layers> = demands.iter().map(lowest).collect();
    let mut used = fixed
        + demands
            .iter()
            .zip(&layers)
            .map(|(demand, &at)| demand.bitrate(at))
            .sum::<u64>();
    let mut order: Vec<usize> = (0..demands.len()).collect();
    order.sort_by_key(|&index| std::cmp::Reverse(demands[index].priority));
    loop {
        let mut climbed = false;
        for &index in &order {
            let demand = &demands[index];
            for _ in 0..demand.priority.max(1) {
                let at = &mut layers[index];
                let Some(next) = demand.next_step(*at) else {
                    break;
                };
                // A higher stream's base layer can cost less than a lower one's top.
                let with_next = used - demand.bitrate(*at) + demand.bitrate(next);
                if with_next > budget {
                    break;
                }
                used = with_next;
                *at = next;
                climbed = true;
            }
        }
        if !climbed {
            return (layers, used);
        }
    }
}

/// One step more than `allocated` for the first demand that can climb, and the bitrate the
/// result uses: what trying a higher rate than the estimate means.
pub fn one_step_more(
    allocated: &[Layers],
    used: u64,
    demands: &[LayeredDemand],
) -> Option<(Vec<Layers>, u64)> {
    demands
        .iter()
        .zip(allocated)
        .enumerate()
        .find_map(|(index, (demand, &at))| {
            let next = demand.next_step(at)?;
            let mut layers = allocated.to_vec();
            layers[index] = next;
            Some((layers, used - demand.bitrate(at) + demand.bitrate(next)))
        })
}

#[derive(Debug, Clone, Copy)]
struct Trial {
    need: u64,
    started: Instant,
}

/// One transport's allocations over time: from its estimate, with trials above it.
#[derive(Debug)]
pub struct UpgradeTrials {
    trial: Option<Trial>,
    next: Instant,
    interval: Duration,
    /// The layers allocated last time, to see the estimate take some away.
    last: Vec<Layers>,
    /// What each demand preferred last time, to see one ask for more.
    last_preferred: Vec<Layers>,
    /// The estimate last time, to see it fall.
    last_estimate: u64,
    /// The application's maximum: no trial goes above it.
    ceiling: u64,
}

impl UpgradeTrials {
    /// No trial before [`TRIAL_INTERVAL`] from `now`.
    pub fn new(now: Instant) -> Self {
        UpgradeTrials {
            trial: None,
            next: now + TRIAL_INTERVAL,
            interval: TRIAL_INTERVAL,
            last: Vec::new(),
            last_preferred: Vec::new(),
            last_estimate: 0,
            ceiling: u64::MAX,
        }
    }

    /// The application's maximum outgoing bitrate (`u64::MAX`: none). The estimate is
    /// bounded by it before [`UpgradeTrials::allocate`]; this keeps trials within it too, as
    /// it is a limit to keep, not a guess to test.
    pub fn set_ceiling(&mut self, ceiling: u64) {
        self.ceiling = ceiling;
    }

    /// The layers of each demand for the next while, given the `estimate` (bits per second),
    /// whether the path `keeps_up` with what is sent now, and what the consumers that cannot
    /// adapt use (`fixed`); and whether a trial just went through (the estimate should rise
    /// to what the path delivered).
    pub fn allocate(
        &mut self,
        estimate: u64,
        keeps_up: bool,
        fixed: u64,
        demands: &[LayeredDemand],
        now: Instant,
    ) -> (Vec<Layers>, bool) {
        let mut proved = false;
        let mut budget = estimate;
        // A trial's end takes its step away: that is not the estimate's doing.
        let trial_ran = self.trial.is_some();
        if let Some(trial) = self.trial {
            if !keeps_up {
                self.trial = None;
                self.back_off(now);
            } else if now.saturating_duration_since(trial.started) >= TRIAL_LENGTH {
                self.trial = None;
                self.interval = TRIAL_INTERVAL;
                self.next = now + self.interval;
                proved = true;
                budget = budget.max(trial.need);
            } else {
                budget = budget.max(trial.need);
            }
        } else if !keeps_up {
            // No trial while the path already struggles.
            self.next = self.next.max(now + self.interval);
        }
        let (layers, used) = allocate(budget, fixed, demands);
        // Layers the estimate took away: below what the consumer had and below what it
        // prefers (a consumer that now prefers less gets less, which says nothing of the
        // path).
        let key = |layers: &Layers| (layers.spatial, layers.temporal);
        let taken_away = layers.len() == self.last.len()
            && layers
                .iter()
                .zip(&self.last)
                .zip(demands)
                .any(|((now, before), demand)| {
                    key(now) < key(before) && key(now) < key(&demand.preferred)
                });
        self.last.clone_from(&layers);
        let estimate_fell = estimate < self.last_estimate;
        self.last_estimate = estimate;
        if taken_away && !trial_ran {
            if estimate_fell && keeps_up && self.interval == TRIAL_INTERVAL {
                // The estimate fell while what is sent arrives with nothing lost: the delay
                // detector's verdict alone, which a receiver short of CPU gives as readily as
                // a queue, and which repeats as the layers it takes away lower what arrives.
                // One trial at once says which (libwebrtc probes after a large drop); if the
                // path refuses it, the back-off starts.
                self.next = now;
            } else {
                // The path took less than it did: it is no time to try for more.
                self.back_off(now);
            }
        }
        // A consumer that now prefers more than it did is the application asking for it
        // (mediasoup probes at once then): one trial now, whatever the last refusal said;
        // if the path refuses it, the back-off goes on doubling from where it was.
        let asks_for_more = self.last_preferred.len() == demands.len()
            && demands
                .iter()
                .zip(&self.last_preferred)
                .any(|(demand, before)| key(&demand.preferred) > key(before));
        self.last_preferred.clear();
        self.last_preferred
            .extend(demands.iter().map(|demand| demand.preferred));
        if asks_for_more && keeps_up {
            self.next = self.next.min(now);
        }
        if self.trial.is_none() && now >= self.next {
            let trial = trial_layers(budget, fixed, &layers, used, demands, self.ceiling);
            if let Some((more, need)) = trial {
                self.trial = Some(Trial { need, started: now });
                self.last.clone_from(&more);
                return (more, proved);
            }
        }
        (layers, proved)
    }
}

impl UpgradeTrials {
    fn back_off(&mut self, now: Instant) {
        self.interval = (self.interval * 2)
            .max(FAILED_TRIAL_INTERVAL)
            .min(MAX_TRIAL_INTERVAL);
        self.next = now + self.interval;
    }
}

/// What a trial above `budget` allocates, and the bitrate that uses: what twice the budget
/// allows, so that a path with room is found in a trial or two rather than a layer at a time;
/// at least one step more than `allocated` (which uses `used`); never above `ceiling`.
fn trial_layers(
    budget: u64,
    fixed: u64,
    allocated: &[Layers],
    used: u64,
    demands: &[LayeredDemand],
    ceiling: u64,
) -> Option<(Vec<Layers>, u64)> {
    let (doubled, doubled_use) = allocate(budget.saturating_mul(2).min(ceiling), fixed, demands);
    if doubled != allocated {
        return Some((doubled, doubled_use));
    }
    one_step_more(allocated, used, demands).filter(|&(_, need)| need <= ceiling)
}

fn lowest(demand: &LayeredDemand) -> Layers {
    let base = Layers {
        spatial: 0,
        temporal: 0,
    };
    if demand.bitrate(base) > 0 {
        return base;
    }
    demand.next_step(base).unwrap_or(base)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn layers(spatial: u8, temporal: u8) -> Layers {
        Layers { spatial, temporal }
    }

    /// Chromium's three VP8 streams of a 720p camera, three temporal layers each (bps).
    fn camera(preferred: Layers) -> LayeredDemand {
        LayeredDemand {
            preferred,
            priority: 1,
            bitrates: vec![
                vec![50_000, 80_000, 150_000],
                vec![150_000, 250_000, 500_000],
                vec![600_000, 900_000, 1_500_000],
            ],
        }
    }

    #[test]
    fn a_roomy_path_gets_the_preferred_layers() {
        let (allocated, used) = allocate(10_000_000, 100_000, &[camera(layers(2, 2))]);
        assert_eq!(allocated, [layers(2, 2)]);
        assert_eq!(used, 1_600_000);
    }

    #[test]
    fn a_tight_path_gets_what_fits_and_consumers_climb_together() {
        let demands = [camera(layers(2, 2)), camera(layers(2, 2))];
        let (allocated, used) = allocate(1_100_000, 100_000, &demands);
        assert_eq!(allocated, [layers(1, 2), layers(1, 2)]);
        assert_eq!(used, 1_100_000);
        // One more step is a trial above the estimate.
        let (tried, tried_use) = one_step_more(&allocated, used, &demands).unwrap();
        assert_eq!(tried, [layers(2, 0), layers(1, 2)]);
        assert_eq!(tried_use, 1_200_000);
    }

    #[test]
    fn higher_priority_consumers_climb_first_and_further() {
        let mut favoured = camera(layers(2, 2));
        favoured.priority = 3;
        let demands = [camera(layers(2, 2)), favoured];
        let (allocated, _) = allocate(1_100_000, 0, &demands);
        assert_eq!(allocated, [layers(1, 0), layers(2, 1)]);
    }

    #[test]
    fn the_preference_caps_and_missing_layers_are_skipped() {
        let mut demand = camera(layers(1, 1));
        let (allocated, _) = allocate(10_000_000, 0, std::slice::from_ref(&demand));
        assert_eq!(allocated, [layers(1, 1)]);
        // The producer stopped sending its middle stream.
        demand.preferred = layers(2, 2);
        demand.bitrates[1] = vec![0, 0, 0];
        let (allocated, _) = allocate(700_000, 0, std::slice::from_ref(&demand));
        assert_eq!(allocated, [layers(2, 0)]);
        // Nothing fits: still the lowest layer.
        let (allocated, used) = allocate(0, 300_000, &[camera(layers(2, 2))]);
        assert_eq!((allocated, used), (vec![layers(0, 0)], 350_000));
    }

    #[test]
    fn trials_try_twice_the_estimate_now_and_then_and_back_off_when_refused() {
        let start = Instant::now();
        let at = |seconds: u64| start + Duration::from_secs(seconds);
        let mut trials = UpgradeTrials::new(start);
        let demands = [LayeredDemand {
            preferred: layers(2, 2),
            priority: 1,
            bitrates: vec![
                vec![50_000, 80_000, 150_000],
                vec![200_000, 300_000, 500_000],
                vec![600_000, 900_000, 1_500_000],
            ],
        }];
        let mut allocate = |estimate: u64, keeps_up: bool, seconds: u64| {
            trials.allocate(estimate, keeps_up, 0, &demands, at(seconds))
        };
        assert_eq!(allocate(100_000, true, 0), (vec![layers(0, 1)], false));
        // The first trial: what twice the estimate allows (two steps here), held a few
        // seconds.
        assert_eq!(allocate(100_000, true, 2), (vec![layers(1, 0)], false));
        assert_eq!(allocate(100_000, true, 4), (vec![layers(1, 0)], false));
        // The path kept up: it went through.
        assert_eq!(allocate(100_000, true, 5), (vec![layers(1, 0)], true));
        // The next trial after the short interval, from the risen estimate.
        assert_eq!(allocate(200_000, true, 7), (vec![layers(1, 1)], false));
        // The path falls behind: back down, and the next trial waits 8 s.
        assert_eq!(allocate(200_000, false, 8), (vec![layers(1, 0)], false));
        assert_eq!(allocate(200_000, true, 15), (vec![layers(1, 0)], false));
        assert_eq!(allocate(200_000, true, 16), (vec![layers(1, 1)], false));
        // Refused again: 16 s. After refusals, the estimate taking layers away counts as one.
        assert_eq!(allocate(200_000, false, 17), (vec![layers(1, 0)], false));
        assert_eq!(allocate(200_000, true, 32), (vec![layers(1, 0)], false));
        assert_eq!(allocate(100_000, true, 33), (vec![layers(0, 1)], false));
        assert_eq!(allocate(150_000, true, 60), (vec![layers(0, 2)], false));
        assert_eq!(allocate(150_000, true, 65), (vec![layers(1, 1)], false));
        // No trial starts while the path struggles.
        let mut trials = UpgradeTrials::new(start);
        let demands = [camera(layers(2, 2))];
        assert_eq!(
            trials.allocate(100_000, false, 0, &demands, at(3)),
            (vec![layers(0, 1)], false)
        );
    }

    #[test]
    fn a_drop_the_path_kept_up_with_gets_one_trial_at_once() {
        let start = Instant::now();
        let at = |seconds: u64| start + Duration::from_secs(seconds);
        let mut trials = UpgradeTrials::new(start);
        let demands = [camera(layers(2, 2))];
        assert_eq!(
            trials.allocate(550_000, true, 0, &demands, at(0)),
            (vec![layers(1, 2)], false)
        );
        // The estimate falls while everything sent arrives (a receiver short of CPU reads as
        // a queue): a trial at once, at twice the new estimate.
        assert_eq!(
            trials.allocate(200_000, true, 0, &demands, at(1)),
            (vec![layers(1, 1)], false)
        );
        // Refused: back to the estimate's layers, and the back-off starts.
        assert_eq!(
            trials.allocate(200_000, false, 0, &demands, at(2)),
            (vec![layers(1, 0)], false)
        );
        // After a refusal, a drop is no reason for a trial: the back-off doubles.
        assert_eq!(
            trials.allocate(100_000, true, 0, &demands, at(3)),
            (vec![layers(0, 1)], false)
        );
        assert_eq!(trials.interval, Duration::from_secs(16));
        assert_eq!(
            trials.allocate(100_000, true, 0, &demands, at(18)),
            (vec![layers(0, 1)], false)
        );
        assert_eq!(
            trials.allocate(100_000, true, 0, &demands, at(19)),
            (vec![layers(1, 0)], false)
        );
    }

    #[test]
    fn the_end_of_a_trial_is_no_drop() {
        let start = Instant::now();
        let at = |seconds: u64| start + Duration::from_secs(seconds);
        let mut trials = UpgradeTrials::new(start);
        let demands = [camera(layers(2, 2))];
        let mut allocate =
            |seconds: u64| trials.allocate(100_000, true, 0, &demands, at(seconds)).0;
        assert_eq!(allocate(0), [layers(0, 1)]);
        assert_eq!(allocate(2), [layers(1, 0)]);
        assert_eq!(allocate(5), [layers(1, 0)]);
        // The trial's step is taken away with the estimate unchanged: the usual back-off,
        // not a trial at once.
        assert_eq!(allocate(6), [layers(0, 1)]);
        assert_eq!(allocate(13), [layers(0, 1)]);
        assert_eq!(allocate(14), [layers(1, 0)]);
    }

    #[test]
    fn no_trial_goes_above_the_applications_maximum() {
        let start = Instant::now();
        let at = |seconds: u64| start + Duration::from_secs(seconds);
        let mut trials = UpgradeTrials::new(start);
        trials.set_ceiling(550_000);
        let demands = [camera(layers(2, 2))];
        // Twice the estimate (600 kbps) would be the top stream's base layer: the trial stops
        // at what the maximum allows, the middle stream's top (500 kbps).
        assert_eq!(
            trials.allocate(300_000, true, 0, &demands, at(2)).0,
            [layers(1, 2)]
        );
        // At the maximum already: no trial.
        let mut trials = UpgradeTrials::new(start);
        trials.set_ceiling(250_000);
        assert_eq!(
            trials.allocate(250_000, true, 0, &demands, at(2)).0,
            [layers(1, 1)]
        );
        assert_eq!(
            trials.allocate(250_000, true, 0, &demands, at(10)).0,
            [layers(1, 1)]
        );
    }

    #[test]
    fn a_drop_with_losses_backs_off() {
        let start = Instant::now();
        let at = |seconds: u64| start + Duration::from_secs(seconds);
        let mut trials = UpgradeTrials::new(start);
        let demands = [camera(layers(2, 2))];
        trials.allocate(550_000, true, 0, &demands, at(0));
        assert_eq!(
            trials.allocate(200_000, false, 0, &demands, at(1)),
            (vec![layers(1, 0)], false)
        );
        assert_eq!(
            trials.allocate(200_000, true, 0, &demands, at(8)),
            (vec![layers(1, 0)], false)
        );
        assert_eq!(
            trials.allocate(200_000, true, 0, &demands, at(9)),
            (vec![layers(1, 1)], false)
        );
    }

    #[test]
    fn a_consumer_preferring_less_is_no_refusal_of_the_path() {
        let start = Instant::now();
        let at = |seconds: u64| start + Duration::from_secs(seconds);
        let mut trials = UpgradeTrials::new(start);
        let wanting = |spatial: u8| [camera(layers(spatial, 2))];
        // The estimate allows the middle stream (500 kbps), not the top one (600 kbps and up),
        // which the consumer prefers.
        assert_eq!(
            trials.allocate(550_000, true, 0, &wanting(2), at(0)),
            (vec![layers(1, 2)], false)
        );
        // It prefers the low stream for a while: no back-off.
        assert_eq!(
            trials.allocate(550_000, true, 0, &wanting(0), at(1)),
            (vec![layers(0, 2)], false)
        );
        assert_eq!(trials.interval, TRIAL_INTERVAL);
        assert_eq!(trials.next, at(2));
    }

    #[test]
    fn a_consumer_asking_for_more_gets_a_trial_at_once_after_a_refusal() {
        let start = Instant::now();
        let at = |seconds: u64| start + Duration::from_secs(seconds);
        let mut trials = UpgradeTrials::new(start);
        let wanting = |spatial: u8| [camera(layers(spatial, 2))];
        assert_eq!(
            trials.allocate(550_000, true, 0, &wanting(1), at(0)),
            (vec![layers(1, 2)], false)
        );
        // The estimate falls with losses: layers taken away, a refusal.
        assert_eq!(
            trials.allocate(200_000, false, 0, &wanting(1), at(1)),
            (vec![layers(1, 0)], false)
        );
        assert_eq!(
            trials.allocate(200_000, true, 0, &wanting(1), at(3)),
            (vec![layers(1, 0)], false),
            "no trial within the refusal's 8 s"
        );
        // The application prefers the top stream: a trial at once.
        assert_eq!(
            trials.allocate(200_000, true, 0, &wanting(2), at(4)),
            (vec![layers(1, 1)], false)
        );
        // Refused: back to the estimate's layers, and the next trial waits longer still.
        assert_eq!(
            trials.allocate(200_000, false, 0, &wanting(2), at(5)),
            (vec![layers(1, 0)], false)
        );
        assert_eq!(
            trials.allocate(200_000, true, 0, &wanting(2), at(20)),
            (vec![layers(1, 0)], false)
        );
        assert_eq!(
            trials.allocate(200_000, true, 0, &wanting(2), at(21)),
            (vec![layers(1, 1)], false)
        );
    }

    proptest! {
        #[test]
        fn never_above_the_preference_nor_the_budget_beyond_the_lowest_layers(
            budget in 0u64..5_000_000,
            fixed in 0u64..500_000,
            preferred in prop::collection::vec((0u8..3, 0u8..3), 1..4),
            rates in prop::collection::vec(0u64..1_000_000, 9),
        ) {
            let demands: Vec<LayeredDemand> = preferred
                .iter()
                .map(|&(spatial, temporal)| LayeredDemand {
                    preferred: layers(spatial, temporal),
                    priority: 1 + spatial,
                    bitrates: rates.chunks(3).map(<[u64]>::to_vec).collect(),
                })
                .collect();
            let (allocated, used) = allocate(budget, fixed, &demands);
            let floor = fixed + demands.iter().map(|demand| demand.bitrate(lowest(demand))).sum::<u64>();
            prop_assert!(used <= budget.max(floor));
            for (demand, at) in demands.iter().zip(&allocated) {
                prop_assert!(at.spatial <= demand.preferred.spatial);
                if at.spatial == demand.preferred.spatial {
                    prop_assert!(at.temporal <= demand.preferred.temporal);
                }
            }
        }
    }
}
