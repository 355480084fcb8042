"""aiortc as the client of a WebRtcTransport: an RTCPeerConnection sending an opus track,
connected with the answer a mediasoup client library would derive from the transport."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack

from mediasoup_py.webrtc_transport import WebRtcTransport
from tests.interop.sdp import answer_sdp, offer_fingerprint

TIMEOUT_S = 15.0


async def wait_for(condition: Callable[[], Awaitable[bool]], what: str) -> None:
    """Polls `condition` until true, failing after TIMEOUT_S."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TIMEOUT_S
    while not await condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def start_client(
    transport: WebRtcTransport,
    setup: str = "passive",
    fingerprint: str | None = None,
    connect_late: bool = False,
) -> RTCPeerConnection:
    """Offers an opus track to `transport` and applies the answer; ``setup`` is the
    transport's DTLS setup (passive: aiortc is the DTLS client). ``fingerprint`` overrides the
    one given to ``connect`` (to test a mismatch); ``connect_late`` calls ``connect`` only
    after aiortc has started ICE and DTLS, as a slow signaling path would."""
    pc = RTCPeerConnection()
    pc.addTrack(AudioStreamTrack())
    await pc.setLocalDescription(await pc.createOffer())
    offer = pc.localDescription.sdp
    dtls_parameters = {
        "role": "client" if setup == "passive" else "server",
        "fingerprints": [
            {"algorithm": "sha-256", "value": fingerprint or offer_fingerprint(offer)}
        ],
    }
    if not connect_late:
        await transport.connect(dtls_parameters=dtls_parameters)  # type: ignore[arg-type]
    answer = RTCSessionDescription(sdp=answer_sdp(offer, transport, setup), type="answer")
    # aiortc connects ICE and starts DTLS inside setRemoteDescription's background tasks.
    await pc.setRemoteDescription(answer)
    if connect_late:

        async def ice_up() -> bool:
            return transport.ice_state in ("connected", "completed")

        await wait_for(ice_up, "ICE before the late connect()")
        await asyncio.sleep(0.2)
        await transport.connect(dtls_parameters=dtls_parameters)  # type: ignore[arg-type]
    return pc
