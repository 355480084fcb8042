//! The VP8 payload descriptor (RFC 7741 §4.2), read for forwarding decisions (key frames,
//! temporal layers) and rewritten in place (picture id, TL0PICIDX) when a consumer switches
//! between simulcast streams.
//!
//! ```text
//!       0 1 2 3 4 5 6 7
//!      +-+-+-+-+-+-+-+-+
//!      |X|R|N|S|R| PID |  required
//!      +-+-+-+-+-+-+-+-+
//!  X:  |I|L|T|K| RSV   |  if X
//!      +-+-+-+-+-+-+-+-+
//!  I:  |M| PictureID   |  if I; a second byte when M
//!      +-+-+-+-+-+-+-+-+
//!  L:  |   TL0PICIDX   |  if L
//!      +-+-+-+-+-+-+-+-+
//!  T/K:|TID|Y| KEYIDX  |  if T or K
//!      +-+-+-+-+-+-+-+-+
//! ```

const X_BIT: u8 = 0x80;
const N_BIT: u8 = 0x20;
const S_BIT: u8 = 0x10;
const PID_MASK: u8 = 0x07;
const I_BIT: u8 = 0x80;
const L_BIT: u8 = 0x40;
const T_BIT: u8 = 0x20;
const K_BIT: u8 = 0x10;
const M_BIT: u8 = 0x80;
/// The P bit of the VP8 payload header (RFC 7741 §4.3): 0 for a key frame.
const INVERSE_KEY_FRAME_BIT: u8 = 0x01;

/// Why a VP8 payload descriptor could not be read or rewritten.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Vp8Error {
    /// The payload ends inside the descriptor.
    #[error("VP8 payload descriptor truncated: {field} needs {needed} bytes, got {got}")]
    Truncated {
        /// The field that is cut off.
        field: &'static str,
        /// Bytes needed up to the end of that field.
        needed: usize,
        /// Payload length.
        got: usize,
    },
    /// A rewrite of a field the descriptor does not carry.
    #[error("VP8 payload descriptor has no {0} to rewrite")]
    FieldAbsent(&'static str),
}

/// The width of a VP8 (or VP9) picture id field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PictureIdWidth {
    /// One byte, M bit clear: 7 bits.
    Bits7,
    /// Two bytes, M bit set: 15 bits.
    Bits15,
}

impl PictureIdWidth {
    /// Largest picture id of this width.
    pub fn max(self) -> u16 {
        match self {
            PictureIdWidth::Bits7 => 0x7F,
            PictureIdWidth::Bits15 => 0x7FFF,
        }
    }
}

/// A parsed VP8 payload descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Vp8PayloadDescriptor {
    /// N: the frame is not used as a reference, so it can be dropped.
    pub non_reference: bool,
    /// S: the packet starts a VP8 partition.
    pub start_of_partition: bool,
    /// PID: the partition index (0..=7).
    pub partition_index: u8,
    /// The picture id and its width, when I is set.
    pub picture_id: Option<(u16, PictureIdWidth)>,
    /// TL0PICIDX: the running index of temporal base layer frames, when L is set.
    pub tl0_pic_idx: Option<u8>,
    /// TID: the temporal layer, when T is set.
    pub temporal_id: Option<u8>,
    /// Y: layer sync (decodable from the base layer alone); meaningful with T.
    pub layer_sync: bool,
    /// KEYIDX: the running index of key frames, when K is set.
    pub key_index: Option<u8>,
    /// Length of the descriptor; the VP8 payload starts here.
    pub len: usize,
    /// The packet starts a key frame: S set, PID 0 and the payload header's P bit clear.
    pub is_keyframe: bool,
    picture_id_offset: usize,
    tl0_pic_idx_offset: usize,
}

/// Reads the byte at `at`, or reports the field as truncated.
fn byte_at(payload: &[u8], at: usize, field: &'static str) -> Result<u8, Vp8Error> {
    payload.get(at).copied().ok_or(Vp8Error::Truncated {
        field,
        needed: at + 1,
        got: payload.len(),
    })
}

impl Vp8PayloadDescriptor {
    /// Reads the descriptor at the start of an RTP payload.
    pub fn parse(payload: &[u8]) -> Result<Self, Vp8Error> {
        let first = byte_at(payload, 0, "required byte")?;
        let mut descriptor = Vp8PayloadDescriptor {
            non_reference: first & N_BIT != 0,
            start_of_partition: first & S_BIT != 0,
            partition_index: first & PID_MASK,
            picture_id: None,
            tl0_pic_idx: None,
            temporal_id: None,
            layer_sync: false,
            key_index: None,
            len: 1,
            is_keyframe: false,
            picture_id_offset: 0,
            tl0_pic_idx_offset: 0,
        };
        let mut pos = 1;
        if first & X_BIT != 0 {
            let extension = byte_at(payload, pos, "extension byte")?;
            pos += 1;
            if extension & I_BIT != 0 {
                let high = byte_at(payload, pos, "picture id")?;
                descriptor.picture_id_offset = pos;
                if high & M_BIT != 0 {
                    let low = byte_at(payload, pos + 1, "15-bit picture id")?;
                    let id = (u16::from(high & 0x7F) << 8) | u16::from(low);
                    descriptor.picture_id = Some((id, PictureIdWidth::Bits15));
                    pos += 2;
                } else {
                    descriptor.picture_id = Some((u16::from(high), PictureIdWidth::Bits7));
                    pos += 1;
                }
            }
            if extension & L_BIT != 0 {
                descriptor.tl0_pic_idx = Some(byte_at(payload, pos, "TL0PICIDX")?);
                descriptor.tl0_pic_idx_offset = pos;
                pos += 1;
            }
            if extension & (T_BIT | K_BIT) != 0 {
                let layer = byte_at(payload, pos, "TID/Y/KEYIDX")?;
                if extension & T_BIT != 0 {
                    descriptor.temporal_id = Some(layer >> 6);
                    descriptor.layer_sync = layer & 0x20 != 0;
                }
                if extension & K_BIT != 0 {
                    descriptor.key_index = Some(layer & 0x1F);
                }
                pos += 1;
            }
        }
        descriptor.len = pos;
        descriptor.is_keyframe = descriptor.start_of_partition
            && descriptor.partition_index == 0
            && payload
                .get(pos)
                .is_some_and(|header| header & INVERSE_KEY_FRAME_BIT == 0);
        Ok(descriptor)
    }

    /// Rewrites the picture id in `payload` (the payload this descriptor was parsed from),
    /// keeping the field's width; the id wraps to that width, as picture ids do.
    pub fn set_picture_id(&mut self, payload: &mut [u8], picture_id: u16) -> Result<(), Vp8Error> {
        let (_, width) = self.picture_id.ok_or(Vp8Error::FieldAbsent("picture id"))?;
        let id = picture_id & width.max();
        let at = self.picture_id_offset;
        let truncated = Vp8Error::Truncated {
            field: "picture id",
            needed: at
                + if width == PictureIdWidth::Bits15 {
                    2
                } else {
                    1
                },
            got: payload.len(),
        };
        match width {
            PictureIdWidth::Bits7 => *payload.get_mut(at).ok_or(truncated)? = id as u8,
            PictureIdWidth::Bits15 => payload
                .get_mut(at..at + 2)
                .ok_or(truncated)?
                .copy_from_slice(&(id | 0x8000).to_be_bytes()),
        }
        self.picture_id = Some((id, width));
        Ok(())
    }

    /// Rewrites TL0PICIDX in `payload` (the payload this descriptor was parsed from).
    pub fn set_tl0_pic_idx(&mut self, payload: &mut [u8], tl0_pic_idx: u8) -> Result<(), Vp8Error> {
        if self.tl0_pic_idx.is_none() {
            return Err(Vp8Error::FieldAbsent("TL0PICIDX"));
        }
        let at = self.tl0_pic_idx_offset;
        let got = payload.len();
        *payload.get_mut(at).ok_or(Vp8Error::Truncated {
            field: "TL0PICIDX",
            needed: at + 1,
            got,
        })? = tl0_pic_idx;
        self.tl0_pic_idx = Some(tl0_pic_idx);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What Chrome sends for the first packet of a key frame with temporal layers: X, S;
    /// I, L, T; 15-bit picture id 0x1234; TL0PICIDX 5; TID 0 Y 1; then a VP8 key frame
    /// header (P bit clear).
    const CHROME_KEYFRAME: [u8; 9] = [0x90, 0xE0, 0x92, 0x34, 0x05, 0x20, 0x10, 0x02, 0x00];

    #[test]
    fn reads_a_chrome_keyframe_descriptor() {
        let d = Vp8PayloadDescriptor::parse(&CHROME_KEYFRAME).unwrap();
        assert!(d.start_of_partition);
        assert!(!d.non_reference);
        assert_eq!(d.partition_index, 0);
        assert_eq!(d.picture_id, Some((0x1234, PictureIdWidth::Bits15)));
        assert_eq!(d.tl0_pic_idx, Some(5));
        assert_eq!(d.temporal_id, Some(0));
        assert!(d.layer_sync);
        assert_eq!(d.key_index, None);
        assert_eq!(d.len, 6);
        assert!(d.is_keyframe);
    }

    #[test]
    fn delta_frames_and_continuations_are_not_keyframes() {
        let mut delta = CHROME_KEYFRAME;
        delta[6] = 0x11; // P bit set: inter frame
        assert!(!Vp8PayloadDescriptor::parse(&delta).unwrap().is_keyframe);
        let mut continuation = CHROME_KEYFRAME;
        continuation[0] = 0x80; // S clear
        assert!(
            !Vp8PayloadDescriptor::parse(&continuation)
                .unwrap()
                .is_keyframe
        );
        // Minimal descriptor, no extension, key frame header.
        let d = Vp8PayloadDescriptor::parse(&[0x10, 0x00]).unwrap();
        assert!(d.is_keyframe);
        assert_eq!(d.picture_id, None);
        assert!(!Vp8PayloadDescriptor::parse(&[0x10]).unwrap().is_keyframe);
    }

    #[test]
    fn short_picture_id_and_key_index() {
        // X; I, K; 7-bit picture id 0x55; KEYIDX 3.
        let d = Vp8PayloadDescriptor::parse(&[0x80, 0x90, 0x55, 0x03]).unwrap();
        assert_eq!(d.picture_id, Some((0x55, PictureIdWidth::Bits7)));
        assert_eq!(d.key_index, Some(3));
        assert_eq!(d.temporal_id, None);
        assert_eq!(d.len, 4);
    }

    #[test]
    fn truncation_is_reported() {
        assert_eq!(
            Vp8PayloadDescriptor::parse(&[]),
            Err(Vp8Error::Truncated {
                field: "required byte",
                needed: 1,
                got: 0
            })
        );
        assert_eq!(
            Vp8PayloadDescriptor::parse(&CHROME_KEYFRAME[..3]),
            Err(Vp8Error::Truncated {
                field: "15-bit picture id",
                needed: 4,
                got: 3
            })
        );
        assert!(Vp8PayloadDescriptor::parse(&CHROME_KEYFRAME[..5]).is_err());
    }

    #[test]
    fn rewrites_picture_id_and_tl0_pic_idx_in_place() {
        let mut payload = CHROME_KEYFRAME;
        let mut d = Vp8PayloadDescriptor::parse(&payload).unwrap();
        d.set_picture_id(&mut payload, 0x8001).unwrap();
        d.set_tl0_pic_idx(&mut payload, 200).unwrap();
        let reparsed = Vp8PayloadDescriptor::parse(&payload).unwrap();
        assert_eq!(reparsed.picture_id, Some((0x0001, PictureIdWidth::Bits15)));
        assert_eq!(reparsed.tl0_pic_idx, Some(200));
        assert_eq!(reparsed, d);

        let mut short = [0x80, 0x80, 0x7F];
        let mut d = Vp8PayloadDescriptor::parse(&short).unwrap();
        d.set_picture_id(&mut short, 0x80).unwrap();
        assert_eq!(short, [0x80, 0x80, 0x00]);
        assert_eq!(
            d.set_tl0_pic_idx(&mut short, 1),
            Err(Vp8Error::FieldAbsent("TL0PICIDX"))
        );
    }

    proptest! {
        #[test]
        fn parse_never_panics(payload in proptest::collection::vec(any::<u8>(), 0..12)) {
            if let Ok(mut d) = Vp8PayloadDescriptor::parse(&payload) {
                prop_assert!(d.len <= payload.len());
                let mut copy = payload.clone();
                let _ = d.set_picture_id(&mut copy, 0x1234);
                let _ = d.set_tl0_pic_idx(&mut copy, 9);
                let _ = d.set_picture_id(&mut [], 1);
            }
        }
    }
}
