//! Which of a simulcast producer's streams (spatial layers) and which temporal layers a
//! consumer forwards, as mediasoup's SimulcastConsumer chooses them: the best layers the
//! producer is sending up to the consumer's preferred ones, a spatial switch only at a
//! keyframe of the new stream (the old one keeps flowing until then), a temporal up-switch only
//! at a layer sync point, and down-switches at once.

use std::time::{Duration, Instant};

/// A stream that sent nothing for this long is taken as stopped (senders drop their top
/// layers when bandwidth runs short).
pub const INACTIVE_AFTER: Duration = Duration::from_secs(1);

/// Spatial and temporal layer numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layers {
    /// The spatial layer: the simulcast stream (encoding) index.
    pub spatial: u8,
    /// The temporal layer.
    pub temporal: u8,
}

/// What a packet's layers are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketLayers {
    /// The stream it came on.
    pub spatial: u8,
    /// Its temporal layer (0 when the codec does not say).
    pub temporal: u8,
    /// A temporal layer sync point (VP8's Y bit): decodable from lower layers alone.
    pub layer_sync: bool,
    /// It starts a keyframe.
    pub keyframe: bool,
}

/// What to do with a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    /// Send it; `restart` when it starts a new stream (numbering and timing restart).
    Forward {
        /// The first packet after a spatial switch.
        restart: bool,
    },
    /// Not sent: another stream, or a temporal layer above the current one.
    Drop,
    /// Not sent, and a keyframe of this stream is needed to switch to it.
    NeedKeyFrame(u8),
}

/// What simulcast and SVC consumers keep alike: how many layers there are, the ones aimed at
/// and the ones being sent. The selectors dereference to it.
#[derive(Debug, Clone)]
pub struct LayerChoice {
    spatial_layers: u8,
    temporal_layers: u8,
    /// What the application asked for.
    preferred: Layers,
    /// The most the path to the endpoint takes (bandwidth allocation), if limited.
    limit: Option<Layers>,
    /// What the selector aims at: the preferred layers within the limit.
    aim: Layers,
    current: Option<Layers>,
    /// `current` changed since the owner last asked.
    changed: bool,
}

impl LayerChoice {
    /// Over `spatial_layers` x `temporal_layers` (at least one each), aiming at `preferred`.
    pub fn new(spatial_layers: u8, temporal_layers: u8, preferred: Layers) -> Self {
        let mut choice = LayerChoice {
            spatial_layers: spatial_layers.max(1),
            temporal_layers: temporal_layers.max(1),
            preferred,
            limit: None,
            aim: preferred,
            current: None,
            changed: false,
        };
        choice.set_preferred(preferred);
        choice
    }

    /// Changes the preferred layers (clamped to what exists); the selector switches when the
    /// stream allows it.
    pub fn set_preferred(&mut self, preferred: Layers) {
        self.preferred = Layers {
            spatial: preferred.spatial.min(self.spatial_layers - 1),
            temporal: preferred.temporal.min(self.temporal_layers - 1),
        };
        self.update_aim();
    }

    /// Limits the layers to what the path to the endpoint takes (`None`: no limit); the
    /// selector goes down at once and up, as ever, at a keyframe or sync point.
    pub fn set_limit(&mut self, limit: Option<Layers>) {
        self.limit = limit;
        self.update_aim();
    }

    fn update_aim(&mut self) {
        self.aim = match self.limit {
            Some(limit) if limit.spatial <= self.preferred.spatial => Layers {
                spatial: limit.spatial,
                temporal: limit.temporal.min(self.preferred.temporal),
            },
            _ => self.preferred,
        };
    }

    /// The preferred layers.
    pub fn preferred(&self) -> Layers {
        self.preferred
    }

    /// The bandwidth limit, if any.
    pub fn limit(&self) -> Option<Layers> {
        self.limit
    }

    /// The layers aimed at: the preferred ones within the limit.
    pub fn aim(&self) -> Layers {
        self.aim
    }

    /// The layers being sent, `None` before the first packet or when nothing can be sent.
    pub fn current(&self) -> Option<Layers> {
        self.current
    }

    /// Whether the current layers changed since the last call.
    pub fn take_change(&mut self) -> bool {
        std::mem::take(&mut self.changed)
    }

    /// Forget the current layers (pause, resume): the next start needs a keyframe.
    pub fn reset(&mut self) {
        if self.current.is_some() {
            self.current = None;
            self.changed = true;
        }
    }

    /// Sets the layers being sent (a change is reported once).
    pub(crate) fn set_current(&mut self, layers: Layers) {
        if self.current != Some(layers) {
            self.current = Some(layers);
            self.changed = true;
        }
    }
}

/// The simulcast layer selection state of one consumer.
#[derive(Debug, Clone)]
pub struct LayerSelector {
    choice: LayerChoice,
    /// When each stream last sent a packet.
    last_seen: Vec<Option<Instant>>,
}

impl std::ops::Deref for LayerSelector {
    type Target = LayerChoice;

    fn deref(&self) -> &LayerChoice {
        &self.choice
    }
}

impl std::ops::DerefMut for LayerSelector {
    fn deref_mut(&mut self) -> &mut LayerChoice {
        &mut self.choice
    }
}

impl LayerSelector {
    /// A selector over `spatial_layers` streams of `temporal_layers` each, aiming at
    /// `preferred` (clamped to what exists).
    pub fn new(spatial_layers: u8, temporal_layers: u8, preferred: Layers) -> Self {
        let choice = LayerChoice::new(spatial_layers, temporal_layers, preferred);
        LayerSelector {
            last_seen: vec![None; usize::from(choice.spatial_layers)],
            choice,
        }
    }

    fn active(&self, spatial: u8, now: Instant) -> bool {
        self.last_seen
            .get(usize::from(spatial))
            .copied()
            .flatten()
            .is_some_and(|seen| now.saturating_duration_since(seen) < INACTIVE_AFTER)
    }

    /// The stream to be on: the highest active one up to the aim, else the lowest active one
    /// above it; `None` when none is active.
    pub fn target_spatial(&self, now: Instant) -> Option<u8> {
        (0..=self.aim.spatial)
            .rev()
            .find(|&spatial| self.active(spatial, now))
            .or_else(|| {
                (self.aim.spatial + 1..self.spatial_layers)
                    .find(|&spatial| self.active(spatial, now))
            })
    }

    /// Decides about one packet.
    pub fn select(&mut self, packet: PacketLayers, now: Instant) -> Selection {
        let Some(seen) = self.last_seen.get_mut(usize::from(packet.spatial)) else {
            return Selection::Drop;
        };
        *seen = Some(now);
        let target = self.target_spatial(now);
        let current_spatial = self.current.map(|layers| layers.spatial);
        if Some(packet.spatial) != current_spatial {
            if Some(packet.spatial) != target {
                return Selection::Drop;
            }
            if !packet.keyframe {
                return Selection::NeedKeyFrame(packet.spatial);
            }
            if packet.temporal > self.aim.temporal {
                return Selection::Drop;
            }
            // A keyframe of the target stream: switch, with every temporal layer wanted
            // (a keyframe is a sync point for all of them).
            let temporal = self.aim.temporal;
            self.set_current(Layers {
                spatial: packet.spatial,
                temporal,
            });
            return Selection::Forward { restart: true };
        }
        let Some(mut current) = self.current else {
            return Selection::Drop;
        };
        if current.temporal > self.aim.temporal {
            current.temporal = self.aim.temporal;
            self.set_current(current);
        }
        if packet.temporal > current.temporal {
            // Up only where the higher layer does not need frames we did not send.
            let can_rise =
                packet.temporal <= self.aim.temporal && (packet.layer_sync || packet.keyframe);
            if !can_rise {
                return Selection::Drop;
            }
            current.temporal = packet.temporal;
            self.set_current(current);
        }
        // While another stream is the target, its own packets ask for its keyframe.
        Selection::Forward { restart: false }
    }

    /// Timers: when the current stream stopped and no other can take over, nothing is sent.
    pub fn on_tick(&mut self, now: Instant) {
        if self.target_spatial(now).is_none() {
            self.reset();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MS: Duration = Duration::from_millis(1);

    fn packet(spatial: u8, temporal: u8, keyframe: bool) -> PacketLayers {
        PacketLayers {
            spatial,
            temporal,
            layer_sync: false,
            keyframe,
        }
    }

    fn top() -> Layers {
        Layers {
            spatial: 2,
            temporal: 2,
        }
    }

    #[test]
    fn a_bandwidth_limit_lowers_the_aim_and_lifting_it_restores_the_preference() {
        let start = Instant::now();
        let mut selector = LayerSelector::new(3, 3, top());
        for spatial in 0..3 {
            selector.select(packet(spatial, 0, true), start);
        }
        assert_eq!(selector.current().map(|layers| layers.spatial), Some(2));
        selector.set_limit(Some(Layers {
            spatial: 1,
            temporal: 1,
        }));
        assert_eq!(selector.preferred(), top());
        assert_eq!(
            selector.aim(),
            Layers {
                spatial: 1,
                temporal: 1
            }
        );
        // The old stream flows until the new one's keyframe.
        let later = start + 10 * MS;
        assert_eq!(
            selector.select(packet(1, 0, false), later),
            Selection::NeedKeyFrame(1)
        );
        assert_eq!(
            selector.select(packet(2, 0, false), later),
            Selection::Forward { restart: false }
        );
        assert_eq!(
            selector.select(packet(1, 0, true), later),
            Selection::Forward { restart: true }
        );
        assert_eq!(selector.select(packet(1, 2, false), later), Selection::Drop);
        selector.set_limit(None);
        assert_eq!(selector.aim(), top());
        // A limit above the preference changes nothing.
        selector.set_preferred(Layers {
            spatial: 0,
            temporal: 2,
        });
        selector.set_limit(Some(top()));
        assert_eq!(selector.aim().spatial, 0);
    }

    #[test]
    fn starts_on_the_best_stream_seen_and_climbs_at_its_keyframe() {
        let start = Instant::now();
        let mut selector = LayerSelector::new(3, 3, top());
        // Only the lowest stream has been seen: start there, on its keyframe.
        assert_eq!(
            selector.select(packet(0, 0, false), start),
            Selection::NeedKeyFrame(0)
        );
        assert_eq!(
            selector.select(packet(0, 0, true), start),
            Selection::Forward { restart: true }
        );
        assert!(selector.take_change());
        // The top stream appears: keep the low one until the top one's keyframe.
        assert_eq!(
            selector.select(packet(2, 0, false), start + MS),
            Selection::NeedKeyFrame(2)
        );
        assert_eq!(
            selector.select(packet(0, 0, false), start + MS),
            Selection::Forward { restart: false }
        );
        assert_eq!(
            selector.select(packet(2, 0, true), start + 2 * MS),
            Selection::Forward { restart: true }
        );
        assert_eq!(
            selector.select(packet(0, 0, false), start + 3 * MS),
            Selection::Drop
        );
        assert_eq!(selector.current(), Some(top()));
    }

    #[test]
    fn temporal_layers_drop_at_once_and_rise_at_a_sync_point() {
        let start = Instant::now();
        let mut selector = LayerSelector::new(1, 3, top());
        selector.select(packet(0, 0, true), start);
        selector.set_preferred(Layers {
            spatial: 0,
            temporal: 0,
        });
        assert_eq!(selector.select(packet(0, 2, false), start), Selection::Drop);
        assert_eq!(selector.current().map(|layers| layers.temporal), Some(0));
        selector.set_preferred(top());
        assert_eq!(selector.select(packet(0, 1, false), start), Selection::Drop);
        let sync = PacketLayers {
            layer_sync: true,
            ..packet(0, 1, false)
        };
        assert_eq!(
            selector.select(sync, start),
            Selection::Forward { restart: false }
        );
        assert_eq!(selector.current().map(|layers| layers.temporal), Some(1));
    }

    #[test]
    fn a_stopped_stream_gives_way_to_an_active_one() {
        let start = Instant::now();
        let mut selector = LayerSelector::new(2, 1, top());
        selector.select(packet(0, 0, true), start);
        selector.select(packet(1, 0, true), start);
        assert_eq!(selector.current().map(|layers| layers.spatial), Some(1));
        // The top stream stops; the low one goes on and is taken back at its keyframe.
        let later = start + INACTIVE_AFTER + MS;
        assert_eq!(
            selector.select(packet(0, 0, false), later),
            Selection::NeedKeyFrame(0)
        );
        assert_eq!(
            selector.select(packet(0, 0, true), later),
            Selection::Forward { restart: true }
        );
        // Everything stops: nothing can be sent.
        selector.on_tick(later + INACTIVE_AFTER);
        assert_eq!(selector.current(), None);
    }

    proptest! {
        /// A spatial switch happens only at a keyframe of the new stream, and forwarded
        /// packets are always of the current stream and within its temporal layers.
        #[test]
        fn switches_only_at_keyframes(
            steps in proptest::collection::vec(
                (0u8..3, 0u8..3, any::<bool>(), any::<bool>(), 0u8..8, 0u64..400),
                1..400,
            ),
        ) {
            let start = Instant::now();
            let mut now = start;
            let mut selector = LayerSelector::new(3, 3, top());
            for (spatial, temporal, keyframe, layer_sync, preference, advance) in steps {
                now += Duration::from_millis(advance);
                if preference < 3 {
                    selector.set_preferred(Layers { spatial: preference, temporal: 2 - preference });
                }
                let before = selector.current();
                let packet = PacketLayers { spatial, temporal, layer_sync, keyframe };
                let selection = selector.select(packet, now);
                let after = selector.current();
                if before.map(|layers| layers.spatial) != after.map(|layers| layers.spatial) {
                    prop_assert!(keyframe);
                    prop_assert_eq!(selection, Selection::Forward { restart: true });
                }
                if let Selection::Forward { .. } = selection {
                    let current = after.unwrap();
                    prop_assert_eq!(current.spatial, spatial);
                    prop_assert!(temporal <= current.temporal);
                    prop_assert!(current.temporal <= selector.preferred().temporal);
                }
            }
        }
    }
}
