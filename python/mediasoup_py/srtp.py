"""SRTP and SRTCP sessions (RFC 3711, RFC 7714) for the four profiles WebRTC uses.

A session is keyed once and used for one direction: protect outgoing packets with one session,
unprotect incoming ones with another (the master key and salt differ per direction anyway).
The per-packet work runs in Rust without the GIL-bound Python doing anything but the call.

>>> sender = SrtpSession("AEAD_AES_128_GCM", key, salt)        # doctest: +SKIP
>>> receiver = SrtpSession("AEAD_AES_128_GCM", key, salt)      # doctest: +SKIP
>>> receiver.unprotect(sender.protect(rtp_bytes)) == rtp_bytes  # doctest: +SKIP
True
"""

from __future__ import annotations

from mediasoup_py._core import SRTP_PROFILES, SrtpSession
from mediasoup_py._core import srtp_key_and_salt_lengths as key_and_salt_lengths

__all__ = ["SRTP_PROFILES", "SrtpSession", "key_and_salt_lengths"]
