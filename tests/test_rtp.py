"""RTP through the Python API, checked against implementations we did not write: plain
``struct`` packets and aiortc's RTP code (its packet class and RFC 8285 extension packer)."""

from __future__ import annotations

import struct

import pytest
from aiortc import rtp as aiortc_rtp
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
from hypothesis import given
from hypothesis import strategies as st

from mediasoup_py import errors
from mediasoup_py.packet import classify_datagram
from mediasoup_py.rtp import RtpPacket
from tests.packets import rtp_packet

MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"
ABS_SEND_TIME_URI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
AUDIO_LEVEL_URI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
TRANSPORT_CC_URI = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"

u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFF_FFFF)
payload_types = st.integers(0, 127)
one_byte_elements = st.dictionaries(
    st.integers(1, 14), st.binary(min_size=1, max_size=16), max_size=6
)
two_byte_elements = st.dictionaries(
    st.integers(1, 255), st.binary(min_size=0, max_size=40), min_size=1, max_size=6
)


def aiortc_extension_map(ids: dict[str, int]) -> aiortc_rtp.HeaderExtensionsMap:
    extension_map = aiortc_rtp.HeaderExtensionsMap()
    extension_map.configure(
        RTCRtpParameters(
            headerExtensions=[
                RTCRtpHeaderExtensionParameters(id=ext_id, uri=uri) for uri, ext_id in ids.items()
            ]
        )
    )
    return extension_map


@given(
    sequence_number=u16,
    timestamp=u32,
    ssrc=u32,
    payload_type=payload_types,
    marker=st.booleans(),
    csrcs=st.lists(u32, max_size=15),
    elements=one_byte_elements,
    payload=st.binary(max_size=300),
)
def test_parse_reads_every_field_of_independently_built_packets(
    sequence_number: int,
    timestamp: int,
    ssrc: int,
    payload_type: int,
    marker: bool,
    csrcs: list[int],
    elements: dict[int, bytes],
    payload: bytes,
) -> None:
    data = rtp_packet(
        sequence_number=sequence_number,
        timestamp=timestamp,
        ssrc=ssrc,
        payload_type=payload_type,
        marker=marker,
        payload=payload,
        csrcs=tuple(csrcs),
        one_byte_extensions=tuple(elements.items()),
    )
    packet = RtpPacket.parse(data)
    assert (packet.sequence_number, packet.timestamp, packet.ssrc) == (
        sequence_number,
        timestamp,
        ssrc,
    )
    assert (packet.payload_type, packet.marker, packet.csrcs) == (payload_type, marker, csrcs)
    assert packet.header_extensions() == elements
    assert packet.payload == payload
    assert packet.to_bytes() == data
    assert classify_datagram(data) == "rtp" or payload_type in range(64, 96)


@given(elements=st.one_of(one_byte_elements, two_byte_elements), payload=st.binary(max_size=64))
def test_extension_blocks_match_aiortc_packing(elements: dict[int, bytes], payload: bytes) -> None:
    """aiortc packs RFC 8285 blocks on its own; both directions must agree byte for byte."""
    profile, block = aiortc_rtp.pack_header_extensions(sorted(elements.items()))
    data = struct.pack("!BBHII", 0x80 | (0x10 if elements else 0), 100, 7, 0, 9)
    if elements:
        data += struct.pack("!HH", profile, len(block) // 4) + block
    data += payload
    ours = RtpPacket.parse(data)
    assert ours.header_extensions() == elements
    assert ours.payload == payload
    rebuilt = RtpPacket(
        payload_type=100,
        sequence_number=7,
        timestamp=0,
        ssrc=9,
        extensions=elements,
        payload=payload,
    )
    # Both pick the one-byte form when every element fits it, and pad the block the same way.
    assert rebuilt.to_bytes() == data


def test_aiortc_reads_what_we_write_and_we_read_what_aiortc_writes() -> None:
    ids = {MID_URI: 1, ABS_SEND_TIME_URI: 3, AUDIO_LEVEL_URI: 10, TRANSPORT_CC_URI: 5}
    extension_map = aiortc_extension_map(ids)
    ours = RtpPacket(
        payload_type=111,
        sequence_number=4242,
        timestamp=960_000,
        ssrc=0xDEADBEEF,
        marker=True,
        extensions={1: b"audio", 3: b"\x12\x34\x56", 10: bytes([0x80 | 33]), 5: b"\x01\x02"},
        payload=b"\xfc" + bytes(80),
    )
    theirs = aiortc_rtp.RtpPacket.parse(ours.to_bytes(), extension_map)
    assert (theirs.payload_type, theirs.sequence_number, theirs.timestamp, theirs.ssrc) == (
        111,
        4242,
        960_000,
        0xDEADBEEF,
    )
    assert theirs.marker == 1
    assert theirs.extensions.mid == "audio"
    assert theirs.extensions.abs_send_time == 0x123456
    assert theirs.extensions.audio_level == (True, 33)
    assert theirs.extensions.transport_sequence_number == 0x0102

    theirs.sequence_number = 1
    theirs.extensions.mid = "video"
    parsed = RtpPacket.parse(theirs.serialize(extension_map))
    assert parsed.sequence_number == 1
    assert parsed.header_extension(1) == b"video"
    assert parsed.header_extension(5) == b"\x01\x02"


def test_setters_rewrite_in_place_and_keep_the_rest() -> None:
    data = rtp_packet(
        sequence_number=1, timestamp=2, ssrc=3, payload=b"xyz", one_byte_extensions=((1, b"0"),)
    )
    packet = RtpPacket.parse(data)
    packet.payload_type = 101
    packet.sequence_number = 65535
    packet.timestamp = 0xFFFF_FFFF
    packet.ssrc = 0xCAFE
    packet.marker = True
    assert len(packet) == len(data)
    reparsed = RtpPacket.parse(bytes(packet))
    assert (reparsed.payload_type, reparsed.sequence_number, reparsed.timestamp) == (
        101,
        65535,
        0xFFFF_FFFF,
    )
    assert (reparsed.ssrc, reparsed.marker, reparsed.payload) == (0xCAFE, True, b"xyz")
    assert reparsed.header_extension(1) == b"0"


def test_mid_rewrite_remap_and_removal() -> None:
    packet = RtpPacket.parse(
        rtp_packet(
            sequence_number=1,
            payload=b"p" * 20,
            one_byte_extensions=((1, b"0"), (3, b"\x00\x00\x01"), (9, b"x")),
        )
    )
    packet.set_header_extension(1, b"a-much-longer-mid")  # 17 bytes: needs the two-byte form
    assert packet.header_extension(1) == b"a-much-longer-mid"
    assert packet.payload == b"p" * 20
    packet.remap_header_extension_ids({1: 4, 3: 2})  # 9 is not negotiated: dropped
    assert packet.header_extensions() == {4: b"a-much-longer-mid", 2: b"\x00\x00\x01"}
    packet.remove_header_extension(4)
    assert packet.header_extensions() == {2: b"\x00\x00\x01"}
    assert RtpPacket.parse(packet.to_bytes()).payload == b"p" * 20


def test_rtx_round_trip() -> None:
    original = RtpPacket.parse(
        rtp_packet(sequence_number=500, ssrc=1111, payload_type=96, payload=b"frame")
    )
    rtx = original.rtx_encapsulate(97, 2222, 9)
    assert (rtx.payload_type, rtx.ssrc, rtx.sequence_number) == (97, 2222, 9)
    assert rtx.payload == struct.pack("!H", 500) + b"frame"
    assert rtx.rtx_decapsulate(96, 1111) == original


def test_keyframe_detection() -> None:
    vp8_key = b"\x10\x00\x00\x9d\x01\x2a" + bytes(20)
    vp8_delta = b"\x10\x01\x00\x00" + bytes(20)
    h264_idr = b"\x65" + bytes(10)
    assert RtpPacket(
        payload_type=96, sequence_number=1, timestamp=0, ssrc=1, payload=vp8_key
    ).is_keyframe("video/VP8")
    assert not RtpPacket(
        payload_type=96, sequence_number=1, timestamp=0, ssrc=1, payload=vp8_delta
    ).is_keyframe("video/VP8")
    assert RtpPacket(
        payload_type=96, sequence_number=1, timestamp=0, ssrc=1, payload=h264_idr
    ).is_keyframe("video/h264")
    with pytest.raises(errors.MediasoupTypeError) as raised:
        RtpPacket(payload_type=0, sequence_number=1, timestamp=0, ssrc=1).is_keyframe("audio/PCMU")
    assert raised.value.field == "mime_type"


@given(st.binary(max_size=200))
def test_arbitrary_bytes_parse_or_raise_rtp_error(data: bytes) -> None:
    try:
        packet = RtpPacket.parse(data)
    except errors.RtpError:
        return
    assert packet.to_bytes() == data
    assert packet.header_len + len(packet.payload) + packet.padding_len == len(data)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("payload_type", 128),
        ("payload_type", -1),
        ("sequence_number", 65536),
        ("timestamp", 1 << 32),
        ("ssrc", "1234"),
        ("csrcs", [1] * 16),
        ("extensions", {0: b"x"}),
        ("extensions", {1: "text"}),
    ],
)
def test_bad_arguments_name_the_field(field: str, value: object) -> None:
    arguments: dict[str, object] = {
        "payload_type": 96,
        "sequence_number": 1,
        "timestamp": 0,
        "ssrc": 1,
        field: value,
    }
    with pytest.raises(errors.MediasoupTypeError) as raised:
        RtpPacket(**arguments)  # type: ignore[arg-type]
    assert raised.value.field == field


def test_setter_rejects_out_of_range_values() -> None:
    packet = RtpPacket(payload_type=96, sequence_number=1, timestamp=0, ssrc=1)
    with pytest.raises(errors.MediasoupTypeError) as raised:
        packet.sequence_number = 70000
    assert raised.value.field == "sequence_number"
    assert packet.sequence_number == 1
