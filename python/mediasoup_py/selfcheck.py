"""Installation self-check: drives the native module end to end and reports what it did.

Run with ``python -m mediasoup_py.selfcheck``. It parses and rewrites an RTP packet, round-trips
an RTCP compound packet, protects and unprotects RTP and RTCP with every SRTP profile, checks that
tampering and replay are rejected, classifies datagrams the way a media port does (RFC 7983),
and starts a worker thread with a WebRtcTransport and a PlainTransport that receives RTP sent
to it on 127.0.0.1. It exits non-zero if anything is off.
"""

from __future__ import annotations

import asyncio
import os
import socket
import struct
import sys
import time

import mediasoup_py
from mediasoup_py import errors, rtcp, rtp
from mediasoup_py.packet import classify_datagram
from mediasoup_py.srtp import SRTP_PROFILES, SrtpSession, key_and_salt_lengths


class SelfCheckFailure(Exception):
    """A check did not give the expected result."""


def _expect(condition: bool, failure: str) -> None:
    # Explicit checks rather than ``assert``, which ``python -O`` would strip.
    if not condition:
        raise SelfCheckFailure(failure)


def _check_rtp() -> str:
    packet = rtp.RtpPacket(
        payload_type=96,
        sequence_number=65535,
        timestamp=90000,
        ssrc=0x11223344,
        marker=True,
        extensions={1: b"0", 4: b"\x00\x00\x01"},
        payload=b"\x10\x00\x00\x9d\x01\x2a" + bytes(100),
    )
    parsed = rtp.RtpPacket.parse(packet.to_bytes())
    _expect(parsed.header_extension(1) == b"0", "mid extension lost")
    parsed.sequence_number = 1
    parsed.ssrc = 0xCAFE
    _expect(parsed.sequence_number == 1 and parsed.ssrc == 0xCAFE, "setters had no effect")
    _expect(parsed.is_keyframe("video/VP8"), "VP8 keyframe not detected")
    return f"RTP: {len(parsed.to_bytes())}-byte VP8 keyframe parsed, rewritten, extensions intact"


def _check_rtcp() -> str:
    compound = rtcp.serialize(
        [
            {"type": "pli", "sender_ssrc": 1, "media_ssrc": 2},
            {"type": "remb", "sender_ssrc": 1, "bitrate": 1_500_000, "ssrcs": [2]},
        ]
    )
    packets = rtcp.parse(compound)
    _expect([p["type"] for p in packets] == ["pli", "remb"], f"RTCP came back as {packets}")
    return f"RTCP: {len(compound)}-byte compound (PLI + REMB) round-tripped"


def _check_srtp() -> list[str]:
    lines = []
    plain = struct.pack("!BBHII", 0x80, 96, 65535, 1234, 0x11223344) + os.urandom(1200)
    for profile in SRTP_PROFILES:
        key_len, salt_len = key_and_salt_lengths(profile)
        key, salt = os.urandom(key_len), os.urandom(salt_len)
        sender, receiver = SrtpSession(profile, key, salt), SrtpSession(profile, key, salt)
        started = time.perf_counter()
        protected = sender.protect(plain)
        _expect(receiver.unprotect(protected) == plain, f"{profile}: round trip changed the packet")
        elapsed_us = (time.perf_counter() - started) * 1e6
        try:
            receiver.unprotect(protected)
        except errors.SrtpReplayError:
            pass
        else:
            raise SelfCheckFailure(f"{profile}: replay accepted")
        # A fresh sequence number (past the rollover), so only the tag can fail.
        next_plain = struct.pack("!BBHII", 0x80, 96, 0, 1234, 0x11223344) + os.urandom(1200)
        tampered = bytearray(sender.protect(next_plain))
        tampered[20] ^= 1
        try:
            receiver.unprotect(bytes(tampered))
        except errors.SrtpAuthenticationError:
            pass
        else:
            raise SelfCheckFailure(f"{profile}: tampered packet accepted")
        rtcp_plain = rtcp.serialize([{"type": "pli", "sender_ssrc": 1, "media_ssrc": 2}])
        _expect(
            receiver.unprotect_rtcp(sender.protect_rtcp(rtcp_plain)) == rtcp_plain,
            f"{profile}: SRTCP round trip changed the packet",
        )
        lines.append(
            f"SRTP {profile}: protect+unprotect ok ({elapsed_us:.0f} us incl. first-use), "
            "replay and tampering rejected, SRTCP ok"
        )
    return lines


def _check_demux() -> str:
    kinds = [
        classify_datagram(data)
        for data in (
            b"\x00\x01\x00\x00\x21\x12\xa4\x42" + bytes(12),
            b"\x16\xfe\xfd" + bytes(10),
            struct.pack("!BBHII", 0x80, 96, 1, 1, 1),
            struct.pack("!BBHI", 0x81, 201, 1, 1),
            b"\x42",
        )
    ]
    _expect(kinds == ["stun", "dtls", "rtp", "rtcp", "unknown"], f"demux gave {kinds}")
    return "demux (RFC 7983): STUN, DTLS, RTP, RTCP and garbage told apart"


async def _check_worker() -> list[str]:
    worker = await mediasoup_py.create_worker(rtc_min_port=49000, rtc_max_port=49999)
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        router = await worker.create_router()
        webrtc = await router.create_webrtc_transport(
            listen_infos=[
                {"protocol": "udp", "ip": "127.0.0.1"},
                {"protocol": "tcp", "ip": "127.0.0.1"},
            ]
        )
        candidates = ", ".join(
            f"{c['protocol']} {c['address']}:{c['port']}" for c in webrtc.ice_candidates
        )
        plain = await router.create_plain_transport(
            listen_info={"protocol": "udp", "ip": "127.0.0.1"}, comedia=True
        )
        await plain.connect()
        port = plain.tuple["localPort"]
        for sequence in range(50):
            packet = struct.pack("!BBHII", 0x80, 96, sequence, sequence * 3000, 0x1234)
            sender.sendto(packet + bytes(200), ("127.0.0.1", port))
        received = 0
        for _ in range(50):
            [stats] = await plain.get_stats()
            received = stats["rtpPacketsReceived"]
            if received == 50:
                break
            await asyncio.sleep(0.02)
        _expect(received == 50, f"PlainTransport counted {received} of 50 RTP packets")
        usage = await worker.get_resource_usage()
        return [
            f"worker thread: WebRtcTransport listening on {candidates} "
            f"(ICE-lite, DTLS role {webrtc.dtls_parameters['role']})",
            f"worker thread: PlainTransport (comedia) received {received}/50 RTP packets on "
            f"port {port}; worker CPU so far {usage['ru_utime'] + usage['ru_stime']} ms",
        ]
    finally:
        sender.close()
        worker.close()


def main() -> int:
    """Runs every check, prints one line each, returns the process exit status."""
    print(f"mediasoup_py {mediasoup_py.__version__} self-check")
    try:
        lines = [
            _check_rtp(),
            _check_rtcp(),
            *_check_srtp(),
            _check_demux(),
            *asyncio.run(_check_worker()),
        ]
    except (SelfCheckFailure, errors.MediasoupError) as failure:
        print(f"FAILED: {failure}")
        return 1
    for line in lines:
        print(f"  ok  {line}")
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
