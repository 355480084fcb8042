//! Routing behaviour, in virtual time on the [`harness::Bench`]: what reaches whom, with what
//! numbering, what feedback goes where, and how losses and reordering on the simulated links
//! are repaired.

mod harness;

use std::time::Duration;

use harness::{Behaviour, Bench, Link};

use super::{
    ConsumerRequest, ProducerRequest, RouterEvent, RouterResponse, RtpObserverOptions,
    RtpObserverReport, RtpObserverRequest,
};
use crate::packet::codecs::vp8::Vp8PayloadDescriptor;
use crate::packet::codecs::PayloadCodec;
use crate::packet::rtcp::{Fir, FirEntry, Nack, Pli, ReceiverReport, ReceptionReport, RtcpPacket};
use crate::packet::rtp::{ExtensionBlock, ExtensionForm, RtpHeader, RtpPacket};
use crate::rtc::audio_level_observer::AudioLevelOptions;
use crate::rtc::consumer::{ConsumerSpec, LayerSpec, RtxSpec};
use crate::rtc::ids::{PayloadType, Ssrc};
use crate::rtc::layer_selector::Layers;
use crate::rtc::producer_stream::{EncodingSpec, ProducerSpec};
use crate::rtc::producer_trace::TraceKind;
use crate::rtc::request_error::RequestError;

/// Transport keys of the usual bench: one sender, two receivers.
const SENDER: usize = 0;
const RECEIVER_B: usize = 1;
const RECEIVER_C: usize = 2;

/// The sender's numbering: VP8 on 96, RTX on 97; the router's: VP8 on 101, RTX on 102.
const CLIENT_SSRC: u32 = 1111;
const CLIENT_RTX_SSRC: u32 = 1112;
const MAPPED_SSRC: u32 = 0x5EED;

fn pt(value: u8) -> PayloadType {
    PayloadType::new(value).unwrap()
}

fn video_spec(ssrc: Option<u32>) -> ProducerSpec {
    ProducerSpec {
        payload_types: vec![(pt(96), pt(101), Some(PayloadCodec::Vp8))],
        encodings: vec![EncodingSpec {
            ssrc: ssrc.map(Ssrc),
            rtx_ssrc: None,
            rid: None,
            mapped_ssrc: Ssrc(MAPPED_SSRC),
        }],
        store_for_retransmission: true,
        clock_rate: 90_000,
        rtx_payload_types: vec![(pt(97), pt(96))],
        generate_nacks: true,
        ..ProducerSpec::default()
    }
}

fn consumer_spec(ssrc: u32) -> ConsumerSpec {
    ConsumerSpec {
        ssrc: Ssrc(ssrc),
        payload_types: vec![pt(101)],
        needs_key_frame: true,
        clock_rate: 90_000,
        codec: Some(PayloadCodec::Vp8),
        ..ConsumerSpec::default()
    }
}

/// A VP8 packet of the sender (keyframe or not), with a 1000-byte payload.
fn vp8(sequence: u16, key: bool) -> Vec<u8> {
    let header = RtpHeader {
        payload_type: 96,
        sequence_number: sequence,
        timestamp: u32::from(sequence) * 3000,
        ssrc: CLIENT_SSRC,
        ..RtpHeader::default()
    };
    // VP8 descriptor (S=1), then the payload header, whose P bit is clear on a keyframe.
    let mut payload = vec![0x10, if key { 0x00 } else { 0x01 }, 0x9d, 0x01, 0x2a];
    payload.resize(1000, 0xA5);
    let mut out = Vec::new();
    header.write_into(&payload, &mut out).unwrap();
    out
}

/// The usual bench: producer "p" on the sender's transport, consumers "b" (SSRC 0xB0) and
/// "c" (0xC0) on the receivers'.
fn bench() -> Bench {
    let mut bench = Bench::new(3, 7);
    let now = bench.now;
    let transport = bench.transport(SENDER);
    bench
        .router
        .add_producer(
            transport,
            "p".into(),
            &video_spec(Some(CLIENT_SSRC)),
            false,
            now,
        )
        .unwrap();
    for (id, key, ssrc) in [("b", RECEIVER_B, 0xB0), ("c", RECEIVER_C, 0xC0)] {
        let transport = bench.transport(key);
        bench
            .router
            .add_consumer(transport, id.into(), "p", consumer_spec(ssrc), false)
            .unwrap();
    }
    bench
}

fn ssrcs_received(bench: &Bench, key: usize) -> Vec<u32> {
    bench.endpoints[key]
        .rtp
        .iter()
        .map(|(_, packet)| RtpPacket::parse(&packet[..]).unwrap().ssrc())
        .collect()
}

fn consumer_request(bench: &mut Bench, id: &str, request: ConsumerRequest) -> RouterResponse {
    let now = bench.now;
    let mut out = Discard;
    bench
        .router
        .handle_consumer_request(id, request, now, &mut out)
        .unwrap()
}

/// An output for requests whose sends do not matter to a test.
struct Discard;

impl super::RouterOutput for Discard {
    fn send_rtp(&mut self, _: super::TransportKey, _: &mut [u8], _: usize) {}
    fn send_rtcp(&mut self, _: super::TransportKey, _: &mut [u8], _: usize) {}
}

#[test]
fn one_producer_fans_out_to_each_consumer_with_its_own_ssrc() {
    let mut bench = bench();
    bench.send_rtp(SENDER, vp8(1, true));
    bench.run_for(Duration::ZERO);
    assert_eq!(ssrcs_received(&bench, RECEIVER_B), [0xB0]);
    assert_eq!(ssrcs_received(&bench, RECEIVER_C), [0xC0]);
    consumer_request(&mut bench, "b", ConsumerRequest::SetPaused(true));
    bench.send_rtp(SENDER, vp8(2, true));
    bench.run_for(Duration::ZERO);
    assert_eq!(ssrcs_received(&bench, RECEIVER_B).len(), 1);
    assert_eq!(ssrcs_received(&bench, RECEIVER_C).len(), 2);
    let now = bench.now;
    bench
        .router
        .handle_producer_request("p", ProducerRequest::SetPaused(true), now)
        .unwrap();
    bench.send_rtp(SENDER, vp8(3, true));
    // The same SSRC from another transport is not the producer's.
    bench.send_rtp(RECEIVER_B, vp8(4, true));
    bench.run_for(Duration::ZERO);
    assert_eq!(ssrcs_received(&bench, RECEIVER_C).len(), 2);
    assert!(bench.endpoints[RECEIVER_B].rtp.len() == 1);
}

#[test]
fn copies_carry_the_consumers_numbering_mid_and_extensions_only() {
    let mut bench = Bench::new(2, 1);
    let now = bench.now;
    let mut spec = video_spec(Some(CLIENT_SSRC));
    // Client extension 3 is the router's 4; 9 is unknown to the router.
    spec.extension_ids = vec![(3, 4), (5, 5)];
    bench
        .router
        .add_producer(bench.transport(0), "p".into(), &spec, false, now)
        .unwrap();
    let consumer = ConsumerSpec {
        extension_ids: vec![4],
        mid: Some((1, "7".into())),
        ..consumer_spec(0xB0)
    };
    bench
        .router
        .add_consumer(bench.transport(1), "b".into(), "p", consumer, false)
        .unwrap();
    let mut packet = Vec::new();
    RtpHeader {
        payload_type: 96,
        sequence_number: 100,
        timestamp: 5000,
        ssrc: CLIENT_SSRC,
        extensions: Some(ExtensionBlock {
            form: ExtensionForm::OneByte,
            elements: vec![(3, vec![1, 2, 3]), (5, vec![8]), (9, vec![7])],
        }),
        ..RtpHeader::default()
    }
    .write_into(&[0x10, 0x00, 0x00, 0x9d, 0x01, 0x2a], &mut packet)
    .unwrap();
    bench.send_rtp(0, packet);
    bench.run_for(Duration::ZERO);
    let (_, copy) = &bench.endpoints[1].rtp[0];
    let view = RtpPacket::parse(&copy[..]).unwrap();
    assert_eq!(
        (view.payload_type(), view.ssrc(), view.timestamp()),
        (101, 0xB0, 5000)
    );
    let elements: Vec<(u8, Vec<u8>)> = view
        .header_extensions()
        .map(|(id, value)| (id, value.to_vec()))
        .collect();
    assert_eq!(elements, [(4, vec![1, 2, 3]), (1, b"7".to_vec())]);
    assert_eq!(view.payload(), [0x10, 0x00, 0x00, 0x9d, 0x01, 0x2a]);
}

/// A VP8 packet of simulcast stream `ssrc` with a 15-bit picture id, TL0PICIDX and TID.
fn simulcast_vp8(ssrc: u32, sequence: u16, timestamp: u32, picture_id: u16, key: bool) -> Vec<u8> {
    let header = RtpHeader {
        payload_type: 96,
        sequence_number: sequence,
        timestamp,
        ssrc,
        ..RtpHeader::default()
    };
    let [high, low] = (picture_id | 0x8000).to_be_bytes();
    let descriptor = [0x90, 0xE0, high, low, (picture_id & 0xFF) as u8, 0x00];
    let mut payload = descriptor.to_vec();
    payload.extend_from_slice(&[if key { 0x00 } else { 0x01 }, 0x9d, 0x01, 0x2a]);
    let mut out = Vec::new();
    header.write_into(&payload, &mut out).unwrap();
    out
}

#[test]
fn a_simulcast_consumer_switches_streams_at_a_keyframe_without_a_jump() {
    let mut bench = Bench::new(2, 3);
    let now = bench.now;
    let spec = ProducerSpec {
        payload_types: vec![(pt(96), pt(101), Some(PayloadCodec::Vp8))],
        encodings: [1000u32, 2000, 3000]
            .iter()
            .map(|&ssrc| EncodingSpec {
                ssrc: Some(Ssrc(ssrc)),
                mapped_ssrc: Ssrc(ssrc + 1),
                ..EncodingSpec::default()
            })
            .collect(),
        clock_rate: 90_000,
        ..ProducerSpec::default()
    };
    bench
        .router
        .add_producer(bench.transport(0), "sim".into(), &spec, false, now)
        .unwrap();
    let consumer = ConsumerSpec {
        ssrc: Ssrc(0xC0),
        layers: Some(LayerSpec {
            svc: false,
            spatial_layers: 3,
            temporal_layers: 1,
            preferred: Layers {
                spatial: 2,
                temporal: 0,
            },
        }),
        ..consumer_spec(0xC0)
    };
    bench
        .router
        .add_consumer(bench.transport(1), "c".into(), "sim", consumer, false)
        .unwrap();
    let received = |bench: &Bench| -> Vec<(u16, u32, u16)> {
        bench.endpoints[1]
            .rtp
            .iter()
            .map(|(_, packet)| {
                let view = RtpPacket::parse(&packet[..]).unwrap();
                let vp8 = Vp8PayloadDescriptor::parse(view.payload()).unwrap();
                (
                    view.sequence_number(),
                    view.timestamp(),
                    vp8.picture_id.unwrap().0,
                )
            })
            .collect()
    };
    // Only the low stream has shown up: start there.
    bench.send_rtp(0, simulcast_vp8(1000, 10, 500, 7, true));
    bench.send_rtp(0, simulcast_vp8(1000, 11, 3500, 8, false));
    bench.run_for(Duration::ZERO);
    let first = received(&bench);
    let (sequence, timestamp, picture_id) = first[0];
    assert_eq!(first[1], (sequence + 1, timestamp + 3000, picture_id + 1));
    // The top stream appears mid-frame: it is asked for a keyframe, the low goes on.
    bench.run_for(Duration::from_millis(40));
    bench.send_rtp(0, simulcast_vp8(3000, 900, 77_000, 300, false));
    bench.run_for(Duration::ZERO);
    let plis: Vec<_> = bench.endpoints[0]
        .rtcp_packets()
        .filter(|packet| matches!(packet, RtcpPacket::Pli(pli) if pli.media_ssrc == 3000))
        .collect();
    assert_eq!(plis.len(), 1, "the top stream is asked for a keyframe");
    // Its keyframe switches: numbering continues, and the timestamp is the keyframe's
    // capture time on the low stream's clock. Without sender reports the clocks start at
    // each stream's first packet: the keyframe, 33 ms after the top stream's first packet,
    // which came 40 ms after the low one's, is 73 ms (6600 ticks) after it.
    bench.send_rtp(0, simulcast_vp8(3000, 901, 80_000, 301, true));
    bench.send_rtp(0, simulcast_vp8(1000, 12, 6500, 9, false));
    bench.send_rtp(0, simulcast_vp8(3000, 902, 83_000, 302, false));
    bench.run_for(Duration::ZERO);
    let all = received(&bench);
    assert_eq!(
        all.len(),
        4,
        "the low stream stopped at the switch: {all:?}"
    );
    let (top_sequence, top_timestamp, top_picture_id) = all[2];
    assert_eq!(top_sequence, sequence + 2);
    assert_eq!(top_timestamp, timestamp + 6600);
    assert_eq!(top_picture_id, picture_id + 2);
    assert_eq!(all[3], (sequence + 3, top_timestamp + 3000, picture_id + 3));
    let changes: Vec<RouterEvent> = bench.router.take_events().collect();
    let layers = |spatial| RouterEvent::ConsumerLayersChange {
        consumer_id: "c".into(),
        layers: Some(Layers {
            spatial,
            temporal: 0,
        }),
    };
    assert_eq!(changes, [layers(0), layers(2)]);
}

fn plis_to(bench: &Bench, key: usize) -> usize {
    bench.endpoints[key]
        .rtcp_packets()
        .filter(|packet| matches!(packet, RtcpPacket::Pli(_)))
        .count()
}

#[test]
fn a_pli_for_a_consumer_becomes_one_pli_to_the_producer_per_interval() {
    let mut bench = bench();
    bench.send_rtp(SENDER, vp8(1, true));
    bench.run_for(Duration::ZERO);
    let pli = |media_ssrc| {
        RtcpPacket::Pli(Pli {
            sender_ssrc: 9,
            media_ssrc,
        })
    };
    bench.send_rtcp(RECEIVER_B, &[pli(0xB0)]);
    // A PLI naming another transport's consumer is ignored.
    bench.send_rtcp(RECEIVER_B, &[pli(0xC0)]);
    bench.run_for(Duration::ZERO);
    let sent: Vec<_> = bench.endpoints[SENDER].rtcp_packets().cloned().collect();
    assert_eq!(
        sent,
        [RtcpPacket::Pli(Pli {
            sender_ssrc: MAPPED_SSRC,
            media_ssrc: CLIENT_SSRC,
        })]
    );
    // Pending: later requests wait for the keyframe, or the one retry a second later.
    bench.send_rtcp(RECEIVER_B, &[pli(0xB0)]);
    bench.run_for(Duration::from_millis(990));
    assert_eq!(plis_to(&bench, SENDER), 1);
    bench.run_for(Duration::from_millis(20));
    assert_eq!(plis_to(&bench, SENDER), 2, "retried once");
    bench.run_for(Duration::from_secs(3));
    assert_eq!(plis_to(&bench, SENDER), 2, "and only once");
    let RouterResponse::ConsumerStats(stats) =
        consumer_request(&mut bench, "b", ConsumerRequest::GetStats)
    else {
        panic!("stats")
    };
    assert_eq!(stats.key_frame_requests, 2);
}

#[test]
fn keyframe_requests_within_the_producers_delay_go_out_together_when_it_ends() {
    let mut bench = Bench::new(2, 17);
    let now = bench.now;
    let spec = ProducerSpec {
        key_frame_request_delay: Duration::from_millis(500),
        ..video_spec(Some(CLIENT_SSRC))
    };
    bench
        .router
        .add_producer(bench.transport(0), "p".into(), &spec, false, now)
        .unwrap();
    bench
        .router
        .add_consumer(
            bench.transport(1),
            "b".into(),
            "p",
            consumer_spec(0xB0),
            false,
        )
        .unwrap();
    bench.send_rtp(0, vp8(1, true));
    let pli = RtcpPacket::Pli(Pli {
        sender_ssrc: 9,
        media_ssrc: 0xB0,
    });
    bench.send_rtcp(1, std::slice::from_ref(&pli));
    bench.run_for(Duration::ZERO);
    assert_eq!(plis_to(&bench, 0), 1);
    // The keyframe comes; a new request 100 ms later waits for the delay to end.
    bench.send_rtp(0, vp8(2, true));
    bench.run_for(Duration::from_millis(100));
    bench.send_rtcp(1, std::slice::from_ref(&pli));
    bench.send_rtcp(1, &[pli]);
    bench.run_for(Duration::from_millis(300));
    assert_eq!(plis_to(&bench, 0), 1, "held back");
    bench.run_for(Duration::from_millis(150));
    assert_eq!(plis_to(&bench, 0), 2, "sent once when the delay ended");
}

#[test]
fn a_fir_storm_costs_one_keyframe_request_per_interval() {
    let mut bench = bench();
    bench.send_rtp(SENDER, vp8(1, true));
    bench.run_for(Duration::ZERO);
    // 1000 FIRs from both receivers in 2 s, each naming the consumer twice.
    for round in 0..1000u32 {
        for (key, ssrc) in [(RECEIVER_B, 0xB0), (RECEIVER_C, 0xC0)] {
            let entry = FirEntry {
                ssrc,
                sequence_number: round as u8,
            };
            let fir = Fir {
                sender_ssrc: 9,
                media_ssrc: 0,
                entries: vec![entry; 2],
            };
            bench.send_rtcp(key, &[RtcpPacket::Fir(fir)]);
        }
        bench.run_for(Duration::from_millis(2));
    }
    // The first request, its retry a second later, and one more after the retry gave up.
    let requests = plis_to(&bench, SENDER);
    assert!((2..=3).contains(&requests), "{requests} PLIs");
    let RouterResponse::ConsumerStats(stats) =
        consumer_request(&mut bench, "c", ConsumerRequest::GetStats)
    else {
        panic!("stats")
    };
    assert_eq!(stats.key_frame_requests, 2000);
}

/// An opus packet with an RFC 6464 level (router extension id 6).
fn opus_with_level(ssrc: u32, sequence: u16, level: u8) -> Vec<u8> {
    let header = RtpHeader {
        payload_type: 100,
        sequence_number: sequence,
        ssrc,
        extensions: Some(ExtensionBlock {
            form: ExtensionForm::OneByte,
            elements: vec![(6, vec![0x80 | level])],
        }),
        ..RtpHeader::default()
    };
    let mut packet = Vec::new();
    header.write_into(&[0x78, 1, 2], &mut packet).unwrap();
    packet
}

#[test]
fn audio_levels_reach_observers_and_reports_name_producers() {
    let mut bench = Bench::new(1, 5);
    let start = bench.now;
    for (id, ssrc) in [("loud", 1u32), ("quiet", 2), ("unobserved", 3)] {
        let spec = ProducerSpec {
            payload_types: vec![(pt(100), pt(100), Some(PayloadCodec::Opus))],
            extension_ids: vec![(6, 6)],
            encodings: vec![EncodingSpec {
                ssrc: Some(Ssrc(ssrc)),
                mapped_ssrc: Ssrc(100 + ssrc),
                ..EncodingSpec::default()
            }],
            audio_level_extension_id: Some(6),
            ..ProducerSpec::default()
        };
        bench
            .router
            .add_producer(bench.transport(0), id.into(), &spec, false, start)
            .unwrap();
    }
    let options = RtpObserverOptions::AudioLevel(AudioLevelOptions {
        max_entries: 3,
        threshold: -70,
        interval: Duration::from_millis(500),
    });
    bench
        .router
        .create_rtp_observer("alo".into(), options, start)
        .unwrap();
    for producer in ["loud", "quiet"] {
        bench
            .router
            .handle_rtp_observer_request(
                "alo",
                RtpObserverRequest::AddProducer(producer.into()),
                start,
            )
            .unwrap();
    }
    let error = bench
        .router
        .handle_rtp_observer_request("alo", RtpObserverRequest::AddProducer("nope".into()), start)
        .unwrap_err();
    assert!(matches!(error, RequestError::NotFound(_)), "{error}");
    for sequence in 0..25 {
        for (ssrc, level) in [(1, 10), (2, 50), (3, 0)] {
            bench.send_rtp(0, opus_with_level(ssrc, sequence, level));
        }
    }
    bench.run_for(Duration::ZERO);
    let due = start + Duration::from_millis(500);
    let observer_events = |bench: &mut Bench| -> Vec<RouterEvent> {
        bench
            .router
            .take_events()
            .filter(|event| matches!(event, RouterEvent::RtpObserver { .. }))
            .collect()
    };
    bench.run_until(due - Duration::from_millis(1));
    assert_eq!(observer_events(&mut bench), [], "not before the interval");
    bench.run_until(due);
    let events = observer_events(&mut bench);
    assert_eq!(
        events,
        [RouterEvent::RtpObserver {
            observer_id: "alo".into(),
            report: RtpObserverReport::Volumes(vec![("loud".into(), -10), ("quiet".into(), -50)]),
        }]
    );
    for producer in ["loud", "quiet"] {
        bench
            .router
            .handle_producer_request(producer, ProducerRequest::Close, due)
            .unwrap();
    }
    bench.run_until(due + Duration::from_millis(500));
    let events = observer_events(&mut bench);
    assert_eq!(
        events,
        [RouterEvent::RtpObserver {
            observer_id: "alo".into(),
            report: RtpObserverReport::Silence,
        }]
    );
}

#[test]
fn traces_report_what_a_producer_asked_for_and_fir_is_used_when_negotiated() {
    let mut bench = Bench::new(2, 9);
    let now = bench.now;
    let spec = ProducerSpec {
        use_fir: true,
        ..video_spec(Some(CLIENT_SSRC))
    };
    bench
        .router
        .add_producer(bench.transport(0), "p".into(), &spec, false, now)
        .unwrap();
    bench
        .router
        .add_consumer(
            bench.transport(1),
            "b".into(),
            "p",
            consumer_spec(0xB0),
            false,
        )
        .unwrap();
    bench
        .router
        .handle_producer_request(
            "p",
            ProducerRequest::SetTrace(TraceKind::KeyFrame as u8 | TraceKind::Fir as u8),
            now,
        )
        .unwrap();
    bench.send_rtp(0, vp8(1, true));
    bench.send_rtcp(
        1,
        &[RtcpPacket::Pli(Pli {
            sender_ssrc: 9,
            media_ssrc: 0xB0,
        })],
    );
    bench.run_for(Duration::ZERO);
    let firs: Vec<_> = bench.endpoints[0].rtcp_packets().cloned().collect();
    assert_eq!(
        firs,
        [RtcpPacket::Fir(Fir {
            sender_ssrc: MAPPED_SSRC,
            media_ssrc: 0,
            entries: vec![FirEntry {
                ssrc: CLIENT_SSRC,
                sequence_number: 0
            }],
        })]
    );
    let kinds: Vec<(TraceKind, bool)> = bench
        .router
        .take_events()
        .map(|event| match event {
            RouterEvent::ProducerTrace { trace, .. } => (trace.kind, trace.incoming),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        [(TraceKind::KeyFrame, true), (TraceKind::Fir, false)]
    );
}

#[test]
fn a_nack_from_an_endpoint_is_answered_from_the_producers_store() {
    let mut bench = bench();
    for sequence in 10..13 {
        bench.send_rtp(SENDER, vp8(sequence, true));
    }
    bench.run_for(Duration::ZERO);
    let sent_b = bench.endpoints[RECEIVER_B].sequences(0xB0);
    let nack = Nack::from_lost(9, 0xB0, &[sent_b[1], sent_b[2]]);
    bench.send_rtcp(RECEIVER_B, &[RtcpPacket::Nack(nack.clone())]);
    // The same NACK on another transport names no consumer there.
    bench.send_rtcp(RECEIVER_C, &[RtcpPacket::Nack(nack)]);
    bench.run_for(Duration::ZERO);
    assert_eq!(
        bench.endpoints[RECEIVER_B].sequences(0xB0),
        [sent_b.clone(), sent_b[1..].to_vec()].concat(),
        "resent as sent (no RTX negotiated)"
    );
    assert_eq!(bench.endpoints[RECEIVER_C].rtp.len(), 3);
    let RouterResponse::ConsumerStats(stats) =
        consumer_request(&mut bench, "b", ConsumerRequest::GetStats)
    else {
        panic!("stats")
    };
    assert_eq!((stats.nacked_packets, stats.retransmitted_packets), (2, 2));
}

#[test]
fn periodic_rtcp_reports_on_both_sides_and_scores_follow_receiver_reports() {
    let mut bench = bench();
    let start = bench.now;
    for sequence in [1u16, 2, 4] {
        bench.send_rtp(SENDER, vp8(sequence, true));
    }
    bench.run_until(start + Duration::from_secs(1));
    let rrs: Vec<ReceiverReport> = bench.endpoints[SENDER]
        .rtcp_packets()
        .filter_map(|packet| match packet {
            RtcpPacket::ReceiverReport(rr) => Some(rr.clone()),
            _ => None,
        })
        .collect();
    let [rr] = rrs.as_slice() else {
        panic!("one RR to the sender: {rrs:?}")
    };
    assert_eq!(
        (rr.ssrc, rr.reports[0].ssrc, rr.reports[0].total_lost),
        (MAPPED_SSRC, CLIENT_SSRC, 1),
        "sequence 3 is missing"
    );
    // B had the opening report with the first packet, then the periodic one.
    let to_b = &bench.endpoints[RECEIVER_B].rtcp;
    let [opening, compound] = to_b.as_slice() else {
        panic!("two compounds to B: {to_b:?}")
    };
    assert!(
        matches!(&opening[0], RtcpPacket::SenderReport(sr) if sr.packet_count == 1),
        "{opening:?}"
    );
    let RtcpPacket::SenderReport(sr) = &compound[0] else {
        panic!("an SR first")
    };
    assert_eq!((sr.ssrc, sr.packet_count), (0xB0, 3));
    // The wall clock the bench gave the router, one second on, in NTP seconds.
    assert_eq!(
        u64::from(sr.ntp_seconds),
        harness::WALL_CLOCK_START.as_secs() + 1 + 2_208_988_800
    );
    assert!(matches!(compound[1], RtcpPacket::SourceDescription(_)));
    let events: Vec<RouterEvent> = bench.router.take_events().collect();
    // 3 of 4 packets arrived: 0.75^4 * 10 rounds to 3.
    assert!(events.contains(&RouterEvent::ProducerScore {
        producer_id: "p".into(),
        stream: 0,
        ssrc: Ssrc(CLIENT_SSRC),
        score: 3,
    }));
    // B reports a quarter lost, echoing our SR 10 ms after it: RTT and score.
    let last_sr = ((sr.ntp_seconds & 0xFFFF) << 16) | (sr.ntp_fraction >> 16);
    bench.run_for(Duration::from_millis(10));
    bench.send_rtcp(
        RECEIVER_B,
        &[RtcpPacket::ReceiverReport(ReceiverReport {
            ssrc: 9,
            reports: vec![ReceptionReport {
                ssrc: 0xB0,
                fraction_lost: 64,
                last_sr,
                ..Default::default()
            }],
        })],
    );
    bench.run_for(Duration::ZERO);
    let RouterResponse::ConsumerStats(stats) =
        consumer_request(&mut bench, "b", ConsumerRequest::GetStats)
    else {
        panic!("stats")
    };
    assert_eq!(stats.score, 3, "0.75^4 * 10 rounds to 3");
    assert!((stats.round_trip_time_ms.unwrap() - 10.0).abs() < 0.1);
    bench.run_until(start + Duration::from_secs(2));
    assert!(bench.router.take_events().any(|event| event
        == RouterEvent::ConsumerScore {
            consumer_id: "b".into(),
            score: 3,
            producer_score: 3,
        }));
}

#[test]
fn a_max_incoming_bitrate_goes_to_the_sender_in_a_remb_each_second() {
    let mut bench = bench();
    let start = bench.now;
    bench.send_rtp(SENDER, vp8(1, true));
    bench
        .router
        .set_transport_bitrates(bench.transport(SENDER), Some(250_000), None);
    bench.run_until(start + Duration::from_secs(1));
    let rembs: Vec<_> = bench.endpoints[SENDER]
        .rtcp_packets()
        .filter_map(|packet| match packet {
            RtcpPacket::Remb(remb) => Some(remb.clone()),
            _ => None,
        })
        .collect();
    let [remb] = rembs.as_slice() else {
        panic!("one REMB to the sender: {rembs:?}")
    };
    assert_eq!(
        (remb.bitrate, remb.ssrcs.as_slice()),
        (250_000, [CLIENT_SSRC].as_slice())
    );
    bench
        .router
        .set_transport_bitrates(bench.transport(SENDER), None, None);
    bench.run_until(start + Duration::from_secs(2));
    let count = bench.endpoints[SENDER]
        .rtcp_packets()
        .filter(|packet| matches!(packet, RtcpPacket::Remb(_)))
        .count();
    assert_eq!(count, 1, "no REMB once lifted");
}

/// 1000-byte packets to the producer at `packets_per_second` for `seconds`: how many the
/// router forwards to receiver B. They are numbered from `first_sequence`: a run that goes
/// on from the last one's numbers (a jump in the numbers is a client restarting its stream,
/// whose first packet waits for the next).
fn forwarded_at(
    bench: &mut Bench,
    first_sequence: u16,
    packets_per_second: u64,
    seconds: u64,
) -> usize {
    let before = bench.endpoints[RECEIVER_B].rtp.len();
    let interval = Duration::from_micros(1_000_000 / packets_per_second);
    for nth in 0..packets_per_second * seconds {
        bench.send_rtp(SENDER, vp8(first_sequence.wrapping_add(nth as u16), true));
        bench.run_for(interval);
    }
    bench.endpoints[RECEIVER_B].rtp.len() - before
}

#[test]
fn a_sender_that_ignores_the_max_incoming_bitrate_is_cut_back_to_it() {
    let mut bench = bench();
    let transport = bench.transport(SENDER);
    bench
        .router
        .set_transport_bitrates(transport, Some(200_000), None);
    // 8 Mbps for 10 s: the tolerated 300 kbps, plus a 2 s burst of it.
    let forwarded = forwarded_at(&mut bench, 1000, 1000, 10) as u64;
    let allowed = 300_000 / 8 * 12 / 1012;
    assert!(
        forwarded.abs_diff(allowed) <= 2,
        "{forwarded} forwarded, {allowed} allowed"
    );
    assert_eq!(
        bench
            .router
            .transport_figures(transport, bench.now)
            .rtp_packets_over_max_incoming,
        10_000 - forwarded
    );
    // Lifting the ceiling stops the drops and keeps the count.
    bench.router.set_transport_bitrates(transport, None, None);
    assert_eq!(forwarded_at(&mut bench, 11_000, 1000, 1), 1000);
    assert_eq!(
        bench
            .router
            .transport_figures(transport, bench.now)
            .rtp_packets_over_max_incoming,
        10_000 - forwarded
    );
}

#[test]
fn a_sender_within_the_max_incoming_bitrate_loses_nothing() {
    let mut bench = bench();
    let transport = bench.transport(SENDER);
    bench
        .router
        .set_transport_bitrates(transport, Some(1_000_000), None);
    // 50 packets/s of 1012 bytes: 405 kbps, and the ceiling can be set again unchanged.
    assert_eq!(forwarded_at(&mut bench, 1000, 50, 20), 1000);
    bench
        .router
        .set_transport_bitrates(transport, Some(1_000_000), None);
    let figures = bench.router.transport_figures(transport, bench.now);
    assert_eq!(figures.rtp_packets_over_max_incoming, 0);
    // The transport's stats: the ceiling, and the media received (a sender's packets,
    // 1012 bytes each, none of them RTX) at about the 405 kbps sent.
    assert_eq!(figures.max_incoming_bitrate, Some(1_000_000));
    let received = figures.traffic.rtp_received;
    assert_eq!(received.bytes, 1000 * 1012);
    assert!(received.bitrate.abs_diff(405_000) < 41_000, "{received:?}");
    assert_eq!(figures.traffic.rtx_received.bytes, 0);
    // What the receivers' transport sent: a copy per packet, rewritten for its endpoint.
    let receiver = bench.transport(RECEIVER_B);
    let sent = bench
        .router
        .transport_figures(receiver, bench.now)
        .traffic
        .rtp_sent;
    assert!(sent.bytes >= 1000 * 1000, "{sent:?}");
    assert!(sent.bitrate > 300_000, "{sent:?}");
}

/// An RTP packet carrying `transport_wide` (if any) as extension 5, the transport-wide
/// sequence number's id in these tests.
fn numbered_rtp(
    payload_type: u8,
    sequence: u16,
    ssrc: u32,
    transport_wide: Option<u16>,
    payload: &[u8],
) -> Vec<u8> {
    let header = RtpHeader {
        payload_type,
        sequence_number: sequence,
        ssrc,
        extensions: transport_wide.map(|number| ExtensionBlock {
            form: ExtensionForm::OneByte,
            elements: vec![(5, number.to_be_bytes().to_vec())],
        }),
        ..RtpHeader::default()
    };
    let mut packet = Vec::new();
    header.write_into(payload, &mut packet).unwrap();
    packet
}

#[test]
fn transport_cc_arrivals_are_fed_back_and_each_transport_numbers_its_own_packets() {
    let mut bench = Bench::new(3, 11);
    let start = bench.now;
    let spec = ProducerSpec {
        extension_ids: vec![(5, 5)],
        transport_cc_extension_id: Some(5),
        ..video_spec(Some(4242))
    };
    bench
        .router
        .add_producer(bench.transport(0), "cc".into(), &spec, false, start)
        .unwrap();
    let consumer = ConsumerSpec {
        extension_ids: vec![5],
        transport_cc_extension_id: Some(5),
        needs_key_frame: false,
        ..consumer_spec(0xCC)
    };
    bench
        .router
        .add_consumer(bench.transport(2), "d".into(), "cc", consumer, false)
        .unwrap();
    // The sender numbers 500 and 502 (501 is lost on the way); one packet carries no number
    // (as a piped or plain producer's packets carry none).
    for (sequence, transport_wide) in [(1u16, Some(500u16)), (2, Some(502)), (3, None)] {
        let packet = numbered_rtp(96, sequence, 4242, transport_wide, &[1, 2, 3]);
        bench.send_rtp(0, packet);
    }
    bench.run_for(Duration::ZERO);
    let numbers: Vec<Option<u16>> = bench.endpoints[2]
        .rtp
        .iter()
        .map(|(_, packet)| {
            let view = RtpPacket::parse(&packet[..]).unwrap();
            view.header_extension(5)
                .map(|number| u16::from_be_bytes(*number.first_chunk().unwrap()))
        })
        .collect();
    assert_eq!(
        numbers,
        [Some(0), Some(1), Some(2)],
        "the consumer's transport numbers every copy of video, the one of a packet without a number too"
    );
    bench.run_until(start + Duration::from_millis(99));
    assert_eq!(bench.endpoints[0].rtcp.len(), 0, "not due before 100 ms");
    bench.run_until(start + Duration::from_millis(100));
    let feedback: Vec<_> = bench.endpoints[0]
        .rtcp_packets()
        .filter_map(|packet| match packet {
            RtcpPacket::TransportCc(feedback) => Some(feedback.clone()),
            _ => None,
        })
        .collect();
    let [feedback] = feedback.as_slice() else {
        panic!("one feedback: {feedback:?}")
    };
    let arrivals: Vec<_> = feedback
        .arrival_times_us()
        .map(|(sequence, at)| (sequence, at.is_some()))
        .collect();
    assert_eq!(arrivals, [(500, true), (501, false), (502, true)]);
}

#[test]
fn audio_copies_are_numbered_only_where_the_producers_packet_was() {
    let mut bench = Bench::new(2, 13);
    let start = bench.now;
    let spec = ProducerSpec {
        payload_types: vec![(pt(100), pt(100), Some(PayloadCodec::Opus))],
        extension_ids: vec![(5, 5)],
        transport_cc_extension_id: Some(5),
        encodings: vec![EncodingSpec {
            ssrc: Some(Ssrc(7)),
            mapped_ssrc: Ssrc(107),
            ..EncodingSpec::default()
        }],
        ..ProducerSpec::default()
    };
    bench
        .router
        .add_producer(bench.transport(0), "mic".into(), &spec, false, start)
        .unwrap();
    let consumer = ConsumerSpec {
        payload_types: vec![pt(100)],
        codec: Some(PayloadCodec::Opus),
        clock_rate: 48_000,
        extension_ids: vec![5],
        transport_cc_extension_id: Some(5),
        needs_key_frame: false,
        ..consumer_spec(0xA0)
    };
    bench
        .router
        .add_consumer(bench.transport(1), "ear".into(), "mic", consumer, false)
        .unwrap();
    for (sequence, transport_wide) in [(1u16, None), (2, Some(9u16))] {
        let packet = numbered_rtp(100, sequence, 7, transport_wide, &[0x78, 1, 2]);
        bench.send_rtp(0, packet);
    }
    bench.run_for(Duration::ZERO);
    let numbered: Vec<bool> = bench.endpoints[1]
        .rtp
        .iter()
        .map(|(_, packet)| {
            RtpPacket::parse(&packet[..])
                .unwrap()
                .header_extension(5)
                .is_some()
        })
        .collect();
    assert_eq!(numbered, [false, true]);
}

#[test]
fn closing_the_producers_transport_closes_its_consumers_elsewhere() {
    let mut bench = bench();
    let now = bench.now;
    bench.router.remove_transport(bench.transport(SENDER));
    assert_eq!(bench.router.counts(), (0, 0));
    let error = bench
        .router
        .handle_consumer_request("b", ConsumerRequest::GetStats, now, &mut Discard)
        .unwrap_err();
    assert!(matches!(error, RequestError::NotFound(_)));
    // The ids are free again, on another transport.
    bench
        .router
        .add_producer(
            bench.transport(RECEIVER_B),
            "p".into(),
            &video_spec(None),
            false,
            now,
        )
        .unwrap();
    bench
        .router
        .add_consumer(
            bench.transport(RECEIVER_C),
            "b".into(),
            "p",
            consumer_spec(0xB0),
            false,
        )
        .unwrap();
}

#[test]
fn duplicate_ids_and_ssrcs_are_refused() {
    let mut bench = bench();
    let now = bench.now;
    let same_ssrc = video_spec(Some(CLIENT_SSRC));
    let error = bench
        .router
        .add_producer(bench.transport(SENDER), "q".into(), &same_ssrc, false, now)
        .unwrap_err();
    assert!(
        matches!(&error, RequestError::InvalidArgument { field, .. }
            if field == "rtp_parameters.encodings[0].ssrc"),
        "{error}"
    );
    // Another transport may use the same SSRC: SSRCs are per endpoint.
    bench
        .router
        .add_producer(
            bench.transport(RECEIVER_B),
            "q".into(),
            &same_ssrc,
            false,
            now,
        )
        .unwrap();
    let error = bench
        .router
        .add_consumer(
            bench.transport(RECEIVER_B),
            "b".into(),
            "p",
            consumer_spec(1),
            false,
        )
        .unwrap_err();
    assert!(error.to_string().contains("already exists"), "{error}");
    let error = bench
        .router
        .add_consumer(
            bench.transport(RECEIVER_B),
            "x".into(),
            "nope",
            consumer_spec(1),
            false,
        )
        .unwrap_err();
    assert!(matches!(error, RequestError::NotFound(_)), "{error}");
    let error = bench
        .router
        .add_consumer(
            bench.transport(RECEIVER_B),
            "x".into(),
            "p",
            consumer_spec(0xB0),
            false,
        )
        .unwrap_err();
    assert!(error.to_string().contains("SSRC 176"), "{error}");
}

#[test]
fn an_unsignaled_stream_is_learned_by_its_mid_once_whatever_the_sender_tries() {
    let mut bench = Bench::new(2, 13);
    let now = bench.now;
    let spec = ProducerSpec {
        extension_ids: vec![(1, 1)],
        mid: Some((1, "v".into())),
        ..video_spec(None)
    };
    bench
        .router
        .add_producer(bench.transport(0), "p".into(), &spec, false, now)
        .unwrap();
    bench
        .router
        .add_consumer(
            bench.transport(1),
            "b".into(),
            "p",
            consumer_spec(0xB0),
            false,
        )
        .unwrap();
    let with_mid = |ssrc: u32, sequence: u16, mid: &[u8]| {
        let mut packet = Vec::new();
        RtpHeader {
            payload_type: 96,
            sequence_number: sequence,
            ssrc,
            extensions: Some(ExtensionBlock {
                form: ExtensionForm::OneByte,
                elements: vec![(1, mid.to_vec())],
            }),
            ..RtpHeader::default()
        }
        .write_into(&[0x10, 0, 0, 0x9d, 1, 0x2a], &mut packet)
        .unwrap();
        packet
    };
    bench.send_rtp(0, with_mid(77, 1, b"other"));
    bench.send_rtp(0, with_mid(5555, 2, b"v"));
    // An abusive sender: thousands of SSRCs with the producer's MID.
    for ssrc in 10_000..12_000u32 {
        bench.send_rtp(0, with_mid(ssrc, 3, b"v"));
    }
    bench.run_for(Duration::ZERO);
    assert_eq!(
        bench.endpoints[1].rtp.len(),
        1,
        "only the learned stream is forwarded"
    );
    assert_eq!(bench.router.known_ssrc_count(bench.transport(0)), 1);
}

/// A bench whose sender and receivers negotiated NACK and RTX, with `sender_link` between
/// the sender and the router and `receiver_link` between the router and receiver B.
fn lossy_bench(sender_link: Link, receiver_link: Link, seed: u64) -> Bench {
    let mut bench = Bench::new(3, seed);
    let now = bench.now;
    let mut spec = video_spec(Some(CLIENT_SSRC));
    spec.encodings[0].rtx_ssrc = Some(Ssrc(CLIENT_RTX_SSRC));
    bench
        .router
        .add_producer(bench.transport(SENDER), "p".into(), &spec, false, now)
        .unwrap();
    for (id, key, ssrc) in [("b", RECEIVER_B, 0xB0), ("c", RECEIVER_C, 0xC0)] {
        let consumer = ConsumerSpec {
            rtx: Some(RtxSpec {
                ssrc: Ssrc(ssrc + 1),
                payload_types: vec![(pt(101), pt(102))],
            }),
            needs_key_frame: false,
            ..consumer_spec(ssrc)
        };
        bench
            .router
            .add_consumer(bench.transport(key), id.into(), "p", consumer, false)
            .unwrap();
        bench.endpoints[key].behaviour = Behaviour {
            nacks: true,
            nack_delay: Duration::from_millis(20),
            rtx: None,
            restores_rtx: Some((102, 101, ssrc)),
        };
    }
    bench.endpoints[SENDER].uplink = sender_link;
    bench.endpoints[SENDER].behaviour.rtx = Some((97, CLIENT_RTX_SSRC));
    bench.endpoints[RECEIVER_B].downlink = receiver_link;
    bench
}

/// Sends 500 packets at 100/s, then lets repairs finish; the sequences B and C received.
/// The first and the last five cross the links without loss: a loss is only seen, and so
/// repaired, between two packets that arrived.
fn stream_500(bench: &mut Bench) -> (Vec<u16>, Vec<u16>) {
    let (uplink, downlink) = (
        bench.endpoints[SENDER].uplink,
        bench.endpoints[RECEIVER_B].downlink,
    );
    for sequence in 0..500u16 {
        let lossless = sequence == 0 || sequence >= 495;
        bench.endpoints[SENDER].uplink.loss = if lossless { 0.0 } else { uplink.loss };
        bench.endpoints[RECEIVER_B].downlink.loss = if lossless { 0.0 } else { downlink.loss };
        bench.send_rtp(SENDER, vp8(sequence, sequence % 100 == 0));
        bench.run_for(Duration::from_millis(10));
    }
    bench.run_for(Duration::from_secs(2));
    (
        bench.endpoints[RECEIVER_B].sequences(0xB0),
        bench.endpoints[RECEIVER_C].sequences(0xC0),
    )
}

/// Every number of a consumer's stream arrived, whatever the order: from the first one on,
/// 500 consecutive numbers.
fn complete(mut sequences: Vec<u16>) -> bool {
    let first = sequences[0];
    sequences.sort_by_key(|sequence| sequence.wrapping_sub(first));
    sequences.dedup();
    sequences.len() == 500
        && sequences
            .iter()
            .enumerate()
            .all(|(nth, &sequence)| sequence == first.wrapping_add(nth as u16))
}

#[test]
fn losses_on_the_senders_link_are_repaired_through_nacks_and_reach_every_consumer() {
    let link = Link {
        delay: Duration::from_millis(30),
        jitter: Duration::from_millis(5),
        loss: 0.1,
    };
    let mut bench = lossy_bench(link, Link::default(), 21);
    let (b, c) = stream_500(&mut bench);
    assert!(complete(b.clone()), "B: {} packets", b.len());
    assert!(complete(c.clone()), "C: {} packets", c.len());
    let stats = bench
        .router
        .handle_producer_request("p", ProducerRequest::GetStats, bench.now)
        .unwrap();
    let RouterResponse::ProducerStats(stats) = stats else {
        panic!("stats")
    };
    assert!(stats[0].repaired_packets > 20, "{stats:?}");
}

#[test]
fn losses_on_a_receivers_link_are_repaired_from_the_store_and_only_for_it() {
    let link = Link {
        delay: Duration::from_millis(40),
        jitter: Duration::from_millis(10),
        loss: 0.15,
    };
    let mut bench = lossy_bench(Link::default(), link, 22);
    let (b, c) = stream_500(&mut bench);
    assert!(complete(b.clone()), "B: {} packets", b.len());
    assert_eq!(c.len(), 500, "C lost nothing and got nothing twice");
    let RouterResponse::ConsumerStats(stats) =
        consumer_request(&mut bench, "b", ConsumerRequest::GetStats)
    else {
        panic!("stats")
    };
    assert!(stats.retransmitted_packets >= 60, "{stats:?}");
    let RouterResponse::ConsumerStats(stats) =
        consumer_request(&mut bench, "c", ConsumerRequest::GetStats)
    else {
        panic!("stats")
    };
    assert_eq!(stats.retransmitted_packets, 0);
}

#[test]
fn reordering_on_the_senders_link_is_passed_on_without_loss() {
    let link = Link {
        delay: Duration::from_millis(10),
        jitter: Duration::from_millis(25),
        loss: 0.0,
    };
    let mut bench = lossy_bench(link, Link::default(), 23);
    // B waits out the reordering before it NACKs.
    bench.endpoints[RECEIVER_B].behaviour.nack_delay = Duration::from_millis(60);
    let (b, _) = stream_500(&mut bench);
    assert!(complete(b.clone()));
    let in_order = b.windows(2).all(|pair| pair[1] == pair[0].wrapping_add(1));
    assert!(!in_order, "the link did reorder");
    // The router NACKs a gap at once; a repair that overtakes the late original is the only
    // way a packet reaches B twice.
    let RouterResponse::ProducerStats(stats) = bench
        .router
        .handle_producer_request("p", ProducerRequest::GetStats, bench.now)
        .unwrap()
    else {
        panic!("stats")
    };
    assert!(
        (b.len() - 500) as u64 <= stats[0].repaired_packets,
        "{} copies, {} repairs",
        b.len(),
        stats[0].repaired_packets
    );
}

#[test]
fn removing_consumers_keeps_the_others_served() {
    let mut bench = Bench::new(6, 31);
    let now = bench.now;
    bench
        .router
        .add_producer(
            bench.transport(0),
            "p".into(),
            &video_spec(Some(CLIENT_SSRC)),
            false,
            now,
        )
        .unwrap();
    for key in 1..6 {
        bench
            .router
            .add_consumer(
                bench.transport(key),
                format!("c{key}"),
                "p",
                consumer_spec(0x100 + key as u32),
                false,
            )
            .unwrap();
    }
    // The first, a middle one and the last leave.
    for id in ["c1", "c3", "c5"] {
        consumer_request(&mut bench, id, ConsumerRequest::Close);
    }
    bench.send_rtp(0, vp8(1, true));
    bench.run_for(Duration::ZERO);
    let served: Vec<usize> = (1..6)
        .filter(|&key| !bench.endpoints[key].rtp.is_empty())
        .collect();
    assert_eq!(served, [2, 4]);
    let dump = bench.router.dump();
    let mut consumers = dump.producers[0].1.clone();
    consumers.sort();
    assert_eq!(consumers, ["c2", "c4"]);
}

#[test]
fn malformed_rtcp_is_reported_and_what_parsed_is_still_used() {
    let mut bench = bench();
    bench.send_rtp(SENDER, vp8(1, true));
    bench.run_for(Duration::ZERO);
    let index = bench.transport(RECEIVER_B);
    let mut compound = Vec::new();
    crate::packet::rtcp::serialize_compound(
        &[RtcpPacket::Pli(Pli {
            sender_ssrc: 9,
            media_ssrc: 0xB0,
        })],
        &mut compound,
    )
    .unwrap();
    // A NACK whose length runs past the datagram.
    compound.extend_from_slice(&[0x81, 205, 0, 9, 0, 0, 0, 7]);
    let now = bench.now;
    let parse = bench
        .router
        .handle_rtcp(index, &compound, now, &mut Discard);
    assert_eq!(parse, super::rtcp::RtcpParse::Malformed);
    let RouterResponse::ConsumerStats(stats) =
        consumer_request(&mut bench, "b", ConsumerRequest::GetStats)
    else {
        panic!("stats")
    };
    assert_eq!(stats.key_frame_requests, 1, "the PLI before it was used");
}

/// Sender reports of the consumers of one transport in each 10 ms of two seconds (the
/// opening reports left out), and the SSRCs reported in the second one.
fn sender_reports_per_10_ms(bench: &mut Bench, key: usize) -> (Vec<usize>, Vec<u32>) {
    let start = bench.now;
    let mut per_window = Vec::new();
    let mut second_second = Vec::new();
    for window in 1..=200u32 {
        bench.run_until(start + Duration::from_millis(10) * window);
        let compounds = std::mem::take(&mut bench.endpoints[key].rtcp);
        let ssrcs: Vec<u32> = compounds
            .iter()
            .filter_map(|compound| match compound.first() {
                Some(RtcpPacket::SenderReport(report)) => Some(report.ssrc),
                _ => None,
            })
            .collect();
        per_window.push(ssrcs.len());
        if window > 100 {
            second_second.extend(ssrcs);
        }
    }
    (per_window, second_second)
}

#[test]
fn the_reports_of_600_consumers_are_spread_over_the_second() {
    let mut bench = Bench::new(2, 11);
    let now = bench.now;
    let spec = video_spec(Some(CLIENT_SSRC));
    let sender = bench.transport(SENDER);
    bench
        .router
        .add_producer(sender, "p".into(), &spec, false, now)
        .unwrap();
    let receiver = bench.transport(1);
    for index in 0..600u32 {
        let spec = consumer_spec(0x1000 + index);
        bench
            .router
            .add_consumer(receiver, format!("c{index}"), "p", spec, false)
            .unwrap();
    }
    bench.send_rtp(SENDER, vp8(1, true));
    bench.run_for(Duration::ZERO);
    bench.endpoints[1].rtcp.clear();
    let (per_window, mut reported) = sender_reports_per_10_ms(&mut bench, 1);
    // All in one instant, the 600 made one round of the worker last milliseconds.
    assert!(
        per_window.iter().all(|&count| count <= 6),
        "at most 6 of 600 in any 10 ms: {per_window:?}"
    );
    assert_eq!(per_window.iter().sum::<usize>(), 1200, "one a second each");
    reported.sort_unstable();
    reported.dedup();
    assert_eq!(
        reported.len(),
        600,
        "every consumer reported in the second second"
    );
}
