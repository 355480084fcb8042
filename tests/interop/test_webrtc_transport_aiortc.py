"""A WebRtcTransport with aiortc as the client: ICE-lite, DTLS in both roles, SRTP.

aiortc is a WebRTC stack we did not write. It gathers only a 127.0.0.1 host candidate here
(aioice skips loopback unless told otherwise), offers an opus track, and gets an answer built
from the transport's ICE and DTLS parameters, as a mediasoup client library would build it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aioice.ice
import pytest

import mediasoup_py
from tests.interop.aiortc_client import start_client, wait_for

LOOPBACK_UDP = [{"protocol": "udp", "ip": "127.0.0.1"}]


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    # aioice drops exactly "127.0.0.1" from host candidates; tests must stay on loopback.
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])


async def connect_aiortc(setup: str) -> dict[str, Any]:
    worker = await mediasoup_py.create_worker(rtc_min_port=42000, rtc_max_port=42999)
    router = await worker.create_router()
    transport = await router.create_webrtc_transport(listen_infos=LOOPBACK_UDP)  # type: ignore[arg-type]
    states: list[str] = []
    transport.on("dtlsstatechange", states.append)
    pc = await start_client(transport, setup)
    try:

        async def secured() -> bool:
            return transport.dtls_state == "connected" and pc.connectionState == "connected"

        await wait_for(secured, "ICE and DTLS")

        async def media_flows() -> bool:
            stats = (await transport.get_stats())[0]
            return bool(stats["rtpPacketsReceived"] >= 20)

        await wait_for(media_flows, "SRTP from aiortc")
        result = {
            "stats": (await transport.get_stats())[0],
            "states_while_open": list(states),
            "ice_state": transport.ice_state,
            "tuple": transport.ice_selected_tuple,
            "remote_cert": transport.dtls_remote_cert,
        }
        # aiortc's close sends a DTLS close_notify, which the transport reports.
        await pc.close()

        async def closed_by_peer() -> bool:
            return transport.dtls_state == "closed"

        await wait_for(closed_by_peer, "close_notify from aiortc")
        return result
    finally:
        await pc.close()
        worker.close()


@pytest.mark.parametrize(("setup", "our_role"), [("passive", "server"), ("active", "client")])
def test_aiortc_connects_and_its_srtp_decrypts(setup: str, our_role: str) -> None:
    result = asyncio.run(connect_aiortc(setup))
    stats = result["stats"]
    assert result["ice_state"] == "completed"
    assert result["tuple"]["remoteIp"] == "127.0.0.1"
    assert result["tuple"]["protocol"] == "udp"
    assert result["states_while_open"] == ["connecting", "connected"]
    assert result["remote_cert"].startswith("-----BEGIN CERTIFICATE-----")
    assert stats["rtpPacketsReceived"] >= 20
    assert stats["droppedDatagrams"]["srtp"] == 0
    assert stats["dtlsState"] == "connected", our_role


async def connect_with_wrong_fingerprint() -> tuple[str, list[logging.LogRecord]]:
    worker = await mediasoup_py.create_worker(
        rtc_min_port=42000, rtc_max_port=42999, log_level="warn", log_tags=["dtls"]
    )
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logging.getLogger("mediasoup_py.dtls").addHandler(handler)
    try:
        router = await worker.create_router()
        transport = await router.create_webrtc_transport(listen_infos=LOOPBACK_UDP)  # type: ignore[arg-type]
        pc = await start_client(transport, "passive", fingerprint=":".join(["AB"] * 32))
        try:

            async def failed() -> bool:
                return transport.dtls_state == "failed"

            await wait_for(failed, "DTLS to fail")
            [stats] = await transport.get_stats()
            assert stats["rtpPacketsReceived"] == 0
            return transport.dtls_state, records
        finally:
            await pc.close()
    finally:
        logging.getLogger("mediasoup_py.dtls").removeHandler(handler)
        worker.close()


def test_a_certificate_not_matching_the_signaled_fingerprint_fails_dtls() -> None:
    state, records = asyncio.run(connect_with_wrong_fingerprint())
    assert state == "failed"
    assert any("fingerprint" in record.getMessage() for record in records), records


async def late_connect_and_early_close() -> dict[str, Any]:
    worker = await mediasoup_py.create_worker(rtc_min_port=42000, rtc_max_port=42999)
    try:
        router = await worker.create_router()
        late = await router.create_webrtc_transport(listen_infos=LOOPBACK_UDP)  # type: ignore[arg-type]
        # The client's ClientHello arrives before connect(): kept, then answered.
        late_client = await start_client(late, "passive", connect_late=True)

        async def secured() -> bool:
            return late.dtls_state == "connected"

        await wait_for(secured, "DTLS after a late connect()")
        # A transport closed in the middle of its handshake leaves the worker serving.
        doomed = await router.create_webrtc_transport(listen_infos=LOOPBACK_UDP)  # type: ignore[arg-type]
        doomed_client = await start_client(doomed)
        await asyncio.sleep(0.05)
        doomed.close()
        await asyncio.sleep(0.3)
        dump = await worker.dump()
        [stats] = await late.get_stats()
        late_state = late.dtls_state
        await late_client.close()
        await doomed_client.close()
        return {"late": late_state, "dump": dump, "late_id": late.id, "stats": stats}
    finally:
        worker.close()


def test_dtls_before_connect_is_kept_and_closing_mid_handshake_is_clean() -> None:
    result = asyncio.run(late_connect_and_early_close())
    assert result["late"] == "connected"
    assert result["dump"]["transportIds"] == [result["late_id"]]
    assert result["stats"]["dtlsState"] == "connected"
