"""Workers, routers and WebRTC transports through the Python API, on real loopback sockets."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import hashlib
import hmac
import logging
import os
import socket
import struct
import zlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Literal, TypeVar

import pytest

import mediasoup_py
from mediasoup_py import errors
from tests.packets import rtcp_receiver_report, rtp_packet

T = TypeVar("T")
STUN_MAGIC_COOKIE = 0x2112A442
LOOPBACK = [{"protocol": "udp", "ip": "127.0.0.1"}]


def binding_request(
    username: str, integrity: Literal["valid", "forged", "absent"], password: str = ""
) -> bytes:
    """An ICE check (RFC 8489 framing, built here with struct and hmac): USERNAME, PRIORITY,
    USE-CANDIDATE, then MESSAGE-INTEGRITY keyed with ``password`` ("valid"), 20 zero bytes
    ("forged") or none ("absent"), then FINGERPRINT."""

    def attribute(kind: int, value: bytes) -> bytes:
        return struct.pack("!HH", kind, len(value)) + value + b"\0" * (-len(value) % 4)

    def header(length: int) -> bytes:
        return struct.pack("!HHI", 0x0001, length, STUN_MAGIC_COOKIE) + transaction

    transaction = os.urandom(12)
    body = attribute(0x0006, username.encode())
    body += attribute(0x0024, struct.pack("!I", 12345))  # PRIORITY
    body += attribute(0x0025, b"")  # USE-CANDIDATE
    if integrity == "valid":
        # Over the message up to it, the length already counting its own 24 bytes.
        digest = hmac.new(password.encode(), header(len(body) + 24) + body, hashlib.sha1)
        body += attribute(0x0008, digest.digest())
    elif integrity == "forged":
        body += attribute(0x0008, bytes(20))
    crc = zlib.crc32(header(len(body) + 8) + body) ^ 0x5354554E
    return header(len(body) + 8) + body + attribute(0x8028, struct.pack("!I", crc))


def forged_binding_request(server_ufrag: str) -> bytes:
    """A well-formed ICE check whose MESSAGE-INTEGRITY was not made with the transport's
    password."""
    return binding_request(f"{server_ufrag}:attacker", "forged")


def stun_error_code(response: bytes) -> int | None:
    """The ERROR-CODE (class * 100 + number) of a STUN response, if it has one."""
    offset = 20
    while offset + 4 <= len(response):
        kind, length = struct.unpack_from("!HH", response, offset)
        if kind == 0x0009:
            return int(response[offset + 6] & 0x07) * 100 + response[offset + 7]
        offset += 4 + length + (-length % 4)
    return None


def run(scenario: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(asyncio.wait_for(scenario(), timeout=20))


def test_worker_lifecycle_resource_usage_and_dump() -> None:
    async def scenario() -> None:
        worker = await mediasoup_py.create_worker(rtc_min_port=43000, rtc_max_port=43099)
        assert worker.pid == os.getpid()
        assert not worker.closed
        usage = await worker.get_resource_usage()
        assert set(usage) >= {"ru_utime", "ru_stime", "ru_maxrss", "ru_nvcsw", "ru_nivcsw"}
        assert usage["ru_maxrss"] > 0
        router = await worker.create_router(app_data={"room": "a"})
        transport = await router.create_webrtc_transport(listen_infos=LOOPBACK)
        dump = await worker.dump()
        assert dump["routerIds"] == [router.id]
        assert dump["transportIds"] == [transport.id]
        fingerprints = [f["algorithm"] for f in worker.dtls_fingerprints]
        assert fingerprints == ["sha-1", "sha-224", "sha-256", "sha-384", "sha-512"]

        closed: list[str] = []
        router.on("workerclose", lambda: closed.append("router"))
        transport.on("routerclose", lambda: closed.append("transport"))
        worker.close()
        assert worker.closed
        assert router.closed
        assert transport.closed
        assert closed == ["transport", "router"]
        with pytest.raises(errors.InvalidStateError):
            await worker.create_router()
        worker.close()  # idempotent

    run(scenario)


def test_transport_parameters_have_mediasoup_shapes() -> None:
    async def scenario() -> None:
        worker = await mediasoup_py.create_worker(rtc_min_port=43100, rtc_max_port=43199)
        try:
            router = await worker.create_router()
            transport = await router.create_webrtc_transport(
                listen_infos=[{"protocol": "udp", "ip": "127.0.0.1", "announcedAddress": "x.test"}]
            )
            ice = transport.ice_parameters
            assert ice["iceLite"] is True
            assert len(ice["usernameFragment"]) == 32
            assert len(ice["password"]) == 32
            [candidate] = transport.ice_candidates
            assert candidate["address"] == candidate["ip"] == "x.test"
            assert candidate["protocol"] == "udp"
            assert candidate["type"] == "host"
            assert 43100 <= candidate["port"] <= 43199
            assert candidate["priority"] == 1076302079
            assert transport.ice_role == "controlled"
            assert transport.dtls_parameters["role"] == "auto"
            assert (transport.ice_state, transport.dtls_state) == ("new", "new")
            restarted = await transport.restart_ice()
            assert restarted["usernameFragment"] != ice["usernameFragment"]
            assert transport.ice_parameters == restarted
            [stats] = await transport.get_stats()
            assert stats["type"] == "webrtc-transport"
            assert stats["transportId"] == transport.id
            assert stats["iceState"] == "new"
        finally:
            worker.close()

    run(scenario)


def test_udp_and_tcp_candidates() -> None:
    async def scenario() -> None:
        worker = await mediasoup_py.create_worker(rtc_min_port=43800, rtc_max_port=43899)
        try:
            router = await worker.create_router()
            both = await router.create_webrtc_transport(
                listen_ips=["127.0.0.1"], enable_udp=True, enable_tcp=True, prefer_tcp=True
            )
            tcp, udp = both.ice_candidates
            assert (tcp["protocol"], tcp["tcpType"], tcp["foundation"]) == (
                "tcp",
                "passive",
                "tcpcandidate",
            )
            assert udp["protocol"] == "udp"
            assert "tcpType" not in udp
            assert tcp["priority"] > udp["priority"]
            tcp_only = await router.create_webrtc_transport(
                listen_infos=[{"protocol": "tcp", "ip": "127.0.0.1"}]
            )
            [candidate] = tcp_only.ice_candidates
            assert candidate["protocol"] == "tcp"
            # The TCP port really listens, on loopback only.
            _, writer = await asyncio.open_connection("127.0.0.1", candidate["port"])
            writer.close()
            await writer.wait_closed()
        finally:
            worker.close()

    run(scenario)


def test_ports_come_from_the_range_run_out_cleanly_and_are_freed() -> None:
    async def scenario() -> None:
        worker = await mediasoup_py.create_worker(rtc_min_port=43200, rtc_max_port=43201)
        try:
            router = await worker.create_router()
            first = await router.create_webrtc_transport(listen_infos=LOOPBACK)
            second = await router.create_webrtc_transport(listen_infos=LOOPBACK)
            ports = {t.ice_candidates[0]["port"] for t in (first, second)}
            assert ports == {43200, 43201}
            with pytest.raises(errors.InvalidStateError, match="no free UDP port"):
                await router.create_webrtc_transport(listen_infos=LOOPBACK)
            first.close()
            third = await router.create_webrtc_transport(listen_infos=LOOPBACK)
            assert third.ice_candidates[0]["port"] == first.ice_candidates[0]["port"]
        finally:
            worker.close()

    run(scenario)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"rtc_min_port": 0}, "rtc_min_port"),
        ({"rtc_min_port": 5000, "rtc_max_port": 4000}, "rtc_min_port"),
        ({"rtc_max_port": "x"}, "rtc_max_port"),
        ({"dtls_certificate_file": "/nonexistent.pem"}, "dtls_certificate_file"),
    ],
)
def test_bad_worker_settings_name_the_field(kwargs: dict[str, object], field: str) -> None:
    async def scenario() -> None:
        await mediasoup_py.create_worker(**kwargs)  # type: ignore[arg-type]

    with pytest.raises(errors.MediasoupTypeError) as raised:
        run(scenario)
    assert raised.value.field == field


@pytest.mark.parametrize(
    ("kwargs", "error", "field"),
    [
        ({}, errors.MediasoupTypeError, "listen_infos"),
        ({"listen_infos": [{"ip": "not-an-ip"}]}, errors.MediasoupTypeError, "listen_infos[0].ip"),
        ({"listen_infos": LOOPBACK, "ice_consent_timeout": 5}, errors.MediasoupTypeError, None),
        (
            {"listen_infos": [{"ip": "127.0.0.1"}, {"ip": "127.0.0.1"}]},
            errors.MediasoupTypeError,
            "listen_infos[1]",
        ),
        (
            {"listen_infos": [{"ip": f"127.0.0.{n}"} for n in range(1, 6)]},
            errors.UnsupportedError,
            None,
        ),
        ({"listen_ips": ["127.0.0.1"], "enable_udp": False}, errors.MediasoupTypeError, None),
    ],
)
def test_bad_transport_options_raise_typed_errors(
    kwargs: dict[str, object], error: type[Exception], field: str | None
) -> None:
    async def scenario() -> None:
        worker = await mediasoup_py.create_worker(rtc_min_port=43300, rtc_max_port=43399)
        try:
            router = await worker.create_router()
            await router.create_webrtc_transport(**kwargs)  # type: ignore[arg-type]
        finally:
            worker.close()

    with pytest.raises(error) as raised:
        run(scenario)
    if field is not None:
        assert getattr(raised.value, "field", None) == field


@pytest.mark.parametrize(
    ("dtls_parameters", "field"),
    [
        ({"role": "boss", "fingerprints": []}, "dtlsParameters.role"),
        ({"fingerprints": []}, "dtlsParameters.fingerprints"),
        ({"fingerprints": [{"algorithm": "md5", "value": "AB"}]}, None),
        ({"fingerprints": [{"algorithm": "sha-256"}]}, "dtlsParameters.fingerprints[0].value"),
    ],
)
def test_connect_validates_dtls_parameters(dtls_parameters: object, field: str | None) -> None:
    async def scenario() -> None:
        worker = await mediasoup_py.create_worker(rtc_min_port=43400, rtc_max_port=43499)
        try:
            router = await worker.create_router()
            transport = await router.create_webrtc_transport(listen_infos=LOOPBACK)
            await transport.connect(dtls_parameters=dtls_parameters)  # type: ignore[arg-type]
        finally:
            worker.close()

    with pytest.raises(errors.MediasoupTypeError) as raised:
        run(scenario)
    assert raised.value.field == (field or "dtlsParameters.fingerprints[0].algorithm")


def test_connect_twice_is_an_invalid_state() -> None:
    async def scenario() -> None:
        worker = await mediasoup_py.create_worker(rtc_min_port=43500, rtc_max_port=43599)
        try:
            router = await worker.create_router()
            transport = await router.create_webrtc_transport(listen_infos=LOOPBACK)
            parameters = {
                "role": "client",
                "fingerprints": transport.dtls_parameters["fingerprints"],
            }
            await transport.connect(dtls_parameters=parameters)  # type: ignore[arg-type]
            with pytest.raises(errors.InvalidStateError):
                await transport.connect(dtls_parameters=parameters)  # type: ignore[arg-type]
        finally:
            worker.close()

    run(scenario)


def test_garbage_and_bad_checks_are_counted_and_the_port_keeps_answering() -> None:
    async def scenario() -> None:
        worker = await mediasoup_py.create_worker(rtc_min_port=43600, rtc_max_port=43699)
        attacker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            router = await worker.create_router()
            transport = await router.create_webrtc_transport(listen_infos=LOOPBACK)
            port = transport.ice_candidates[0]["port"]
            attacker.bind(("127.0.0.1", 0))
            attacker.setblocking(False)
            datagrams = [
                b"\xff" * 50,
                b"",
                struct.pack("!BBHII", 0x80, 96, 1, 2, 3) + os.urandom(100),  # RTP before DTLS
                b"\x16\xfe\xfd" + os.urandom(60),  # DTLS from an unchecked tuple
                forged_binding_request(transport.ice_parameters["usernameFragment"]),
            ]
            for _ in range(50):
                for datagram in datagrams:
                    attacker.sendto(datagram, ("127.0.0.1", port))
            await asyncio.sleep(0.3)
            # Each forged check got a 401 no larger than itself, and nothing else came back.
            replies = []
            while True:
                try:
                    replies.append(attacker.recv(2048))
                except BlockingIOError:
                    break
            assert len(replies) == 50
            assert all(len(reply) <= len(datagrams[-1]) for reply in replies)
            assert all(reply[:2] == b"\x01\x11" for reply in replies)  # Binding error response
            [stats] = await transport.get_stats()
            assert stats["datagramsReceived"] >= 150
            dropped = stats["droppedDatagrams"]
            assert dropped["unknown"] >= 50
            assert dropped["mediaNotReady"] >= 50
            assert dropped["dtls"] >= 50
            assert dropped["stun"] >= 50
            assert stats["iceState"] == "new"
            assert stats["rtpPacketsReceived"] == 0
            # The worker still answers requests.
            assert (await worker.dump())["transportIds"] == [transport.id]
        finally:
            attacker.close()
            worker.close()

    run(scenario)


def test_a_check_without_message_integrity_is_refused_and_a_keyed_one_accepted() -> None:
    """RFC 8445 §7.3: a check must carry MESSAGE-INTEGRITY. The same check without it, with
    the transport's own username fragment, gets a 400 (no larger than itself) and moves
    nothing; keyed with the transport's password it is answered with success and selects the
    sender's tuple."""

    async def scenario() -> None:
        worker = await mediasoup_py.create_worker(rtc_min_port=44200, rtc_max_port=44249)
        client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            router = await worker.create_router()
            transport = await router.create_webrtc_transport(listen_infos=LOOPBACK)
            port = transport.ice_candidates[0]["port"]
            ice = transport.ice_parameters
            username = f"{ice['usernameFragment']}:client"
            client.bind(("127.0.0.1", 0))
            client.settimeout(2)
            unkeyed = binding_request(username, "absent")
            for _ in range(20):
                client.sendto(unkeyed, ("127.0.0.1", port))
                reply = client.recv(2048)
                assert reply[:2] == b"\x01\x11", reply  # Binding error response
                assert reply[8:20] == unkeyed[8:20]  # to that transaction
                assert stun_error_code(reply) == 400
                assert len(reply) <= len(unkeyed)
            [stats] = await transport.get_stats()
            assert stats["droppedDatagrams"]["stun"] >= 20, stats
            assert stats["iceState"] == "new"
            assert transport.ice_selected_tuple is None
            keyed = binding_request(username, "valid", ice["password"])
            client.sendto(keyed, ("127.0.0.1", port))
            reply = client.recv(2048)
            assert reply[:2] == b"\x01\x01", reply  # Binding success response
            assert reply[8:20] == keyed[8:20]
            for _ in range(100):
                if transport.ice_selected_tuple is not None:
                    break
                await asyncio.sleep(0.01)
            selected = transport.ice_selected_tuple
            assert selected is not None
            assert selected["remotePort"] == client.getsockname()[1]
        finally:
            client.close()
            worker.close()

    run(scenario)


def test_plain_transport_rules() -> None:
    async def scenario() -> None:
        worker = await mediasoup_py.create_worker(rtc_min_port=43700, rtc_max_port=43799)
        try:
            router = await worker.create_router()
            listen = {"protocol": "udp", "ip": "127.0.0.1"}
            comedia = await router.create_plain_transport(listen_info=listen, comedia=True)
            with pytest.raises(errors.InvalidStateError, match="comedia"):
                await comedia.connect(ip="127.0.0.1", port=5000)
            two_ports = await router.create_plain_transport(listen_info=listen, rtcp_mux=False)
            rtcp_tuple = two_ports.rtcp_tuple
            assert rtcp_tuple is not None
            assert rtcp_tuple["localPort"] != two_ports.tuple["localPort"]
            events: list[str] = []
            two_ports.on("tuple", lambda tuple_: events.append("tuple"))
            two_ports.on("rtcptuple", lambda tuple_: events.append("rtcptuple"))
            await two_ports.connect(ip="127.0.0.1", port=5000, rtcp_port=5001)
            assert events == ["tuple", "rtcptuple"]
            assert two_ports.tuple.get("remotePort") == 5000
            with pytest.raises(errors.MediasoupTypeError) as raised:
                await router.create_plain_transport(
                    listen_info=listen, enable_srtp=True, srtp_crypto_suite="ROT13"
                )
            assert raised.value.field == "srtp_crypto_suite"
            secure = await router.create_plain_transport(listen_info=listen, enable_srtp=True)
            parameters = secure.srtp_parameters
            assert parameters is not None
            assert parameters["cryptoSuite"] == "AES_CM_128_HMAC_SHA1_80"
            with pytest.raises(errors.MediasoupTypeError) as raised:
                await secure.connect(
                    ip="127.0.0.1",
                    port=5000,
                    srtp_parameters={"cryptoSuite": "AES_CM_128_HMAC_SHA1_80", "keyBase64": "*"},
                )
            assert raised.value.field == "srtp_parameters.keyBase64"
        finally:
            worker.close()

    run(scenario)


def udp_sockets_bound_to(port: int) -> list[int]:
    """The remote port of every IPv4 UDP socket bound to local ``port`` (0: unconnected),
    from /proc/net/udp (this network namespace's)."""
    remote_ports = []
    for line in Path("/proc/net/udp").read_text().splitlines()[1:]:
        local, remote = line.split()[1:3]
        if int(local.split(":")[1], 16) == port:
            remote_ports.append(int(remote.split(":")[1], 16))
    return remote_ports


def test_a_connected_plain_transport_keeps_its_port_and_hears_its_remote_and_strangers() -> None:
    """Once connected, a plain transport sends from a socket on its own port connected to
    the remote end, and reads the remote end on another one: the copies still come from its
    port, the remote end's RTCP reaches the consumer at once (well before the first look at
    the sending socket, a second after connecting), and a stranger's datagram (to the port's
    unconnected socket) is still counted."""
    opus = {"mimeType": "audio/opus", "payloadType": 100, "clockRate": 48000, "channels": 2}

    async def scenario() -> dict[str, object]:
        worker = await mediasoup_py.create_worker(rtc_min_port=43600, rtc_max_port=43699)
        sockets = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(3)]
        sender, receiver, stranger = sockets
        try:
            for each in sockets:
                each.bind(("127.0.0.1", 0))
            receiver.setblocking(False)
            router = await worker.create_router(
                media_codecs=[
                    {"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2}
                ]
            )
            listen = {"protocol": "udp", "ip": "127.0.0.1"}
            ingress = await router.create_plain_transport(listen_info=listen, comedia=True)
            await ingress.connect()
            producer = await ingress.produce(
                kind="audio", rtp_parameters={"codecs": [opus], "encodings": [{"ssrc": 1234}]}
            )
            egress = await router.create_plain_transport(listen_info=listen)
            await egress.connect(ip="127.0.0.1", port=receiver.getsockname()[1])
            consumer = await egress.consume(
                producer_id=producer.id, rtp_capabilities=router.rtp_capabilities
            )
            ingress_address = ("127.0.0.1", ingress.tuple["localPort"])
            egress_address = ("127.0.0.1", egress.tuple["localPort"])
            copies: list[tuple[str, int]] = []
            for sequence in range(20):
                packet = rtp_packet(
                    sequence_number=sequence,
                    timestamp=sequence * 960,
                    ssrc=1234,
                    payload_type=100,
                    payload=bytes(40),
                )
                sender.sendto(packet, ingress_address)
                await asyncio.sleep(0.01)
                with contextlib.suppress(BlockingIOError):
                    while True:
                        copies.append(receiver.recvfrom(2048)[1])
            consumer_ssrc = consumer.rtp_parameters["encodings"][0]["ssrc"]
            receiver.sendto(rtcp_receiver_report(99, consumer_ssrc, 19), egress_address)
            stranger.sendto(rtp_packet(sequence_number=1, ssrc=1234), egress_address)
            await asyncio.sleep(0.3)
            with contextlib.suppress(BlockingIOError):
                while True:
                    copies.append(receiver.recvfrom(2048)[1])
            sockets_on_port = udp_sockets_bound_to(egress_address[1])
            [egress_stats] = await egress.get_stats()
            consumer_stats = (await consumer.get_stats())[0]
            return {
                "copies": copies,
                "egress_address": egress_address,
                "sockets_on_port": sockets_on_port,
                "receiver_port": receiver.getsockname()[1],
                "transport": egress_stats,
                "consumer": consumer_stats,
            }
        finally:
            for each in sockets:
                each.close()
            worker.close()

    result = run(scenario)
    copies = result["copies"]
    assert isinstance(copies, list)
    assert len(copies) >= 15, result
    assert set(copies) == {result["egress_address"]}, "every copy leaves from the transport's port"
    # Three sockets on the port: the RTP socket, and two connected to the remote end.
    sockets_on_port = result["sockets_on_port"]
    assert isinstance(sockets_on_port, list)
    receiver_port = result["receiver_port"]
    assert sorted(sockets_on_port) == [0, receiver_port, receiver_port], result
    transport = result["transport"]
    assert isinstance(transport, dict)
    assert transport["rtcpPacketsReceived"] == 1, transport
    assert transport["droppedDatagrams"]["mediaNotReady"] == 1, transport
    consumer = result["consumer"]
    assert isinstance(consumer, dict)
    # The report block's fraction lost (5/256) reached the consumer.
    assert consumer["fractionLost"] == 5, consumer


def test_worker_records_reach_python_logging(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        worker = await mediasoup_py.create_worker(
            rtc_min_port=43900, rtc_max_port=43999, log_level="debug", log_tags=["info"]
        )
        try:
            router = await worker.create_router()
            first = await router.create_webrtc_transport(listen_infos=LOOPBACK)
            await worker.dump()  # a round trip: the log record is queued before the response
            port = first.ice_candidates[0]["port"]
            assert any(
                record.name == "mediasoup_py.info"
                and f"listening on udp 127.0.0.1:{port}" in record.getMessage()
                for record in caplog.records
            ), caplog.text
            await worker.update_settings(log_level="none")
            caplog.clear()
            await router.create_webrtc_transport(listen_infos=LOOPBACK)
            await worker.dump()
            assert not [r for r in caplog.records if r.name.startswith("mediasoup_py.")]
        finally:
            worker.close()

    with caplog.at_level(logging.DEBUG, logger="mediasoup_py"):
        run(scenario)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"log_level": "loud"}, "log_level"), ({"log_tags": ["ice", "nope"]}, "log_tags")],
)
def test_bad_log_settings_name_the_field(kwargs: dict[str, object], field: str) -> None:
    async def scenario() -> None:
        await mediasoup_py.create_worker(**kwargs)  # type: ignore[arg-type]

    with pytest.raises(errors.MediasoupTypeError) as raised:
        run(scenario)
    assert raised.value.field == field


def test_webrtc_server_ports_and_validation() -> None:
    async def scenario() -> None:
        worker = await mediasoup_py.create_worker(rtc_min_port=44100, rtc_max_port=44199)
        try:
            server = await worker.create_webrtc_server(
                listen_infos=[{"protocol": "udp", "ip": "127.0.0.1", "port": 44250}]
            )
            assert [(e["protocol"], e["port"]) for e in server.listening] == [("udp", 44250)]
            router = await worker.create_router()
            transport = await router.create_webrtc_transport(webrtc_server=server)
            assert [c["port"] for c in transport.ice_candidates] == [44250]
            with pytest.raises(errors.MediasoupTypeError) as raised:
                await router.create_webrtc_transport(webrtc_server=server, listen_infos=LOOPBACK)
            assert raised.value.field == "webrtc_server"
            with pytest.raises(errors.MediasoupTypeError) as raised:
                await worker.create_webrtc_server(
                    listen_infos=[
                        {"protocol": "udp", "ip": "127.0.0.1"},
                        {"protocol": "udp", "ip": "127.0.0.1"},
                    ]
                )
            assert raised.value.field == "listen_infos[1]"
            with pytest.raises(errors.MediasoupTypeError) as raised:
                await worker.create_webrtc_server(
                    listen_infos=[{"protocol": "udp", "ip": "127.0.0.1", "port": 70000}]
                )
            assert raised.value.field == "listen_infos[0].port"
            # The configured port is taken while the server lives, free after it closes.
            with pytest.raises(errors.InvalidStateError, match="no free UDP port"):
                await worker.create_webrtc_server(
                    listen_infos=[{"protocol": "udp", "ip": "127.0.0.1", "port": 44250}]
                )
            server.close()
            assert transport.closed
            again = await worker.create_webrtc_server(
                listen_infos=[{"protocol": "udp", "ip": "127.0.0.1", "port": 44250}]
            )
            assert again.listening[0]["port"] == 44250
        finally:
            worker.close()

    run(scenario)


def test_listen_info_port_and_port_range() -> None:
    async def scenario() -> None:
        worker = await mediasoup_py.create_worker(rtc_min_port=44300, rtc_max_port=44399)
        try:
            router = await worker.create_router()
            fixed = await router.create_webrtc_transport(
                listen_infos=[{"protocol": "udp", "ip": "127.0.0.1", "port": 44555}]
            )
            assert fixed.ice_candidates[0]["port"] == 44555
            ranged = await router.create_plain_transport(
                listen_info={
                    "protocol": "udp",
                    "ip": "127.0.0.1",
                    "portRange": {"min": 44600, "max": 44601},
                }
            )
            assert ranged.tuple["localPort"] in (44600, 44601)
            with pytest.raises(errors.MediasoupTypeError) as raised:
                await router.create_webrtc_transport(
                    listen_infos=[
                        {"protocol": "udp", "ip": "127.0.0.1", "portRange": {"min": 9, "max": 8}}
                    ]
                )
            assert raised.value.field == "listen_infos[0].portRange"
        finally:
            worker.close()

    run(scenario)


def test_tcp_frames_with_absurd_lengths_and_stalls_do_not_disturb_the_worker() -> None:
    async def scenario() -> None:
        worker = await mediasoup_py.create_worker(rtc_min_port=44700, rtc_max_port=44799)
        try:
            router = await worker.create_router()
            transport = await router.create_webrtc_transport(
                listen_infos=[{"protocol": "tcp", "ip": "127.0.0.1"}]
            )
            port = transport.ice_candidates[0]["port"]
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            # An empty frame, a 1-byte garbage frame, then a frame announcing 65535 bytes
            # that never come (a stall).
            writer.write(b"\x00\x00" + b"\x00\x01\xff" + b"\xff\xff" + os.urandom(10))
            await writer.drain()
            await asyncio.sleep(0.2)
            [stats] = await transport.get_stats()
            assert stats["datagramsReceived"] == 1
            assert stats["droppedDatagrams"]["unknown"] == 1
            assert stats["iceState"] == "new"
            writer.close()
            await writer.wait_closed()
            # Other connections and requests are still served.
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"\x00\x03abc")
            await writer.drain()
            await asyncio.sleep(0.2)
            [stats] = await transport.get_stats()
            assert stats["datagramsReceived"] == 2
            writer.close()
            await writer.wait_closed()
            assert (await worker.dump())["transportIds"] == [transport.id]
        finally:
            worker.close()

    run(scenario)


def test_dtls_certificate_from_pem_files(tmp_path: Path) -> None:
    # The cryptography package (an aiortc dependency) makes the operator's certificate.
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "operator")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    certificate_file = tmp_path / "cert.pem"
    key_file = tmp_path / "key.pem"
    certificate_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    expected = ":".join(f"{byte:02X}" for byte in certificate.fingerprint(hashes.SHA256()))

    async def scenario() -> list[dict[str, str]]:
        worker = await mediasoup_py.create_worker(
            rtc_min_port=44800,
            rtc_max_port=44899,
            dtls_certificate_file=certificate_file,
            dtls_private_key_file=key_file,
        )
        fingerprints = worker.dtls_fingerprints
        worker.close()
        return fingerprints

    fingerprints = run(scenario)
    assert {"algorithm": "sha-256", "value": expected} in fingerprints

    other_key = tmp_path / "other.pem"
    other_key.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )

    async def mismatched() -> None:
        await mediasoup_py.create_worker(
            dtls_certificate_file=certificate_file, dtls_private_key_file=other_key
        )

    with pytest.raises(errors.MediasoupTypeError) as raised:
        run(mismatched)
    assert raised.value.field == "dtls_certificate_file"
