//! Dominant speaker identification (Volfin and Cohen, "Dominant speaker identification for
//! multipoint videoconferencing", 2013), the method of Jitsi and of mediasoup's
//! ActiveSpeakerObserver, sans-IO.
//!
//! Each speaker's recent audio levels are reduced to speech activity on three time scales:
//! immediate (the newest level, as one of 13 sub-bands of loudness), medium (how many of the
//! last five levels were loud) and long (how many of the last ten medium windows were active).
//! Each becomes a score: the log-likelihood of speech against noise under a binomial model.
//! Every interval the dominant speaker is challenged by the others; a challenger takes over
//! only when it beats the dominant speaker on all three scales (by the margins `C1`-`C3`),
//! which keeps short noises and interjections from stealing the floor.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

/// Sub-bands of the immediate scale, and window lengths of the medium and long ones.
const N1: u8 = 13;
const N2: u8 = 5;
const N3: u8 = 10;
/// Margins (log-likelihood ratios) a challenger must beat the dominant speaker by on the
/// immediate, medium and long scales.
const C1: f64 = 3.0;
const C2: f64 = 2.0;
const C3: f64 = 0.0;
/// Poisson priors of speech activity per scale (the paper's lambda values).
const LAMBDA_IMMEDIATE: f64 = 0.78;
const LAMBDA_MEDIUM: f64 = 24.0;
const LAMBDA_LONG: f64 = 47.0;
/// Scores never fall below this, so ratios stay finite.
const MIN_SCORE: f64 = 0.0005;
/// Loudness runs from 0 (silence) to 127 (0 dBov).
const MAX_LOUDNESS: u8 = 127;
/// Loudness per immediate sub-band.
const SUBBAND_WIDTH: u8 = MAX_LOUDNESS.div_ceil(N1);
/// A level counts toward the medium scale above this many sub-bands, and a medium window
/// toward the long scale above this many loud levels.
const MEDIUM_THRESHOLD: u8 = N1 / 2 - 1;
const LONG_THRESHOLD: u8 = N2 - 1;
/// Levels remembered per speaker: enough for the long scale.
const HISTORY: usize = (N3 as usize) * (N2 as usize);
/// A speaker that sent no level for this long is fed silence (senders stop sending, or send
/// less, when muted or with DTX).
const LEVEL_IDLE_TIMEOUT: Duration = Duration::from_millis(40);
/// Levels per noise floor window (15 s of 20 ms packets).
const NOISE_FLOOR_WINDOW: u16 = 750;

/// One speaker's level history and scores.
#[derive(Debug, Clone)]
struct Speaker {
    /// Loudness, newest first.
    levels: [u8; HISTORY],
    last_level: Instant,
    /// The adaptive noise floor: levels below it count as silence.
    noise_floor: u8,
    next_noise_floor: u8,
    next_noise_floor_levels: u16,
    /// Immediate, medium and long scores.
    scores: [f64; 3],
}

impl Speaker {
    fn new(now: Instant) -> Self {
        Speaker {
            levels: [0; HISTORY],
            last_level: now,
            noise_floor: 0,
            next_noise_floor: 0,
            next_noise_floor_levels: 0,
            scores: [MIN_SCORE; 3],
        }
    }

    fn record(&mut self, loudness: u8, now: Instant) {
        self.levels.copy_within(..HISTORY - 1, 1);
        self.levels[0] = loudness;
        self.last_level = now;
        self.update_noise_floor(loudness);
    }

    /// Tracks the quietest level heard, smoothed over long windows, as the noise floor.
    fn update_noise_floor(&mut self, loudness: u8) {
        if loudness == 0 {
            return;
        }
        if self.noise_floor == 0 || loudness < self.noise_floor {
            self.noise_floor = loudness;
            self.next_noise_floor = 0;
            self.next_noise_floor_levels = 0;
            return;
        }
        if self.next_noise_floor == 0 || loudness < self.next_noise_floor {
            self.next_noise_floor = loudness;
        }
        self.next_noise_floor_levels += 1;
        if self.next_noise_floor_levels >= NOISE_FLOOR_WINDOW {
            // The floor rises slowly: the geometric mean of the old and the window's.
            let floor = (f64::from(self.noise_floor) * f64::from(self.next_noise_floor)).sqrt();
            self.noise_floor = floor.clamp(0.0, f64::from(MAX_LOUDNESS)) as u8;
            self.next_noise_floor = 0;
            self.next_noise_floor_levels = 0;
        }
    }

    fn evaluate(&mut self) {
        let mut subbands = [0u8; HISTORY];
        for (subband, &loudness) in subbands.iter_mut().zip(&self.levels) {
            let loudness = if loudness < self.noise_floor {
                0
            } else {
                loudness
            };
            *subband = loudness / SUBBAND_WIDTH;
        }
        let mut mediums = [0u8; N3 as usize];
        for (medium, window) in mediums.iter_mut().zip(subbands.chunks(usize::from(N2))) {
            *medium = window
                .iter()
                .filter(|&&subband| subband > MEDIUM_THRESHOLD)
                .count() as u8;
        }
        let long = mediums
            .iter()
            .filter(|&&medium| medium > LONG_THRESHOLD)
            .count() as u8;
        self.scores = [
            speech_activity_score(subbands[0], N1, LAMBDA_IMMEDIATE),
            speech_activity_score(mediums[0], N2, LAMBDA_MEDIUM),
            speech_activity_score(long, N3, LAMBDA_LONG),
        ];
    }
}

/// ln C(n, k).
fn ln_binomial(n: u8, k: u8) -> f64 {
    let k = k.min(n - k);
    (0..k)
        .map(|i| (f64::from(n - i) / f64::from(i + 1)).ln())
        .sum()
}

/// The log-likelihood ratio of speech for `active` of `total` units active, under a
/// binomial model of speech (p = 1/2) against an exponential one of noise.
fn speech_activity_score(active: u8, total: u8, lambda: f64) -> f64 {
    let active = active.min(total);
    let half = 0.5f64.ln();
    let score = ln_binomial(total, active) + f64::from(total) * half - lambda.ln()
        + lambda * f64::from(active);
    score.max(MIN_SCORE)
}

/// Picks the dominant speaker among `K`s (the worker's producer slots).
#[derive(Debug)]
pub struct DominantSpeakerDetector<K> {
    interval: Duration,
    next_decision: Instant,
    speakers: HashMap<K, Speaker>,
    dominant: Option<K>,
}

impl<K: Copy + Eq + Hash + std::fmt::Debug> DominantSpeakerDetector<K> {
    /// A detector deciding every `interval`, first one interval after `now`.
    pub fn new(interval: Duration, now: Instant) -> Self {
        DominantSpeakerDetector {
            interval,
            next_decision: now + interval,
            speakers: HashMap::new(),
            dominant: None,
        }
    }

    /// Listens to a speaker.
    pub fn add_speaker(&mut self, key: K, now: Instant) {
        self.speakers
            .entry(key)
            .or_insert_with(|| Speaker::new(now));
    }

    /// Stops listening to a speaker; if it was dominant, nobody is until the next decision.
    pub fn remove_speaker(&mut self, key: K) {
        self.speakers.remove(&key);
        if self.dominant == Some(key) {
            self.dominant = None;
        }
    }

    /// Whether a speaker is listened to.
    pub fn has_speaker(&self, key: K) -> bool {
        self.speakers.contains_key(&key)
    }

    /// One RFC 6464 level (0 = loudest, 127 = silence; larger values clamp) of a speaker.
    pub fn record_level(&mut self, key: K, level: u8, now: Instant) {
        if let Some(speaker) = self.speakers.get_mut(&key) {
            speaker.record(MAX_LOUDNESS - level.min(MAX_LOUDNESS), now);
        }
    }

    /// When [`DominantSpeakerDetector::poll`] next decides.
    pub fn next_deadline(&self) -> Instant {
        self.next_decision
    }

    /// The current dominant speaker.
    pub fn dominant(&self) -> Option<K> {
        self.dominant
    }

    /// Decides when due; returns the new dominant speaker when it changed.
    pub fn poll(&mut self, now: Instant) -> Option<K> {
        if now < self.next_decision {
            return None;
        }
        self.next_decision = now + self.interval;
        for speaker in self.speakers.values_mut() {
            // Silence for the time a speaker sent nothing (a muted or DTX sender).
            let idle = now.saturating_duration_since(speaker.last_level);
            let missed = (idle.as_millis() / LEVEL_IDLE_TIMEOUT.as_millis()).min(HISTORY as u128);
            for _ in 0..missed {
                speaker.record(0, now);
            }
            speaker.evaluate();
        }
        let challenger = match self.dominant.and_then(|key| self.speakers.get(&key)) {
            None => self.loudest_now(),
            Some(dominant) => {
                let mut best: Option<(K, f64)> = None;
                for (&key, speaker) in &self.speakers {
                    if Some(key) == self.dominant {
                        continue;
                    }
                    let ratio =
                        |scale: usize| (speaker.scores[scale] / dominant.scores[scale]).ln();
                    let (immediate, medium, long) = (ratio(0), ratio(1), ratio(2));
                    let margin = best.map_or(C2, |(_, medium)| medium);
                    if immediate > C1 && medium > C2 && long > C3 && medium > margin {
                        best = Some((key, medium));
                    }
                }
                best.map(|(key, _)| key)
            }
        };
        match challenger {
            Some(key) if Some(key) != self.dominant => {
                self.dominant = Some(key);
                Some(key)
            }
            _ => None,
        }
    }

    /// With no dominant speaker, the one with the best long, then medium, then immediate
    /// score, if anyone is speaking at all.
    fn loudest_now(&self) -> Option<K> {
        self.speakers
            .iter()
            .filter(|(_, speaker)| speaker.scores.iter().any(|score| *score > MIN_SCORE))
            .max_by(|(_, a), (_, b)| {
                let key =
                    |speaker: &Speaker| (speaker.scores[2], speaker.scores[1], speaker.scores[0]);
                key(a)
                    .partial_cmp(&key(b))
                    .unwrap_or(std::cmp::Ordering::Equal)
            })
            .map(|(key, _)| *key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PACKET: Duration = Duration::from_millis(20);
    const INTERVAL: Duration = Duration::from_millis(300);
    /// RFC 6464 levels: speech around -20 dBov, silence.
    const TALKING: u8 = 20;
    const SILENT: u8 = 127;

    /// Feeds `seconds` of 20 ms levels from each speaker (`level(speaker, packet index)`),
    /// polling as a worker would; returns the changes.
    fn run(
        detector: &mut DominantSpeakerDetector<u8>,
        clock: &mut Instant,
        seconds: u32,
        level: impl Fn(u8, u32) -> u8,
        speakers: &[u8],
    ) -> Vec<u8> {
        let mut changes = Vec::new();
        for index in 0..seconds * 50 {
            *clock += PACKET;
            for &speaker in speakers {
                detector.record_level(speaker, level(speaker, index), *clock);
            }
            changes.extend(detector.poll(*clock));
        }
        changes
    }

    #[test]
    fn a_lone_talker_becomes_dominant_and_keeps_it_through_silence() {
        let mut clock = Instant::now();
        let mut detector = DominantSpeakerDetector::new(INTERVAL, clock);
        for speaker in [1, 2] {
            detector.add_speaker(speaker, clock);
        }
        let talk = |speaker, _| if speaker == 1 { TALKING } else { SILENT };
        assert_eq!(run(&mut detector, &mut clock, 2, talk, &[1, 2]), [1]);
        assert_eq!(
            run(&mut detector, &mut clock, 3, |_, _| SILENT, &[1, 2]),
            []
        );
        assert_eq!(detector.dominant(), Some(1));
    }

    #[test]
    fn the_floor_passes_when_another_talks_while_the_dominant_is_quiet() {
        let mut clock = Instant::now();
        let mut detector = DominantSpeakerDetector::new(INTERVAL, clock);
        for speaker in [1, 2] {
            detector.add_speaker(speaker, clock);
        }
        let first = |speaker, _| if speaker == 1 { TALKING } else { SILENT };
        run(&mut detector, &mut clock, 2, first, &[1, 2]);
        let second = |speaker, _| if speaker == 2 { TALKING } else { SILENT };
        assert_eq!(run(&mut detector, &mut clock, 3, second, &[1, 2]), [2]);
    }

    #[test]
    fn a_short_noise_does_not_steal_the_floor() {
        let mut clock = Instant::now();
        let mut detector = DominantSpeakerDetector::new(INTERVAL, clock);
        for speaker in [1, 2] {
            detector.add_speaker(speaker, clock);
        }
        let first = |speaker, _| if speaker == 1 { TALKING } else { SILENT };
        run(&mut detector, &mut clock, 2, first, &[1, 2]);
        // Speaker 2 coughs for 60 ms every second while 1 keeps talking.
        let cough = |speaker, index| match speaker {
            1 => TALKING,
            _ if index % 50 < 3 => 0,
            _ => SILENT,
        };
        assert_eq!(run(&mut detector, &mut clock, 4, cough, &[1, 2]), []);
        assert_eq!(detector.dominant(), Some(1));
    }

    #[test]
    fn a_speaker_that_stops_sending_counts_as_silent() {
        let mut clock = Instant::now();
        let mut detector = DominantSpeakerDetector::new(INTERVAL, clock);
        for speaker in [1, 2] {
            detector.add_speaker(speaker, clock);
        }
        run(&mut detector, &mut clock, 2, |_, _| TALKING, &[1]);
        assert_eq!(detector.dominant(), Some(1));
        // 1 goes quiet by sending nothing (DTX); 2 talks.
        assert_eq!(run(&mut detector, &mut clock, 3, |_, _| TALKING, &[2]), [2]);
        detector.remove_speaker(2);
        assert_eq!(detector.dominant(), None);
    }

    proptest! {
        #[test]
        fn the_dominant_speaker_is_always_one_being_listened_to(
            steps in proptest::collection::vec((0u8..4, 0u8..5, any::<u8>(), 0u64..200), 1..300),
        ) {
            let mut clock = Instant::now();
            let mut detector = DominantSpeakerDetector::new(INTERVAL, clock);
            for (action, speaker, level, advance) in steps {
                clock += Duration::from_millis(advance);
                match action {
                    0 => detector.add_speaker(speaker, clock),
                    1 => detector.remove_speaker(speaker),
                    _ => detector.record_level(speaker, level, clock),
                }
                if let Some(changed) = detector.poll(clock) {
                    prop_assert!(detector.has_speaker(changed));
                }
                if let Some(dominant) = detector.dominant() {
                    prop_assert!(detector.has_speaker(dominant));
                }
            }
        }
    }
}
