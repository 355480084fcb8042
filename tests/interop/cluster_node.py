"""A demo node of a cluster for the multi-host tests: ``python -m mediasoup_py.demo``'s
server with ``--redis``, plus ``GET /debug/rooms``, what the tests check: each room's peers
(local and remote), its routers' pipes, the cluster links' pipes and the consumers.

    python -m tests.interop.cluster_node --host ADDRESS --redis redis://HOST:6379/0 --node-id a
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from typing import Any

from aiohttp import web

from mediasoup_py.demo.server import DemoServer, DemoSettings


def debug_rooms(server: DemoServer) -> dict[str, Any]:
    rooms: dict[str, Any] = {}
    assert server.server is not None
    cluster = server.server.cluster
    for room_id, room in server.rooms.items():
        link = cluster.links.get(room_id) if cluster else None
        rooms[room_id] = {
            "peers": sorted(
                (peer.display_name, type(peer).__name__) for peer in room.peers if peer.joined
            ),
            "consumers": sum(len(peer.consumers) for peer in room.peers),
            "pipes": room.dump()["pipes"],
            "link": link.dump() if link else None,
        }
    return {"rooms": rooms, "live": sorted(cluster.registry.live) if cluster else []}


async def serve(arguments: argparse.Namespace) -> None:
    settings = DemoSettings(
        host=arguments.host,
        port=arguments.port,
        rtc_ip=arguments.host,
        rtc_min_port=40000,
        rtc_max_port=40999,
        workers=arguments.workers,
        redis=arguments.redis,
        cluster_secret=os.environ.get("MEDIASOUP_PY_CLUSTER_SECRET") or None,
        node_id=arguments.node_id,
    )
    server = DemoServer(settings)

    async def rooms(request: web.Request) -> web.Response:
        return web.json_response(debug_rooms(server))

    server.app.router.add_get("/debug/rooms", rooms)
    await server.start()
    runner = web.AppRunner(server.app)
    await runner.setup()
    await web.TCPSite(runner, settings.host, settings.port).start()
    print("ready", flush=True)
    try:
        await asyncio.sleep(arguments.seconds)
    finally:
        await runner.cleanup()
        await server.close()


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--redis", required=True)
    parser.add_argument("--node-id", required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=300)
    asyncio.run(serve(parser.parse_args()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
