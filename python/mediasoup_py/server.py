"""The server: mediasoup v2's entry point, on asyncio. It starts the workers (splitting the
RTC port range between them), creates rooms round-robin over them, and knows the addresses
peers' transports listen on and announce. Its :class:`~mediasoup_py.limits.Limits` bound the
rooms it holds and are those of every room it creates."""

from __future__ import annotations

import itertools
import os
from typing import TYPE_CHECKING, Any

from mediasoup_py import errors
from mediasoup_py.events import EventEmitter
from mediasoup_py.limits import Limits, check_count
from mediasoup_py.room import Room
from mediasoup_py.worker import Worker, create_worker

if TYPE_CHECKING:
    from mediasoup_py.rtp_parameters import RtpCodecCapability
    from mediasoup_py.transport import ListenInfo

__all__ = ["Server"]


class Server(EventEmitter):
    """Workers and the rooms on them. Events: ``newroom`` (Room), ``close``. A worker that
    dies takes its rooms with it (their peers are closed and told); the others carry on."""

    def __init__(
        self, workers: list[Worker], listen_infos: list[ListenInfo], limits: Limits | None = None
    ) -> None:
        super().__init__()
        self._workers = list(workers)
        self._listen_infos = listen_infos
        self._limits = limits or Limits()
        self._next_worker = itertools.cycle(self._workers)
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
        dtls_certificate_file: str | None = None,
        dtls_private_key_file: str | None = None,
        limits: Limits | None = None,
    ) -> Server:
        """Starts ``num_workers`` workers (one per core by default), each with its share of
        ``rtc_min_port``..``rtc_max_port``. Peers' transports listen on ``rtc_ipv4`` and/or
        ``rtc_ipv6`` (``False``: not on that family) and announce the ``rtc_announced_*``
        address when given (behind NAT). ``limits`` bound its rooms and what their peers
        can make them hold (:class:`~mediasoup_py.limits.Limits`' defaults if none)."""
        if limits is not None and not isinstance(limits, Limits):
            raise errors.MediasoupTypeError("limits: must be a Limits", "limits")
        count = (os.cpu_count() or 1) if num_workers is None else num_workers
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise errors.MediasoupTypeError("num_workers: must be a positive int", "num_workers")
        listen_infos: list[ListenInfo] = []
        for ip, announced, field in (
            (rtc_ipv4, rtc_announced_ipv4, "rtc_ipv4"),
            (rtc_ipv6, rtc_announced_ipv6, "rtc_ipv6"),
        ):
            if ip is False:
                continue
            if not isinstance(ip, str):
                raise errors.MediasoupTypeError(f"{field}: must be an address or False", field)
            info: dict[str, Any] = {"protocol": "udp", "ip": ip}
            if announced:
                info["announcedAddress"] = announced
            listen_infos.append(info)  # type: ignore[arg-type]
        if not listen_infos:
            raise errors.MediasoupTypeError("rtc_ipv4: no address to listen on", "rtc_ipv4")
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
        return cls(workers, listen_infos, limits)

    @property
    def workers(self) -> list[Worker]:
        """The workers."""
        return list(self._workers)

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

    async def create_room(self, media_codecs: list[RtpCodecCapability]) -> Room:
        """A room (a router with these codecs) on the next worker, round-robin; past
        ``limits.rooms_per_server`` open rooms, ``LimitExceededError``."""
        if self._closed:
            raise errors.InvalidStateError("server closed")
        # Rooms being created count: concurrent calls cannot pass the limit together.
        count = len(self._rooms) + self._rooms_being_created
        check_count("rooms_per_server", count, self._limits.rooms_per_server)
        worker = next(self._next_worker)
        self._rooms_being_created += 1
        try:
            router = await worker.create_router(media_codecs=media_codecs)
            room = await Room.create(router, listen_infos=self._listen_infos, limits=self._limits)
        finally:
            self._rooms_being_created -= 1
        self._rooms.append(room)
        room.on("close", lambda: self._rooms.remove(room) if room in self._rooms else None)
        self.emit("newroom", room)
        return room

    def _on_worker_died(self, worker: Worker) -> None:
        """A dead worker's rooms have closed with its routers; new rooms go to the others,
        and the server closes with the last one (as mediasoup v2's did)."""
        if worker in self._workers:
            self._workers.remove(worker)
            self._next_worker = itertools.cycle(self._workers)
        if not self._workers:
            self.close()

    def close(self) -> None:
        """Closes every room (so every peer: their signaling connections are closed as going
        away) and worker."""
        if self._closed:
            return
        self._closed = True
        for room in list(self._rooms):
            room.close()
        for worker in self._workers:
            worker.close()
        self.emit("close")
