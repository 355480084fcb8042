"""Headless Chromium (Debian's) sends a canvas video and an oscillator over an
RTCPeerConnection to a WebRtcTransport, and reports what the transport saw as JSON.

Run inside a network namespace that has only ``lo`` (the pytest test does that), so that
Chromium's only way to the SFU is 127.0.0.1:

    python -m tests.interop.chromium_webrtc --protocol udp
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.server
import json
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from typing import Any

from playwright.async_api import async_playwright

import mediasoup_py
from tests.interop.sdp import answer_sdp, offer_fingerprint

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--allow-loopback-in-peer-connection",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
TIMEOUT_S = 20.0

# The page side: a canvas animation and a 440 Hz tone, an offer without a STUN server.
CREATE_OFFER = """
async () => {
  const canvas = document.createElement('canvas');
  canvas.width = 320; canvas.height = 240;
  const context = canvas.getContext('2d');
  let frame = 0;
  setInterval(() => {
    context.fillStyle = `hsl(${(frame++ * 7) % 360}, 80%, 50%)`;
    context.fillRect(0, 0, 320, 240);
  }, 33);
  const video = canvas.captureStream(30).getVideoTracks()[0];
  const audioContext = new AudioContext();
  const oscillator = audioContext.createOscillator();
  const destination = audioContext.createMediaStreamDestination();
  oscillator.connect(destination);
  oscillator.start();
  const audio = destination.stream.getAudioTracks()[0];
  const pc = new RTCPeerConnection({iceServers: []});
  window.pc = pc;
  pc.addTransceiver(audio, {direction: 'sendonly'});
  pc.addTransceiver(video, {direction: 'sendonly'});
  await pc.setLocalDescription(await pc.createOffer());
  return pc.localDescription.sdp;
}
"""


class BlankPage(http.server.BaseHTTPRequestHandler):
    """Serves an empty page: http://127.0.0.1 is a secure context, where Chromium gathers
    its loopback candidate (on about:blank it gathers none)."""

    def do_GET(self) -> None:
        body = b"<!doctype html><title>mediasoup_py test</title>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Keeps the JSON output on stdout clean."""


@contextlib.contextmanager
def page_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), BlankPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


async def wait_until(
    condition: Any, what: str | Callable[[], str], timeout: float = TIMEOUT_S
) -> None:
    """Polls ``condition`` until it holds; past ``timeout``, a TimeoutError saying ``what``
    (called then if it is a function, so that it tells the state the wait ended in)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await condition():
        if loop.time() > deadline:
            said = what() if callable(what) else what
            raise TimeoutError(f"timed out waiting for {said}")
        await asyncio.sleep(0.1)


async def scenario(protocol: str) -> dict[str, Any]:
    worker = await mediasoup_py.create_worker(rtc_min_port=45000, rtc_max_port=45099)
    try:
        router = await worker.create_router()
        # Only the one protocol: over TCP, UDP is not even offered.
        transport = await router.create_webrtc_transport(
            listen_infos=[{"protocol": protocol, "ip": "127.0.0.1"}],  # type: ignore[typeddict-item]
        )
        async with async_playwright() as playwright:
            with tempfile.TemporaryDirectory() as profile, page_server() as url:
                browser = await playwright.chromium.launch_persistent_context(
                    profile,
                    executable_path=CHROMIUM,
                    headless=True,
                    args=FLAGS,
                    ignore_default_args=["--headless"],
                )
                try:
                    page = await browser.new_page()
                    await page.goto(url, wait_until="commit")
                    offer: str = await page.evaluate(CREATE_OFFER)
                    # setup:passive makes Chromium the DTLS client.
                    await transport.connect(
                        dtls_parameters={
                            "role": "client",
                            "fingerprints": [
                                {"algorithm": "sha-256", "value": offer_fingerprint(offer)}
                            ],
                        }
                    )
                    answer = answer_sdp(offer, transport, "passive")
                    await page.evaluate(
                        "async (sdp) => window.pc.setRemoteDescription({type: 'answer', sdp})",
                        answer,
                    )

                    async def connected() -> bool:
                        state = await page.evaluate("window.pc.connectionState")
                        return bool(state == "connected" and transport.dtls_state == "connected")

                    await wait_until(connected, "Chromium ICE and DTLS")

                    async def media() -> bool:
                        stats = (await transport.get_stats())[0]
                        return bool(stats["rtpPacketsReceived"] >= 100)

                    await wait_until(media, "SRTP from Chromium")
                    stats = (await transport.get_stats())[0]
                    ice_state, selected_tuple = transport.ice_state, transport.ice_selected_tuple
                finally:
                    await browser.close()
                if protocol == "tcp":
                    # The browser's TCP connection is gone: ICE loses its only tuple.

                    async def disconnected() -> bool:
                        return transport.ice_state == "disconnected"

                    await wait_until(disconnected, "ICE disconnected after the TCP close")
        return {
            "iceState": ice_state,
            "dtlsState": stats["dtlsState"],
            "tuple": selected_tuple,
            "rtpPacketsReceived": stats["rtpPacketsReceived"],
            "rtcpPacketsReceived": stats["rtcpPacketsReceived"],
            "droppedDatagrams": stats["droppedDatagrams"],
        }
    finally:
        worker.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--protocol", choices=["udp", "tcp"], default="udp")
    arguments = parser.parse_args()
    result = asyncio.run(scenario(arguments.protocol))
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
