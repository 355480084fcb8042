//! Feeds arbitrary bytes to the encoded-frame code: as a stream of RTP packet fields into a
//! frame assembler (with holes timing out), and as one frame into a packetizer whose
//! payloads must depacketize back (to the same bytes for the codecs that carry frames
//! unchanged). Nothing may panic.

#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use mediasoup_core::packet::codecs::PayloadCodec;
use mediasoup_core::rtc::frames::assembler::{AssemblerConfig, FrameAssembler};
use mediasoup_core::rtc::frames::packetizer::FramePacketizer;
use mediasoup_core::rtc::frames::{depacketize, starts_frame};

const CODECS: [PayloadCodec; 5] = [
    PayloadCodec::Opus,
    PayloadCodec::Vp8,
    PayloadCodec::Vp9,
    PayloadCodec::H264,
    PayloadCodec::Av1,
];

fuzz_target!(|data: &[u8]| {
    let [selector, size, rest @ ..] = data else {
        return;
    };
    let codec = CODECS[usize::from(*selector) % CODECS.len()];

    // Records: sequence step, timestamp step and marker, payload length, payload.
    let start = Instant::now();
    let mut assembler = FrameAssembler::new(codec, AssemblerConfig::default());
    let (mut sequence, mut timestamp) = (0_u16, 0_u32);
    let mut records = rest;
    let mut step = 0;
    while let [sequence_step, flags, len, tail @ ..] = records {
        let len = usize::from(*len).min(tail.len());
        let (payload, after) = tail.split_at(len);
        records = after;
        sequence = sequence.wrapping_add(u16::from(*sequence_step).wrapping_sub(2));
        timestamp = timestamp.wrapping_add(u32::from(flags >> 1) * 90);
        let _ = starts_frame(codec, payload);
        step += 1;
        let now = start + Duration::from_millis(step * 20);
        assembler.push_packet(sequence, timestamp, flags & 1 != 0, payload, now);
        while let Some(frame) = assembler.poll_frame() {
            assert!(!frame.data.is_empty());
        }
        let _ = assembler.poll_keyframe_request();
        if assembler.poll_timeout().is_some_and(|at| at <= now) {
            assembler.handle_timeout(now);
        }
    }
    assembler.handle_timeout(start + Duration::from_secs(3600));

    let mut packetizer = FramePacketizer::new(codec, usize::from(*size) * 8, 0);
    let mut payloads = Vec::new();
    if packetizer
        .packetize(rest, selector & 0x80 != 0, &mut payloads)
        .is_ok()
    {
        assert!(payloads.iter().all(|p| p.len() <= usize::from(*size) * 8));
        let mut frame = Vec::new();
        depacketize(codec, payloads.iter().map(Vec::as_slice), &mut frame)
            .expect("a packetizer's payloads depacketize");
        if matches!(
            codec,
            PayloadCodec::Opus | PayloadCodec::Vp8 | PayloadCodec::Vp9
        ) {
            assert_eq!(frame, rest);
        }
    }
});
