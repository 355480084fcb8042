"""``rtc_ipv4=True`` on a host with a real interface: in a network namespace whose only
non-internal address is a veth's (the test makes it), ``rtc_listen_infos(rtc_ipv4=True)`` and
``Server.create(rtc_ipv4=True)`` take that address, a WebRtcTransport's candidate is on it,
and aiortc (which ignores loopback, not this address) connects to it and sends SRTP. In a
namespace with only ``lo`` (``--none``), ``rtc_ipv4=True`` is an error naming the setting.

    python -m tests.interop.host_address_detection [--none]

Prints JSON."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

import mediasoup_py
from mediasoup_py import errors
from mediasoup_py.server import rtc_listen_infos
from tests.interop.aiortc_client import start_client, wait_for


async def detected() -> dict[str, Any]:
    infos = rtc_listen_infos(rtc_ipv4=True)
    server = await mediasoup_py.Server.create(
        num_workers=1, rtc_ipv4=True, rtc_min_port=46200, rtc_max_port=46299
    )
    try:
        router = await server.workers[0].create_router()
        transport = await router.create_webrtc_transport(listen_infos=infos)
        pc = await start_client(transport)
        try:

            async def media_flows() -> bool:
                stats = (await transport.get_stats())[0]
                return transport.dtls_state == "connected" and stats["rtpPacketsReceived"] >= 20

            await wait_for(media_flows, "SRTP from aiortc to the detected address")
            return {
                "listenInfos": infos,
                "serverListenInfos": server.listen_infos,
                "candidates": transport.ice_candidates,
                "tuple": transport.ice_selected_tuple,
            }
        finally:
            await pc.close()
    finally:
        server.close()


def none_found() -> dict[str, Any]:
    try:
        rtc_listen_infos(rtc_ipv4=True)
    except errors.MediasoupTypeError as error:
        return {"error": str(error), "field": error.field}
    return {"error": None}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--none", action="store_true")
    arguments = parser.parse_args()
    result = none_found() if arguments.none else asyncio.run(asyncio.wait_for(detected(), 40))
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
