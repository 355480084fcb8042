"""RTP packets (RFC 3550) with RFC 8285 header extensions, parsed and rewritten in Rust.

An ``RtpPacket`` owns its bytes; ``RtpPacket.parse`` validates received bytes once and the
properties read and rewrite the header in place, the way the SFU does on its forwarding path:

>>> packet = RtpPacket(payload_type=96, sequence_number=1, timestamp=0, ssrc=1234,
...                    extensions={1: b"0"}, payload=b"hello")
>>> packet.ssrc = 5678
>>> RtpPacket.parse(packet.to_bytes()).header_extension(1)
b'0'

Malformed input raises ``mediasoup_py.errors.RtpError``; a bad argument raises
``mediasoup_py.errors.MediasoupTypeError`` naming it.
"""

from __future__ import annotations

from mediasoup_py._core import RtpPacket

__all__ = ["RtpPacket"]
