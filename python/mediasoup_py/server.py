"""The server: mediasoup v2's entry point, on asyncio. It starts the workers (splitting the
RTC port range between them), creates rooms that span them (each transport on the least
loaded worker, producers piped where they have consumers), and knows the addresses peers'
transports listen on and announce. Its :class:`~mediasoup_py.limits.Limits` bound the rooms
it holds and are those of every room it creates."""

from __future__ import annotations

import asyncio
import logging
import os
from typing import TYPE_CHECKING, Literal

from mediasoup_py import errors
from mediasoup_py.events import EventEmitter
from mediasoup_py.host_addresses import check_listen_ip, first_external_address, is_wildcard
from mediasoup_py.limits import Limits, check_count
from mediasoup_py.room import Room
from mediasoup_py.room_media import WorkerLoad
from mediasoup_py.transport import ListenInfo, parse_ip
from mediasoup_py.worker import Worker, create_worker

if TYPE_CHECKING:
    from mediasoup_py.cluster.node import ClusterNode
    from mediasoup_py.rtp_parameters import RtpCodecCapability
    from mediasoup_py.webrtc_server import WebRtcServer

__all__ = ["Server", "rtc_listen_infos"]

_logger = logging.getLogger("mediasoup_py.server")


def _rtc_ip(value: object, version: Literal[4, 6], field: str) -> str | None:
    """The address one of ``rtc_ipv4``/``rtc_ipv6`` means, or None for ``False``."""
    if value is False:
        return None
    if value is True:
        found = first_external_address(version)
        if found is None:
            raise errors.MediasoupTypeError(
                f"{field}: True finds no non-internal IPv{version} address on this host "
                "(give an address, or False)",
                field,
            )
        return found
    if not isinstance(value, str):
        raise errors.MediasoupTypeError(
            f"{field}: must be an IPv{version} address, True (this host's) or False", field
        )
    ip = parse_ip(value, field)
    if (":" in ip) != (version == 6):
        raise errors.MediasoupTypeError(f"{field}: {ip} is not an IPv{version} address", field)
    check_listen_ip(ip, field)
    return ip


def _announced(value: object, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise errors.MediasoupTypeError(f"{field}: must be a non-empty string or None", field)
    return value


def rtc_listen_infos(
    *,
    rtc_ipv4: str | bool = "127.0.0.1",
    rtc_ipv6: str | bool = False,
    rtc_announced_ipv4: str | None = None,
    rtc_announced_ipv6: str | None = None,
) -> list[ListenInfo]:
    """mediasoup v2's server settings as v3 listen infos (UDP), IPv4's first.

    ``rtc_ipv4``/``rtc_ipv6``: an address of this host (or the family's wildcard), ``True``
    for the host's first non-internal address of the family, ``False`` for none; at least one
    family. ``rtc_announced_ipv4``/``rtc_announced_ipv6``: what clients are told to send to
    (the public address behind NAT). A wildcard without an announced address is logged as a
    warning: clients would be told that address, which reaches no other host."""
    families: tuple[tuple[Literal[4, 6], object, object, str, str], ...] = (
        (4, rtc_ipv4, rtc_announced_ipv4, "rtc_ipv4", "rtc_announced_ipv4"),
        (6, rtc_ipv6, rtc_announced_ipv6, "rtc_ipv6", "rtc_announced_ipv6"),
    )
    listen_infos: list[ListenInfo] = []
    for version, value, announced_value, field, announced_field in families:
        ip = _rtc_ip(value, version, field)
        announced = _announced(announced_value, announced_field)
        if ip is None:
            continue
        info: ListenInfo = {"protocol": "udp", "ip": ip}
        if announced is not None:
            info["announcedAddress"] = announced
        elif is_wildcard(ip):
            _logger.warning(
                "%s is %s (every address) and %s is not set: clients would be told to send "
                "media to %s; set %s to the address clients reach this host at",
                field,
                ip,
                announced_field,
                ip,
                announced_field,
            )
        listen_infos.append(info)
    if not listen_infos:
        raise errors.MediasoupTypeError(
            "rtc_ipv4: rtc_ipv4 and rtc_ipv6 are both False: no address to listen on", "rtc_ipv4"
        )
    return listen_infos


def _webrtc_server_infos(
    listen_infos: list[ListenInfo], rtc_port: int | None, rtc_tcp: bool
) -> list[ListenInfo] | None:
    """The listen infos of the one-port WebRtcServer, or None without ``rtc_port``."""
    if rtc_port is None:
        return None
    if isinstance(rtc_port, bool) or not isinstance(rtc_port, int) or not 0 < rtc_port < 65536:
        raise errors.MediasoupTypeError("rtc_port: must be a port number or None", "rtc_port")
    infos: list[ListenInfo] = []
    for info in listen_infos:
        udp: ListenInfo = {**info, "protocol": "udp", "port": rtc_port}
        infos.append(udp)
        if rtc_tcp:
            infos.append({**udp, "protocol": "tcp"})
    return infos


async def _share_one_port(workers: list[Worker], infos: list[ListenInfo]) -> WebRtcServer:
    """A WebRtcServer on the first worker shared with the others."""
    return await workers[0].create_webrtc_server(listen_infos=infos, share_with=workers[1:])


class Server(EventEmitter):
    """Workers and the rooms on them. Events: ``newroom`` (Room), ``close``. A worker that
    dies takes its transports with it (their peers lose them, and the others are told of
    their closed producers); rooms go on on the other workers."""

    def __init__(
        self,
        workers: list[Worker],
        listen_infos: list[ListenInfo],
        cluster: ClusterNode | None = None,
        limits: Limits | None = None,
        webrtc_server: WebRtcServer | None = None,
    ) -> None:
        super().__init__()
        self._cluster = cluster
        # The process-wide WebRtcServer (one port for every worker), when asked for.
        self._webrtc_server = webrtc_server
        # The cluster node's leaving, once closed.
        self._stopping: asyncio.Future[None] | None = None
        self._workers = list(workers)
        self._listen_infos = listen_infos
        self._limits = limits or Limits()
        self._load = WorkerLoad(self._workers)
        # What the workers' threads cost lately, for placing transports by load.
        self._sampling = asyncio.ensure_future(self._load.sample_periodically())
        self._rooms: list[Room] = []
        self._rooms_being_created = 0
        self._closed = False
        for worker in workers:
            worker.on("died", lambda error, worker=worker: self._on_worker_died(worker))

    @classmethod
    async def create(
        cls,
        *,
        num_workers: int | None = None,
        log_level: str = "error",
        log_tags: list[str] | None = None,
        rtc_ipv4: str | bool = "127.0.0.1",
        rtc_ipv6: str | bool = False,
        rtc_announced_ipv4: str | None = None,
        rtc_announced_ipv6: str | None = None,
        rtc_min_port: int = 40000,
        rtc_max_port: int = 49999,
        rtc_port: int | None = None,
        rtc_tcp: bool = True,
        dtls_certificate_file: str | None = None,
        dtls_private_key_file: str | None = None,
        redis: str | None = None,
        cluster_secret: str | bytes | None = None,
        pipe_ip: str | None = None,
        pipe_announced_ip: str | None = None,
        node_id: str | None = None,
        limits: Limits | None = None,
    ) -> Server:
        """Starts ``num_workers`` workers (one per core by default), each with its share of
        ``rtc_min_port``..``rtc_max_port``. Peers' transports listen on ``rtc_ipv4`` and/or
        ``rtc_ipv6`` (an address; ``True``: this host's first non-internal address of the
        family; ``False``: not on that family) and announce the ``rtc_announced_*`` address
        when given (behind NAT); see ``rtc_listen_infos``. ``limits`` bound its rooms and
        what their peers can make them hold (:class:`~mediasoup_py.limits.Limits`' defaults
        if none).

        With ``rtc_port``, every peer's WebRTC transport, whatever its worker, shares one
        WebRtcServer on that UDP port (and, with ``rtc_tcp``, ICE-TCP on the same TCP port):
        the process listens on that port alone (``rtc_min_port``..``rtc_max_port`` are then
        only for plain and pipe transports). The first worker reads the ports; if it dies,
        the next one does (only the dead worker's peers lose their transports).

        With ``redis`` (``redis://HOST:6379/0``) the server is a node of the cluster that
        shares that Redis (:mod:`mediasoup_py.cluster`): rooms created with a ``room_id``
        span every node that has peers in them. Other nodes' pipes reach this one at
        ``pipe_announced_ip`` or ``pipe_ip`` (default: the RTC addresses);
        ``cluster_secret`` signs what the nodes tell each other (nodes without it are not
        trusted)."""
        if limits is not None and not isinstance(limits, Limits):
            raise errors.MediasoupTypeError("limits: must be a Limits", "limits")
        count = (os.cpu_count() or 1) if num_workers is None else num_workers
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise errors.MediasoupTypeError("num_workers: must be a positive int", "num_workers")
        listen_infos = rtc_listen_infos(
            rtc_ipv4=rtc_ipv4,
            rtc_ipv6=rtc_ipv6,
            rtc_announced_ipv4=rtc_announced_ipv4,
            rtc_announced_ipv6=rtc_announced_ipv6,
        )
        server_infos = _webrtc_server_infos(listen_infos, rtc_port, rtc_tcp)
        span = (rtc_max_port - rtc_min_port + 1) // count
        if span < 2:
            raise errors.MediasoupTypeError(
                "rtc_max_port: the port range is too small for the workers", "rtc_max_port"
            )
        workers: list[Worker] = []
        try:
            for index in range(count):
                low = rtc_min_port + index * span
                workers.append(
                    await create_worker(
                        log_level=log_level,
                        log_tags=log_tags,
                        rtc_min_port=low,
                        rtc_max_port=low + span - 1,
                        dtls_certificate_file=dtls_certificate_file,
                        dtls_private_key_file=dtls_private_key_file,
                    )
                )
        except BaseException:
            for worker in workers:
                worker.close()
            raise
        cluster = None
        if redis is not None:
            from mediasoup_py.cluster.node import ClusterNode

            try:
                cluster = await ClusterNode.start(
                    redis,
                    pipe_ip=pipe_ip or listen_infos[0]["ip"],
                    pipe_announced_ip=pipe_announced_ip
                    or (None if pipe_ip else listen_infos[0].get("announcedAddress")),
                    node_id=node_id,
                    secret=cluster_secret,
                )
            except BaseException:
                for worker in workers:
                    worker.close()
                raise
        webrtc_server = None
        if server_infos is not None:
            try:
                webrtc_server = await _share_one_port(workers, server_infos)
            except BaseException:
                for worker in workers:
                    worker.close()
                raise
        return cls(workers, listen_infos, cluster, limits, webrtc_server)

    @property
    def workers(self) -> list[Worker]:
        """The workers."""
        return list(self._workers)

    @property
    def listen_infos(self) -> list[ListenInfo]:
        """Where its rooms' WebRtcTransports listen."""
        return list(self._listen_infos)

    @property
    def webrtc_server(self) -> WebRtcServer | None:
        """The WebRtcServer every worker's transports share (``rtc_port``), if any."""
        return self._webrtc_server

    @property
    def rooms(self) -> list[Room]:
        """The open rooms."""
        return list(self._rooms)

    @property
    def closed(self) -> bool:
        """Whether the server is closed."""
        return self._closed

    @property
    def limits(self) -> Limits:
        """The limits of the server and its rooms."""
        return self._limits

    @property
    def cluster(self) -> ClusterNode | None:
        """Its node of the cluster, when it was given a Redis."""
        return self._cluster

    async def create_room(
        self, media_codecs: list[RtpCodecCapability], room_id: str | None = None
    ) -> Room:
        """A room with these codecs spanning the workers: its home router on the least loaded
        worker, its transports each on the least loaded worker when created. In a cluster,
        the room ``room_id`` also spans the other nodes that have it (the same codecs). Past
        ``limits.rooms_per_server`` open rooms, ``LimitExceededError``."""
        if self._closed:
            raise errors.InvalidStateError("server closed")
        # Rooms being created count: concurrent calls cannot pass the limit together.
        count = len(self._rooms) + self._rooms_being_created
        check_count("rooms_per_server", count, self._limits.rooms_per_server)
        worker = self._load.least_loaded(self._workers)
        self._rooms_being_created += 1
        try:
            router = await worker.create_router(media_codecs=media_codecs)
            room = await Room.create(
                router,
                listen_infos=self._listen_infos,
                workers=self._workers,
                media_codecs=media_codecs,
                load=self._load,
                limits=self._limits,
                webrtc_server=self._webrtc_server,
            )
        finally:
            self._rooms_being_created -= 1
        if self._cluster is not None and room_id is not None:
            self._cluster.link(room_id, room)
        self._rooms.append(room)
        room.on("close", lambda: self._rooms.remove(room) if room in self._rooms else None)
        self.emit("newroom", room)
        return room

    def _on_worker_died(self, worker: Worker) -> None:
        """A dead worker's routers have closed (and rooms with no other router with them);
        new transports go to the others, and the server closes with the last one (as
        mediasoup v2's did)."""
        if worker in self._workers:
            self._workers.remove(worker)
        if not self._workers:
            self.close()
            return

    def close(self) -> None:
        """Closes every room (so every peer: their signaling connections are closed as going
        away) and worker."""
        if self._closed:
            return
        self._closed = True
        for room in list(self._rooms):
            room.close()
        self._sampling.cancel()
        for worker in self._workers:
            worker.close()
        if self._cluster is not None:
            self._stopping = asyncio.ensure_future(self._cluster.stop())
        self.emit("close")

    async def wait_closed(self) -> None:
        """After :meth:`close`: until the cluster node has left (its registration gone)."""
        if self._stopping is not None:
            await self._stopping
