"""mediasoup's server settings (``Server.create``, ``rtc_listen_infos``): addresses given,
detected (``True``) or off (``False``) per family, announced addresses per family, errors
naming the setting for an address this host does not have, and the warning for a wildcard
without an announced address. Detection on a host with a real interface is
tests/interop/test_host_address_detection.py."""

from __future__ import annotations

import asyncio
import logging

import pytest

import mediasoup_py
from mediasoup_py import errors
from mediasoup_py.host_addresses import check_listen_ip, host_addresses
from mediasoup_py.server import rtc_listen_infos

# TEST-NET-3 (RFC 5737): on no host.
ELSEWHERE_V4 = "203.0.113.9"


def test_addresses_per_family_with_their_announced_addresses() -> None:
    infos = rtc_listen_infos(
        rtc_ipv4="127.0.0.1",
        rtc_ipv6="::1",
        rtc_announced_ipv4="198.51.100.4",
        rtc_announced_ipv6="2001:db8::4",
    )
    assert infos == [
        {"protocol": "udp", "ip": "127.0.0.1", "announcedAddress": "198.51.100.4"},
        {"protocol": "udp", "ip": "::1", "announcedAddress": "2001:db8::4"},
    ]
    assert rtc_listen_infos(rtc_ipv4=False, rtc_ipv6="::1") == [{"protocol": "udp", "ip": "::1"}]


@pytest.mark.parametrize(
    ("settings", "field", "words"),
    [
        ({"rtc_ipv4": ELSEWHERE_V4}, "rtc_ipv4", "not an address of this host"),
        ({"rtc_ipv6": "2001:db8::9"}, "rtc_ipv6", "not an address of this host"),
        ({"rtc_ipv4": "::1"}, "rtc_ipv4", "not an IPv4 address"),
        ({"rtc_ipv6": "127.0.0.1"}, "rtc_ipv6", "not an IPv6 address"),
        ({"rtc_ipv4": 4}, "rtc_ipv4", r"True \(this host's\) or False"),
        ({"rtc_ipv4": "localhost"}, "rtc_ipv4", "IP address"),
        ({"rtc_ipv4": False}, "rtc_ipv4", "both False"),
        ({"rtc_announced_ipv4": ""}, "rtc_announced_ipv4", "non-empty string"),
    ],
)
def test_bad_settings_name_the_setting(settings: dict[str, object], field: str, words: str) -> None:
    with pytest.raises(errors.MediasoupTypeError, match=words) as raised:
        rtc_listen_infos(**settings)  # type: ignore[arg-type]
    assert raised.value.field == field


def test_server_create_refuses_an_address_this_host_lacks() -> None:
    async def create() -> None:
        await mediasoup_py.Server.create(num_workers=1, rtc_ipv4=ELSEWHERE_V4)

    with pytest.raises(errors.MediasoupTypeError, match=r"rtc_ipv4: 203\.0\.113\.9") as raised:
        asyncio.run(create())
    assert raised.value.field == "rtc_ipv4"


def test_a_transport_listen_ip_this_host_lacks_names_the_field() -> None:
    async def create() -> None:
        worker = await mediasoup_py.create_worker(rtc_min_port=46100, rtc_max_port=46199)
        try:
            router = await worker.create_router()
            await router.create_webrtc_transport(
                listen_infos=[{"protocol": "udp", "ip": ELSEWHERE_V4}]
            )
        finally:
            worker.close()

    with pytest.raises(errors.MediasoupTypeError, match="not an address of this host") as raised:
        asyncio.run(create())
    assert raised.value.field == "listen_infos[0].ip"


def test_every_loopback_address_and_the_wildcards_are_listenable() -> None:
    for ip in ("127.0.0.1", "127.0.0.53", "0.0.0.0", "::", "::1"):
        check_listen_ip(ip, "rtc_ipv4")


def test_a_wildcard_without_an_announced_address_is_warned_about(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="mediasoup_py.server"):
        rtc_listen_infos(rtc_ipv4="0.0.0.0")
    (record,) = caplog.records
    assert "rtc_ipv4 is 0.0.0.0" in record.getMessage()
    assert "rtc_announced_ipv4 is not set" in record.getMessage()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="mediasoup_py.server"):
        rtc_listen_infos(rtc_ipv4="0.0.0.0", rtc_announced_ipv4="198.51.100.4")
        rtc_listen_infos(rtc_ipv4="127.0.0.1")
    assert caplog.records == []


def test_host_addresses_lists_loopback_as_internal() -> None:
    loopback = [entry for entry in host_addresses() if entry.address == "127.0.0.1"]
    assert loopback
    assert loopback[0].internal
    assert loopback[0].family == 4
