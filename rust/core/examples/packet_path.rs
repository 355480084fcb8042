//! The per-packet media path, run a fixed number of times for an instruction count (under
//! callgrind, which counts deterministically where timings on a shared machine do not):
//! receive an SRTP video packet, decrypt it, let the producer claim and rewrite it, and for
//! each of ten consumers write its copy and encrypt it. `benches/instruction_count.sh` runs it
//! and compares the count with the committed baseline.
//!
//!     cargo run --release -p mediasoup-py-core --example packet_path

use std::time::Instant;

use mediasoup_core::packet::codecs::PayloadCodec;
use mediasoup_core::packet::rtp::RtpHeader;
use mediasoup_core::rtc::consumer::{Consumer, ConsumerSpec, Forward};
use mediasoup_core::rtc::producer::{Ingest, Producer, ProducerSpec};
use mediasoup_core::srtp::{SrtpProfile, SrtpSession};

const PACKETS: u16 = 2000;
const CONSUMERS: u32 = 10;
const PAYLOAD_LEN: usize = 1100;
const PROFILE: SrtpProfile = SrtpProfile::AeadAes128Gcm;

fn session(seed: u8) -> SrtpSession {
    SrtpSession::new(
        PROFILE,
        &vec![seed; PROFILE.key_len()],
        &vec![seed ^ 0x5A; PROFILE.salt_len()],
    )
    .expect("valid key lengths")
}

/// The sender's packets, encrypted: VP8 with a keyframe every 100.
fn incoming() -> Vec<Vec<u8>> {
    let mut sender = session(1);
    (0..PACKETS)
        .map(|sequence| {
            let header = RtpHeader {
                payload_type: 96,
                sequence_number: sequence,
                timestamp: u32::from(sequence / 8) * 3000,
                ssrc: 0x1234,
                marker: sequence % 8 == 7,
                ..RtpHeader::default()
            };
            let keyframe = sequence % 100 == 0;
            let mut payload = vec![0x10, 0x00, if keyframe { 0x00 } else { 0x01 }];
            payload.resize(PAYLOAD_LEN, 0xA5);
            let mut packet = Vec::new();
            header
                .write_into(&payload, &mut packet)
                .expect("valid header");
            let len = packet.len();
            packet.resize(len + PROFILE.rtp_tag_len(), 0);
            let protected = sender.protect_rtp(&mut packet, len).expect("protect");
            packet.truncate(protected);
            packet
        })
        .collect()
}

fn main() {
    let packets = incoming();
    let now = Instant::now();
    let mut receiver = session(1);
    let mut producer = Producer::new(ProducerSpec {
        payload_types: vec![(96, 101, Some(PayloadCodec::Vp8))],
        ssrc: Some(0x1234),
        mapped_ssrc: 0x5EED,
        store_for_retransmission: true,
        clock_rate: 90_000,
        generate_nacks: true,
        ..ProducerSpec::default()
    })
    .expect("valid producer");
    let mut consumers: Vec<(Consumer, SrtpSession)> = (0..CONSUMERS)
        .map(|index| {
            let consumer = Consumer::new(
                ConsumerSpec {
                    ssrc: 0xC000 + index,
                    payload_types: vec![101],
                    needs_key_frame: true,
                    clock_rate: 90_000,
                    codec: Some(PayloadCodec::Vp8),
                    ..ConsumerSpec::default()
                },
                false,
                (1, 1),
            )
            .expect("valid consumer");
            (consumer, session(index as u8 + 2))
        })
        .collect();
    let mut buffer = vec![0u8; 1500];
    let mut output = vec![0u8; 1500];
    let mut sent = 0u64;
    for packet in &packets {
        let len = packet.len();
        buffer[..len].copy_from_slice(packet);
        let plain = receiver
            .unprotect_rtp(&mut buffer[..len])
            .expect("authentic");
        let Ingest::Accepted { produced, len } = producer.ingest(&mut buffer[..plain], now) else {
            panic!("the producer's packet");
        };
        let clock = producer.capture_clock();
        for (consumer, sender) in &mut consumers {
            if let Forward::Send(copy) = consumer.forward(
                &buffer[..len],
                0,
                produced.is_keyframe,
                clock,
                now,
                &mut output,
            ) {
                sender.protect_rtp(&mut output, copy).expect("protect");
                sent += 1;
            }
        }
    }
    assert_eq!(sent, u64::from(PACKETS) * u64::from(CONSUMERS));
    println!("{sent} copies sent");
}
