"""``python -m mediasoup_py.demo``: the video-conference demo (see ``--help``).

It stops on SIGINT (Ctrl-C) and SIGTERM with handlers of its own, so it stops also when
started with SIGINT ignored (from a background job, nohup, a non-interactive shell): every
WebSocket is closed as going away, then every transport and worker, in under a second."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import logging
import os
import signal
import sys
from pathlib import Path
from typing import NoReturn

from mediasoup_py import errors
from mediasoup_py.demo.server import DemoServer, DemoSettings

STATUS_INTERVAL_S = 5
# The limits the command line sets, with their option names (--peers-per-room ...).
LIMIT_OPTIONS = (
    "rooms_per_server",
    "peers_per_room",
    "transports_per_peer",
    "producers_per_peer",
    "consumers_per_peer",
    "data_producers_per_peer",
    "data_consumers_per_peer",
    "announced_peers",
    "connections",
    "connections_per_address",
    "pending_requests_per_connection",
    "message_bytes",
    "json_depth",
    "id_length",
    "display_name_length",
    "send_queue_messages",
    "send_queue_bytes",
    "client_request_timeout",
    "http_idle_timeout",
    "empty_room_grace",
)


class _DefaultsFormatter(argparse.HelpFormatter):
    """--help shows each option's default, where it has one and its help does not say."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if action.default in (None, False, [], argparse.SUPPRESS) or "default" in text:
            return text
        return f"{text} (default: %(default)s)".strip()


def parse_settings(argv: list[str] | None = None) -> DemoSettings:
    defaults = DemoSettings()
    parser = argparse.ArgumentParser(
        prog="python -m mediasoup_py.demo",
        description="A video conference on mediasoup_py: open the URL in two browser tabs.",
        formatter_class=_DefaultsFormatter,
    )
    parser.add_argument("--host", default=defaults.host, help="web server address")
    parser.add_argument("--port", type=int, default=defaults.port, help="web server port")
    parser.add_argument("--rtc-ip", default=defaults.rtc_ip, help="address media listens on")
    parser.add_argument(
        "--rtc-announced-ip", default=None, help="address announced to browsers (behind NAT)"
    )
    parser.add_argument(
        "--rtc-port",
        type=int,
        default=defaults.rtc_port,
        help="the one UDP and TCP (ICE-TCP) port of every browser's media; 0: a port per "
        "transport from --rtc-min-port..--rtc-max-port instead",
    )
    parser.add_argument(
        "--rtc-min-port",
        type=int,
        default=defaults.rtc_min_port,
        help="lowest port of plain and pipe transports (and of WebRTC ones with --rtc-port 0)",
    )
    parser.add_argument(
        "--rtc-max-port", type=int, default=defaults.rtc_max_port, help="highest such port"
    )
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
    parser.add_argument(
        "--cert",
        type=Path,
        default=None,
        help="PEM certificate (chain) to serve https and wss, as mediasoup-demo's app connects "
        "(with --key)",
    )
    parser.add_argument("--key", type=Path, default=None, help="PEM private key of --cert")
    security = parser.add_argument_group("who may join (docs/protocol.md: join tokens)")
    security.add_argument(
        "--token-secret-file",
        type=Path,
        help="file with the HMAC secret (32+ bytes) that signs join tokens (HS256)",
    )
    security.add_argument(
        "--token-public-key",
        type=Path,
        help="PEM public key whose private key signs join tokens (RS256, ES256, EdDSA)",
    )
    security.add_argument(
        "--allowed-origin",
        action="append",
        default=[],
        help="a browser origin allowed besides the demo's own (repeatable; * for any)",
    )
    security.add_argument(
        "--insecure",
        action="store_true",
        help="serve without join tokens on an address other than loopback",
    )
    limits = parser.add_argument_group("limits (docs/protocol.md: limits)")
    for name in LIMIT_OPTIONS:
        default = getattr(defaults.limits, name)
        limits.add_argument(
            "--" + name.replace("_", "-"),
            type=float if isinstance(default, float) else int,
            default=default,
            metavar="N",
            help="(default %(default)s)",
        )
    arguments = parser.parse_args(argv)
    changed = {name: getattr(arguments, name) for name in LIMIT_OPTIONS}
    secret = None
    if arguments.token_secret_file is not None:
        secret = arguments.token_secret_file.read_text().strip()
    public_key = None
    if arguments.token_public_key is not None:
        public_key = arguments.token_public_key.read_text()
    return DemoSettings(
        host=arguments.host,
        port=arguments.port,
        rtc_ip=arguments.rtc_ip,
        rtc_announced_ip=arguments.rtc_announced_ip,
        rtc_min_port=arguments.rtc_min_port,
        rtc_max_port=arguments.rtc_max_port,
        rtc_port=arguments.rtc_port or None,
        workers=arguments.workers,
        limits=dataclasses.replace(defaults.limits, **changed),
        token_secret=secret,
        token_public_key=public_key,
        allowed_origins=arguments.allowed_origin,
        insecure=arguments.insecure,
        redis=arguments.redis,
        # A secret on the command line would show in the process list.
        cluster_secret=os.environ.get("MEDIASOUP_PY_CLUSTER_SECRET") or None,
        pipe_ip=arguments.pipe_ip,
        node_id=arguments.node_id,
        record_dir=arguments.record_dir,
        cert=arguments.cert,
        key=arguments.key,
    )


async def serve(settings: DemoSettings) -> None:
    """Runs the demo until SIGINT or SIGTERM."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    # Our own handlers, whatever the parent left (SIGINT ignored in background jobs).
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    logger = logging.getLogger("mediasoup_py.demo")
    ssl_context = settings.ssl_context()
    server = DemoServer(settings)
    await server.start()
    try:
        runner, port = await server.signaling.start(settings.host, settings.port, ssl_context)
    except BaseException:
        await server.close()
        raise
    logger.info(
        "open %s://%s:%d/ in two browser tabs (%d media workers)",
        "https" if ssl_context else "http",
        settings.host,
        port,
        len(server.workers),
    )
    if server.signaling.open:
        logger.warning(
            "serving OPEN: anyone who reaches %s:%d may join any room (no join tokens: "
            "give --token-secret-file or --token-public-key)",
            settings.host,
            port,
        )
    status = asyncio.ensure_future(_report_status(server, logger))
    try:
        await stop.wait()
        logger.info("stopping")
    finally:
        status.cancel()
        await server.close()
        await runner.cleanup()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


async def _report_status(server: DemoServer, logger: logging.Logger) -> None:
    before = await server.traffic()
    while True:
        await asyncio.sleep(STATUS_INTERVAL_S)
        now = await server.traffic()
        # Transports that closed in between take their bytes with them: never below 0.
        rates = [
            max(0, b - a) * 8 / STATUS_INTERVAL_S / 1000 for a, b in zip(before, now, strict=True)
        ]
        before = now
        counts = ", ".join(f"{key} {value}" for key, value in server.status().items())
        logger.info("status: %s; in %.0f kbps, out %.0f kbps", counts, *rates)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    settings = parse_settings(argv)
    try:
        # A SIGINT before the handlers are in place still stops it.
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(settings))
    except errors.MediasoupError as error:
        print(f"mediasoup_py.demo: {error}", file=sys.stderr)
        return 1
    exit_without_teardown(0)


def exit_without_teardown(status: int) -> NoReturn:
    """Ends the process once ``serve`` has closed everything (WebSockets, recordings,
    transports, worker threads joined). The interpreter's own teardown (collecting and
    finalizing every object, module by module) would follow: about 0.1 s of CPU with ten
    clients in a call, ten times the stop itself, which a host whose cores are busy stretches
    past a second. The kernel frees the memory and closes the descriptors at once; only the
    logs' and streams' buffers need flushing first."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


if __name__ == "__main__":
    sys.exit(main())
