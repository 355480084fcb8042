"""RTCP through the Python API, checked in both directions against aiortc's RTCP code (an
implementation we did not write) and by round-trip properties."""

from __future__ import annotations

import pytest
from aiortc import rtp as aiortc_rtp
from hypothesis import given
from hypothesis import strategies as st

from mediasoup_py import errors, rtcp
from tests.packets import rtcp_pli, rtcp_receiver_report

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFF_FFFF)


def aiortc_report(ssrc: int) -> aiortc_rtp.RtcpReceiverInfo:
    return aiortc_rtp.RtcpReceiverInfo(
        ssrc=ssrc,
        fraction_lost=12,
        packets_lost=-3,
        highest_sequence=0x0002_0010,
        jitter=77,
        lsr=0xAABBCCDD,
        dlsr=65536,
    )


def test_we_parse_a_compound_that_aiortc_builds() -> None:
    compound = b"".join(
        bytes(packet)
        for packet in [
            aiortc_rtp.RtcpSrPacket(
                ssrc=1,
                sender_info=aiortc_rtp.RtcpSenderInfo(
                    ntp_timestamp=(0xE1B2C3D4 << 32) | 0x80000000,
                    rtp_timestamp=90000,
                    packet_count=10,
                    octet_count=4000,
                ),
                reports=[aiortc_report(2)],
            ),
            aiortc_rtp.RtcpSdesPacket(
                chunks=[aiortc_rtp.RtcpSourceInfo(ssrc=1, items=[(1, b"{cname-1234}")])]
            ),
            aiortc_rtp.RtcpRtpfbPacket(fmt=1, ssrc=1, media_ssrc=2, lost=[100, 101, 116, 200]),
            aiortc_rtp.RtcpPsfbPacket(fmt=1, ssrc=1, media_ssrc=2),
            aiortc_rtp.RtcpPsfbPacket(
                fmt=15, ssrc=1, media_ssrc=0, fci=aiortc_rtp.pack_remb_fci(750_000, [2, 3])
            ),
            aiortc_rtp.RtcpByePacket(sources=[1]),
        ]
    )
    sender_report, sdes, nack, pli, remb, bye = rtcp.parse(compound)
    assert sender_report == {
        "type": "sender_report",
        "ssrc": 1,
        "ntp_seconds": 0xE1B2C3D4,
        "ntp_fraction": 0x80000000,
        "rtp_timestamp": 90000,
        "packet_count": 10,
        "octet_count": 4000,
        "reports": [
            {
                "ssrc": 2,
                "fraction_lost": 12,
                "total_lost": -3,
                "highest_sequence": 0x0002_0010,
                "jitter": 77,
                "last_sr": 0xAABBCCDD,
                "delay_since_last_sr": 65536,
            }
        ],
    }
    assert sdes == {
        "type": "source_description",
        "chunks": [{"ssrc": 1, "items": [{"item_type": 1, "value": b"{cname-1234}"}]}],
    }
    assert nack["type"] == "nack"
    assert nack["items"] == [{"pid": 100, "blp": 0b1000_0000_0000_0001}, {"pid": 200, "blp": 0}]
    assert pli == {"type": "pli", "sender_ssrc": 1, "media_ssrc": 2}
    assert remb["type"] == "remb"
    assert (remb["bitrate"], remb["ssrcs"]) == (750_000, [2, 3])
    assert bye == {"type": "bye", "ssrcs": [1], "reason": None}
    assert rtcp.serialize([sender_report, sdes, nack, pli, remb, bye]) == compound


def test_aiortc_parses_what_we_serialize() -> None:
    compound = rtcp.serialize(
        [
            {
                "type": "receiver_report",
                "ssrc": 7,
                "reports": [
                    {
                        "ssrc": 8,
                        "fraction_lost": 1,
                        "total_lost": 70000,
                        "highest_sequence": 123456,
                        "jitter": 9,
                        "last_sr": 10,
                        "delay_since_last_sr": 11,
                    }
                ],
            },
            {"type": "nack", "sender_ssrc": 7, "media_ssrc": 8, "items": [{"pid": 5, "blp": 3}]},
            {"type": "remb", "sender_ssrc": 7, "bitrate": 300_000, "ssrcs": [8]},
        ]
    )
    receiver_report, nack, remb = aiortc_rtp.RtcpPacket.parse(compound)
    assert receiver_report.ssrc == 7
    assert receiver_report.reports[0].packets_lost == 70000
    assert receiver_report.reports[0].highest_sequence == 123456
    assert nack.lost == [5, 6, 7]
    assert aiortc_rtp.unpack_remb_fci(remb.fci) == (300_000, [8])


def test_struct_built_packets_parse() -> None:
    assert rtcp.parse(rtcp_pli(1, 2) + rtcp_receiver_report(1, 2, 99)) == [
        {"type": "pli", "sender_ssrc": 1, "media_ssrc": 2},
        {
            "type": "receiver_report",
            "ssrc": 1,
            "reports": [
                {
                    "ssrc": 2,
                    "fraction_lost": 5,
                    "total_lost": 3,
                    "highest_sequence": 99,
                    "jitter": 20,
                    "last_sr": 0,
                    "delay_since_last_sr": 0,
                }
            ],
        },
    ]


reception_reports = st.fixed_dictionaries(
    {
        "ssrc": u32,
        "fraction_lost": u8,
        "total_lost": st.integers(-(1 << 23), (1 << 23) - 1),
        "highest_sequence": u32,
        "jitter": u32,
        "last_sr": u32,
        "delay_since_last_sr": u32,
    }
)
packets = st.one_of(
    st.fixed_dictionaries(
        {
            "type": st.just("receiver_report"),
            "ssrc": u32,
            "reports": st.lists(reception_reports, max_size=3),
        }
    ),
    st.fixed_dictionaries(
        {"type": st.just("pli"), "sender_ssrc": u32, "media_ssrc": u32},
    ),
    st.fixed_dictionaries(
        {
            "type": st.just("nack"),
            "sender_ssrc": u32,
            "media_ssrc": u32,
            "items": st.lists(
                st.fixed_dictionaries({"pid": u16, "blp": u16}), min_size=1, max_size=4
            ),
        }
    ),
    st.fixed_dictionaries(
        {
            "type": st.just("bye"),
            "ssrcs": st.lists(u32, max_size=4),
            "reason": st.none() | st.binary(max_size=40),
        }
    ),
    st.fixed_dictionaries(
        {
            "type": st.just("transport_cc"),
            "sender_ssrc": u32,
            "media_ssrc": u32,
            "base_sequence": st.just(10),
            "reference_time": st.integers(-(1 << 23), (1 << 23) - 1),
            "feedback_count": u8,
            "packets": st.lists(
                st.none() | st.integers(-(1 << 15), (1 << 15) - 1), max_size=40
            ).map(
                lambda deltas: [
                    {"sequence": 10 + index, "receive_delta": delta}
                    for index, delta in enumerate(deltas)
                ]
            ),
        }
    ),
)


@given(st.lists(packets, min_size=1, max_size=4))
def test_parse_of_serialize_is_identity(compound: list[rtcp.RtcpPacket]) -> None:
    assert rtcp.parse(rtcp.serialize(compound)) == compound


@given(st.binary(max_size=200))
def test_arbitrary_bytes_parse_or_raise_rtcp_error(data: bytes) -> None:
    try:
        parsed = rtcp.parse(data)
    except errors.RtcpError:
        return
    assert isinstance(parsed, list)


@pytest.mark.parametrize(
    "packet",
    [
        {"type": "pli", "sender_ssrc": 1},
        {"type": "pli", "sender_ssrc": 1, "media_ssrc": 1 << 32},
        {"type": "no_such_type"},
        {"type": "app", "subtype": 1, "ssrc": 1, "name": b"abcd", "data": b"xyz"},
        "not a dict",
    ],
)
def test_bad_packets_raise_typed_errors_naming_the_argument(packet: object) -> None:
    with pytest.raises(errors.MediasoupTypeError) as raised:
        rtcp.serialize([packet])  # type: ignore[list-item]
    assert raised.value.field == "packets"
