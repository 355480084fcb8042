"""RTCP compound packets (RFC 3550 and the feedback RFCs), parsed and serialized in Rust.

Each packet is a dict with a ``"type"`` key and the packet's fields, typed below:

>>> data = serialize([{"type": "pli", "sender_ssrc": 1, "media_ssrc": 2}])
>>> parse(data)
[{'type': 'pli', 'sender_ssrc': 1, 'media_ssrc': 2}]

Malformed input raises ``mediasoup_py.errors.RtcpError``; a dict that cannot be serialized
raises ``mediasoup_py.errors.MediasoupTypeError`` (field ``"packets"``) saying why.
"""

from __future__ import annotations

from typing import Literal, TypedDict, cast

from mediasoup_py import _core

__all__ = [
    "App",
    "Bye",
    "DlrrSubBlock",
    "ExtendedReport",
    "Fir",
    "FirEntry",
    "Nack",
    "NackItem",
    "Pli",
    "ReceiverReport",
    "ReceptionReport",
    "Remb",
    "RtcpPacket",
    "SdesChunk",
    "SdesItem",
    "SenderReport",
    "SourceDescription",
    "TransportCc",
    "TransportCcPacket",
    "UnknownFeedback",
    "UnknownPacket",
    "XrBlock",
    "parse",
    "serialize",
]


class ReceptionReport(TypedDict):
    """One report block of an SR or RR (RFC 3550 §6.4.1)."""

    ssrc: int
    fraction_lost: int
    total_lost: int
    highest_sequence: int
    jitter: int
    last_sr: int
    delay_since_last_sr: int


class SenderReport(TypedDict):
    """SR (PT 200)."""

    type: Literal["sender_report"]
    ssrc: int
    ntp_seconds: int
    ntp_fraction: int
    rtp_timestamp: int
    packet_count: int
    octet_count: int
    reports: list[ReceptionReport]


class ReceiverReport(TypedDict):
    """RR (PT 201)."""

    type: Literal["receiver_report"]
    ssrc: int
    reports: list[ReceptionReport]


class SdesItem(TypedDict):
    """An SDES item: type 1 is CNAME."""

    item_type: int
    value: bytes


class SdesChunk(TypedDict):
    """The SDES items of one source."""

    ssrc: int
    items: list[SdesItem]


class SourceDescription(TypedDict):
    """SDES (PT 202)."""

    type: Literal["source_description"]
    chunks: list[SdesChunk]


class Bye(TypedDict):
    """BYE (PT 203)."""

    type: Literal["bye"]
    ssrcs: list[int]
    reason: bytes | None


class App(TypedDict):
    """APP (PT 204); ``data`` is a multiple of 4 bytes."""

    type: Literal["app"]
    subtype: int
    ssrc: int
    name: bytes
    data: bytes


class NackItem(TypedDict):
    """A lost packet id and a bitmask of the 16 following losses."""

    pid: int
    blp: int


class Nack(TypedDict):
    """Generic NACK (RTPFB 1)."""

    type: Literal["nack"]
    sender_ssrc: int
    media_ssrc: int
    items: list[NackItem]


class TransportCcPacket(TypedDict):
    """One sequence number of a transport-cc feedback; delta in 250 us ticks, None if lost."""

    sequence: int
    receive_delta: int | None


class TransportCc(TypedDict):
    """Transport-wide congestion control feedback (RTPFB 15)."""

    type: Literal["transport_cc"]
    sender_ssrc: int
    media_ssrc: int
    base_sequence: int
    reference_time: int
    feedback_count: int
    packets: list[TransportCcPacket]


class Pli(TypedDict):
    """Picture loss indication (PSFB 1)."""

    type: Literal["pli"]
    sender_ssrc: int
    media_ssrc: int


class FirEntry(TypedDict):
    """One FIR request."""

    ssrc: int
    sequence_number: int


class Fir(TypedDict):
    """Full intra request (PSFB 4)."""

    type: Literal["fir"]
    sender_ssrc: int
    media_ssrc: int
    entries: list[FirEntry]


class Remb(TypedDict):
    """Receiver estimated maximum bitrate (PSFB 15 "REMB"), in bits per second."""

    type: Literal["remb"]
    sender_ssrc: int
    bitrate: int
    ssrcs: list[int]


class DlrrSubBlock(TypedDict):
    """A DLRR answer to one receiver's RRTR."""

    ssrc: int
    last_rr: int
    delay_since_last_rr: int


class XrBlock(TypedDict, total=False):
    """An XR block: ``block`` is "receiver_reference_time", "dlrr" or "unknown"."""

    block: str
    ntp_seconds: int
    ntp_fraction: int
    sub_blocks: list[DlrrSubBlock]
    block_type: int
    type_specific: int
    data: bytes


class ExtendedReport(TypedDict):
    """XR (PT 207)."""

    type: Literal["extended_report"]
    ssrc: int
    blocks: list[XrBlock]


class UnknownFeedback(TypedDict):
    """A feedback message of a format not interpreted (kept whole)."""

    type: Literal["unknown_feedback"]
    packet_type: int
    format: int
    sender_ssrc: int
    media_ssrc: int
    fci: bytes


class UnknownPacket(TypedDict):
    """A packet of a type not interpreted (kept whole)."""

    type: Literal["unknown"]
    packet_type: int
    count: int
    body: bytes


RtcpPacket = (
    SenderReport
    | ReceiverReport
    | SourceDescription
    | Bye
    | App
    | Nack
    | TransportCc
    | Pli
    | Fir
    | Remb
    | ExtendedReport
    | UnknownFeedback
    | UnknownPacket
)


def parse(data: bytes) -> list[RtcpPacket]:
    """Parses a compound RTCP packet; raises ``RtcpError`` if it is malformed."""
    return cast(list[RtcpPacket], _core.parse_rtcp(data))


def serialize(packets: list[RtcpPacket]) -> bytes:
    """Serializes packets (dicts as ``parse`` returns them) into one compound packet."""
    return _core.serialize_rtcp(packets)
