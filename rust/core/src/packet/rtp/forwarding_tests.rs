//! The forwarding path end to end on a Chrome-like simulcast VP8 packet: read MID/RID, check
//! for a key frame, rewrite the header and the extension ids for a consumer, stamp the
//! router's abs-send-time and transport-wide sequence number, set the consumer's MID, and
//! retransmit over RTX.

use std::time::Duration;

use super::extensions::{AbsSendTime, Mid, RtpStreamId, TransportCcSequence};
use super::*;
use crate::packet::codecs::{self, vp8::Vp8PayloadDescriptor, PayloadCodec};

const ABS_SEND_TIME_ID: u8 = 2;
const TRANSPORT_CC_ID: u8 = 3;
const MID_ID: u8 = 4;
const RID_ID: u8 = 10;

/// A 1200-byte-class packet as Chrome sends the first packet of a VP8 key frame on its
/// "h" simulcast layer: abs-send-time, transport-cc, MID "0" and RID "h" in a one-byte block.
fn chrome_vp8_keyframe() -> Vec<u8> {
    let mut packet = vec![
        0x90, 0x60, 0x1F, 0x40, // V=2 X=1, PT 96, seq 8000
        0x00, 0x01, 0x5F, 0x90, // timestamp 90000
        0x6B, 0x8B, 0x45, 0x67, // SSRC
        0xBE, 0xDE, 0x00, 0x03, // one-byte extensions, 3 words
        0x22, 0x12, 0x34, 0x56, // id 2 abs-send-time, 3 bytes
        0x31, 0x00, 0x2A, // id 3 transport-cc 42
        0x40, b'0', // id 4 MID "0"
        0xA0, b'h', // id 10 RID "h"
        0x00, // padding
    ];
    // VP8 descriptor (X S; I L T; picture id 0x1234; TL0PICIDX 5; TID 0 Y) and key frame
    // payload header, then frame data.
    packet.extend_from_slice(&[0x90, 0xE0, 0x92, 0x34, 0x05, 0x20, 0x10, 0x02, 0x00]);
    packet.extend((0..1150).map(|i| (i % 251) as u8));
    packet
}

#[test]
fn reads_what_the_router_routes_on() {
    let bytes = chrome_vp8_keyframe();
    let packet = RtpPacket::parse(&bytes[..]).unwrap();
    assert_eq!(packet.header_len(), 28);
    assert_eq!(
        Mid::parse(packet.header_extension(MID_ID).unwrap())
            .unwrap()
            .as_str(),
        "0"
    );
    assert_eq!(
        RtpStreamId::parse(packet.header_extension(RID_ID).unwrap())
            .unwrap()
            .as_str(),
        "h"
    );
    assert_eq!(
        TransportCcSequence::parse(packet.header_extension(TRANSPORT_CC_ID).unwrap()),
        Ok(TransportCcSequence(42))
    );
    assert_eq!(
        AbsSendTime::parse(packet.header_extension(ABS_SEND_TIME_ID).unwrap())
            .unwrap()
            .raw(),
        0x12_3456
    );
    assert!(codecs::is_keyframe(PayloadCodec::Vp8, packet.payload()));
    let descriptor = Vp8PayloadDescriptor::parse(packet.payload()).unwrap();
    assert_eq!(descriptor.tl0_pic_idx, Some(5));
}

#[test]
fn rewrites_for_a_consumer_in_place() {
    let mut bytes = chrome_vp8_keyframe();
    let original_len = bytes.len();
    let mut router_ids = ExtensionIdMap::new();
    router_ids.insert(ABS_SEND_TIME_ID, 3).unwrap();
    router_ids.insert(TRANSPORT_CC_ID, 5).unwrap();
    router_ids.insert(MID_ID, 1).unwrap();

    let mut packet = RtpPacket::parse(&mut bytes[..]).unwrap();
    packet.set_payload_type(101).unwrap();
    packet.set_sequence_number(1);
    packet.set_timestamp(12345);
    packet.set_ssrc(0xC0FF_EE00);
    packet.set_marker(true);
    packet.remap_header_extension_ids(&router_ids).unwrap();
    packet
        .set_header_extension(
            3,
            &AbsSendTime::from_duration(Duration::from_millis(1500)).to_bytes(),
        )
        .unwrap();
    packet
        .set_header_extension(5, &TransportCcSequence(7).to_bytes())
        .unwrap();
    let mut descriptor = Vp8PayloadDescriptor::parse(packet.payload()).unwrap();
    descriptor
        .set_picture_id(packet.payload_mut(), 0x0100)
        .unwrap();
    descriptor
        .set_tl0_pic_idx(packet.payload_mut(), 77)
        .unwrap();

    let packet = RtpPacket::parse(packet.into_inner()).unwrap();
    assert_eq!(packet.len(), original_len);
    assert_eq!(packet.payload_type(), 101);
    assert_eq!(packet.sequence_number(), 1);
    assert_eq!(packet.timestamp(), 12345);
    assert_eq!(packet.ssrc(), 0xC0FF_EE00);
    assert!(packet.marker());
    let extensions: Vec<(u8, Vec<u8>)> = packet
        .header_extensions()
        .map(|(id, value)| (id, value.to_vec()))
        .collect();
    assert_eq!(
        extensions,
        vec![
            (3, vec![0x06, 0x00, 0x00]),
            (5, vec![0x00, 0x07]),
            (1, b"0".to_vec())
        ]
    );
    let descriptor = Vp8PayloadDescriptor::parse(packet.payload()).unwrap();
    assert_eq!(descriptor.picture_id.map(|(id, _)| id), Some(0x0100));
    assert_eq!(descriptor.tl0_pic_idx, Some(77));
    assert!(descriptor.is_keyframe);
}

#[test]
fn consumer_mid_and_rtx_round_trip() {
    let packet = chrome_vp8_keyframe();
    let mut buf = packet.clone();
    buf.resize(packet.len() + 32, 0);
    let len = upsert_header_extension(&mut buf, packet.len(), MID_ID, b"consumer-7").unwrap();
    let len = remove_header_extension(&mut buf, len, RID_ID).unwrap();
    let rewritten = RtpPacket::parse(&buf[..len]).unwrap();
    assert_eq!(rewritten.header_extension(MID_ID), Some(&b"consumer-7"[..]));
    assert_eq!(rewritten.header_extension(RID_ID), None);
    let original = RtpPacket::parse(&packet[..]).unwrap();
    assert_eq!(rewritten.payload(), original.payload());

    let before_rtx = buf[..len].to_vec();
    let rtx_len = rtx_encapsulate(&mut buf, len, 97, 0x0BAD_CAFE, 300).unwrap();
    let rtx = RtpPacket::parse(&buf[..rtx_len]).unwrap();
    assert_eq!(rtx.payload().get(..2), Some(&[0x1F, 0x40][..]));
    let len = rtx_decapsulate(&mut buf, rtx_len, 96, 0x6B8B_4567).unwrap();
    assert_eq!(&buf[..len], &before_rtx[..]);
}
