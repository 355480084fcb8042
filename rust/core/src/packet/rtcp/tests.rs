use proptest::prelude::*;

use super::*;
use crate::test_support::hex;

fn serialize(packets: &[RtcpPacket]) -> Vec<u8> {
    let mut out = Vec::new();
    serialize_compound(packets, &mut out).unwrap();
    out
}

/// A compound as Chrome sends it for a receive-only stream: RR with one block, SDES CNAME,
/// then REMB and a NACK (byte layouts per RFC 3550 §6.4.2, §6.5, the REMB draft and RFC 4585).
#[test]
fn chrome_like_receiver_compound() {
    let datagram = hex("
        81c90007 00000001
            11223344 05000003 0001ffff 00000014 aabbccdd 00010000
        81ca0004 00000001 01087a6e 6f4f7067 55610000
        8fce0005 00000001 00000000 52454d42 0103d090 11223344
        81cd0003 00000001 11223344 03e80005
    ");
    let packets = parse_compound(&datagram).unwrap();
    assert_eq!(packets.len(), 4);
    assert_eq!(
        packets[0],
        RtcpPacket::ReceiverReport(ReceiverReport {
            ssrc: 1,
            reports: vec![ReceptionReport {
                ssrc: 0x1122_3344,
                fraction_lost: 5,
                total_lost: 3,
                highest_sequence: 0x0001_FFFF,
                jitter: 20,
                last_sr: 0xAABB_CCDD,
                delay_since_last_sr: 0x0001_0000,
            }],
        })
    );
    let RtcpPacket::SourceDescription(sdes) = &packets[1] else {
        panic!("expected SDES, got {:?}", packets[1]);
    };
    assert_eq!(sdes.chunks[0].ssrc, 1);
    assert_eq!(sdes.chunks[0].cname(), Some(b"znoOpgUa".as_slice()));
    assert_eq!(
        packets[2],
        RtcpPacket::Remb(Remb {
            sender_ssrc: 1,
            // Exponent 0, mantissa 0x3d090 = 250000.
            bitrate: 250_000,
            ssrcs: vec![0x1122_3344],
        })
    );
    let RtcpPacket::Nack(nack) = &packets[3] else {
        panic!("expected NACK");
    };
    assert_eq!(
        nack.lost_sequence_numbers().collect::<Vec<_>>(),
        [1000, 1001, 1003]
    );
    assert_eq!(serialize(&packets), datagram);
}

#[test]
fn sender_report_with_negative_cumulative_loss_and_bye_with_reason() {
    let datagram = hex("
        81c8000c 00000009 e1b2c3d4 80000000 00015f90 0000000a 00000fa0
            00000007 00fffffe 00000010 00000001 00000000 00000000
        81cb0003 00000009 07676f6f 64627965
    ");
    let packets = parse_compound(&datagram).unwrap();
    let RtcpPacket::SenderReport(sr) = &packets[0] else {
        panic!("expected SR");
    };
    assert_eq!(
        (sr.ntp_seconds, sr.ntp_fraction),
        (0xE1B2_C3D4, 0x8000_0000)
    );
    assert_eq!(
        (sr.rtp_timestamp, sr.packet_count, sr.octet_count),
        (90_000, 10, 4000)
    );
    assert_eq!(sr.reports[0].total_lost, -2);
    assert_eq!(
        packets[1],
        RtcpPacket::Bye(Bye {
            ssrcs: vec![9],
            reason: Some(b"goodbye".to_vec()),
        })
    );
    assert_eq!(serialize(&packets), datagram);
}

#[test]
fn pli_fir_and_xr() {
    let datagram = hex("
        81ce0002 00000001 00000002
        84ce0004 00000001 00000000 00000005 07000000
        80cf0008 00000001
            04000002 e1b2c3d4 80000000
            05000003 00000002 c3d48000 00000100
    ");
    let packets = parse_compound(&datagram).unwrap();
    assert_eq!(
        packets,
        [
            RtcpPacket::Pli(Pli {
                sender_ssrc: 1,
                media_ssrc: 2
            }),
            RtcpPacket::Fir(Fir {
                sender_ssrc: 1,
                media_ssrc: 0,
                entries: vec![FirEntry {
                    ssrc: 5,
                    sequence_number: 7
                }],
            }),
            RtcpPacket::ExtendedReport(ExtendedReport {
                ssrc: 1,
                blocks: vec![
                    XrBlock::ReceiverReferenceTime {
                        ntp_seconds: 0xE1B2_C3D4,
                        ntp_fraction: 0x8000_0000,
                    },
                    XrBlock::Dlrr {
                        sub_blocks: vec![DlrrSubBlock {
                            ssrc: 2,
                            last_rr: 0xC3D4_8000,
                            delay_since_last_rr: 0x100,
                        }],
                    },
                ],
            }),
        ]
    );
    assert_eq!(serialize(&packets), datagram);
}

/// Transport-cc (draft-holmer §3.1): a two-bit status vector with a small delta, a large
/// negative delta and a loss; then the draft's run-length example (status 1, run of 221).
#[test]
fn transport_cc_vectors_and_run_lengths() {
    let datagram = hex("
        8fcd0006 00000001 00000002
            0001 0003 000001 00
            d800
            04 fffc 000000
    ");
    let packets = parse_compound(&datagram).unwrap();
    let RtcpPacket::TransportCc(feedback) = &packets[0] else {
        panic!("expected transport-cc, got {packets:?}");
    };
    assert_eq!(feedback.reference_time, 1);
    assert_eq!(
        feedback.packets,
        [
            TransportCcPacket {
                sequence: 1,
                receive_delta: Some(4)
            },
            TransportCcPacket {
                sequence: 2,
                receive_delta: Some(-4)
            },
            TransportCcPacket {
                sequence: 3,
                receive_delta: None
            },
        ]
    );
    assert_eq!(
        feedback.arrival_times_us().collect::<Vec<_>>(),
        [(1, Some(65_000)), (2, Some(64_000)), (3, None)]
    );

    let mut run = hex("8fcd0000 00000001 00000002 fff0 00dd 000000 07 20dd");
    run.extend(std::iter::repeat_n(1u8, 221));
    let padding = (4 - run.len() % 4) % 4;
    run.extend(std::iter::repeat_n(0u8, padding));
    let words = (run.len() / 4 - 1) as u16;
    run[2..4].copy_from_slice(&words.to_be_bytes());
    let RtcpPacket::TransportCc(feedback) = &parse_compound(&run).unwrap()[0] else {
        panic!("expected transport-cc");
    };
    assert_eq!(feedback.packets.len(), 221);
    assert_eq!(feedback.packets[220].sequence, 0xfff0u16.wrapping_add(220));
    assert!(feedback.packets.iter().all(|p| p.receive_delta == Some(1)));
    assert_eq!(
        parse_compound(&serialize(&[packets[0].clone()])).unwrap(),
        packets
    );
}

#[test]
fn transport_cc_from_arrivals_round_trips_times() {
    let arrivals = [
        Some(1_000_000),
        None,
        Some(1_000_250),
        Some(1_090_000),
        Some(999_000),
    ];
    let feedback = TransportCc::from_arrivals(1, 2, 9, 65_534, &arrivals).unwrap();
    let times: Vec<_> = feedback.arrival_times_us().map(|(_, time)| time).collect();
    assert_eq!(times, arrivals);
    assert_eq!(feedback.packets[2].sequence, 0);
    let parsed = parse_compound(&serialize(&[RtcpPacket::TransportCc(feedback.clone())])).unwrap();
    assert_eq!(parsed, [RtcpPacket::TransportCc(feedback)]);
    assert!(TransportCc::from_arrivals(1, 2, 0, 0, &[Some(0), Some(9_000_000)]).is_err());
}

#[test]
fn remb_rounds_large_bitrates_down_to_the_mantissa() {
    let remb = RtcpPacket::Remb(Remb {
        sender_ssrc: 1,
        bitrate: 1_500_001,
        ssrcs: vec![2, 3],
    });
    let RtcpPacket::Remb(parsed) = &parse_compound(&serialize(&[remb])).unwrap()[0] else {
        panic!("expected REMB");
    };
    assert!(parsed.bitrate <= 1_500_001 && parsed.bitrate > 1_500_001 - 8);
    assert_eq!(parsed.ssrcs, [2, 3]);
}

#[test]
fn nack_items_from_lost_sequence_numbers_wrap() {
    let nack = Nack::from_lost(1, 2, &[65_534, 65_535, 3, 40]);
    assert_eq!(
        nack.items,
        [
            NackItem {
                pid: 65_534,
                blp: 0b1_0001
            },
            NackItem { pid: 40, blp: 0 }
        ]
    );
    assert_eq!(
        nack.lost_sequence_numbers().collect::<Vec<_>>(),
        [65_534, 65_535, 3, 40]
    );
}

#[test]
fn malformed_lengths_are_rejected() {
    type ErrorCheck = fn(&RtcpError) -> bool;
    let cases: [(&str, ErrorCheck); 7] = [
        ("81c9", |e| matches!(e, RtcpError::Truncated { .. })),
        ("41c90001 00000001", |e| {
            matches!(e, RtcpError::BadVersion(1))
        }),
        ("81c90009 00000001", |e| {
            matches!(e, RtcpError::LengthExceedsBuffer { .. })
        }),
        ("81c90001 00000001", |e| {
            matches!(e, RtcpError::CountMismatch { .. })
        }),
        ("a0c90001 00000009", |e| {
            matches!(e, RtcpError::BadPadding { padding: 9, .. })
        }),
        ("81cd0002 00000001 00000002", |e| {
            matches!(e, RtcpError::Malformed { .. })
        }),
        (
            "8fcd0005 00000001 00000002 00010003 00000100 60030000",
            |e| matches!(e, RtcpError::MalformedTransportCc(_)),
        ),
    ];
    for (bytes, expected) in cases {
        let error = parse_compound(&hex(bytes)).unwrap_err();
        assert!(expected(&error), "{bytes}: unexpected {error}");
    }
}

#[test]
fn padding_on_the_last_packet_is_removed() {
    let datagram = hex("a0c90002 00000007 00000004");
    assert_eq!(
        parse_compound(&datagram).unwrap(),
        [RtcpPacket::ReceiverReport(ReceiverReport {
            ssrc: 7,
            reports: vec![]
        })]
    );
}

fn reception_report() -> impl Strategy<Value = ReceptionReport> {
    (
        any::<u32>(),
        any::<u8>(),
        -(1i32 << 23)..(1 << 23),
        any::<[u32; 4]>(),
    )
        .prop_map(
            |(ssrc, fraction_lost, total_lost, [highest_sequence, jitter, last_sr, dlsr])| {
                ReceptionReport {
                    ssrc,
                    fraction_lost,
                    total_lost,
                    highest_sequence,
                    jitter,
                    last_sr,
                    delay_since_last_sr: dlsr,
                }
            },
        )
}

fn word_bytes(max_words: usize) -> impl Strategy<Value = Vec<u8>> {
    (0..=max_words).prop_flat_map(|words| proptest::collection::vec(any::<u8>(), words * 4))
}

fn packet() -> impl Strategy<Value = RtcpPacket> {
    let reports = || proptest::collection::vec(reception_report(), 0..4);
    prop_oneof![
        (any::<[u32; 6]>(), reports()).prop_map(|([ssrc, s, f, ts, pc, oc], reports)| {
            RtcpPacket::SenderReport(SenderReport {
                ssrc,
                ntp_seconds: s,
                ntp_fraction: f,
                rtp_timestamp: ts,
                packet_count: pc,
                octet_count: oc,
                reports,
            })
        }),
        (any::<u32>(), reports()).prop_map(|(ssrc, reports)| RtcpPacket::ReceiverReport(
            ReceiverReport { ssrc, reports }
        )),
        proptest::collection::vec(
            (
                any::<u32>(),
                proptest::collection::vec(
                    (1u8..=8, proptest::collection::vec(any::<u8>(), 0..20)),
                    0..3
                )
            ),
            0..3
        )
        .prop_map(|chunks| RtcpPacket::SourceDescription(SourceDescription {
            chunks: chunks
                .into_iter()
                .map(|(ssrc, items)| SdesChunk {
                    ssrc,
                    items: items
                        .into_iter()
                        .map(|(item_type, value)| SdesItem { item_type, value })
                        .collect(),
                })
                .collect(),
        })),
        (
            proptest::collection::vec(any::<u32>(), 0..4),
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..30))
        )
            .prop_map(|(ssrcs, reason)| RtcpPacket::Bye(Bye { ssrcs, reason })),
        (0u8..32, any::<u32>(), any::<[u8; 4]>(), word_bytes(4)).prop_map(
            |(subtype, ssrc, name, data)| RtcpPacket::App(App {
                subtype,
                ssrc,
                name,
                data
            })
        ),
        (
            any::<u32>(),
            any::<u32>(),
            proptest::collection::vec(any::<(u16, u16)>(), 1..5)
        )
            .prop_map(|(sender_ssrc, media_ssrc, items)| RtcpPacket::Nack(Nack {
                sender_ssrc,
                media_ssrc,
                items: items
                    .into_iter()
                    .map(|(pid, blp)| NackItem { pid, blp })
                    .collect(),
            })),
        (
            any::<u32>(),
            any::<u32>(),
            any::<u16>(),
            -(1i32 << 23)..(1 << 23),
            any::<u8>(),
            proptest::collection::vec(proptest::option::of(any::<i16>()), 0..60)
        )
            .prop_map(
                |(sender_ssrc, media_ssrc, base, reference_time, count, deltas)| {
                    RtcpPacket::TransportCc(TransportCc {
                        sender_ssrc,
                        media_ssrc,
                        base_sequence: base,
                        reference_time,
                        feedback_count: count,
                        packets: deltas
                            .into_iter()
                            .enumerate()
                            .map(|(i, receive_delta)| TransportCcPacket {
                                sequence: base.wrapping_add(i as u16),
                                receive_delta,
                            })
                            .collect(),
                    })
                }
            ),
        any::<(u32, u32)>().prop_map(|(sender_ssrc, media_ssrc)| RtcpPacket::Pli(Pli {
            sender_ssrc,
            media_ssrc
        })),
        (
            any::<u32>(),
            any::<u32>(),
            proptest::collection::vec(any::<(u32, u8)>(), 1..4)
        )
            .prop_map(|(sender_ssrc, media_ssrc, entries)| RtcpPacket::Fir(Fir {
                sender_ssrc,
                media_ssrc,
                entries: entries
                    .into_iter()
                    .map(|(ssrc, sequence_number)| FirEntry {
                        ssrc,
                        sequence_number
                    })
                    .collect(),
            })),
        (
            any::<u32>(),
            0u64..(1 << 18),
            0u32..40,
            proptest::collection::vec(any::<u32>(), 0..4)
        )
            .prop_map(
                |(sender_ssrc, mantissa, exponent, ssrcs)| RtcpPacket::Remb(Remb {
                    sender_ssrc,
                    bitrate: mantissa << exponent,
                    ssrcs,
                })
            ),
        (
            any::<u32>(),
            any::<[u32; 2]>(),
            proptest::collection::vec(any::<[u32; 3]>(), 0..3),
            6u8..=255,
            any::<u8>(),
            word_bytes(3)
        )
            .prop_map(
                |(ssrc, [ntp_seconds, ntp_fraction], dlrr, block_type, type_specific, data)| {
                    RtcpPacket::ExtendedReport(ExtendedReport {
                        ssrc,
                        blocks: vec![
                            XrBlock::ReceiverReferenceTime {
                                ntp_seconds,
                                ntp_fraction,
                            },
                            XrBlock::Dlrr {
                                sub_blocks: dlrr
                                    .into_iter()
                                    .map(|[ssrc, last_rr, delay_since_last_rr]| DlrrSubBlock {
                                        ssrc,
                                        last_rr,
                                        delay_since_last_rr,
                                    })
                                    .collect(),
                            },
                            XrBlock::Unknown {
                                block_type,
                                type_specific,
                                data,
                            },
                        ],
                    })
                }
            ),
        (any::<u32>(), any::<u32>(), 2u8..15, word_bytes(3)).prop_map(
            |(sender_ssrc, media_ssrc, format, fci)| {
                RtcpPacket::UnknownFeedback(UnknownFeedback {
                    packet_type: packet_type::RTPFB,
                    format,
                    sender_ssrc,
                    media_ssrc,
                    fci,
                })
            }
        ),
        (208u8..=223, 0u8..32, word_bytes(3)).prop_map(|(packet_type, count, body)| {
            RtcpPacket::Unknown(UnknownPacket {
                packet_type,
                count,
                body,
            })
        }),
    ]
}

proptest! {
    #[test]
    fn parse_of_serialize_is_identity(packets in proptest::collection::vec(packet(), 1..5)) {
        let bytes = serialize(&packets);
        prop_assert_eq!(parse_compound(&bytes).unwrap(), packets);
        // And serializing what was parsed gives the same bytes back.
        prop_assert_eq!(serialize(&parse_compound(&bytes).unwrap()), bytes);
    }

    #[test]
    fn parse_of_arbitrary_bytes_never_panics(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse_compound(&data);
        for item in RtcpCompoundIter::new(&data) {
            if item.is_err() {
                break;
            }
        }
    }

    /// Arbitrary bodies behind valid headers reach every packet parser.
    #[test]
    fn arbitrary_bodies_never_panic(
        packet_type in 200u8..=207,
        count in 0u8..32,
        body in word_bytes(30),
    ) {
        let mut datagram = vec![0x80 | count, packet_type];
        datagram.extend(((body.len() / 4) as u16).to_be_bytes());
        datagram.extend(&body);
        if let Ok(packets) = parse_compound(&datagram) {
            let mut out = Vec::new();
            if serialize_compound(&packets, &mut out).is_ok() {
                prop_assert_eq!(parse_compound(&out).unwrap(), packets);
            }
        }
    }
}

/// A feedback Chrome sent, as Wireshark dissects it (from the RTCP helper's branch): P bit
/// with one padding byte, one run-length chunk of nine small deltas.
#[test]
fn chrome_transport_cc_with_rtcp_padding() {
    let bytes = hex("afcd0007 00000001 dd586eb6 00010009 5e911000 20091c0c 2c380004 00081801");
    let packets = parse_compound(&bytes).unwrap();
    let RtcpPacket::TransportCc(feedback) = &packets[0] else {
        panic!("expected transport-cc, got {packets:?}");
    };
    assert_eq!(
        (feedback.base_sequence, feedback.reference_time),
        (1, 6_197_520)
    );
    let deltas_ms: Vec<i16> = feedback
        .packets
        .iter()
        .map(|packet| packet.receive_delta.unwrap() / 4)
        .collect();
    assert_eq!(deltas_ms, [7, 3, 11, 14, 0, 1, 0, 2, 6]);
    assert_eq!(
        feedback.arrival_times_us().last(),
        Some((9, Some(6_197_520 * 64_000 + 44_000)))
    );
    assert_eq!(parse_compound(&serialize(&packets)).unwrap(), packets);
}
