//! Codec payload descriptors: just enough of each video and audio payload format for an
//! SFU's forwarding decisions (is this a key frame, which layer is it) and the in-place
//! rewrites simulcast switching needs. Payloads are never decoded.

pub mod av1;
pub mod dependency_descriptor;
pub mod h264;
pub mod opus;
pub mod vp8;
pub mod vp9;

/// The codecs with a payload descriptor here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PayloadCodec {
    /// video/VP8 (RFC 7741).
    Vp8,
    /// video/VP9 (RFC 9628).
    Vp9,
    /// video/H264 (RFC 6184).
    H264,
    /// video/AV1 (AV1 RTP payload format).
    Av1,
    /// audio/opus (RFC 7587, TOC per RFC 6716).
    Opus,
}

impl PayloadCodec {
    /// The codec of a mediasoup `mimeType` such as `video/VP8` (case-insensitive), `None`
    /// for codecs without a descriptor here.
    pub fn from_mime_type(mime_type: &str) -> Option<Self> {
        [
            PayloadCodec::Vp8,
            PayloadCodec::Vp9,
            PayloadCodec::H264,
            PayloadCodec::Av1,
            PayloadCodec::Opus,
        ]
        .into_iter()
        .find(|codec| codec.mime_type().eq_ignore_ascii_case(mime_type))
    }

    /// The mediasoup `mimeType`.
    pub fn mime_type(self) -> &'static str {
        match self {
            PayloadCodec::Vp8 => "video/VP8",
            PayloadCodec::Vp9 => "video/VP9",
            PayloadCodec::H264 => "video/H264",
            PayloadCodec::Av1 => "video/AV1",
            PayloadCodec::Opus => "audio/opus",
        }
    }

    /// Whether it is a video codec (whose keyframes matter).
    pub fn is_video(self) -> bool {
        self != PayloadCodec::Opus
    }
}

/// Whether an RTP payload of this codec starts a key frame (a point where a consumer can
/// start decoding). A payload that does not parse is not a key frame. Every valid Opus
/// packet is one.
pub fn is_keyframe(codec: PayloadCodec, payload: &[u8]) -> bool {
    match codec {
        PayloadCodec::Vp8 => vp8::Vp8PayloadDescriptor::parse(payload).is_ok_and(|d| d.is_keyframe),
        PayloadCodec::Vp9 => vp9::Vp9PayloadDescriptor::parse(payload).is_ok_and(|d| d.is_keyframe),
        PayloadCodec::H264 => {
            h264::H264PayloadDescriptor::parse(payload).is_ok_and(|d| d.is_keyframe)
        }
        PayloadCodec::Av1 => av1::Av1PayloadDescriptor::parse(payload).is_ok_and(|d| d.is_keyframe),
        PayloadCodec::Opus => {
            opus::OpusPayloadDescriptor::parse(payload).is_ok_and(|d| d.is_keyframe())
        }
    }
}

/// What one parse of a payload's descriptor says about its frame: whether it starts a key
/// frame, and its (spatial, temporal) layer where the codec carries layer ids (VP8's TID,
/// VP9's SID and TID; 0 otherwise).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FrameInfo {
    /// See [`is_keyframe`].
    pub is_keyframe: bool,
    /// Spatial layer.
    pub spatial: u8,
    /// Temporal layer.
    pub temporal: u8,
}

/// [`is_keyframe`] and the layer ids of a payload, parsing its descriptor once.
pub fn frame_info(codec: PayloadCodec, payload: &[u8]) -> FrameInfo {
    match codec {
        PayloadCodec::Vp8 => vp8::Vp8PayloadDescriptor::parse(payload).map_or_else(
            |_| FrameInfo::default(),
            |d| FrameInfo {
                is_keyframe: d.is_keyframe,
                spatial: 0,
                temporal: d.temporal_id.unwrap_or(0),
            },
        ),
        PayloadCodec::Vp9 => vp9::Vp9PayloadDescriptor::parse(payload).map_or_else(
            |_| FrameInfo::default(),
            |d| FrameInfo {
                is_keyframe: d.is_keyframe,
                spatial: d.layer.map_or(0, |layer| layer.spatial_id),
                temporal: d.layer.map_or(0, |layer| layer.temporal_id),
            },
        ),
        _ => FrameInfo {
            is_keyframe: is_keyframe(codec, payload),
            ..FrameInfo::default()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn mime_types() {
        assert_eq!(
            PayloadCodec::from_mime_type("video/vp8"),
            Some(PayloadCodec::Vp8)
        );
        assert_eq!(
            PayloadCodec::from_mime_type("VIDEO/H264"),
            Some(PayloadCodec::H264)
        );
        assert_eq!(
            PayloadCodec::from_mime_type("audio/opus"),
            Some(PayloadCodec::Opus)
        );
        assert_eq!(PayloadCodec::from_mime_type("video/H265"), None);
        assert_eq!(PayloadCodec::Av1.mime_type(), "video/AV1");
    }

    #[test]
    fn dispatches_to_each_codec() {
        assert!(is_keyframe(PayloadCodec::Vp8, &[0x10, 0x00]));
        assert!(!is_keyframe(PayloadCodec::Vp8, &[0x10, 0x01]));
        assert!(is_keyframe(PayloadCodec::Vp9, &[0x08]));
        assert!(is_keyframe(PayloadCodec::H264, &[0x65, 0x88]));
        assert!(!is_keyframe(PayloadCodec::H264, &[0x41, 0x9A]));
        assert!(is_keyframe(PayloadCodec::Av1, &[0x18]));
        assert!(is_keyframe(PayloadCodec::Opus, &[0x78]));
        assert!(!is_keyframe(PayloadCodec::Opus, &[]));
    }

    proptest! {
        #[test]
        fn never_panics(payload in proptest::collection::vec(any::<u8>(), 0..24)) {
            for codec in [PayloadCodec::Vp8, PayloadCodec::Vp9, PayloadCodec::H264, PayloadCodec::Av1, PayloadCodec::Opus] {
                let _ = is_keyframe(codec, &payload);
            }
        }
    }
}
