//! `urn:3gpp:video-orientation` (3GPP TS 26.114 §7.4.5, coordination of video orientation):
//! which camera captured the frame, whether it is mirrored, and how the receiver must
//! rotate it.

use super::{expect_len, ExtensionValueError};

const CAMERA_BIT: u8 = 0x08;
const FLIP_BIT: u8 = 0x04;
const ROTATION_MASK: u8 = 0x03;

/// Clockwise rotation the receiver applies before display.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VideoRotation {
    /// No rotation.
    Deg0,
    /// 90 degrees.
    Deg90,
    /// 180 degrees.
    Deg180,
    /// 270 degrees.
    Deg270,
}

impl VideoRotation {
    /// The rotation in degrees.
    pub fn degrees(self) -> u16 {
        match self {
            VideoRotation::Deg0 => 0,
            VideoRotation::Deg90 => 90,
            VideoRotation::Deg180 => 180,
            VideoRotation::Deg270 => 270,
        }
    }

    fn from_bits(bits: u8) -> Self {
        match bits & ROTATION_MASK {
            0 => VideoRotation::Deg0,
            1 => VideoRotation::Deg90,
            2 => VideoRotation::Deg180,
            _ => VideoRotation::Deg270,
        }
    }

    fn bits(self) -> u8 {
        match self {
            VideoRotation::Deg0 => 0,
            VideoRotation::Deg90 => 1,
            VideoRotation::Deg180 => 2,
            VideoRotation::Deg270 => 3,
        }
    }
}

/// A coordination-of-video-orientation value (the 1-byte form; the 4 high bits are reserved
/// and ignored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VideoOrientation {
    /// The C bit: the back-facing camera captured the frame (front-facing when false).
    pub back_camera: bool,
    /// The F bit: the frame is mirrored horizontally.
    pub flipped: bool,
    /// The R bits.
    pub rotation: VideoRotation,
}

impl VideoOrientation {
    /// The extension URI.
    pub const URI: &'static str = "urn:3gpp:video-orientation";
    /// Length of the value on the wire.
    pub const LEN: usize = 1;

    /// Reads the 1-byte extension value.
    pub fn parse(value: &[u8]) -> Result<Self, ExtensionValueError> {
        expect_len(value, &[Self::LEN], "video-orientation", "1")?;
        let byte = value.first().copied().unwrap_or(0);
        Ok(VideoOrientation {
            back_camera: byte & CAMERA_BIT != 0,
            flipped: byte & FLIP_BIT != 0,
            rotation: VideoRotation::from_bits(byte),
        })
    }

    /// The 1-byte extension value.
    pub fn to_bytes(self) -> [u8; 1] {
        [(if self.back_camera { CAMERA_BIT } else { 0 })
            | (if self.flipped { FLIP_BIT } else { 0 })
            | self.rotation.bits()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_the_bits() {
        let cvo = VideoOrientation::parse(&[0x0D]).unwrap();
        assert!(cvo.back_camera);
        assert!(cvo.flipped);
        assert_eq!(cvo.rotation, VideoRotation::Deg90);
        assert_eq!(cvo.rotation.degrees(), 90);
        assert_eq!(
            VideoOrientation::parse(&[0xF3]).unwrap(),
            VideoOrientation {
                back_camera: false,
                flipped: false,
                rotation: VideoRotation::Deg270
            }
        );
        assert!(VideoOrientation::parse(&[]).is_err());
    }

    proptest! {
        #[test]
        fn round_trips(byte in 0u8..16) {
            let cvo = VideoOrientation::parse(&[byte]).unwrap();
            prop_assert_eq!(cvo.to_bytes(), [byte]);
        }
    }
}
