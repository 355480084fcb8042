//! A router's costs that grow with a room, or must not: adding and removing a consumer of a
//! producer that already has 10 or 1,000 (O(1) both: the consumer leaves its producer's list
//! by swapping with the last), one packet routed to 10 consumers (the RTP listener's lookup,
//! the stream's rewrite, each consumer's copy), and one endpoint's RTCP compound (a receiver
//! report and a NACK) through the RTCP dispatch.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use mediasoup_core::packet::codecs::PayloadCodec;
use mediasoup_core::packet::rtcp::{
    serialize_compound, Nack, ReceiverReport, ReceptionReport, RtcpPacket,
};
use mediasoup_core::packet::rtp::RtpHeader;
use mediasoup_core::rtc::consumer::ConsumerSpec;
use mediasoup_core::rtc::ids::{PayloadType, Ssrc};
use mediasoup_core::rtc::producer_stream::{EncodingSpec, ProducerSpec};
use mediasoup_core::rtc::router::{
    ConsumerRequest, Router, RouterOutput, TransportIndex, TransportKey,
};

/// Counts what the router sends.
struct Counter(u64);

impl RouterOutput for Counter {
    fn send_rtp(&mut self, _: TransportKey, _: &mut [u8], _: usize) {
        self.0 += 1;
    }

    fn send_rtcp(&mut self, _: TransportKey, _: &mut [u8], _: usize) {
        self.0 += 1;
    }
}

fn payload_type(value: u8) -> PayloadType {
    PayloadType::new(value).expect("7 bits")
}

fn consumer_spec(ssrc: u32) -> ConsumerSpec {
    ConsumerSpec {
        ssrc: Ssrc(ssrc),
        payload_types: vec![payload_type(101)],
        needs_key_frame: true,
        clock_rate: 90_000,
        codec: Some(PayloadCodec::Vp8),
        ..ConsumerSpec::default()
    }
}

/// A router with a VP8 producer on transport 0 and `consumers` consumers, each on a
/// transport of its own; the consumers' transports.
fn room(consumers: u32, now: Instant) -> (Router, TransportIndex, Vec<TransportIndex>) {
    let mut router = Router::new(now, Duration::from_secs(1_767_225_600), 7);
    let sender = router.add_transport(TransportKey(0));
    let spec = ProducerSpec {
        payload_types: vec![(payload_type(96), payload_type(101), Some(PayloadCodec::Vp8))],
        encodings: vec![EncodingSpec {
            ssrc: Some(Ssrc(0x1234)),
            mapped_ssrc: Ssrc(0x5EED),
            ..EncodingSpec::default()
        }],
        store_for_retransmission: true,
        clock_rate: 90_000,
        generate_nacks: true,
        ..ProducerSpec::default()
    };
    router
        .add_producer(sender, "producer".into(), &spec, false, now)
        .expect("valid producer");
    let receivers = (0..consumers)
        .map(|index| {
            let transport = router.add_transport(TransportKey(1 + index as usize));
            router
                .add_consumer(
                    transport,
                    format!("c{index}"),
                    "producer",
                    consumer_spec(0xC000 + index),
                    false,
                )
                .expect("valid consumer");
            transport
        })
        .collect();
    (router, sender, receivers)
}

fn consumer_churn(c: &mut Criterion) {
    let mut group = c.benchmark_group("router: add and remove one consumer");
    let now = Instant::now();
    for consumers in [10u32, 1000] {
        let (mut router, _, _) = room(consumers, now);
        let transport = router.add_transport(TransportKey(usize::MAX));
        let mut counter = Counter(0);
        group.bench_with_input(
            BenchmarkId::new("beside other consumers", consumers),
            &consumers,
            |b, _| {
                b.iter(|| {
                    router
                        .add_consumer(
                            transport,
                            "churn".into(),
                            "producer",
                            consumer_spec(0xFFFF),
                            false,
                        )
                        .expect("added");
                    router
                        .handle_consumer_request("churn", ConsumerRequest::Close, now, &mut counter)
                        .expect("removed")
                })
            },
        );
    }
    group.finish();
}

/// A 1200-byte VP8 packet of the producer.
fn vp8(sequence: u16, key: bool) -> Vec<u8> {
    let header = RtpHeader {
        payload_type: 96,
        sequence_number: sequence,
        timestamp: u32::from(sequence) * 3000,
        ssrc: 0x1234,
        ..RtpHeader::default()
    };
    let mut payload = vec![0x10, if key { 0x00 } else { 0x01 }];
    payload.resize(1188, 0x5A);
    let mut packet = Vec::new();
    header
        .write_into(&payload, &mut packet)
        .expect("valid header");
    packet
}

fn fan_out(c: &mut Criterion) {
    let mut group = c.benchmark_group("router");
    let now = Instant::now();
    let (mut router, sender, receivers) = room(10, now);
    let mut counter = Counter(0);
    router.handle_rtp(sender, &mut vp8(0, true), now, &mut counter);
    let mut packet = vp8(1, false);
    let mut sequence = 1u16;
    group.throughput(Throughput::Elements(10));
    group.bench_function("one packet to 10 consumers", |b| {
        b.iter(|| {
            sequence = sequence.wrapping_add(1);
            packet[2..4].copy_from_slice(&sequence.to_be_bytes());
            // The producer rewrites the packet in place: give it the client's numbers back.
            packet[1] = 96;
            packet[8..12].copy_from_slice(&0x1234u32.to_be_bytes());
            router.handle_rtp(sender, black_box(&mut packet), now, &mut counter);
        })
    });
    let mut compound = Vec::new();
    serialize_compound(
        &[
            RtcpPacket::ReceiverReport(ReceiverReport {
                ssrc: 9,
                reports: vec![ReceptionReport {
                    ssrc: 0xC000,
                    ..ReceptionReport::default()
                }],
            }),
            RtcpPacket::Nack(Nack::from_lost(9, 0xC000, &[3])),
        ],
        &mut compound,
    )
    .expect("valid RTCP");
    group.throughput(Throughput::Elements(1));
    group.bench_function("an endpoint's RTCP compound (RR + NACK)", |b| {
        b.iter(|| router.handle_rtcp(receivers[0], black_box(&compound), now, &mut counter))
    });
    group.finish();
}

criterion_group!(benches, consumer_churn, fan_out);
criterion_main!(benches);
