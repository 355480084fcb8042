//! The VP9 payload descriptor (RFC 9628 §4.2), read to forward spatial and temporal layers
//! of SVC streams and to spot key frames.
//!
//! ```text
//!       0 1 2 3 4 5 6 7
//!      +-+-+-+-+-+-+-+-+
//!      |I|P|L|F|B|E|V|Z|  required
//!      +-+-+-+-+-+-+-+-+
//!  I:  |M| PICTURE ID  |  if I; a second byte when M
//!      +-+-+-+-+-+-+-+-+
//!  L:  | TID |U| SID |D|  if L
//!      +-+-+-+-+-+-+-+-+
//!      |   TL0PICIDX   |  if L and not F (non-flexible mode)
//!      +-+-+-+-+-+-+-+-+
//!  P,F:| P_DIFF      |N|  up to 3 times, if P and F (flexible mode)
//!      +-+-+-+-+-+-+-+-+
//!  V:  | SS ...        |  scalability structure, if V
//!      +-+-+-+-+-+-+-+-+
//! ```

pub use super::vp8::PictureIdWidth;

const I_BIT: u8 = 0x80;
const P_BIT: u8 = 0x40;
const L_BIT: u8 = 0x20;
const F_BIT: u8 = 0x10;
const B_BIT: u8 = 0x08;
const E_BIT: u8 = 0x04;
const V_BIT: u8 = 0x02;
const Z_BIT: u8 = 0x01;
const M_BIT: u8 = 0x80;
/// At most 3 reference indices per picture (RFC 9628 §4.2).
const MAX_P_DIFFS: usize = 3;
/// N_S is 3 bits: up to 8 spatial layers.
const MAX_SPATIAL_LAYERS: usize = 8;

/// Why a VP9 payload descriptor could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Vp9Error {
    /// The payload ends inside the descriptor.
    #[error("VP9 payload descriptor truncated: {field} needs {needed} bytes, got {got}")]
    Truncated {
        /// The field that is cut off.
        field: &'static str,
        /// Bytes needed up to the end of that field.
        needed: usize,
        /// Payload length.
        got: usize,
    },
    /// The third P_DIFF still announces another one.
    #[error("VP9 payload descriptor announces more than 3 reference indices")]
    TooManyReferences,
}

/// The layer indices of a picture (L bit).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Vp9LayerIndices {
    /// TID: temporal layer.
    pub temporal_id: u8,
    /// U: switching up point: from here on, higher temporal layers can be added.
    pub switching_up_point: bool,
    /// SID: spatial layer.
    pub spatial_id: u8,
    /// D: inter-layer dependency: the picture depends on the lower spatial layer.
    pub inter_layer_dependency: bool,
}

/// The scalability structure (V bit), sent with key frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Vp9ScalabilityStructure {
    /// N_S + 1: number of spatial layers.
    pub spatial_layers: u8,
    resolutions: [(u16, u16); MAX_SPATIAL_LAYERS],
    has_resolutions: bool,
    /// N_G: pictures in the group of pictures description, when G is set.
    pub picture_group_len: Option<u8>,
}

impl Vp9ScalabilityStructure {
    /// Width and height of each spatial layer, when Y is set.
    pub fn resolutions(&self) -> Option<&[(u16, u16)]> {
        self.has_resolutions
            .then(|| self.resolutions.get(..usize::from(self.spatial_layers)))
            .flatten()
    }
}

/// A parsed VP9 payload descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Vp9PayloadDescriptor {
    /// P: inter-picture predicted (depends on earlier pictures).
    pub inter_picture_predicted: bool,
    /// F: flexible mode (references as P_DIFFs rather than a scalability structure).
    pub flexible_mode: bool,
    /// B: the packet starts a layer frame.
    pub start_of_frame: bool,
    /// E: the packet ends a layer frame.
    pub end_of_frame: bool,
    /// Z: the frame is not used for inter-layer prediction by the next spatial layer.
    pub not_inter_layer_reference: bool,
    /// The picture id and its width, when I is set.
    pub picture_id: Option<(u16, PictureIdWidth)>,
    /// Layer indices, when L is set.
    pub layer: Option<Vp9LayerIndices>,
    /// TL0PICIDX, in non-flexible mode with L.
    pub tl0_pic_idx: Option<u8>,
    p_diffs: [u8; MAX_P_DIFFS],
    p_diff_count: u8,
    /// The scalability structure, when V is set.
    pub scalability_structure: Option<Vp9ScalabilityStructure>,
    /// Length of the descriptor; the VP9 payload starts here.
    pub len: usize,
    /// The packet starts a key frame: not inter-picture predicted, start of a frame, and
    /// spatial layer 0.
    pub is_keyframe: bool,
}

/// A cursor over the descriptor bytes that reports the truncated field.
struct Reader<'a> {
    payload: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn byte(&mut self, field: &'static str) -> Result<u8, Vp9Error> {
        let byte = self
            .payload
            .get(self.pos)
            .copied()
            .ok_or(Vp9Error::Truncated {
                field,
                needed: self.pos + 1,
                got: self.payload.len(),
            })?;
        self.pos += 1;
        Ok(byte)
    }

    fn u16(&mut self, field: &'static str) -> Result<u16, Vp9Error> {
        Ok(u16::from_be_bytes([self.byte(field)?, self.byte(field)?]))
    }
}

impl Vp9PayloadDescriptor {
    /// Reads the descriptor at the start of an RTP payload.
    pub fn parse(payload: &[u8]) -> Result<Self, Vp9Error> {
        let mut reader = Reader { payload, pos: 0 };
        let flags = reader.byte("required byte")?;
        let flexible_mode = flags & F_BIT != 0;
        let inter_picture_predicted = flags & P_BIT != 0;

        let picture_id = if flags & I_BIT != 0 {
            let high = reader.byte("picture id")?;
            Some(if high & M_BIT != 0 {
                let low = reader.byte("15-bit picture id")?;
                (
                    (u16::from(high & 0x7F) << 8) | u16::from(low),
                    PictureIdWidth::Bits15,
                )
            } else {
                (u16::from(high), PictureIdWidth::Bits7)
            })
        } else {
            None
        };

        let mut layer = None;
        let mut tl0_pic_idx = None;
        if flags & L_BIT != 0 {
            let indices = reader.byte("layer indices")?;
            layer = Some(Vp9LayerIndices {
                temporal_id: indices >> 5,
                switching_up_point: indices & 0x10 != 0,
                spatial_id: (indices >> 1) & 0x07,
                inter_layer_dependency: indices & 0x01 != 0,
            });
            if !flexible_mode {
                tl0_pic_idx = Some(reader.byte("TL0PICIDX")?);
            }
        }

        let mut p_diffs = [0; MAX_P_DIFFS];
        let mut p_diff_count = 0;
        if flexible_mode && inter_picture_predicted {
            loop {
                let slot = p_diffs
                    .get_mut(usize::from(p_diff_count))
                    .ok_or(Vp9Error::TooManyReferences)?;
                let p_diff = reader.byte("P_DIFF")?;
                *slot = p_diff >> 1;
                p_diff_count += 1;
                if p_diff & 0x01 == 0 {
                    break;
                }
            }
        }

        let scalability_structure = if flags & V_BIT != 0 {
            Some(parse_scalability_structure(&mut reader)?)
        } else {
            None
        };

        let start_of_frame = flags & B_BIT != 0;
        let spatial_id = layer.map_or(0, |l| l.spatial_id);
        Ok(Vp9PayloadDescriptor {
            inter_picture_predicted,
            flexible_mode,
            start_of_frame,
            end_of_frame: flags & E_BIT != 0,
            not_inter_layer_reference: flags & Z_BIT != 0,
            picture_id,
            layer,
            tl0_pic_idx,
            p_diffs,
            p_diff_count,
            scalability_structure,
            len: reader.pos,
            is_keyframe: !inter_picture_predicted && start_of_frame && spatial_id == 0,
        })
    }

    /// The reference picture id differences (P_DIFF), in flexible mode.
    pub fn reference_diffs(&self) -> &[u8] {
        self.p_diffs
            .get(..usize::from(self.p_diff_count))
            .unwrap_or(&[])
    }
}

/// Reads the scalability structure (RFC 9628 §4.2.1).
fn parse_scalability_structure(
    reader: &mut Reader<'_>,
) -> Result<Vp9ScalabilityStructure, Vp9Error> {
    let header = reader.byte("scalability structure")?;
    let spatial_layers = (header >> 5) + 1;
    let has_resolutions = header & 0x10 != 0;
    let has_picture_group = header & 0x08 != 0;
    let mut resolutions = [(0, 0); MAX_SPATIAL_LAYERS];
    if has_resolutions {
        for resolution in resolutions.iter_mut().take(usize::from(spatial_layers)) {
            *resolution = (reader.u16("layer width")?, reader.u16("layer height")?);
        }
    }
    let mut picture_group_len = None;
    if has_picture_group {
        let count = reader.byte("N_G")?;
        for _ in 0..count {
            let picture = reader.byte("picture group entry")?;
            let references = (picture >> 2) & 0x03;
            for _ in 0..references {
                reader.byte("picture group P_DIFF")?;
            }
        }
        picture_group_len = Some(count);
    }
    Ok(Vp9ScalabilityStructure {
        spatial_layers,
        resolutions,
        has_resolutions,
        picture_group_len,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn non_flexible_keyframe_with_scalability_structure() {
        let payload = [
            0xAA, // I, L, B, V (P clear)
            0x81, 0x23, // 15-bit picture id 0x0123
            0x30, // TID 1, U, SID 0, D 0
            0x07, // TL0PICIDX
            0x38, // N_S = 1 (2 layers), Y, G
            0x01, 0x40, 0x00, 0xB4, // 320x180
            0x02, 0x80, 0x01, 0x68, // 640x360
            0x01, // N_G = 1
            0x04, 0x01, // TID 0 R 1, P_DIFF 1
            0xFF, // VP9 payload
        ];
        let d = Vp9PayloadDescriptor::parse(&payload).unwrap();
        assert!(d.is_keyframe);
        assert!(!d.flexible_mode);
        assert_eq!(d.picture_id, Some((0x0123, PictureIdWidth::Bits15)));
        assert_eq!(
            d.layer,
            Some(Vp9LayerIndices {
                temporal_id: 1,
                switching_up_point: true,
                spatial_id: 0,
                inter_layer_dependency: false
            })
        );
        assert_eq!(d.tl0_pic_idx, Some(7));
        let ss = d.scalability_structure.unwrap();
        assert_eq!(ss.spatial_layers, 2);
        assert_eq!(ss.resolutions(), Some(&[(320, 180), (640, 360)][..]));
        assert_eq!(ss.picture_group_len, Some(1));
        assert_eq!(d.len, payload.len() - 1);
    }

    #[test]
    fn flexible_mode_references() {
        // I (7-bit id 5), P, L, F, E; SID 1 D; P_DIFFs 1 (N) and 2.
        let payload = [0xF4, 0x05, 0x03, 0x03, 0x04, 0xAA];
        let d = Vp9PayloadDescriptor::parse(&payload).unwrap();
        assert!(!d.is_keyframe);
        assert!(d.end_of_frame);
        assert_eq!(d.tl0_pic_idx, None);
        assert_eq!(d.layer.unwrap().spatial_id, 1);
        assert!(d.layer.unwrap().inter_layer_dependency);
        assert_eq!(d.reference_diffs(), &[1, 2]);
        assert_eq!(d.len, 5);
        assert_eq!(
            Vp9PayloadDescriptor::parse(&[0x50, 0x03, 0x03, 0x03]),
            Err(Vp9Error::TooManyReferences)
        );
    }

    #[test]
    fn upper_spatial_layer_start_is_not_a_keyframe() {
        // L, B; SID 1, non-flexible: TL0PICIDX follows.
        let d = Vp9PayloadDescriptor::parse(&[0x28, 0x02, 0x00]).unwrap();
        assert!(!d.is_keyframe);
        assert!(Vp9PayloadDescriptor::parse(&[0x08]).unwrap().is_keyframe);
        assert!(!Vp9PayloadDescriptor::parse(&[0x48]).unwrap().is_keyframe);
    }

    #[test]
    fn truncation_is_reported() {
        assert!(matches!(
            Vp9PayloadDescriptor::parse(&[]),
            Err(Vp9Error::Truncated {
                needed: 1,
                got: 0,
                ..
            })
        ));
        assert_eq!(
            Vp9PayloadDescriptor::parse(&[0x20, 0x00]),
            Err(Vp9Error::Truncated {
                field: "TL0PICIDX",
                needed: 3,
                got: 2
            })
        );
        assert!(Vp9PayloadDescriptor::parse(&[0x02, 0x10, 0x01]).is_err());
    }

    proptest! {
        #[test]
        fn parse_never_panics(payload in proptest::collection::vec(any::<u8>(), 0..40)) {
            if let Ok(d) = Vp9PayloadDescriptor::parse(&payload) {
                prop_assert!(d.len <= payload.len());
                prop_assert!(d.reference_diffs().len() <= 3);
                if let Some(ss) = d.scalability_structure {
                    let _ = ss.resolutions();
                }
            }
        }
    }
}
