//! SRTP protect and unprotect per profile for a 1200-byte payload, the size of a video packet.
//! Run: cargo bench -p mediasoup-py-core --bench srtp

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use mediasoup_core::srtp::{SrtpProfile, SrtpSession};

const PAYLOAD_LEN: usize = 1200;
/// Packets per unprotect batch: each is unprotected once (a replay would be rejected).
const BATCH: u16 = 512;

fn rtp_packet(sequence: u16) -> Vec<u8> {
    let mut packet = vec![0x90, 96];
    packet.extend(sequence.to_be_bytes());
    packet.extend(90_000u32.to_be_bytes());
    packet.extend(0x1122_3344u32.to_be_bytes());
    packet.extend([0xBE, 0xDE, 0x00, 0x01, 0x10, b'0', 0, 0]);
    packet.extend(std::iter::repeat_n(0xA5, PAYLOAD_LEN));
    packet
}

fn session(profile: SrtpProfile) -> SrtpSession {
    SrtpSession::new(
        profile,
        &vec![7; profile.key_len()],
        &vec![9; profile.salt_len()],
    )
    .expect("valid key lengths")
}

fn bench_profiles(c: &mut Criterion) {
    for profile in SrtpProfile::ALL {
        let mut group = c.benchmark_group(format!("srtp/{}", profile.name()));
        group.throughput(Throughput::Elements(1));
        let plain = rtp_packet(1);
        let plain_len = plain.len();
        let mut buffer = plain.clone();
        buffer.resize(plain_len + profile.rtp_tag_len(), 0);
        let mut sender = session(profile);
        group.bench_function("protect", |b| {
            b.iter(|| {
                buffer[..plain_len].copy_from_slice(&plain);
                sender.protect_rtp(&mut buffer, plain_len).expect("protect")
            })
        });

        let mut sender = session(profile);
        let protected: Vec<Vec<u8>> = (0..BATCH)
            .map(|sequence| {
                let mut packet = rtp_packet(sequence);
                let len = packet.len();
                packet.resize(len + profile.rtp_tag_len(), 0);
                let protected_len = sender.protect_rtp(&mut packet, len).expect("protect");
                packet.truncate(protected_len);
                packet
            })
            .collect();
        group.throughput(Throughput::Elements(u64::from(BATCH)));
        group.bench_function(format!("unprotect x{BATCH}"), |b| {
            b.iter_batched(
                || (session(profile), protected.clone()),
                |(mut receiver, mut packets)| {
                    for packet in &mut packets {
                        receiver.unprotect_rtp(packet).expect("unprotect");
                    }
                },
                BatchSize::LargeInput,
            )
        });
        group.finish();
    }
}

criterion_group!(benches, bench_profiles);
criterion_main!(benches);
