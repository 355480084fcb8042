"""Closing a transport in the middle of its handshake with a real client (aiortc through
pymediasoup): once ICE is through and the DTLS handshake is under way, the server closes the
transport. Nothing is left behind (the worker no longer has it, its port is free again) and
the worker serves the next transport."""

from __future__ import annotations

import asyncio
import contextlib

import aioice.ice
import pytest
from aiortc.mediastreams import AudioStreamTrack

import mediasoup_py
from tests.interop.pymediasoup_peer import Peer
from tests.interop.test_routing_pymediasoup import MEDIA_CODECS
from tests.test_faults import port_is_free


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    # aioice drops exactly "127.0.0.1" from host candidates; tests must stay on loopback.
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])


async def close_mid_handshake() -> dict[str, object]:
    worker = await mediasoup_py.create_worker(rtc_min_port=46400, rtc_max_port=46409)
    peer: Peer | None = None
    try:
        router = await worker.create_router(media_codecs=MEDIA_CODECS[:2])  # type: ignore[arg-type]
        closed_in: list[str] = []
        port: list[int] = []

        def on_new_transport(transport: mediasoup_py.WebRtcTransport) -> None:
            port.append(transport.ice_candidates[0]["port"])

            def on_dtls_state(state: str) -> None:
                # ICE is through and the DTLS handshake has begun: close in the middle of it.
                if state == "connecting" and not transport.closed:
                    closed_in.append(transport.ice_state)
                    transport.close()

            transport.on("dtlsstatechange", on_dtls_state)

        router.observer.on("newtransport", on_new_transport)
        audio = AudioStreamTrack()
        peer = await Peer.join(router, [audio])
        await asyncio.wait_for(peer.produce([audio]), timeout=15)
        # produce() returns once the server has the producer; ICE and DTLS follow.
        for _ in range(100):
            if closed_in:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)
        dump = await worker.dump()
        await peer.close()
        peer = None
        await asyncio.sleep(0.2)
        fresh = await router.create_webrtc_transport(
            listen_infos=[{"protocol": "udp", "ip": "127.0.0.1"}]
        )  # type: ignore[list-item]
        fresh_state = fresh.ice_state
        fresh.close()
        return {
            "iceStateWhenClosed": closed_in,
            "workerTransports": dump["transportIds"],
            "portFree": bool(port) and port_is_free(port[0]),
            "freshState": fresh_state,
        }
    finally:
        if peer is not None:
            with contextlib.suppress(Exception):
                await peer.close()
        worker.close()


def test_closing_a_transport_mid_handshake_leaves_nothing_behind() -> None:
    result = asyncio.run(asyncio.wait_for(close_mid_handshake(), 60))
    # Closed while DTLS was connecting, ICE done: keys not yet agreed.
    assert result["iceStateWhenClosed"] in (["connected"], ["completed"]), result
    assert result["workerTransports"] == [], result
    assert result["portFree"], result
    assert result["freshState"] == "new", result
