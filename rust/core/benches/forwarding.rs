//! A consumer's per-packet cost: a simple consumer of one stream beside a simulcast
//! consumer of a three-stream VP8 producer (it sees every packet of all three, forwards one
//! stream, drops the other two and renumbers picture ids), in the same run.

use std::hint::black_box;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use mediasoup_core::packet::codecs::PayloadCodec;
use mediasoup_core::packet::rtp::RtpHeader;
use mediasoup_core::rtc::capture_clock::CaptureClock;
use mediasoup_core::rtc::consumer::{Consumer, ConsumerSpec, Forward, LayerSpec};
use mediasoup_core::rtc::layer_selector::Layers;

/// A 1200-byte VP8 packet of `ssrc` with a 15-bit picture id, TL0PICIDX and TID 0.
fn vp8(ssrc: u32, sequence: u16, picture_id: u16, key: bool) -> Vec<u8> {
    let header = RtpHeader {
        payload_type: 101,
        sequence_number: sequence,
        timestamp: u32::from(picture_id) * 3000,
        ssrc,
        ..RtpHeader::default()
    };
    let [high, low] = (picture_id | 0x8000).to_be_bytes();
    let mut payload = vec![0x90, 0xE0, high, low, picture_id as u8, 0x00];
    payload.push(if key { 0x00 } else { 0x01 });
    payload.resize(1200 - header.header_len(), 0x5A);
    let mut packet = Vec::new();
    header
        .write_into(&payload, &mut packet)
        .expect("valid header");
    packet
}

fn spec(layers: Option<LayerSpec>) -> ConsumerSpec {
    ConsumerSpec {
        ssrc: 0xC0,
        payload_types: vec![101],
        extension_ids: vec![1],
        mid: Some((1, "2".into())),
        needs_key_frame: true,
        clock_rate: 90_000,
        codec: Some(PayloadCodec::Vp8),
        layers,
        ..ConsumerSpec::default()
    }
}

/// Moves a packet built by [`vp8`] on to the next sequence number and picture id, in place
/// (both wrap as a sender's do, so the stream stays continuous however long the run).
fn advance(packet: &mut [u8], index: u32) {
    packet[2..4].copy_from_slice(&(index as u16).to_be_bytes());
    let picture_id = (index as u16 & 0x7FFF) | 0x8000;
    // 12-byte header, then the descriptor's two flag bytes.
    packet[14..16].copy_from_slice(&picture_id.to_be_bytes());
}

fn forwarding(c: &mut Criterion) {
    let mut group = c.benchmark_group("forwarding");
    group.throughput(Throughput::Elements(1));
    let mut output = vec![0u8; 1500];
    let now = Instant::now();
    // What the routing passes along with every packet: its stream's capture clock.
    let clock = Some(CaptureClock::new(90_000, 0, now, 0));

    // One stream: a keyframe, then packets with the next numbers.
    let mut packet = vp8(1000, 0, 0, true);
    let mut simple = Consumer::new(spec(None), false, (1, 1)).expect("valid spec");
    assert!(matches!(
        simple.forward(&packet, 0, true, clock, now, &mut output),
        Forward::Send(_)
    ));
    packet[18] = 0x01; // inter frames from now on
    let mut index = 0u32;
    group.bench_function("simple consumer, per packet", |b| {
        b.iter(|| {
            index = index.wrapping_add(1);
            advance(&mut packet, index);
            black_box(simple.forward(black_box(&packet), 0, false, clock, now, &mut output))
        })
    });
    assert!(simple.stats().packets > 1, "the simple consumer forwarded");

    // Three streams of the same packets, interleaved; the consumer takes the middle one.
    let mut streams: Vec<Vec<u8>> = (0..3u32)
        .map(|stream| vp8(1000 + stream, 0, 0, true))
        .collect();
    let layers = LayerSpec {
        svc: false,
        spatial_layers: 3,
        temporal_layers: 1,
        preferred: Layers {
            spatial: 1,
            temporal: 0,
        },
    };
    let mut simulcast = Consumer::new(spec(Some(layers)), false, (1, 1)).expect("valid spec");
    for (stream, packet) in streams.iter_mut().enumerate() {
        simulcast.forward(packet, stream as u8, true, clock, now, &mut output);
        packet[18] = 0x01;
    }
    let mut index = 0u32;
    group.bench_function(
        "simulcast consumer (3 streams in, 1 out), per packet in",
        |b| {
            b.iter(|| {
                index = index.wrapping_add(1);
                let stream = (index % 3) as usize;
                let packet = &mut streams[stream];
                advance(packet, index / 3 + 1);
                black_box(simulcast.forward(
                    black_box(packet),
                    stream as u8,
                    false,
                    clock,
                    now,
                    &mut output,
                ))
            })
        },
    );
    group.finish();
    assert!(
        simulcast.stats().packets > 1,
        "the simulcast consumer forwarded its stream"
    );
}

criterion_group!(benches, forwarding);
criterion_main!(benches);
