//! Which spatial and temporal layers of one SVC stream (VP9) a consumer forwards, as
//! mediasoup's SvcConsumer chooses them: layers above the current ones are dropped, a spatial
//! layer is added where its frame does not depend on earlier pictures (a keyframe, for K-SVC
//! modes such as `L3T3_KEY`), temporal layers rise at switching-up points, and changes down
//! apply at the next picture. The last packet of the highest forwarded spatial layer of a
//! picture carries the marker bit, as the receiver expects of a picture's last packet.

use crate::rtc::layer_selector::{LayerChoice, Layers};

/// What a packet's layers are (from the VP9 payload descriptor).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SvcPacket {
    /// Spatial layer (SID).
    pub spatial: u8,
    /// Temporal layer (TID).
    pub temporal: u8,
    /// U: a switching-up point to this temporal layer.
    pub switching_up_point: bool,
    /// B: it starts its layer frame.
    pub starts_layer_frame: bool,
    /// E: it ends its layer frame.
    pub ends_layer_frame: bool,
    /// P: its layer frame references earlier pictures.
    pub inter_picture_predicted: bool,
}

impl SvcPacket {
    fn starts_picture(&self) -> bool {
        self.starts_layer_frame && self.spatial == 0
    }

    fn is_keyframe(&self) -> bool {
        self.starts_picture() && !self.inter_picture_predicted
    }
}

/// What to do with a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SvcSelection {
    /// Send it, with this marker bit.
    Forward {
        /// The marker bit to send.
        marker: bool,
    },
    /// Not sent: above the current layers.
    Drop,
    /// Not sent: a keyframe is needed (to start, or to add a spatial layer).
    NeedKeyFrame,
}

/// The SVC layer selection state of one consumer.
#[derive(Debug, Clone)]
pub struct SvcSelector {
    choice: LayerChoice,
}

impl std::ops::Deref for SvcSelector {
    type Target = LayerChoice;

    fn deref(&self) -> &LayerChoice {
        &self.choice
    }
}

impl std::ops::DerefMut for SvcSelector {
    fn deref_mut(&mut self) -> &mut LayerChoice {
        &mut self.choice
    }
}

impl SvcSelector {
    /// A selector over `spatial_layers` x `temporal_layers`, aiming at `preferred`.
    pub fn new(spatial_layers: u8, temporal_layers: u8, preferred: Layers) -> Self {
        SvcSelector {
            choice: LayerChoice::new(spatial_layers, temporal_layers, preferred),
        }
    }

    /// Decides about one packet; `original_marker` is the marker bit it came with.
    pub fn select(&mut self, packet: SvcPacket, original_marker: bool) -> SvcSelection {
        let target = self.aim();
        let mut current = match self.current() {
            Some(current) => current,
            None if packet.is_keyframe() => {
                self.set_current(target);
                target
            }
            None => return SvcSelection::NeedKeyFrame,
        };
        if packet.starts_picture() {
            // Changes down, and temporal changes up at a switching-up point, take effect
            // from the start of a picture.
            current.spatial = current.spatial.min(target.spatial);
            if target.temporal < current.temporal {
                current.temporal = target.temporal;
            }
        }
        if packet.temporal > current.temporal
            && packet.temporal <= target.temporal
            && (packet.switching_up_point || packet.is_keyframe())
        {
            current.temporal = packet.temporal;
        }
        let mut wants_key_frame = false;
        if packet.spatial > current.spatial && packet.spatial <= target.spatial {
            // A layer frame that does not reference earlier pictures can be decoded from
            // this picture's lower layers alone.
            if packet.starts_layer_frame && !packet.inter_picture_predicted {
                current.spatial = packet.spatial;
            } else {
                wants_key_frame = true;
            }
        }
        self.set_current(current);
        if packet.spatial > current.spatial || packet.temporal > current.temporal {
            return if wants_key_frame {
                SvcSelection::NeedKeyFrame
            } else {
                SvcSelection::Drop
            };
        }
        let marker = if packet.spatial == current.spatial {
            packet.ends_layer_frame || original_marker
        } else {
            false
        };
        SvcSelection::Forward { marker }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn packet(spatial: u8, temporal: u8, start: bool, end: bool, predicted: bool) -> SvcPacket {
        SvcPacket {
            spatial,
            temporal,
            switching_up_point: false,
            starts_layer_frame: start,
            ends_layer_frame: end,
            inter_picture_predicted: predicted,
        }
    }

    /// One picture of a 3-spatial-layer K-SVC stream: one packet per layer frame.
    fn picture(key: bool, temporal: u8) -> [SvcPacket; 3] {
        [0, 1, 2].map(|spatial| packet(spatial, temporal, true, true, !key))
    }

    fn layers(spatial: u8, temporal: u8) -> Layers {
        Layers { spatial, temporal }
    }

    #[test]
    fn starts_on_a_keyframe_and_marks_the_top_forwarded_layer() {
        let mut selector = SvcSelector::new(3, 3, layers(1, 2));
        assert_eq!(
            selector.select(picture(false, 0)[0], false),
            SvcSelection::NeedKeyFrame
        );
        let key = picture(true, 0);
        assert_eq!(
            selector.select(key[0], false),
            SvcSelection::Forward { marker: false }
        );
        assert_eq!(
            selector.select(key[1], false),
            SvcSelection::Forward { marker: true }
        );
        assert_eq!(selector.select(key[2], true), SvcSelection::Drop);
        assert_eq!(selector.current(), Some(layers(1, 2)));
    }

    #[test]
    fn spatial_layers_are_added_at_a_keyframe_and_dropped_at_the_next_picture() {
        let mut selector = SvcSelector::new(3, 1, layers(0, 0));
        for packet in picture(true, 0) {
            selector.select(packet, packet.spatial == 2);
        }
        selector.set_preferred(layers(2, 0));
        // K-SVC: upper layers of a delta picture reference earlier pictures of their layer.
        let delta = picture(false, 0);
        assert_eq!(
            selector.select(delta[0], false),
            SvcSelection::Forward { marker: true }
        );
        assert_eq!(selector.select(delta[1], false), SvcSelection::NeedKeyFrame);
        let key = picture(true, 0);
        for packet in &key[..2] {
            assert!(matches!(
                selector.select(*packet, false),
                SvcSelection::Forward { .. }
            ));
        }
        assert_eq!(
            selector.select(key[2], true),
            SvcSelection::Forward { marker: true }
        );
        selector.set_preferred(layers(0, 0));
        let delta = picture(false, 0);
        assert_eq!(
            selector.select(delta[0], false),
            SvcSelection::Forward { marker: true }
        );
        assert_eq!(selector.select(delta[1], false), SvcSelection::Drop);
    }

    #[test]
    fn temporal_layers_rise_at_switching_up_points() {
        let mut selector = SvcSelector::new(1, 3, layers(0, 0));
        selector.select(packet(0, 0, true, true, false), true);
        selector.set_preferred(layers(0, 2));
        assert_eq!(
            selector.select(packet(0, 2, true, true, true), true),
            SvcSelection::Drop
        );
        let switch = SvcPacket {
            switching_up_point: true,
            ..packet(0, 1, true, true, true)
        };
        assert_eq!(
            selector.select(switch, true),
            SvcSelection::Forward { marker: true }
        );
        assert_eq!(selector.current(), Some(layers(0, 1)));
    }

    proptest! {
        /// Forwarded packets are always within the current layers, the current layers
        /// within the preferred ones, and a spatial layer is added only where its frame does
        /// not reference earlier pictures.
        #[test]
        fn forwarded_packets_stay_within_the_layers(
            steps in proptest::collection::vec(
                (0u8..3, 0u8..3, any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>(), 0u8..12),
                1..300,
            ),
        ) {
            let mut selector = SvcSelector::new(3, 3, layers(2, 2));
            for (spatial, temporal, up, start, end, predicted, preference) in steps {
                if preference < 9 {
                    selector.set_preferred(layers(preference / 3, preference % 3));
                }
                let before = selector.current();
                let packet = SvcPacket {
                    spatial,
                    temporal,
                    switching_up_point: up,
                    starts_layer_frame: start,
                    ends_layer_frame: end,
                    inter_picture_predicted: predicted,
                };
                let selection = selector.select(packet, false);
                let after = selector.current();
                if let (Some(before), Some(after)) = (before, after) {
                    if after.spatial > before.spatial {
                        prop_assert!(start && !predicted);
                    }
                }
                if let SvcSelection::Forward { .. } = selection {
                    let current = after.unwrap();
                    prop_assert!(spatial <= current.spatial && temporal <= current.temporal);
                }
                if start && spatial == 0 {
                    if let Some(current) = after {
                        // Changes down apply from a picture's start.
                        prop_assert!(current.spatial <= selector.preferred().spatial);
                        prop_assert!(current.temporal <= selector.preferred().temporal);
                    }
                }
            }
        }
    }
}
