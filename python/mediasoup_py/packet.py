"""Datagram demultiplexing (RFC 7983): what a WebRTC media port receives on one 5-tuple.

>>> classify_datagram(b"\\x80\\x60" + bytes(10))
'rtp'
"""

from __future__ import annotations

from mediasoup_py._core import classify_datagram

__all__ = ["classify_datagram"]
