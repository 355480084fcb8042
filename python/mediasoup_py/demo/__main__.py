"""``python -m mediasoup_py.demo``: the video-conference demo (see ``--help``)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
from pathlib import Path

from aiohttp import web

from mediasoup_py.demo.server import DemoServer, DemoSettings

STATUS_INTERVAL_S = 5


def parse_settings(argv: list[str] | None = None) -> DemoSettings:
    defaults = DemoSettings()
    parser = argparse.ArgumentParser(
        prog="python -m mediasoup_py.demo",
        description="A video conference on mediasoup_py: open the URL in two browser tabs.",
    )
    parser.add_argument("--host", default=defaults.host, help="web server address")
    parser.add_argument("--port", type=int, default=defaults.port, help="web server port")
    parser.add_argument("--rtc-ip", default=defaults.rtc_ip, help="address media listens on")
    parser.add_argument(
        "--rtc-announced-ip", default=None, help="address announced to browsers (behind NAT)"
    )
    parser.add_argument("--rtc-min-port", type=int, default=defaults.rtc_min_port)
    parser.add_argument("--rtc-max-port", type=int, default=defaults.rtc_max_port)
    parser.add_argument(
        "--workers", type=int, default=defaults.workers, help="media worker threads"
    )
    parser.add_argument(
        "--redis",
        default=None,
        help="redis://HOST:6379/0: a node of the cluster sharing this Redis (rooms span nodes)",
    )
    parser.add_argument(
        "--pipe-ip",
        default=None,
        help="address other nodes send this node's pipes to (default: --rtc-announced-ip "
        "or --rtc-ip)",
    )
    parser.add_argument("--node-id", default=None, help="this node's name in the cluster")
    parser.add_argument(
        "--record-dir",
        type=Path,
        default=defaults.record_dir,
        help="where the record button writes its files",
    )
    arguments = parser.parse_args(argv)
    return DemoSettings(
        host=arguments.host,
        port=arguments.port,
        rtc_ip=arguments.rtc_ip,
        rtc_announced_ip=arguments.rtc_announced_ip,
        rtc_min_port=arguments.rtc_min_port,
        rtc_max_port=arguments.rtc_max_port,
        workers=arguments.workers,
        redis=arguments.redis,
        # A secret on the command line would show in the process list.
        cluster_secret=os.environ.get("MEDIASOUP_PY_CLUSTER_SECRET") or None,
        pipe_ip=arguments.pipe_ip,
        node_id=arguments.node_id,
        record_dir=arguments.record_dir,
    )


async def serve(settings: DemoSettings) -> None:
    server = DemoServer(settings)
    await server.start()
    runner = web.AppRunner(server.app)
    await runner.setup()
    await web.TCPSite(runner, settings.host, settings.port).start()
    logger = logging.getLogger("mediasoup_py.demo")
    logger.info(
        "open http://%s:%d/ in two browser tabs (%d media workers)",
        settings.host,
        settings.port,
        len(server.workers),
    )
    try:
        before = await server.traffic()
        while True:
            await asyncio.sleep(STATUS_INTERVAL_S)
            now = await server.traffic()
            # Transports that closed in between take their bytes with them: never below 0.
            rates = [
                max(0, b - a) * 8 / STATUS_INTERVAL_S / 1000
                for a, b in zip(before, now, strict=True)
            ]
            before = now
            counts = ", ".join(f"{key} {value}" for key, value in server.status().items())
            logger.info("status: %s; in %.0f kbps, out %.0f kbps", counts, *rates)
    finally:
        await runner.cleanup()
        await server.close()


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    settings = parse_settings(argv)
    # Ctrl-C is how the demo is stopped.
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
