"""pytest-benchmark: our SrtpSession against libsrtp (pylibsrtp) in the same run, per profile.

Both sides pay the same Python call per packet, so the ratio compares the native work. Each
round protects (or unprotects) a batch of 1200-byte-payload packets with a fresh session, so
unprotect never trips the replay window and session setup is amortised equally.
Run: .venv/bin/pytest benches/test_srtp_vs_libsrtp.py --benchmark-only
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pylibsrtp
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from mediasoup_py.srtp import SRTP_PROFILES, SrtpSession, key_and_salt_lengths
from tests.packets import rtp_packet

BATCH = 1000
LIBSRTP_PROFILE = {
    "AES_CM_128_HMAC_SHA1_80": pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80,
    "AES_CM_128_HMAC_SHA1_32": pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_32,
    "AEAD_AES_128_GCM": pylibsrtp.Policy.SRTP_PROFILE_AEAD_AES_128_GCM,
    "AEAD_AES_256_GCM": pylibsrtp.Policy.SRTP_PROFILE_AEAD_AES_256_GCM,
}

Protector = Callable[[bytes], bytes]


def make_session(
    implementation: str, profile: str, key: bytes, salt: bytes, outbound: bool
) -> Protector:
    if implementation == "mediasoup_py":
        session = SrtpSession(profile, key, salt)
        return session.protect if outbound else session.unprotect
    policy = pylibsrtp.Policy(
        key=key + salt,
        ssrc_type=(
            pylibsrtp.Policy.SSRC_ANY_OUTBOUND if outbound else pylibsrtp.Policy.SSRC_ANY_INBOUND
        ),
        srtp_profile=LIBSRTP_PROFILE[profile],
    )
    libsrtp = pylibsrtp.Session(policy)
    return libsrtp.protect if outbound else libsrtp.unprotect


def plain_packets() -> list[bytes]:
    payload = os.urandom(1200)
    return [
        rtp_packet(sequence_number=seq, timestamp=seq * 3000, payload=payload)
        for seq in range(BATCH)
    ]


@pytest.mark.parametrize("implementation", ["mediasoup_py", "libsrtp"])
@pytest.mark.parametrize("profile", SRTP_PROFILES)
def test_protect(benchmark: BenchmarkFixture, profile: str, implementation: str) -> None:
    key_len, salt_len = key_and_salt_lengths(profile)
    key, salt = os.urandom(key_len), os.urandom(salt_len)
    packets = plain_packets()
    benchmark.group = f"protect {profile}"
    benchmark.extra_info["packets_per_round"] = BATCH

    def protect_batch() -> None:
        protect = make_session(implementation, profile, key, salt, outbound=True)
        for packet in packets:
            protect(packet)

    benchmark(protect_batch)


@pytest.mark.parametrize("implementation", ["mediasoup_py", "libsrtp"])
@pytest.mark.parametrize("profile", SRTP_PROFILES)
def test_unprotect(benchmark: BenchmarkFixture, profile: str, implementation: str) -> None:
    key_len, salt_len = key_and_salt_lengths(profile)
    key, salt = os.urandom(key_len), os.urandom(salt_len)
    # Protected once by libsrtp so neither side unprotects its own output.
    protect = make_session("libsrtp", profile, key, salt, outbound=True)
    protected = [protect(packet) for packet in plain_packets()]
    benchmark.group = f"unprotect {profile}"
    benchmark.extra_info["packets_per_round"] = BATCH

    def unprotect_batch() -> None:
        unprotect = make_session(implementation, profile, key, salt, outbound=False)
        for packet in protected:
            unprotect(packet)

    benchmark(unprotect_batch)
