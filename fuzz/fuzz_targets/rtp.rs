//! Feeds arbitrary bytes to the RTP layer: parse, every accessor and extension, typed
//! extension values (the AV1 dependency descriptor among them), id remapping, MID upsert/remove, RTX round trip, and the codec payload
//! descriptors on the payload. Nothing may panic, and the round trips must hold.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mediasoup_core::packet::codecs::dependency_descriptor::DependencyDescriptor;
use mediasoup_core::packet::codecs::{self, vp8::Vp8PayloadDescriptor, PayloadCodec};
use mediasoup_core::packet::rtp::extensions::{
    AbsCaptureTime, AbsSendTime, AudioLevel, Mid, PlayoutDelay, RepairedRtpStreamId, RtpStreamId,
    TransmissionOffset, TransportCcSequence, VideoOrientation,
};
use mediasoup_core::packet::rtp::{
    remove_header_extension, rtx_decapsulate, rtx_encapsulate, upsert_header_extension,
    ExtensionIdMap, RtpHeader, RtpPacket,
};

const CODECS: [PayloadCodec; 5] = [
    PayloadCodec::Vp8,
    PayloadCodec::Vp9,
    PayloadCodec::H264,
    PayloadCodec::Av1,
    PayloadCodec::Opus,
];

fn walk_typed_values(value: &[u8]) {
    if let Ok(descriptor) = DependencyDescriptor::parse(value) {
        if let Some(structure) = descriptor.structure {
            let _ = structure.layers_of(descriptor.template_id);
        }
    }
    let _ = Mid::parse(value);
    let _ = RtpStreamId::parse(value);
    let _ = RepairedRtpStreamId::parse(value);
    let _ = AbsSendTime::parse(value);
    let _ = TransportCcSequence::parse(value);
    let _ = AudioLevel::parse(value);
    let _ = VideoOrientation::parse(value);
    let _ = TransmissionOffset::parse(value);
    let _ = AbsCaptureTime::parse(value);
    let _ = PlayoutDelay::parse(value);
}

fuzz_target!(|data: &[u8]| {
    for codec in CODECS {
        let _ = codecs::is_keyframe(codec, data);
    }
    let Ok(packet) = RtpPacket::parse(data) else {
        return;
    };
    let _ = (packet.version(), packet.has_padding(), packet.marker());
    let _ = (
        packet.payload_type(),
        packet.sequence_number(),
        packet.timestamp(),
    );
    let _ = (
        packet.ssrc(),
        packet.csrcs().count(),
        packet.extension_profile(),
    );
    assert_eq!(
        packet.header_len() + packet.payload().len() + packet.padding_len(),
        data.len()
    );
    for (id, value) in packet.header_extensions() {
        assert!(packet.header_extension(id).is_some());
        walk_typed_values(value);
    }
    for codec in CODECS {
        let _ = codecs::is_keyframe(codec, packet.payload());
    }
    if let Ok(header) = RtpHeader::from_packet(&packet) {
        let mut written = Vec::new();
        header
            .write_into(packet.payload(), &mut written)
            .expect("a parsed header is writable");
        let reparsed = RtpPacket::parse(&written[..]).expect("written packet parses");
        assert_eq!(RtpHeader::from_packet(&reparsed), Ok(header));
        assert_eq!(reparsed.payload(), packet.payload());
    }

    // Rewrites work on a copy with spare room.
    let mut buf = data.to_vec();
    buf.resize(data.len() + 64, 0);

    let mut remap = ExtensionIdMap::new();
    for from in 1..=14 {
        let _ = remap.insert(from, 15 - from);
    }
    if let Ok(mut view) = RtpPacket::parse(&mut buf[..data.len()]) {
        let payload_before = view.payload().to_vec();
        if view.remap_header_extension_ids(&remap).is_ok() {
            assert_eq!(view.payload(), &payload_before[..]);
        }
        let mut payload = view.payload().to_vec();
        if let Ok(mut descriptor) = Vp8PayloadDescriptor::parse(&payload) {
            let _ = descriptor.set_picture_id(&mut payload, 0x7FFF);
            let _ = descriptor.set_tl0_pic_idx(&mut payload, 1);
        }
    }
    let Ok(packet) = RtpPacket::parse(&buf[..data.len()]) else {
        return;
    };
    let payload = packet.payload().to_vec();
    let (pt, ssrc) = (packet.payload_type(), packet.ssrc());

    if let Ok(len) = upsert_header_extension(&mut buf, data.len(), 1, b"fuzz-mid") {
        let with_mid = RtpPacket::parse(&buf[..len]).expect("upsert keeps the packet valid");
        assert_eq!(with_mid.header_extension(1), Some(&b"fuzz-mid"[..]));
        assert_eq!(with_mid.payload(), &payload[..]);
        let len = remove_header_extension(&mut buf, len, 1).expect("removal needs no room");
        let without = RtpPacket::parse(&buf[..len]).expect("remove keeps the packet valid");
        assert_eq!(without.header_extension(1), None);
        assert_eq!(without.payload(), &payload[..]);

        let before = buf[..len].to_vec();
        let rtx_len = rtx_encapsulate(&mut buf, len, 97, 0xAAAA_AAAA, 1).expect("room for RTX");
        let restored = rtx_decapsulate(&mut buf, rtx_len, pt, ssrc).expect("RTX payload has OSN");
        assert_eq!(&buf[..restored], &before[..]);
    }
});
