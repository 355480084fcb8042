//! A router driven by arbitrary sequences of what can happen to it, in virtual time:
//! transports, producers and consumers added and removed with specs drawn from the input,
//! RTP and RTCP datagrams (raw, or shaped around the SSRCs in use so they reach deep),
//! requests about producers and consumers, and time moving on with the timers run. It must
//! never panic, and what it keeps must stay bounded: each transport's listener knows at most
//! its producers' signaled SSRCs plus two learned per stream.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use mediasoup_core::packet::codecs::PayloadCodec;
use mediasoup_core::packet::rtcp::{
    serialize_compound, Fir, FirEntry, Nack, Pli, ReceiverReport, ReceptionReport, RtcpPacket,
    SenderReport,
};
use mediasoup_core::packet::rtp::{ExtensionBlock, ExtensionForm, RtpHeader};
use mediasoup_core::rtc::consumer::{ConsumerSpec, LayerSpec, RtxSpec};
use mediasoup_core::rtc::ids::{PayloadType, Ssrc};
use mediasoup_core::rtc::layer_selector::Layers;
use mediasoup_core::rtc::producer_stream::{EncodingSpec, ProducerSpec};
use mediasoup_core::rtc::router::{
    ConsumerRequest, ProducerRequest, Router, RouterOutput, TransportIndex, TransportKey,
};

/// Reads the fuzzer's bytes as a stream of small choices; zeros once they run out.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        let (first, rest) = self.0.split_first().unwrap_or((&0, &[]));
        self.0 = rest;
        *first
    }

    fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.byte(), self.byte()])
    }

    fn pick(&mut self, count: usize) -> usize {
        if count == 0 {
            0
        } else {
            usize::from(self.byte()) % count
        }
    }

    fn bytes(&mut self, max: usize) -> Vec<u8> {
        let len = self.pick(max + 1);
        (0..len).map(|_| self.byte()).collect()
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Counts what the router sends, and checks each RTP copy is at least a header.
struct Sink;

impl RouterOutput for Sink {
    fn send_rtp(&mut self, _: TransportKey, buffer: &mut [u8], len: usize) {
        assert!(
            len >= 12 && len <= buffer.len(),
            "a copy is a packet in its buffer"
        );
    }

    fn send_rtcp(&mut self, _: TransportKey, buffer: &mut [u8], len: usize) {
        assert!(
            len >= 4 && len <= buffer.len(),
            "a compound is in its buffer"
        );
    }
}

const SSRCS: [u32; 4] = [1111, 2222, 3333, 4444];
const CODECS: [Option<PayloadCodec>; 4] = [
    Some(PayloadCodec::Vp8),
    Some(PayloadCodec::Vp9),
    Some(PayloadCodec::Opus),
    None,
];

fn payload_type(value: u8) -> PayloadType {
    PayloadType::new(value & 0x7F).unwrap_or_default()
}

fn producer_spec(input: &mut Input<'_>) -> ProducerSpec {
    let codec = CODECS[input.pick(CODECS.len())];
    let encodings = (0..1 + input.pick(3))
        .map(|index| EncodingSpec {
            ssrc: (input.byte() % 2 == 0).then(|| Ssrc(SSRCS[input.pick(4)] + index as u32)),
            rid: (input.byte() % 2 == 0).then(|| format!("r{index}")),
            rtx_ssrc: (input.byte() % 4 == 0).then(|| Ssrc(SSRCS[input.pick(4)] + 100)),
            mapped_ssrc: Ssrc(0x5000 + u32::from(input.byte())),
        })
        .collect();
    ProducerSpec {
        payload_types: vec![(payload_type(96), payload_type(101), codec)],
        extension_ids: vec![(1, 1), (2, 2), (3, 3), (5, 5)],
        mid: (input.byte() % 2 == 0).then(|| (1, format!("{}", input.pick(3)))),
        rid_extension_id: Some(2),
        repaired_rid_extension_id: Some(3),
        encodings,
        store_for_retransmission: input.byte() % 2 == 0,
        clock_rate: 90_000,
        rtx_payload_types: vec![(payload_type(97), payload_type(96))],
        generate_nacks: input.byte() % 2 == 0,
        transport_cc_extension_id: (input.byte() % 2 == 0).then_some(5),
        audio_level_extension_id: (input.byte() % 3 == 0).then_some(3),
        key_frame_request_delay: Duration::from_millis(u64::from(input.byte()) * 4),
        use_fir: input.byte() % 4 == 0,
        ..ProducerSpec::default()
    }
}

fn consumer_spec(input: &mut Input<'_>, ssrc: u32) -> ConsumerSpec {
    let layers = (input.byte() % 3 == 0).then(|| LayerSpec {
        svc: input.byte() % 2 == 0,
        spatial_layers: 1 + input.byte() % 3,
        temporal_layers: 1 + input.byte() % 3,
        preferred: Layers {
            spatial: input.byte() % 3,
            temporal: input.byte() % 3,
        },
    });
    ConsumerSpec {
        ssrc: Ssrc(ssrc),
        payload_types: vec![payload_type(101)],
        extension_ids: vec![1, 5],
        mid: (input.byte() % 2 == 0).then(|| (1, "7".to_owned())),
        needs_key_frame: input.byte() % 2 == 0,
        rtx: (input.byte() % 2 == 0).then(|| RtxSpec {
            ssrc: Ssrc(ssrc + 1),
            payload_types: vec![(payload_type(101), payload_type(102))],
        }),
        clock_rate: 90_000,
        transport_cc_extension_id: (input.byte() % 2 == 0).then_some(5),
        codec: CODECS[input.pick(CODECS.len())],
        layers,
        stream: input.byte() % 3,
        ..ConsumerSpec::default()
    }
}

/// An RTP packet on an SSRC in use (or near one), with MID and RID extensions sometimes.
fn shaped_rtp(input: &mut Input<'_>) -> Vec<u8> {
    let mut elements = Vec::new();
    if input.byte() % 2 == 0 {
        elements.push((1, format!("{}", input.pick(3)).into_bytes()));
    }
    if input.byte() % 2 == 0 {
        elements.push((2, format!("r{}", input.pick(3)).into_bytes()));
    }
    if input.byte() % 2 == 0 {
        elements.push((5, input.u16().to_be_bytes().to_vec()));
    }
    let header = RtpHeader {
        payload_type: [96, 97, 111][input.pick(3)],
        marker: input.byte() % 2 == 0,
        sequence_number: input.u16(),
        timestamp: u32::from(input.u16()) * 90,
        ssrc: SSRCS[input.pick(4)] + [0, 1, 2, 100][input.pick(4)],
        extensions: (!elements.is_empty()).then_some(ExtensionBlock {
            form: ExtensionForm::OneByte,
            elements,
        }),
        ..RtpHeader::default()
    };
    let payload = input.bytes(40);
    let mut packet = Vec::new();
    if header.write_into(&payload, &mut packet).is_err() {
        packet.clear();
    }
    packet
}

/// RTCP about SSRCs in use: reports, NACKs, PLIs, FIRs.
fn shaped_rtcp(input: &mut Input<'_>) -> Vec<u8> {
    let ssrc = 0xC000 + u32::from(input.byte() % 8);
    let packet = match input.pick(5) {
        0 => RtcpPacket::ReceiverReport(ReceiverReport {
            ssrc: 9,
            reports: vec![ReceptionReport {
                ssrc,
                fraction_lost: input.byte(),
                last_sr: u32::from(input.u16()),
                ..ReceptionReport::default()
            }],
        }),
        1 => RtcpPacket::Nack(Nack::from_lost(
            9,
            ssrc,
            &(0..input.pick(40)).map(|_| input.u16()).collect::<Vec<_>>(),
        )),
        2 => RtcpPacket::Pli(Pli {
            sender_ssrc: 9,
            media_ssrc: ssrc,
        }),
        3 => RtcpPacket::Fir(Fir {
            sender_ssrc: 9,
            media_ssrc: 0,
            entries: vec![FirEntry {
                ssrc,
                sequence_number: input.byte(),
            }],
        }),
        _ => RtcpPacket::SenderReport(SenderReport {
            ssrc: SSRCS[input.pick(4)],
            ntp_seconds: u32::from(input.u16()),
            ..SenderReport::default()
        }),
    };
    let mut compound = Vec::new();
    let _ = serialize_compound(&[packet], &mut compound);
    compound
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let start = Instant::now();
    let mut now = start;
    let mut router = Router::new(start, Duration::from_secs(1_767_225_600), 1);
    let mut transports: Vec<TransportIndex> = Vec::new();
    let mut producers: Vec<String> = Vec::new();
    let mut consumers: Vec<String> = Vec::new();
    let mut out = Sink;
    let mut next_id = 0u32;
    while !input.is_empty() {
        next_id += 1;
        match input.byte() % 12 {
            0 => {
                let key = TransportKey(transports.len());
                transports.push(router.add_transport(key));
            }
            1 if !transports.is_empty() => {
                let transport = transports[input.pick(transports.len())];
                let spec = producer_spec(&mut input);
                let id = format!("p{next_id}");
                if router
                    .add_producer(transport, id.clone(), &spec, input.byte() % 4 == 0, now)
                    .is_ok()
                {
                    producers.push(id);
                }
            }
            2 if !transports.is_empty() && !producers.is_empty() => {
                let transport = transports[input.pick(transports.len())];
                let producer = producers[input.pick(producers.len())].clone();
                let ssrc = 0xC000 + u32::from(input.byte() % 8);
                let spec = consumer_spec(&mut input, ssrc);
                let id = format!("c{next_id}");
                if router
                    .add_consumer(
                        transport,
                        id.clone(),
                        &producer,
                        spec,
                        input.byte() % 4 == 0,
                    )
                    .is_ok()
                {
                    consumers.push(id);
                }
            }
            3 | 4 if !transports.is_empty() => {
                let transport = transports[input.pick(transports.len())];
                let mut packet = if input.byte() % 4 == 0 {
                    input.bytes(64)
                } else {
                    shaped_rtp(&mut input)
                };
                router.handle_rtp(transport, &mut packet, now, &mut out);
            }
            5 if !transports.is_empty() => {
                let transport = transports[input.pick(transports.len())];
                let compound = if input.byte() % 3 == 0 {
                    input.bytes(64)
                } else {
                    shaped_rtcp(&mut input)
                };
                router.handle_rtcp(transport, &compound, now, &mut out);
            }
            6 => {
                now += Duration::from_millis(u64::from(input.byte()) * 20);
                while router.poll_timeout() <= now {
                    router.handle_timeout(now, &mut out);
                }
            }
            7 if !consumers.is_empty() => {
                let id = consumers[input.pick(consumers.len())].clone();
                let request = match input.pick(7) {
                    0 => ConsumerRequest::SetPaused(input.byte() % 2 == 0),
                    1 => ConsumerRequest::SetPreferredLayers(Layers {
                        spatial: input.byte() % 4,
                        temporal: input.byte() % 4,
                    }),
                    2 => ConsumerRequest::SetPriority(input.byte()),
                    3 => ConsumerRequest::SetTrace(input.byte()),
                    4 => ConsumerRequest::RequestKeyFrame,
                    5 => ConsumerRequest::Dump,
                    _ => ConsumerRequest::GetStats,
                };
                let _ = router.handle_consumer_request(&id, request, now, &mut out);
            }
            8 if !producers.is_empty() => {
                let id = producers[input.pick(producers.len())].clone();
                let request = match input.pick(3) {
                    0 => ProducerRequest::SetPaused(input.byte() % 2 == 0),
                    1 => ProducerRequest::SetTrace(input.byte()),
                    _ => ProducerRequest::GetStats,
                };
                let _ = router.handle_producer_request(&id, request, now);
            }
            9 if !consumers.is_empty() => {
                let id = consumers.swap_remove(input.pick(consumers.len()));
                let _ = router.handle_consumer_request(&id, ConsumerRequest::Close, now, &mut out);
            }
            10 if !producers.is_empty() => {
                let id = producers.swap_remove(input.pick(producers.len()));
                let _ = router.handle_producer_request(&id, ProducerRequest::Close, now);
            }
            11 if !transports.is_empty() => {
                let transport = transports.swap_remove(input.pick(transports.len()));
                router.remove_transport(transport);
            }
            _ => {}
        }
        let _ = router.take_events().count();
        for &transport in &transports {
            // Signaled SSRCs (media and RTX, at most 2 per stream of at most 3) and learned
            // ones (2 per stream), over every producer that may be on it.
            let (producers_now, _) = router.counts();
            assert!(router.known_ssrc_count(transport) <= producers_now * 12);
        }
    }
});
