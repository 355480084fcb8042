//! RTP hot-path benchmarks: parsing a 1200-byte packet with four header extensions, the
//! per-consumer rewrite (payload type, sequence number, timestamp, SSRC, extension ids), and
//! the VP8 payload descriptor parse used for key frame and layer decisions.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use mediasoup_core::packet::codecs::vp8::Vp8PayloadDescriptor;
use mediasoup_core::packet::rtp::{
    ExtensionBlock, ExtensionForm, ExtensionIdMap, RtpHeader, RtpPacket,
};

/// A 1200-byte VP8 packet with abs-send-time, transport-cc, MID and RID, as Chrome sends.
fn chrome_like_packet() -> Vec<u8> {
    let header = RtpHeader {
        payload_type: 96,
        sequence_number: 8000,
        timestamp: 90_000,
        ssrc: 0x6B8B_4567,
        extensions: Some(ExtensionBlock {
            form: ExtensionForm::OneByte,
            elements: vec![
                (2, vec![0x12, 0x34, 0x56]),
                (3, vec![0x00, 0x2A]),
                (4, b"0".to_vec()),
                (10, b"h".to_vec()),
            ],
        }),
        ..RtpHeader::default()
    };
    let mut payload = vec![0x90, 0xE0, 0x92, 0x34, 0x05, 0x20, 0x10, 0x02, 0x00];
    payload.resize(1200 - header.header_len(), 0x5A);
    let mut packet = Vec::new();
    header
        .write_into(&payload, &mut packet)
        .expect("valid header");
    packet
}

fn rtp(c: &mut Criterion) {
    let packet = chrome_like_packet();
    let mut group = c.benchmark_group("rtp");
    group.throughput(Throughput::Elements(1));

    group.bench_function("rtp parse", |b| {
        b.iter(|| {
            let parsed = RtpPacket::parse(black_box(&packet[..])).expect("valid packet");
            black_box((parsed.sequence_number(), parsed.payload().len()))
        })
    });

    // A permutation of the four ids, so the same buffer stays valid across iterations.
    let mut ids = ExtensionIdMap::new();
    for (from, to) in [(2, 3), (3, 4), (4, 10), (10, 2)] {
        ids.insert(from, to).expect("non-zero id");
    }
    let mut buffer = packet.clone();
    let mut sequence_number = 0u16;
    group.bench_function("rtp parse + header rewrite", |b| {
        b.iter(|| {
            let mut parsed = RtpPacket::parse(black_box(&mut buffer[..])).expect("valid packet");
            sequence_number = sequence_number.wrapping_add(1);
            parsed.set_payload_type(101).expect("7-bit payload type");
            parsed.set_sequence_number(sequence_number);
            parsed.set_timestamp(u32::from(sequence_number) * 3000);
            parsed.set_ssrc(0xC0FF_EE00);
            parsed
                .remap_header_extension_ids(black_box(&ids))
                .expect("ids fit the one-byte form");
            black_box(parsed.header_len())
        })
    });

    let payload = RtpPacket::parse(&packet[..])
        .expect("valid packet")
        .payload()
        .to_vec();
    group.bench_function("vp8 descriptor parse", |b| {
        b.iter(|| {
            let descriptor =
                Vp8PayloadDescriptor::parse(black_box(&payload[..])).expect("valid descriptor");
            black_box(descriptor.is_keyframe)
        })
    });
    group.finish();
}

criterion_group!(benches, rtp);
criterion_main!(benches);
