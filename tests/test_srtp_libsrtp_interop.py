"""SRTP/SRTCP interop with libsrtp (the C library every browser-side stack descends from),
through pylibsrtp, in both directions and for every profile both support."""

from __future__ import annotations

import os

import pylibsrtp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mediasoup_py import errors
from mediasoup_py.srtp import SRTP_PROFILES, SrtpSession, key_and_salt_lengths
from tests.packets import rtcp_pli, rtcp_receiver_report, rtp_packet

LIBSRTP_PROFILE = {
    "AES_CM_128_HMAC_SHA1_80": pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80,
    "AES_CM_128_HMAC_SHA1_32": pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_32,
    "AEAD_AES_128_GCM": pylibsrtp.Policy.SRTP_PROFILE_AEAD_AES_128_GCM,
    "AEAD_AES_256_GCM": pylibsrtp.Policy.SRTP_PROFILE_AEAD_AES_256_GCM,
}


def libsrtp_session(profile: str, key: bytes, salt: bytes, *, outbound: bool) -> pylibsrtp.Session:
    policy = pylibsrtp.Policy(
        key=key + salt,
        ssrc_type=(
            pylibsrtp.Policy.SSRC_ANY_OUTBOUND if outbound else pylibsrtp.Policy.SSRC_ANY_INBOUND
        ),
        srtp_profile=LIBSRTP_PROFILE[profile],
    )
    return pylibsrtp.Session(policy)


def keys(profile: str) -> tuple[bytes, bytes]:
    key_len, salt_len = key_and_salt_lengths(profile)
    return os.urandom(key_len), os.urandom(salt_len)


def test_every_profile_is_covered() -> None:
    assert set(SRTP_PROFILES) == set(LIBSRTP_PROFILE)


@pytest.mark.parametrize("profile", SRTP_PROFILES)
def test_rtp_ours_to_libsrtp_across_rollover(profile: str) -> None:
    """Sequence numbers wrap past 65535 mid-stream: both sides must agree on the ROC."""
    key, salt = keys(profile)
    ours = SrtpSession(profile, key, salt)
    theirs = libsrtp_session(profile, key, salt, outbound=False)
    for index in range(400):
        plain = rtp_packet(
            sequence_number=65_400 + index,
            timestamp=3000 * index,
            payload=os.urandom(50 + index % 1100),
            one_byte_extensions=((1, b"0"), (4, b"\x01\x02\x03")),
        )
        protected = ours.protect(plain)
        assert protected != plain
        assert theirs.unprotect(protected) == plain


@pytest.mark.parametrize("profile", SRTP_PROFILES)
def test_rtp_libsrtp_to_ours_across_rollover(profile: str) -> None:
    key, salt = keys(profile)
    theirs = libsrtp_session(profile, key, salt, outbound=True)
    ours = SrtpSession(profile, key, salt)
    for index in range(400):
        plain = rtp_packet(
            sequence_number=65_400 + index,
            timestamp=90 * index,
            csrcs=(7, 8),
            payload=os.urandom(1 + index % 1200),
        )
        assert ours.unprotect(theirs.protect(plain)) == plain


@pytest.mark.parametrize("profile", SRTP_PROFILES)
def test_rtcp_both_directions(profile: str) -> None:
    key, salt = keys(profile)
    ours_out, theirs_in = (
        SrtpSession(profile, key, salt),
        libsrtp_session(profile, key, salt, outbound=False),
    )
    theirs_out, ours_in = (
        libsrtp_session(profile, key, salt, outbound=True),
        SrtpSession(profile, key, salt),
    )
    for index in range(50):
        compound = rtcp_receiver_report(1, 2, index) + rtcp_pli(1, 2)
        assert theirs_in.unprotect_rtcp(ours_out.protect_rtcp(compound)) == compound
        assert ours_in.unprotect_rtcp(theirs_out.protect_rtcp(compound)) == compound


@pytest.mark.parametrize("profile", SRTP_PROFILES)
def test_replays_are_rejected_by_both(profile: str) -> None:
    key, salt = keys(profile)
    plain = rtp_packet(sequence_number=1000, payload=b"hello")
    protected = SrtpSession(profile, key, salt).protect(plain)

    ours = SrtpSession(profile, key, salt)
    assert ours.unprotect(protected) == plain
    with pytest.raises(errors.SrtpReplayError):
        ours.unprotect(protected)

    theirs = libsrtp_session(profile, key, salt, outbound=False)
    assert theirs.unprotect(protected) == plain
    with pytest.raises(pylibsrtp.Error):
        theirs.unprotect(protected)

    # The same for SRTCP, protected by libsrtp this time.
    compound = rtcp_pli(3, 4)
    protected_rtcp = libsrtp_session(profile, key, salt, outbound=True).protect_rtcp(compound)
    ours_rtcp = SrtpSession(profile, key, salt)
    assert ours_rtcp.unprotect_rtcp(protected_rtcp) == compound
    with pytest.raises(errors.SrtpReplayError):
        ours_rtcp.unprotect_rtcp(protected_rtcp)


@pytest.mark.parametrize("profile", SRTP_PROFILES)
@pytest.mark.parametrize("where", ["header", "payload", "tag"])
def test_tampered_packets_are_rejected_by_both(profile: str, where: str) -> None:
    key, salt = keys(profile)
    plain = rtp_packet(sequence_number=7, payload=bytes(range(100)))
    protected = bytearray(SrtpSession(profile, key, salt).protect(plain))
    offset = {"header": 4, "payload": 40, "tag": len(protected) - 1}[where]
    protected[offset] ^= 0x01

    with pytest.raises(errors.SrtpAuthenticationError):
        SrtpSession(profile, key, salt).unprotect(bytes(protected))
    with pytest.raises(pylibsrtp.Error):
        libsrtp_session(profile, key, salt, outbound=False).unprotect(bytes(protected))


def test_wrong_key_is_an_authentication_error() -> None:
    profile = "AES_CM_128_HMAC_SHA1_80"
    key, salt = keys(profile)
    protected = SrtpSession(profile, key, salt).protect(rtp_packet(sequence_number=1))
    other_key, _ = keys(profile)
    with pytest.raises(errors.SrtpAuthenticationError):
        SrtpSession(profile, other_key, salt).unprotect(protected)


@settings(max_examples=60, deadline=None)
@given(
    profile=st.sampled_from(SRTP_PROFILES),
    sequence_number=st.integers(0, 0xFFFF),
    timestamp=st.integers(0, 0xFFFFFFFF),
    ssrc=st.integers(0, 0xFFFFFFFF),
    payload=st.binary(max_size=1400),
    csrc_count=st.integers(0, 15),
)
def test_random_packets_round_trip_through_libsrtp(
    profile: str, sequence_number: int, timestamp: int, ssrc: int, payload: bytes, csrc_count: int
) -> None:
    key, salt = keys(profile)
    plain = rtp_packet(
        sequence_number=sequence_number,
        timestamp=timestamp,
        ssrc=ssrc,
        payload=payload,
        csrcs=tuple(range(csrc_count)),
    )
    assert (
        libsrtp_session(profile, key, salt, outbound=False).unprotect(
            SrtpSession(profile, key, salt).protect(plain)
        )
        == plain
    )
    assert (
        SrtpSession(profile, key, salt).unprotect(
            libsrtp_session(profile, key, salt, outbound=True).protect(plain)
        )
        == plain
    )


@pytest.mark.parametrize(("key_len", "salt_len", "field"), [(15, 14, "key"), (16, 13, "salt")])
def test_bad_key_lengths_name_the_field(key_len: int, salt_len: int, field: str) -> None:
    with pytest.raises(errors.MediasoupTypeError) as raised:
        SrtpSession("AES_CM_128_HMAC_SHA1_80", b"k" * key_len, b"s" * salt_len)
    assert raised.value.field == field


def test_unknown_profile_is_rejected() -> None:
    with pytest.raises(errors.MediasoupTypeError) as raised:
        SrtpSession("NULL_NULL", b"k" * 16, b"s" * 14)
    assert raised.value.field == "profile"
    assert "NULL_NULL" in str(raised.value)
