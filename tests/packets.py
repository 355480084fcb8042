"""Independent RTP/RTCP packet builders for tests (plain ``struct``, not mediasoup_py's own code),
so a test never checks our parser only against our own serializer."""

from __future__ import annotations

import struct


def rtp_packet(
    *,
    sequence_number: int,
    timestamp: int = 0,
    ssrc: int = 0x11223344,
    payload_type: int = 96,
    marker: bool = False,
    payload: bytes = b"",
    csrcs: tuple[int, ...] = (),
    one_byte_extensions: tuple[tuple[int, bytes], ...] = (),
) -> bytes:
    """An RTP packet (RFC 3550) with optional RFC 8285 one-byte header extensions."""
    has_extension = bool(one_byte_extensions)
    first = 0x80 | (0x10 if has_extension else 0) | len(csrcs)
    second = (0x80 if marker else 0) | payload_type
    header = struct.pack("!BBHII", first, second, sequence_number & 0xFFFF, timestamp, ssrc)
    header += b"".join(struct.pack("!I", csrc) for csrc in csrcs)
    if has_extension:
        elements = b"".join(
            bytes([(ext_id << 4) | (len(value) - 1)]) + value
            for ext_id, value in one_byte_extensions
        )
        elements += b"\x00" * (-len(elements) % 4)
        header += struct.pack("!HH", 0xBEDE, len(elements) // 4) + elements
    return header + payload


def rtcp_receiver_report(sender_ssrc: int, media_ssrc: int, highest_seq: int) -> bytes:
    """An RTCP RR (RFC 3550 §6.4.2) with one report block."""
    block = struct.pack("!IIIIII", media_ssrc, (5 << 24) | 3, highest_seq, 20, 0, 0)
    # Length in 32-bit words minus one: header and sender SSRC (8 bytes) plus the block.
    return struct.pack("!BBHI", 0x81, 201, (8 + len(block)) // 4 - 1, sender_ssrc) + block


def rtcp_pli(sender_ssrc: int, media_ssrc: int) -> bytes:
    """An RTCP PLI (RFC 4585 §6.3.1)."""
    return struct.pack("!BBHII", 0x81, 206, 2, sender_ssrc, media_ssrc)
