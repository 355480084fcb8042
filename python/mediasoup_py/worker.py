"""Workers: native threads that run the media plane, and the asyncio side that drives them.

    worker = await mediasoup_py.create_worker(rtc_min_port=40000, rtc_max_port=49999)
    router = await worker.create_router()
    transport = await router.create_webrtc_transport(listen_infos=[{"ip": "127.0.0.1"}])

A worker's thread owns its sockets and every transport created on it; Python sends it
requests and is woken (through an eventfd watched by ``loop.add_reader``) when responses or
events are ready. No Python code runs per packet.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mediasoup_py import _core, errors
from mediasoup_py.events import EventEmitter

if TYPE_CHECKING:
    from mediasoup_py.router import Router
    from mediasoup_py.rtp_parameters import RtpCodecCapability
    from mediasoup_py.transport import ListenInfo, Transport
    from mediasoup_py.webrtc_server import WebRtcServer

__all__ = ["Worker", "WorkerDiedError", "create_worker"]

_logger = logging.getLogger("mediasoup_py.worker")
_worker_ids = itertools.count(1)

# mediasoup's defaults.
DEFAULT_RTC_MIN_PORT = 10000
DEFAULT_RTC_MAX_PORT = 59999


class WorkerDiedError(errors.MediasoupError):
    """The worker thread ended unexpectedly (a panic in the media plane, caught)."""


def _read_pem(path: str | os.PathLike[str] | None, field: str) -> bytes | None:
    if path is None:
        return None
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise errors.MediasoupTypeError(f"{field}: cannot read {path}: {error}", field) from error


def _port(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise errors.MediasoupTypeError(f"{field}: must be an int in 1..65535", field)
    return value


# mediasoup's log levels as Python logging levels.
_LOG_LEVELS = {"debug": logging.DEBUG, "warn": logging.WARNING, "error": logging.ERROR}


def _log_tags(value: object) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list | tuple) or not all(isinstance(tag, str) for tag in value):
        raise errors.MediasoupTypeError("log_tags: must be a list of tag names", "log_tags")
    return list(value)


async def create_worker(
    *,
    log_level: str = "error",
    log_tags: list[str] | None = None,
    rtc_min_port: int = DEFAULT_RTC_MIN_PORT,
    rtc_max_port: int = DEFAULT_RTC_MAX_PORT,
    dtls_certificate_file: str | os.PathLike[str] | None = None,
    dtls_private_key_file: str | os.PathLike[str] | None = None,
    app_data: dict[str, Any] | None = None,
) -> Worker:
    """Starts a worker thread (one per core is the intended use).

    ``log_level`` (debug, warn, error, none) and ``log_tags`` (info, ice, dtls, rtp, srtp,
    rtcp, rtx, bwe, score, simulcast, svc, sctp) choose which worker records reach Python's
    ``logging``, under ``mediasoup_py.<tag>``. Without ``dtls_certificate_file``/
    ``dtls_private_key_file`` a self-signed ECDSA P-256 certificate generated once per
    process is used.
    """
    min_port = _port(rtc_min_port, "rtc_min_port")
    max_port = _port(rtc_max_port, "rtc_max_port")
    if min_port > max_port:
        raise errors.MediasoupTypeError(
            f"rtc_min_port: {min_port} is above rtc_max_port {max_port}", "rtc_min_port"
        )
    worker_id = next(_worker_ids)
    channel = _core.WorkerChannel(
        name=f"mediasoup_py-worker-{worker_id}",
        rtc_min_port=min_port,
        rtc_max_port=max_port,
        log_level=log_level,
        log_tags=_log_tags(log_tags),
        dtls_certificate_pem=_read_pem(dtls_certificate_file, "dtls_certificate_file"),
        dtls_private_key_pem=_read_pem(dtls_private_key_file, "dtls_private_key_file"),
    )
    return Worker(
        channel,
        worker_id,
        asyncio.get_running_loop(),
        app_data or {},
        log_level,
        _log_tags(log_tags),
    )


class Worker(EventEmitter):
    """A media worker thread. Events: ``died`` (with a ``WorkerDiedError``). Observer events:
    ``close``, ``newrouter``, ``newwebrtcserver``."""

    def __init__(
        self,
        channel: _core.WorkerChannel,
        worker_id: int,
        loop: asyncio.AbstractEventLoop,
        app_data: dict[str, Any],
        log_level: str = "error",
        log_tags: list[str] | None = None,
    ) -> None:
        super().__init__()
        self._log_level = log_level
        self._log_tags = log_tags or []
        self._channel = channel
        self._id = worker_id
        self._loop = loop
        self._request_ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._routers: dict[str, Router] = {}
        self._webrtc_servers: dict[str, WebRtcServer] = {}
        # Who hears the worker's events about an object, by the object's id (transports,
        # producers, consumers, data consumers, RTP observers subscribe while alive). The
        # objects themselves are in their router's registry.
        self._event_handlers: dict[str, Callable[[Any], None]] = {}
        self._closed = False
        self.app_data = app_data
        self.observer = EventEmitter()
        loop.add_reader(channel.fileno(), self._on_readable)

    @property
    def id(self) -> int:
        """This worker's number in the process."""
        return self._id

    @property
    def pid(self) -> int:
        """The process id (workers are threads of this process)."""
        return os.getpid()

    @property
    def closed(self) -> bool:
        """Whether the worker is closed or died."""
        return self._closed

    @property
    def queued_events(self) -> int:
        """Responses, events and DirectTransport packets the worker holds for this
        process that the asyncio loop has not taken yet (0 once closed)."""
        return 0 if self._closed else self._channel.queued_events()

    @property
    def dtls_fingerprints(self) -> list[dict[str, str]]:
        """The fingerprints of this worker's DTLS certificate (sha-1 to sha-512)."""
        return list(self._channel.dtls_fingerprints())

    def __repr__(self) -> str:
        return f"<Worker id={self._id} closed={self._closed}>"

    async def create_router(
        self,
        *,
        media_codecs: list[RtpCodecCapability] | None = None,
        app_data: dict[str, Any] | None = None,
    ) -> Router:
        """A router on this worker offering ``media_codecs`` (mediasoup's ``mediaCodecs``; an
        unsupported codec raises ``UnsupportedError``). It creates the transports (and, with
        routing, the producers and consumers) of a room."""
        from mediasoup_py.ortc import generate_router_rtp_capabilities
        from mediasoup_py.router import Router

        self._check_open()
        capabilities = generate_router_rtp_capabilities(media_codecs)
        router = Router(self, capabilities, app_data or {})
        await self._request(lambda request_id: self._channel.create_router(request_id, router.id))
        self._routers[router.id] = router
        self.observer.emit("newrouter", router)
        return router

    async def create_webrtc_server(
        self,
        *,
        listen_infos: list[ListenInfo],
        app_data: dict[str, Any] | None = None,
        share_with: Iterable[Worker] = (),
    ) -> WebRtcServer:
        """Shared UDP/TCP ports for many WebRtcTransports (pass it to
        ``Router.create_webrtc_transport(webrtc_server=...)``). With ``share_with``, the
        routers of those workers may use it too: one port for the whole process. This worker
        reads the ports; if it closes or dies, the next of those workers reads them (the
        server closes with the last)."""
        from mediasoup_py.webrtc_server import WebRtcServer

        self._check_open()
        others = list(share_with) if not isinstance(share_with, Worker) else [share_with]
        if not all(isinstance(worker, Worker) for worker in others):
            raise errors.MediasoupTypeError("share_with: must be Workers", "share_with")
        server = await WebRtcServer.create(self, listen_infos, app_data or {})
        self._adopt_webrtc_server(server)
        try:
            for worker in others:
                await server.add_worker(worker)
        except BaseException:
            server.close()
            raise
        self.observer.emit("newwebrtcserver", server)
        return server

    async def get_resource_usage(self) -> dict[str, int]:
        """The worker thread's CPU time (ms) and context switches, and the process peak RSS."""
        return await self._request(lambda request_id: self._channel.get_resource_usage(request_id))

    async def update_settings(
        self, *, log_level: str | None = None, log_tags: list[str] | None = None
    ) -> None:
        """Changes which log records the worker sends (mediasoup's ``updateSettings``)."""
        if log_level is not None:
            self._log_level = log_level
        if log_tags is not None:
            self._log_tags = _log_tags(log_tags)
        level, tags = self._log_level, self._log_tags
        await self._request(
            lambda request_id: self._channel.update_settings(request_id, level, tags)
        )

    async def dump(self) -> dict[str, Any]:
        """The worker's routers, WebRtcServers and transports, as the worker has them."""
        data = await self._request(lambda request_id: self._channel.dump(request_id))
        return {
            "pid": self.pid,
            "routerIds": sorted(data["routerIds"]),
            "webRtcServerIds": sorted(data["webrtcServerIds"]),
            "transportIds": sorted(data["transportIds"]),
        }

    def _debug_panic(self) -> None:
        """A debug hook for fault tests: the worker thread panics, and the worker dies as it
        would from a bug in the media plane (``died``, its routers and transports closed)."""
        self._check_open()
        self._send_unawaited(lambda request_id: self._channel.debug_panic(request_id))

    def close(self) -> None:
        """Closes every router and transport and ends the thread."""
        if self._closed:
            return
        self._shutdown(None)
        self._channel.close()

    # Internal API used by routers and transports.

    def _check_open(self) -> None:
        if self._closed:
            raise errors.InvalidStateError("worker closed")

    async def _request(self, send: Callable[[int], None]) -> dict[str, Any]:
        return await self._send(send)

    def _send(self, send: Callable[[int], None]) -> asyncio.Future[dict[str, Any]]:
        """Sends a request now (so requests reach the worker in call order) and returns the
        future of its response."""
        self._check_open()
        request_id = next(self._request_ids)
        future: asyncio.Future[dict[str, Any]] = self._loop.create_future()
        self._pending[request_id] = future
        try:
            send(request_id)
        except BaseException:
            self._pending.pop(request_id, None)
            raise
        return future

    def _send_unawaited(self, send: Callable[[int], None]) -> None:
        """Sends a request now without waiting for its answer (closes, which are synchronous
        for the caller; DirectTransport packets): it may fail harmlessly, racing with worker
        shutdown or aimed at something the worker already closed with its parent."""
        if self._closed:
            return
        self._send(send).add_done_callback(_ignore_close_result)

    def _subscribe(self, object_id: str, handler: Callable[[Any], None]) -> None:
        """Hands the worker's events about ``object_id`` to ``handler`` (which takes the
        events of that object's kind) until unsubscribed."""
        self._event_handlers[object_id] = handler

    def _unsubscribe(self, object_id: str) -> None:
        self._event_handlers.pop(object_id, None)

    def _register_transport(self, transport: Transport) -> None:
        self._subscribe(transport.id, transport._on_channel_event)

    def _forget_transport(self, transport_id: str) -> None:
        self._unsubscribe(transport_id)

    def _each_router(self) -> list[Router]:
        """Its routers, a snapshot."""
        return list(self._routers.values())

    def _forget_router(self, router_id: str) -> None:
        self._routers.pop(router_id, None)

    def _adopt_webrtc_server(self, server: WebRtcServer) -> None:
        self._webrtc_servers[server.id] = server

    def _forget_webrtc_server(self, server_id: str) -> None:
        self._webrtc_servers.pop(server_id, None)

    @property
    def _native(self) -> _core.WorkerChannel:
        return self._channel

    def _on_readable(self) -> None:
        for event in self._channel.drain():
            self._dispatch(event)

    def _dispatch(self, event: _core.WorkerEvent) -> None:
        """Hands a response or event to whom it is for."""
        if event["kind"] == "response":
            future = self._pending.pop(event["id"], None)
            if future is None or future.done():
                return
            if "error" in event:
                future.set_exception(event["error"])
            else:
                future.set_result(event.get("data", {}))
        elif event["kind"] == "transport" or event["kind"] == "direct":
            self._hand_over(event["transportId"], event)
        elif event["kind"] == "producer":
            self._hand_over(event["producerId"], event)
        elif event["kind"] == "consumer":
            self._hand_over(event["consumerId"], event)
        elif event["kind"] == "dataconsumer":
            self._hand_over(event["dataConsumerId"], event)
        elif event["kind"] == "rtpobserver":
            self._hand_over(event["rtpObserverId"], event)
        elif event["kind"] == "log":
            logging.getLogger(f"mediasoup_py.{event['tag']}").log(
                _LOG_LEVELS.get(event["level"], logging.INFO),
                "worker %d: %s",
                self._id,
                event["message"],
            )
        elif event["kind"] == "exited" and event["error"] is not None:
            _logger.error("worker %d died: %s", self._id, event["error"])
            self._shutdown(WorkerDiedError(event["error"]))
            # The thread has ended; this only reaps it.
            self._channel.close()

    def _hand_over(self, object_id: str, event: _core.WorkerEvent) -> None:
        handler = self._event_handlers.get(object_id)
        if handler is not None:
            handler(event)

    def _shutdown(self, died: WorkerDiedError | None) -> None:
        self._closed = True
        self._loop.remove_reader(self._channel.fileno())
        for future in self._pending.values():
            if not future.done():
                future.set_exception(died or errors.InvalidStateError("worker closed"))
        self._pending.clear()
        for router in list(self._routers.values()):
            router._on_worker_closed()
        self._routers.clear()
        for server in list(self._webrtc_servers.values()):
            server._on_worker_closed(self)
        self._webrtc_servers.clear()
        if died is not None:
            self.emit("died", died)
        self.observer.emit("close")


def _ignore_close_result(response: asyncio.Future[dict[str, Any]]) -> None:
    if not response.cancelled():
        response.exception()
