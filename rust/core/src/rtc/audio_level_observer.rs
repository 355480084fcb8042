//! mediasoup's AudioLevelObserver, sans-IO: the loudest of a set of audio producers each
//! interval, from the RFC 6464 audio level every packet carries (ssrc-audio-level).
//!
//! Each interval the levels a producer's packets carried are averaged; producers at or above
//! the threshold are reported loudest first (at most `max_entries`), and a silence is
//! reported once when none is.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

/// RFC 6464's quietest level: -127 dBov.
const SILENT_LEVEL: u8 = 127;

/// What one interval found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AudioLevelReport<K> {
    /// Producers at or above the threshold, loudest first, with their average volume in
    /// dBov (-127..=0).
    Volumes(Vec<(K, i8)>),
    /// No producer reached the threshold (reported once per silent stretch).
    Silence,
}

/// Configuration, as mediasoup's `createAudioLevelObserver` options.
#[derive(Debug, Clone, Copy)]
pub struct AudioLevelOptions {
    /// Most producers per report.
    pub max_entries: usize,
    /// Lowest average volume reported, dBov (-127..=0).
    pub threshold: i8,
    /// How often reports are made.
    pub interval: Duration,
}

#[derive(Debug, Default, Clone, Copy)]
struct LevelSum {
    /// Sum of levels (0 = loudest, 127 = silence) this interval.
    total: u32,
    packets: u32,
}

/// Averages audio levels per producer and reports the loudest each interval.
#[derive(Debug)]
pub struct AudioLevelObserver<K> {
    options: AudioLevelOptions,
    sums: HashMap<K, LevelSum>,
    next_report: Instant,
    paused: bool,
    /// Whether the last report was a silence, so that silence is reported once.
    silent: bool,
}

impl<K: Copy + Eq + Hash> AudioLevelObserver<K> {
    /// An observer whose first report is due one interval after `now`.
    pub fn new(options: AudioLevelOptions, now: Instant) -> Self {
        AudioLevelObserver {
            options,
            sums: HashMap::new(),
            next_report: now + options.interval,
            paused: false,
            silent: false,
        }
    }

    /// Observes a producer from now on.
    pub fn add_producer(&mut self, key: K) {
        self.sums.entry(key).or_default();
    }

    /// Stops observing a producer.
    pub fn remove_producer(&mut self, key: K) {
        self.sums.remove(&key);
    }

    /// Whether a producer is observed.
    pub fn has_producer(&self, key: K) -> bool {
        self.sums.contains_key(&key)
    }

    /// Pauses (no reports, levels ignored) or resumes; a resumed observer starts a fresh
    /// interval.
    pub fn set_paused(&mut self, paused: bool, now: Instant) {
        if paused == self.paused {
            return;
        }
        self.paused = paused;
        self.clear_sums();
        if !paused {
            self.next_report = now + self.options.interval;
        }
    }

    /// Records the RFC 6464 level of one packet of an observed producer (0 = 0 dBov, the
    /// loudest; larger values clamp to 127, silence).
    pub fn record(&mut self, key: K, level: u8) {
        if self.paused {
            return;
        }
        if let Some(sum) = self.sums.get_mut(&key) {
            sum.total += u32::from(level.min(SILENT_LEVEL));
            sum.packets += 1;
        }
    }

    /// When [`AudioLevelObserver::poll`] next reports; `None` while paused.
    pub fn next_deadline(&self) -> Option<Instant> {
        (!self.paused).then_some(self.next_report)
    }

    /// The report of the interval that ended, when one is due and there is something to
    /// say (volumes, or the first silence).
    pub fn poll(&mut self, now: Instant) -> Option<AudioLevelReport<K>> {
        if self.paused || now < self.next_report {
            return None;
        }
        // Intervals do not drift with a late poll, nor pile up after a long stall.
        self.next_report += self.options.interval;
        if self.next_report <= now {
            self.next_report = now + self.options.interval;
        }
        let mut volumes: Vec<(K, i8)> = self
            .sums
            .iter()
            .filter(|(_, sum)| sum.packets > 0)
            .map(|(key, sum)| {
                let average = (sum.total + sum.packets / 2) / sum.packets;
                // At most 127, so it fits.
                (*key, -(average as i8))
            })
            .filter(|(_, volume)| *volume >= self.options.threshold)
            .collect();
        self.clear_sums();
        if volumes.is_empty() {
            if self.silent {
                return None;
            }
            self.silent = true;
            return Some(AudioLevelReport::Silence);
        }
        self.silent = false;
        volumes.sort_by_key(|entry| std::cmp::Reverse(entry.1));
        volumes.truncate(self.options.max_entries.max(1));
        Some(AudioLevelReport::Volumes(volumes))
    }

    fn clear_sums(&mut self) {
        for sum in self.sums.values_mut() {
            *sum = LevelSum::default();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const INTERVAL: Duration = Duration::from_millis(1000);

    fn observer(max_entries: usize, threshold: i8, now: Instant) -> AudioLevelObserver<u32> {
        AudioLevelObserver::new(
            AudioLevelOptions {
                max_entries,
                threshold,
                interval: INTERVAL,
            },
            now,
        )
    }

    #[test]
    fn the_loudest_producers_above_the_threshold_are_reported_in_order() {
        let start = Instant::now();
        let mut observer = observer(2, -70, start);
        for key in [1, 2, 3, 4] {
            observer.add_producer(key);
        }
        for _ in 0..50 {
            observer.record(1, 40); // -40 dBov
            observer.record(2, 20); // -20 dBov, the loudest
            observer.record(3, 60);
            observer.record(4, 90); // below the threshold
        }
        observer.record(5, 0); // not observed
        assert_eq!(observer.poll(start + INTERVAL / 2), None);
        assert_eq!(
            observer.poll(start + INTERVAL),
            Some(AudioLevelReport::Volumes(vec![(2, -20), (1, -40)]))
        );
    }

    #[test]
    fn silence_is_reported_once_per_silent_stretch() {
        let start = Instant::now();
        let mut observer = observer(1, -80, start);
        observer.add_producer(7);
        observer.record(7, 127);
        assert_eq!(
            observer.poll(start + INTERVAL),
            Some(AudioLevelReport::Silence)
        );
        assert_eq!(observer.poll(start + INTERVAL * 2), None);
        observer.record(7, 10);
        observer.record(7, 11);
        assert_eq!(
            observer.poll(start + INTERVAL * 3),
            Some(AudioLevelReport::Volumes(vec![(7, -11)]))
        );
        assert_eq!(
            observer.poll(start + INTERVAL * 4),
            Some(AudioLevelReport::Silence)
        );
    }

    #[test]
    fn a_paused_observer_neither_records_nor_reports() {
        let start = Instant::now();
        let mut observer = observer(1, -80, start);
        observer.add_producer(1);
        observer.set_paused(true, start);
        observer.record(1, 5);
        assert_eq!(observer.next_deadline(), None);
        assert_eq!(observer.poll(start + INTERVAL * 2), None);
        observer.set_paused(false, start + INTERVAL * 2);
        assert_eq!(observer.next_deadline(), Some(start + INTERVAL * 3));
        observer.record(1, 5);
        assert_eq!(
            observer.poll(start + INTERVAL * 3),
            Some(AudioLevelReport::Volumes(vec![(1, -5)]))
        );
    }

    proptest! {
        #[test]
        fn reports_are_bounded_sorted_and_above_the_threshold(
            records in proptest::collection::vec((0u32..6, any::<u8>()), 0..300),
            max_entries in 1usize..4,
            threshold in -127i8..=0,
        ) {
            let start = Instant::now();
            let mut observer = observer(max_entries, threshold, start);
            for key in 0..4 {
                observer.add_producer(key);
            }
            for (key, level) in records {
                observer.record(key, level);
            }
            if let Some(AudioLevelReport::Volumes(volumes)) = observer.poll(start + INTERVAL) {
                prop_assert!(!volumes.is_empty() && volumes.len() <= max_entries);
                prop_assert!(volumes.windows(2).all(|pair| pair[0].1 >= pair[1].1));
                prop_assert!(volumes.iter().all(|(key, volume)| *key < 4
                    && *volume >= threshold && *volume <= 0));
            }
        }
    }
}
