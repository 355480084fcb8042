//! The per-packet media path through a router, run a fixed number of times for an
//! instruction count (under callgrind, which counts deterministically where timings on a
//! shared machine do not): receive an SRTP video packet, decrypt it, hand it to the router,
//! whose transport's RTP listener finds the producer stream, which rewrites it; each of ten
//! consumers writes its copy, which its transport encrypts. Every 50 packets each receiving
//! endpoint's RTCP (a receiver report, and a NACK or a PLI) goes through the router's RTCP
//! dispatch too. `benches/instruction_count.sh` runs it and compares the count with the
//! committed baseline.
//!
//!     cargo run --release -p mediasoup-py-core --example packet_path

use std::time::{Duration, Instant};

use mediasoup_core::packet::codecs::PayloadCodec;
use mediasoup_core::packet::rtcp::{
    serialize_compound, Nack, Pli, ReceiverReport, ReceptionReport, RtcpPacket,
};
use mediasoup_core::packet::rtp::RtpHeader;
use mediasoup_core::rtc::consumer::ConsumerSpec;
use mediasoup_core::rtc::ids::{PayloadType, Ssrc};
use mediasoup_core::rtc::producer_stream::{EncodingSpec, ProducerSpec};
use mediasoup_core::rtc::router::{Router, RouterOutput, TransportKey};
use mediasoup_core::srtp::{SrtpProfile, SrtpSession};

const PACKETS: u16 = 2000;
const CONSUMERS: u32 = 10;
const PAYLOAD_LEN: usize = 1100;
const PROFILE: SrtpProfile = SrtpProfile::AeadAes128Gcm;
/// Receiving endpoints send RTCP every this many packets.
const RTCP_EVERY: u16 = 50;

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

/// The receiving transports: each encrypts the copies the router gives it.
struct Transports {
    sessions: Vec<SrtpSession>,
    sent: u64,
}

impl RouterOutput for Transports {
    fn send_rtp(&mut self, transport: TransportKey, buffer: &mut [u8], len: usize) {
        if let Some(session) = self.sessions.get_mut(transport.0) {
            session.protect_rtp(buffer, len).expect("protect");
            self.sent += 1;
        }
    }

    fn send_rtcp(&mut self, _transport: TransportKey, _buffer: &mut [u8], _len: usize) {}
}

/// What receiving endpoint `index` reports: its receiver report on our stream to it, and a
/// NACK of a recent packet or (every other time) a PLI.
fn endpoint_rtcp(index: u32, round: u16, last_sequence: u16) -> Vec<u8> {
    let ssrc = 0xC000 + index;
    let report = RtcpPacket::ReceiverReport(ReceiverReport {
        ssrc: 0xE000 + index,
        reports: vec![ReceptionReport {
            ssrc,
            ..ReceptionReport::default()
        }],
    });
    let feedback = if round % 2 == 0 {
        RtcpPacket::Nack(Nack::from_lost(0xE000 + index, ssrc, &[last_sequence]))
    } else {
        RtcpPacket::Pli(Pli {
            sender_ssrc: 0xE000 + index,
            media_ssrc: ssrc,
        })
    };
    let mut compound = Vec::new();
    serialize_compound(&[report, feedback], &mut compound).expect("valid RTCP");
    compound
}

fn main() {
    let packets = incoming();
    let start = Instant::now();
    let mut router = Router::new(start, Duration::from_secs(1_767_225_600), 42);
    let sender = router.add_transport(TransportKey(usize::MAX));
    let payload_type = |value| PayloadType::new(value).expect("7 bits");
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
        .add_producer(sender, "producer".into(), &spec, false, start)
        .expect("valid producer");
    let receivers: Vec<_> = (0..CONSUMERS)
        .map(|index| {
            let transport = router.add_transport(TransportKey(index as usize));
            let spec = ConsumerSpec {
                ssrc: Ssrc(0xC000 + index),
                payload_types: vec![payload_type(101)],
                needs_key_frame: true,
                clock_rate: 90_000,
                codec: Some(PayloadCodec::Vp8),
                ..ConsumerSpec::default()
            };
            router
                .add_consumer(
                    transport,
                    format!("consumer {index}"),
                    "producer",
                    spec,
                    false,
                )
                .expect("valid consumer");
            transport
        })
        .collect();
    let mut transports = Transports {
        sessions: (0..CONSUMERS)
            .map(|index| session(index as u8 + 2))
            .collect(),
        sent: 0,
    };
    let mut receiver = session(1);
    let mut buffer = vec![0u8; 1500];
    // 1 ms between packets, so retransmission budgets and timers behave as in a call.
    for (nth, packet) in (0u16..).zip(&packets) {
        let now = start + Duration::from_millis(u64::from(nth));
        let len = packet.len();
        buffer[..len].copy_from_slice(packet);
        let plain = receiver
            .unprotect_rtp(&mut buffer[..len])
            .expect("authentic");
        router.handle_rtp(sender, &mut buffer[..plain], now, &mut transports);
        if nth % RTCP_EVERY == RTCP_EVERY - 1 {
            for (index, &transport) in (0u32..).zip(&receivers) {
                let compound = endpoint_rtcp(index, nth / RTCP_EVERY, 1);
                router.handle_rtcp(transport, &compound, now, &mut transports);
            }
        }
    }
    let expected = u64::from(PACKETS) * u64::from(CONSUMERS);
    assert!(
        transports.sent >= expected,
        "{} copies sent, {expected} expected",
        transports.sent
    );
    println!("{} copies sent", transports.sent);
}
