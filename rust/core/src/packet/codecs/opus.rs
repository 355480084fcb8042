//! The Opus TOC byte (RFC 6716 §3.1) and DTX detection.
//!
//! Every Opus packet decodes on its own, so for forwarding every packet counts as a key
//! frame: a consumer can start at any packet.
//!
//! DTX rule (the one mediasoup applies, following libopus and libwebrtc): during
//! discontinuous transmission libopus sends packets with no audio frame data; a code 0 or 1
//! packet of just the TOC byte, or a code 2 packet of 2 bytes (TOC and a zero first-frame
//! length, so both frames are empty). A code 3 packet is never DTX. One-byte code 2 and code
//! 3 packets are invalid (RFC 6716 §3.2.4, §3.2.5).

use std::time::Duration;

/// Longest audio an Opus packet may carry (RFC 6716 §3.2.5, rule R5).
const MAX_PACKET_DURATION: Duration = Duration::from_millis(120);

/// Why an Opus payload could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OpusError {
    /// The payload is empty: no TOC byte (RFC 6716 §3.4, rule R1).
    #[error("Opus payload is empty: no TOC byte")]
    Empty,
    /// A code 2 or 3 packet of only the TOC byte.
    #[error("Opus code {code} packet of 1 byte lacks its frame length / frame count byte")]
    MissingFrameInfo {
        /// The frame count code.
        code: u8,
    },
    /// A code 3 packet announcing 0 frames or more than 120 ms of audio.
    #[error("Opus code 3 packet announces {frames} frames of {frame_duration:?}, outside 1 frame..=120 ms")]
    BadFrameCount {
        /// The announced frame count.
        frames: u8,
        /// Duration of each frame.
        frame_duration: Duration,
    },
}

/// The codec mode a TOC configuration selects (RFC 6716 §3.1, Table 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpusMode {
    /// SILK only (speech, up to wideband).
    Silk,
    /// SILK and CELT (super-wideband / fullband speech).
    Hybrid,
    /// CELT only (music, low delay).
    Celt,
}

/// A parsed Opus TOC byte with its DTX verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OpusPayloadDescriptor {
    /// The 5-bit configuration: mode, bandwidth and frame duration.
    pub config: u8,
    /// s: stereo.
    pub stereo: bool,
    /// c: the frame count code (0: one frame, 1: two equal, 2: two different, 3: arbitrary).
    pub frame_count_code: u8,
    /// The packet carries no audio (discontinuous transmission).
    pub is_dtx: bool,
}

impl OpusPayloadDescriptor {
    /// Reads the TOC byte (and, for code 3, the frame count byte).
    pub fn parse(payload: &[u8]) -> Result<Self, OpusError> {
        let toc = *payload.first().ok_or(OpusError::Empty)?;
        let descriptor = OpusPayloadDescriptor {
            config: toc >> 3,
            stereo: toc & 0x04 != 0,
            frame_count_code: toc & 0x03,
            is_dtx: false,
        };
        let code = descriptor.frame_count_code;
        let is_dtx = match code {
            0 | 1 => payload.len() == 1,
            2 => {
                if payload.len() < 2 {
                    return Err(OpusError::MissingFrameInfo { code });
                }
                payload.len() == 2
            }
            _ => {
                let frame_count = *payload.get(1).ok_or(OpusError::MissingFrameInfo { code })?;
                let frames = frame_count & 0x3F;
                let frame_duration = descriptor.frame_duration();
                if frames == 0 || frame_duration * u32::from(frames) > MAX_PACKET_DURATION {
                    return Err(OpusError::BadFrameCount {
                        frames,
                        frame_duration,
                    });
                }
                false
            }
        };
        Ok(OpusPayloadDescriptor {
            is_dtx,
            ..descriptor
        })
    }

    /// The codec mode of the configuration.
    pub fn mode(&self) -> OpusMode {
        match self.config {
            0..=11 => OpusMode::Silk,
            12..=15 => OpusMode::Hybrid,
            _ => OpusMode::Celt,
        }
    }

    /// Duration of each frame in the packet (RFC 6716 §3.1, Table 2).
    pub fn frame_duration(&self) -> Duration {
        const SILK_MS: [u64; 4] = [10, 20, 40, 60];
        const CELT_US: [u64; 4] = [2_500, 5_000, 10_000, 20_000];
        let index = usize::from(self.config & 0x03);
        match self.mode() {
            OpusMode::Silk => Duration::from_millis(SILK_MS.get(index).copied().unwrap_or(20)),
            OpusMode::Hybrid => {
                Duration::from_millis(if self.config & 0x01 == 0 { 10 } else { 20 })
            }
            OpusMode::Celt => Duration::from_micros(CELT_US.get(index).copied().unwrap_or(20_000)),
        }
    }

    /// Always true: every Opus packet can be decoded on its own.
    pub fn is_keyframe(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn toc_fields() {
        // config 15 (hybrid fullband 20 ms), stereo, code 0: what Chrome sends.
        let d = OpusPayloadDescriptor::parse(&[0x7C, 0x01, 0x02]).unwrap();
        assert_eq!(d.config, 15);
        assert!(d.stereo);
        assert_eq!(d.frame_count_code, 0);
        assert_eq!(d.mode(), OpusMode::Hybrid);
        assert_eq!(d.frame_duration(), Duration::from_millis(20));
        assert!(!d.is_dtx);
        assert!(d.is_keyframe());
        let silk = OpusPayloadDescriptor::parse(&[0x18, 0x00]).unwrap();
        assert_eq!(silk.mode(), OpusMode::Silk);
        assert_eq!(silk.frame_duration(), Duration::from_millis(60));
        let celt = OpusPayloadDescriptor::parse(&[0x80, 0x00]).unwrap();
        assert_eq!(celt.mode(), OpusMode::Celt);
        assert_eq!(celt.frame_duration(), Duration::from_micros(2_500));
    }

    #[test]
    fn dtx_detection() {
        assert!(OpusPayloadDescriptor::parse(&[0x78]).unwrap().is_dtx);
        assert!(OpusPayloadDescriptor::parse(&[0x79]).unwrap().is_dtx);
        assert!(OpusPayloadDescriptor::parse(&[0x7A, 0x00]).unwrap().is_dtx);
        assert!(
            !OpusPayloadDescriptor::parse(&[0x7A, 0x01, 0xAA])
                .unwrap()
                .is_dtx
        );
        assert!(!OpusPayloadDescriptor::parse(&[0x7B, 0x01]).unwrap().is_dtx);
    }

    #[test]
    fn invalid_packets() {
        assert_eq!(OpusPayloadDescriptor::parse(&[]), Err(OpusError::Empty));
        assert_eq!(
            OpusPayloadDescriptor::parse(&[0x7A]),
            Err(OpusError::MissingFrameInfo { code: 2 })
        );
        assert_eq!(
            OpusPayloadDescriptor::parse(&[0x7B]),
            Err(OpusError::MissingFrameInfo { code: 3 })
        );
        assert!(matches!(
            OpusPayloadDescriptor::parse(&[0x7B, 0x00]),
            Err(OpusError::BadFrameCount { frames: 0, .. })
        ));
        // 7 frames of 20 ms = 140 ms > 120 ms.
        assert!(matches!(
            OpusPayloadDescriptor::parse(&[0x7B, 0x07]),
            Err(OpusError::BadFrameCount { frames: 7, .. })
        ));
        assert!(OpusPayloadDescriptor::parse(&[0x7B, 0x06]).is_ok());
    }

    proptest! {
        #[test]
        fn parse_never_panics(payload in proptest::collection::vec(any::<u8>(), 0..8)) {
            if let Ok(d) = OpusPayloadDescriptor::parse(&payload) {
                prop_assert!(d.frame_duration() <= Duration::from_millis(60));
            }
        }
    }
}
