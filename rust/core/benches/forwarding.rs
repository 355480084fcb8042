//! A consumer's per-packet cost: a simple consumer of one stream beside a simulcast
//! consumer of a three-stream VP8 producer (it sees every packet of all three, forwards one
//! stream, drops the other two and renumbers picture ids), in the same run. Each iteration
//! also parses the packet and its VP8 descriptor, which the router does once per packet for
//! all of a producer's consumers.

use std::hint::black_box;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use mediasoup_core::packet::codecs::vp8::Vp8PayloadDescriptor;
use mediasoup_core::packet::codecs::{FrameInfo, PayloadCodec};
use mediasoup_core::packet::rtp::{RtpHeader, RtpPacket};
use mediasoup_core::rtc::capture_clock::CaptureClock;
use mediasoup_core::rtc::consumer::{Consumer, ConsumerSpec, Forward, LayerSpec, ProducerRtp};
use mediasoup_core::rtc::ids::{PayloadType, Ssrc};
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
        ssrc: Ssrc(0xC0),
        payload_types: PayloadType::new(101).into_iter().collect(),
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

/// The consumer's copy of `packet`, from producer stream `stream`, parsed as the router
/// parses it, with what the router passes along with every packet: its stream's capture
/// clock.
fn forward(
    consumer: &mut Consumer,
    packet: &[u8],
    stream: u8,
    now: Instant,
    output: &mut [u8],
) -> Forward {
    let view = RtpPacket::parse(packet).expect("valid packet");
    let vp8 = Vp8PayloadDescriptor::parse(view.payload()).ok();
    let frame = FrameInfo {
        is_keyframe: vp8.is_some_and(|vp8| vp8.is_keyframe),
        temporal: vp8.and_then(|vp8| vp8.temporal_id).unwrap_or(0),
        spatial: 0,
    };
    let clock = Some(CaptureClock::new(90_000, 0, now, 0));
    let produced = ProducerRtp::new(&view, stream, frame, vp8, clock);
    consumer.forward(&produced, now, Some(&mut 0), output)
}

fn forwarding(c: &mut Criterion) {
    let mut group = c.benchmark_group("forwarding");
    group.throughput(Throughput::Elements(1));
    let mut output = vec![0u8; 1500];
    let now = Instant::now();

    // One stream: a keyframe, then packets with the next numbers.
    let mut packet = vp8(1000, 0, 0, true);
    let mut simple = Consumer::new(spec(None), false, (1, 1)).expect("valid spec");
    assert!(matches!(
        forward(&mut simple, &packet, 0, now, &mut output),
        Forward::Send { .. }
    ));
    packet[18] = 0x01; // inter frames from now on
    let mut index = 0u32;
    group.bench_function("simple consumer, per packet", |b| {
        b.iter(|| {
            index = index.wrapping_add(1);
            advance(&mut packet, index);
            black_box(forward(
                &mut simple,
                black_box(&packet),
                0,
                now,
                &mut output,
            ))
        })
    });
    assert!(
        simple.stats(Instant::now()).packets > 1,
        "the simple consumer forwarded"
    );

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
        forward(&mut simulcast, packet, stream as u8, now, &mut output);
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
                black_box(forward(
                    &mut simulcast,
                    black_box(packet),
                    stream as u8,
                    now,
                    &mut output,
                ))
            })
        },
    );
    group.finish();
    assert!(
        simulcast.stats(Instant::now()).packets > 1,
        "the simulcast consumer forwarded its stream"
    );
}

criterion_group!(benches, forwarding);
criterion_main!(benches);
