"""Headless Chromium running mediasoup-client v3 (npm) through one port shared by two
workers, forced to ICE-TCP: the WebRtcServer's transports offer their TCP candidate only
(mediasoup-demo's ``forceTcp``), so Chromium opens active TCP connections (RFC 6544, RFC 4571
framing) to the one port. The sending page's transport is on the second worker, so the first
worker, which accepts the connection, hands it whole to the second once its first ICE check
names a transport there; the receiving page's transport is on the first worker. The
producers are piped from the second worker's router to the first's. Prints JSON.

With ``--dual-stack`` the server listens on 127.0.0.1 and ::1 (the same port number on
both, UDP and TCP), every transport on it gets candidates on both, and the sending page is
given its IPv6 candidates only (as an application may): it connects over IPv6 loopback, the
receiving page over whichever family Chromium picks.

    python -m tests.interop.one_port_chromium [--udp] [--dual-stack]
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import sys
from typing import Any

from playwright.async_api import async_playwright

import mediasoup_py
from tests.interop.chromium_mediasoup_client import (
    BUNDLE,
    BUNDLE_DIRECTORY,
    Signaling,
    browser_context,
    open_participant,
    page_server,
)
from tests.interop.chromium_webrtc import wait_until

PORT = 45321
CODECS: list[dict[str, Any]] = [
    {"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2},
    {"kind": "video", "mimeType": "video/VP8", "clockRate": 90000},
]


class OnePortSignaling(Signaling):
    """Sending transports on one router, receiving ones on another, all on ``server``;
    what is produced is piped to the receiving router."""

    def __init__(
        self,
        sending: mediasoup_py.Router,
        receiving: mediasoup_py.Router,
        server: mediasoup_py.WebRtcServer,
        force_tcp: bool,
        sender_families: tuple[int, ...] = (4, 6),
    ) -> None:
        super().__init__(sending)
        self.receiving = receiving
        self.server = server
        self.force_tcp = force_tcp
        self.sender_families = sender_families
        self.directions: dict[str, str] = {}

    async def handle(self, method: str, data: dict[str, Any]) -> Any:
        if method == "createTransport":
            router = self.router if data.get("direction") == "send" else self.receiving
            transport = await router.create_webrtc_transport(
                webrtc_server=self.server, enable_udp=not self.force_tcp
            )
            self.transports[transport.id] = transport
            self.directions[transport.id] = data.get("direction", "recv")
            candidates = transport.ice_candidates
            if data.get("direction") == "send":
                candidates = [
                    candidate
                    for candidate in candidates
                    if ipaddress.ip_address(candidate["address"]).version in self.sender_families
                ]
            return {
                "id": transport.id,
                "iceParameters": transport.ice_parameters,
                "iceCandidates": candidates,
                "dtlsParameters": transport.dtls_parameters,
            }
        answer = await super().handle(method, data)
        if method == "produce":
            await self.router.pipe_to_router(producer_id=answer["id"], router=self.receiving)
        return answer


async def scenario(force_tcp: bool, dual_stack: bool = False) -> dict[str, Any]:
    if not (BUNDLE_DIRECTORY / BUNDLE).exists():
        raise FileNotFoundError(f"{BUNDLE_DIRECTORY / BUNDLE}: run .ci/setup.sh (npm build)")
    first = await mediasoup_py.create_worker(rtc_min_port=47200, rtc_max_port=47219)
    second = await mediasoup_py.create_worker(rtc_min_port=47220, rtc_max_port=47239)
    try:
        addresses = ["127.0.0.1", "::1"] if dual_stack else ["127.0.0.1"]
        server = await first.create_webrtc_server(
            listen_infos=[
                {"protocol": protocol, "ip": address, "port": PORT}  # type: ignore[misc]
                for address in addresses
                for protocol in ("udp", "tcp")
            ],
            share_with=[second],
        )
        receiving = await first.create_router(media_codecs=CODECS)  # type: ignore[arg-type]
        sending = await second.create_router(media_codecs=CODECS)  # type: ignore[arg-type]
        signaling = OnePortSignaling(
            sending, receiving, server, force_tcp, (6,) if dual_stack else (4, 6)
        )
        async with async_playwright() as playwright, browser_context(playwright) as browser:
            with page_server() as url:
                sender = await open_participant(browser, url, signaling)
                producer_ids = await sender.evaluate("window.produce()")
                receiver = await open_participant(browser, url, signaling)
                await receiver.evaluate("(ids) => window.consume(ids)", producer_ids)

                async def decoding() -> bool:
                    inbound = await receiver.evaluate("window.inbound()")
                    return bool(
                        inbound.get("video", {}).get("framesDecoded", 0) >= 60
                        and inbound.get("audio", {}).get("packetsReceived", 0) >= 100
                    )

                await wait_until(decoding, "the consumer page to decode", timeout=40)
                inbound = await receiver.evaluate("window.inbound()")
                # Which worker holds each transport, as the workers report it.
                held = [set((await worker.dump())["transportIds"]) for worker in (first, second)]
                transports = {
                    signaling.directions[transport.id]: {
                        "candidates": [
                            (c["protocol"], c["address"], c["port"])
                            for c in transport.ice_candidates
                        ],
                        "tuple": transport.ice_selected_tuple,
                        "worker": [transport.id in ids for ids in held].index(True),
                    }
                    for transport in signaling.transports.values()
                }
                dump = await server.dump()
        return {
            "framesDecoded": inbound["video"]["framesDecoded"],
            "audioPacketsReceived": inbound["audio"]["packetsReceived"],
            "transports": transports,
            "dump": dump,
        }
    finally:
        first.close()
        second.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--udp", action="store_true", help="offer the UDP port too")
    parser.add_argument("--dual-stack", action="store_true", help="on 127.0.0.1 and ::1")
    arguments = parser.parse_args()
    result = asyncio.run(scenario(force_tcp=not arguments.udp, dual_stack=arguments.dual_stack))
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
