//! A router's RTP observers (mediasoup's AudioLevelObserver and ActiveSpeakerObserver):
//! which producers each watches, the audio levels the router feeds them, and their reports.

use std::time::{Duration, Instant};

use super::arena::ProducerIndex;
use crate::rtc::audio_level_observer::{AudioLevelObserver, AudioLevelOptions, AudioLevelReport};
use crate::rtc::dominant_speaker::DominantSpeakerDetector;
use crate::rtc::request_error::RequestError;

/// What kind of observer to create.
#[derive(Debug, Clone, Copy)]
pub enum RtpObserverOptions {
    /// The loudest producers each interval.
    AudioLevel(AudioLevelOptions),
    /// The dominant speaker, decided each interval.
    ActiveSpeaker {
        /// How often it decides.
        interval: Duration,
    },
}

/// What an observer reports, by producer (the router's index inside, ids outside).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RtpObserverReport<K> {
    /// `volumes`: the loudest producers, loudest first, with their volume in dBov.
    Volumes(Vec<(K, i8)>),
    /// `silence`.
    Silence,
    /// `dominantspeaker`: the producer now speaking most.
    DominantSpeaker(K),
}

#[derive(Debug)]
enum Observer {
    AudioLevel(AudioLevelObserver<ProducerIndex>),
    ActiveSpeaker {
        detector: DominantSpeakerDetector<ProducerIndex>,
        paused: bool,
    },
}

#[derive(Debug)]
struct ObserverEntry {
    id: String,
    observer: Observer,
}

/// Every RTP observer of a router.
#[derive(Debug, Default)]
pub struct RtpObservers {
    observers: Vec<ObserverEntry>,
}

impl RtpObservers {
    fn entry_mut(&mut self, id: &str) -> Result<&mut ObserverEntry, RequestError> {
        self.observers
            .iter_mut()
            .find(|entry| entry.id == id)
            .ok_or_else(|| RequestError::not_found("RTP observer", id))
    }

    /// The observers' ids.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.observers.iter().map(|entry| entry.id.as_str())
    }

    /// Creates an observer watching no producer yet.
    pub fn create(
        &mut self,
        id: String,
        options: RtpObserverOptions,
        now: Instant,
    ) -> Result<(), RequestError> {
        if self.observers.iter().any(|entry| entry.id == id) {
            return Err(RequestError::invalid(
                "rtp_observer_id",
                format!("an RTP observer with id \"{id}\" already exists"),
            ));
        }
        let observer = match options {
            RtpObserverOptions::AudioLevel(options) => {
                Observer::AudioLevel(AudioLevelObserver::new(options, now))
            }
            RtpObserverOptions::ActiveSpeaker { interval } => Observer::ActiveSpeaker {
                detector: DominantSpeakerDetector::new(interval, now),
                paused: false,
            },
        };
        self.observers.push(ObserverEntry { id, observer });
        Ok(())
    }

    /// Closes an observer.
    pub fn close(&mut self, id: &str) -> Result<(), RequestError> {
        let before = self.observers.len();
        self.observers.retain(|entry| entry.id != id);
        if self.observers.len() == before {
            return Err(RequestError::not_found("RTP observer", id));
        }
        Ok(())
    }

    /// Pauses or resumes an observer.
    pub fn set_paused(&mut self, id: &str, paused: bool, now: Instant) -> Result<(), RequestError> {
        match &mut self.entry_mut(id)?.observer {
            Observer::AudioLevel(observer) => observer.set_paused(paused, now),
            Observer::ActiveSpeaker {
                paused: is_paused, ..
            } => *is_paused = paused,
        }
        Ok(())
    }

    /// Starts watching producer `producer`.
    pub fn add_producer(
        &mut self,
        id: &str,
        producer: ProducerIndex,
        now: Instant,
    ) -> Result<(), RequestError> {
        match &mut self.entry_mut(id)?.observer {
            Observer::AudioLevel(observer) => observer.add_producer(producer),
            Observer::ActiveSpeaker { detector, .. } => detector.add_speaker(producer, now),
        }
        Ok(())
    }

    /// Stops watching producer `producer`.
    pub fn remove_producer(
        &mut self,
        id: &str,
        producer: ProducerIndex,
    ) -> Result<(), RequestError> {
        match &mut self.entry_mut(id)?.observer {
            Observer::AudioLevel(observer) => observer.remove_producer(producer),
            Observer::ActiveSpeaker { detector, .. } => detector.remove_speaker(producer),
        }
        Ok(())
    }

    /// A producer closed: every observer forgets it (its index will be reused).
    pub fn forget_producer(&mut self, producer: ProducerIndex) {
        for entry in &mut self.observers {
            match &mut entry.observer {
                Observer::AudioLevel(observer) => observer.remove_producer(producer),
                Observer::ActiveSpeaker { detector, .. } => detector.remove_speaker(producer),
            }
        }
    }

    /// The audio level of one packet of `producer`, to every observer watching it.
    pub fn record(&mut self, producer: ProducerIndex, level: u8, now: Instant) {
        for entry in &mut self.observers {
            match &mut entry.observer {
                Observer::AudioLevel(observer) => observer.record(producer, level),
                Observer::ActiveSpeaker { detector, paused } => {
                    if !*paused {
                        detector.record_level(producer, level, now);
                    }
                }
            }
        }
    }

    /// When [`RtpObservers::poll`] next has a report to make.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.observers
            .iter()
            .filter_map(|entry| match &entry.observer {
                Observer::AudioLevel(observer) => observer.next_deadline(),
                Observer::ActiveSpeaker { detector, paused } => {
                    (!paused).then(|| detector.next_deadline())
                }
            })
            .min()
    }

    /// The reports due now, as (observer id, report) in `out`.
    pub fn poll(
        &mut self,
        now: Instant,
        out: &mut Vec<(String, RtpObserverReport<ProducerIndex>)>,
    ) {
        for entry in &mut self.observers {
            let report = match &mut entry.observer {
                Observer::AudioLevel(observer) => match observer.poll(now) {
                    Some(AudioLevelReport::Volumes(volumes)) => {
                        Some(RtpObserverReport::Volumes(volumes))
                    }
                    Some(AudioLevelReport::Silence) => Some(RtpObserverReport::Silence),
                    None => None,
                },
                Observer::ActiveSpeaker { detector, paused } => {
                    if *paused {
                        None
                    } else {
                        detector.poll(now).map(RtpObserverReport::DominantSpeaker)
                    }
                }
            };
            if let Some(report) = report {
                out.push((entry.id.clone(), report));
            }
        }
    }
}
