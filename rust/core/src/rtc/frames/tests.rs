//! Frames through packetizer and assembler: every codec's round trip, reordering, loss.

use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::assembler::{AssemblerConfig, FrameAssembler};
use super::packetizer::FramePacketizer;
use super::{depacketize, FrameError};
use crate::packet::codecs::PayloadCodec;

/// A frame of `codec` made from random material, as an encoder would write it, and
/// whether it is a keyframe.
fn frame(codec: PayloadCodec, keyframe: bool, material: &[Vec<u8>]) -> Vec<u8> {
    match codec {
        // TOC: config 15 (hybrid 20 ms), mono, code 0: always a valid packet.
        PayloadCodec::Opus => [&[15 << 3][..], &material[0][..material[0].len().min(300)]].concat(),
        // The VP8 payload header's P bit is clear on keyframes.
        PayloadCodec::Vp8 => [&[u8::from(!keyframe)][..], &material[0]].concat(),
        PayloadCodec::Vp9 => [&[0x82][..], &material[0]].concat(),
        PayloadCodec::H264 => {
            let mut stream = Vec::new();
            for (index, body) in material.iter().enumerate() {
                let nal_type = if index == 0 && keyframe {
                    5
                } else {
                    1 + (index as u8 % 4)
                };
                stream.extend_from_slice(&[0, 0, 0, 1, 0x60 | nal_type]);
                // No zero bytes: no start code inside, none trailing.
                stream.extend(body.iter().map(|&b| b.max(1)));
            }
            stream
        }
        PayloadCodec::Av1 => {
            let mut unit = vec![0x12, 0x00];
            for (index, body) in material.iter().enumerate() {
                let obu_type: u8 = match index {
                    0 if keyframe => 1,
                    _ => 6,
                };
                let with_extension = index % 2 == 1;
                let header = (obu_type << 3) | 0x02 | if with_extension { 0x04 } else { 0 };
                unit.push(header);
                if with_extension {
                    unit.push(0x28);
                }
                let mut size = body.len();
                loop {
                    let byte = (size & 0x7F) as u8;
                    size >>= 7;
                    unit.push(if size == 0 { byte } else { byte | 0x80 });
                    if size == 0 {
                        break;
                    }
                }
                unit.extend_from_slice(body);
            }
            unit
        }
    }
}

fn material() -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec(prop::collection::vec(any::<u8>(), 1..2500), 1..4)
}

fn any_codec() -> impl Strategy<Value = PayloadCodec> {
    prop::sample::select(vec![
        PayloadCodec::Opus,
        PayloadCodec::Vp8,
        PayloadCodec::Vp9,
        PayloadCodec::H264,
        PayloadCodec::Av1,
    ])
}

/// Packets of frames: (sequence number, timestamp, marker, payload).
type Packet = (u16, u32, bool, Vec<u8>);

fn packetize_all(
    codec: PayloadCodec,
    frames: &[(Vec<u8>, bool)],
    first_sequence: u16,
    max_payload_size: usize,
) -> Vec<Packet> {
    let mut packetizer = FramePacketizer::new(codec, max_payload_size, 1234);
    let mut packets = Vec::new();
    let mut sequence = first_sequence;
    for (index, (data, keyframe)) in frames.iter().enumerate() {
        let mut payloads = Vec::new();
        packetizer
            .packetize(data, *keyframe, &mut payloads)
            .unwrap();
        let count = payloads.len();
        for (i, payload) in payloads.into_iter().enumerate() {
            packets.push((sequence, 3000 * index as u32, i + 1 == count, payload));
            sequence = sequence.wrapping_add(1);
        }
    }
    packets
}

fn run(codec: PayloadCodec, packets: &[Packet]) -> (Vec<(u32, Vec<u8>, bool)>, FrameAssembler) {
    let start = Instant::now();
    let mut assembler = FrameAssembler::new(codec, AssemblerConfig::default());
    let mut frames = Vec::new();
    for (i, (sequence, timestamp, marker, payload)) in packets.iter().enumerate() {
        let now = start + Duration::from_millis(i as u64);
        assembler.push_packet(*sequence, *timestamp, *marker, payload, now);
        while let Some(frame) = assembler.poll_frame() {
            frames.push((frame.rtp_timestamp, frame.data, frame.info.is_keyframe));
        }
    }
    // Let every hole time out.
    assembler.handle_timeout(start + Duration::from_secs(60));
    while let Some(frame) = assembler.poll_frame() {
        frames.push((frame.rtp_timestamp, frame.data, frame.info.is_keyframe));
    }
    (frames, assembler)
}

#[test]
fn vp9_layer_frames_become_a_superframe() {
    // Two layer frames of one picture: SID 0 (B, E) and SID 1 (B, E), L set, flexible.
    let base = [0x80 | 0x20 | 0x10 | 0x08 | 0x04, 0x05, 0x00, 0xAA, 0xBB];
    let upper = [0x20 | 0x10 | 0x08 | 0x04, 0x02, 0xCC];
    let mut out = Vec::new();
    let frame = depacketize(PayloadCodec::Vp9, [&base[..], &upper[..]], &mut out).unwrap();
    assert!(frame.is_keyframe);
    assert_eq!(frame.spatial_layer, 1);
    // Frames of 2 and 1 bytes, one byte per size: marker 0b110_00_001.
    assert_eq!(out, [0xAA, 0xBB, 0xCC, 0xC1, 2, 1, 0xC1]);
}

#[test]
fn h264_single_stap_a_and_fu_a() {
    let single = [0x65, 1, 2];
    let stap_a = [0x78, 0, 2, 0x67, 9, 0, 1, 0x68];
    let fu_start = [0x7C, 0x85, 1, 2];
    let fu_end = [0x7C, 0x45, 3];
    let mut out = Vec::new();
    let frame = depacketize(
        PayloadCodec::H264,
        [&stap_a[..], &fu_start[..], &fu_end[..], &single[..]],
        &mut out,
    )
    .unwrap();
    assert!(frame.is_keyframe);
    assert_eq!(
        out,
        [
            0, 0, 0, 1, 0x67, 9, 0, 0, 0, 1, 0x68, 0, 0, 0, 1, 0x65, 1, 2, 3, 0, 0, 0, 1, 0x65, 1,
            2
        ]
    );
    // A fragment without its end, and one without its start.
    assert!(depacketize(PayloadCodec::H264, [&fu_start[..]], &mut out).is_err());
    assert!(depacketize(PayloadCodec::H264, [&fu_end[..]], &mut out).is_err());
    // STAP-B is not packetization mode 1.
    assert!(depacketize(PayloadCodec::H264, [&[0x19, 0, 0][..]], &mut out).is_err());
}

#[test]
fn av1_fragments_join_across_packets() {
    // A frame OBU (type 6) split over two packets: Y on the first, Z on the second.
    let first = [0x40, 0x03, 0x30, 1, 2];
    let second = [0x80, 0x02, 3, 4];
    let mut out = Vec::new();
    let frame = depacketize(PayloadCodec::Av1, [&first[..], &second[..]], &mut out).unwrap();
    assert!(!frame.is_keyframe);
    assert_eq!(out, [0x12, 0x00, 0x32, 4, 1, 2, 3, 4]);
    // The second packet alone continues nothing.
    assert!(depacketize(PayloadCodec::Av1, [&second[..]], &mut out).is_err());
}

#[test]
fn packetizers_reject_what_they_cannot_send() {
    let mut out = Vec::new();
    let mut vp8 = FramePacketizer::new(PayloadCodec::Vp8, 4, 0);
    assert_eq!(
        vp8.packetize(&[1, 2], false, &mut out),
        Err(FrameError::PayloadSizeTooSmall(4))
    );
    let mut h264 = FramePacketizer::new(PayloadCodec::H264, 1000, 0);
    assert!(h264.packetize(&[0, 0, 1], false, &mut out).is_err());
    assert!(h264
        .packetize(&[0, 0, 1, 0x80, 1], false, &mut out)
        .is_err());
    let mut opus = FramePacketizer::new(PayloadCodec::Opus, 10, 0);
    assert!(opus.packetize(&[0x78; 11], false, &mut out).is_err());
    assert!(opus.packetize(&[], false, &mut out).is_err());
    let mut av1 = FramePacketizer::new(PayloadCodec::Av1, 1000, 0);
    assert!(av1.packetize(&[0x12, 0x00], true, &mut out).is_err());
    assert!(av1.packetize(&[0x32, 0x05, 1], false, &mut out).is_err());
    assert!(out.is_empty());
}

#[test]
fn video_starting_mid_stream_waits_for_a_keyframe() {
    let frames: Vec<_> = (0..4)
        .map(|i| (frame(PayloadCodec::Vp8, i == 2, &[vec![7; 50]]), i == 2))
        .collect();
    let packets = packetize_all(PayloadCodec::Vp8, &frames, 65534, 1100);
    let (out, assembler) = run(PayloadCodec::Vp8, &packets);
    assert_eq!(out.len(), 2);
    assert!(out[0].2);
    let counters = assembler.counters();
    assert_eq!(counters.frames_waiting_for_keyframe, 2);
    assert_eq!(counters.keyframe_requests, 1);
}

#[test]
fn audio_loss_costs_only_the_lost_frames() {
    let frames: Vec<_> = (0..10)
        .map(|i| (frame(PayloadCodec::Opus, true, &[vec![i; 40]]), true))
        .collect();
    let mut packets = packetize_all(PayloadCodec::Opus, &frames, 100, 1100);
    packets.remove(4);
    packets.remove(4);
    let (out, mut assembler) = run(PayloadCodec::Opus, &packets);
    assert_eq!(out.len(), 8);
    assert_eq!(assembler.counters().frames_lost, 2);
    assert!(!assembler.poll_keyframe_request());
}

proptest! {
    #[test]
    fn every_codec_round_trips(
        codec in any_codec(),
        keyframe: bool,
        material in material(),
        max_payload_size in 40_usize..1400,
    ) {
        let data = frame(codec, keyframe, &material);
        // An Opus packet is never split: it gets room.
        let max_payload_size = if codec.is_video() { max_payload_size } else { 400 };
        let mut payloads = Vec::new();
        FramePacketizer::new(codec, max_payload_size, 7)
            .packetize(&data, keyframe, &mut payloads)
            .unwrap();
        prop_assert!(payloads.iter().all(|p| p.len() <= max_payload_size));
        let mut out = Vec::new();
        let info = depacketize(codec, payloads.iter().map(Vec::as_slice), &mut out).unwrap();
        prop_assert_eq!(out, data);
        prop_assert_eq!(info.is_keyframe, keyframe || codec == PayloadCodec::Opus);
    }

    #[test]
    fn reordered_packets_give_every_frame_in_order(
        codec in any_codec(),
        materials in prop::collection::vec(material(), 2..8),
        first_sequence: u16,
        swaps in prop::collection::vec((any::<prop::sample::Index>(), 1_usize..4), 0..20),
    ) {
        let frames: Vec<_> = materials
            .iter()
            .enumerate()
            .map(|(i, m)| (frame(codec, i == 0, m), i == 0))
            .collect();
        let mut packets = packetize_all(codec, &frames, first_sequence, 600);
        for (index, distance) in swaps {
            let i = index.index(packets.len());
            let j = (i + distance).min(packets.len() - 1);
            packets.swap(i, j);
        }
        let (out, assembler) = run(codec, &packets);
        let counters = assembler.counters();
        // A swap can only lose what arrived before the first packet of the stream.
        if packets[0].0 == first_sequence {
            prop_assert_eq!(out.len(), frames.len(), "{:?}", counters);
        }
        let mut timestamps: Vec<u32> = out.iter().map(|f| f.0).collect();
        for (timestamp, data, _) in &out {
            let original = &frames[(*timestamp / 3000) as usize].0;
            prop_assert_eq!(data, original);
        }
        let sorted = { let mut t = timestamps.clone(); t.sort_unstable(); t };
        prop_assert_eq!(&timestamps, &sorted);
        timestamps.dedup();
        prop_assert_eq!(timestamps.len(), out.len());
    }

    #[test]
    fn lost_packets_lose_frames_never_corrupt_them(
        codec in any_codec(),
        keyframes in prop::collection::vec(prop::bool::weighted(0.3), 2..12),
        materials in prop::collection::vec(material(), 12),
        losses in prop::collection::vec(any::<prop::sample::Index>(), 1..6),
    ) {
        let frames: Vec<_> = keyframes
            .iter()
            .enumerate()
            .map(|(i, &key)| (frame(codec, i == 0 || key, &materials[i]), i == 0 || key))
            .collect();
        let mut packets = packetize_all(codec, &frames, 65000, 500);
        let mut lost_timestamps = Vec::new();
        for loss in losses {
            if packets.len() > 1 {
                let removed = packets.remove(loss.index(packets.len()));
                lost_timestamps.push(removed.1);
            }
        }
        let (out, mut assembler) = run(codec, &packets);
        let mut waiting_for_keyframe = false;
        let mut last_index = None;
        for (timestamp, data, is_keyframe) in &out {
            let index = (*timestamp / 3000) as usize;
            prop_assert!(!lost_timestamps.contains(timestamp));
            prop_assert_eq!(data, &frames[index].0);
            if codec.is_video() {
                // Nothing after a lost frame until a keyframe.
                let skipped = last_index.map_or(0, |last| last + 1)..index;
                if skipped.clone().any(|i| lost_timestamps.contains(&(3000 * i as u32))) {
                    waiting_for_keyframe = true;
                }
                if waiting_for_keyframe {
                    prop_assert!(*is_keyframe);
                    waiting_for_keyframe = false;
                }
            }
            last_index = Some(index);
        }
        // A frame missing between two handed out was seen lost: video asks for a keyframe.
        let emitted: Vec<usize> = out.iter().map(|f| (f.0 / 3000) as usize).collect();
        let missing_between = match (emitted.first(), emitted.last()) {
            (Some(&first), Some(&last)) => (first..last).any(|i| !emitted.contains(&i)),
            _ => false,
        };
        if missing_between {
            let counters = assembler.counters();
            prop_assert!(counters.frames_lost + counters.frames_waiting_for_keyframe >= 1);
            if codec.is_video() {
                prop_assert!(counters.keyframe_requests >= 1);
            }
        }
        let _ = assembler.poll_keyframe_request();
    }

    #[test]
    fn arbitrary_packets_never_panic(
        codec in any_codec(),
        packets in prop::collection::vec(
            (any::<u16>(), 0_u32..4, any::<bool>(), prop::collection::vec(any::<u8>(), 0..40)),
            0..60,
        ),
    ) {
        let mut assembler = FrameAssembler::new(codec, AssemblerConfig::default());
        let start = Instant::now();
        for (i, (sequence, timestamp, marker, payload)) in packets.iter().enumerate() {
            assembler.push_packet(*sequence % 64, *timestamp, *marker, payload, start + Duration::from_millis(i as u64 * 10));
            while assembler.poll_frame().is_some() {}
        }
        assembler.handle_timeout(start + Duration::from_secs(10));
    }
}
