//! RTCP compound parse, scan and serialize for the compounds an SFU handles most.
//! Run: cargo bench -p mediasoup-py-core --bench rtcp

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use mediasoup_core::packet::rtcp::{
    parse_compound, serialize_compound, Nack, ReceiverReport, ReceptionReport, Remb,
    RtcpCompoundIter, RtcpPacket, SdesChunk, SdesItem, SenderReport, SourceDescription, SDES_CNAME,
};

fn report(ssrc: u32) -> ReceptionReport {
    ReceptionReport {
        ssrc,
        fraction_lost: 3,
        total_lost: 12,
        highest_sequence: 0x0001_2345,
        jitter: 40,
        last_sr: 0xAABB_CCDD,
        delay_since_last_sr: 0x1_0000,
    }
}

fn sdes(ssrc: u32) -> RtcpPacket {
    RtcpPacket::SourceDescription(SourceDescription {
        chunks: vec![SdesChunk {
            ssrc,
            items: vec![SdesItem {
                item_type: SDES_CNAME,
                value: b"4TK6xUp3Zw0bsGAm".to_vec(),
            }],
        }],
    })
}

fn compounds() -> [(&'static str, Vec<u8>); 2] {
    let sender = vec![
        RtcpPacket::SenderReport(SenderReport {
            ssrc: 1,
            ntp_seconds: 0xE1B2_C3D4,
            ntp_fraction: 0x8000_0000,
            rtp_timestamp: 90_000,
            packet_count: 1000,
            octet_count: 1_200_000,
            reports: vec![report(2)],
        }),
        sdes(1),
    ];
    let receiver = vec![
        RtcpPacket::ReceiverReport(ReceiverReport {
            ssrc: 1,
            reports: vec![report(2), report(3)],
        }),
        sdes(1),
        RtcpPacket::Remb(Remb {
            sender_ssrc: 1,
            bitrate: 2_500_000,
            ssrcs: vec![2, 3],
        }),
        RtcpPacket::Nack(Nack::from_lost(1, 2, &[100, 101, 105, 130])),
    ];
    let bytes = |packets: &[RtcpPacket]| {
        let mut out = Vec::new();
        serialize_compound(packets, &mut out).expect("valid packets");
        out
    };
    [
        ("SR+SDES", bytes(&sender)),
        ("RR+SDES+REMB+NACK", bytes(&receiver)),
    ]
}

fn bench_rtcp(c: &mut Criterion) {
    let mut group = c.benchmark_group("rtcp");
    for (name, datagram) in compounds() {
        group.bench_function(format!("parse {name}"), |b| {
            b.iter(|| parse_compound(black_box(&datagram)).expect("valid"))
        });
        group.bench_function(format!("scan {name}"), |b| {
            b.iter(|| {
                RtcpCompoundIter::new(black_box(&datagram))
                    .map(|item| item.expect("valid").0.packet_type)
                    .fold(0u32, |sum, packet_type| sum + u32::from(packet_type))
            })
        });
        let packets = parse_compound(&datagram).expect("valid");
        let mut out = Vec::with_capacity(512);
        group.bench_function(format!("serialize {name}"), |b| {
            b.iter(|| {
                out.clear();
                serialize_compound(black_box(&packets), &mut out).expect("valid");
                out.len()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_rtcp);
criterion_main!(benches);
