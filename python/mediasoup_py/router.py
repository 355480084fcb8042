"""Routers: a room's media scope on one worker, its RTP capabilities, the factory of its
transports, and the registry of everything on it (its producers any of its transports can
consume)."""

from __future__ import annotations

import asyncio
import copy
import logging
import uuid
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, overload

from mediasoup_py import errors, ortc
from mediasoup_py.handle import Handle
from mediasoup_py.pipe_to_router import (
    PipeDataToRouterResult,
    PipeToRouterResult,
    pipe_data_to_router,
    pipe_to_router,
)
from mediasoup_py.registry import RouterRegistry

if TYPE_CHECKING:
    from mediasoup_py.data_producer import DataProducer
    from mediasoup_py.direct_transport import DirectTransport
    from mediasoup_py.pipe_transport import PipeTransport
    from mediasoup_py.plain_transport import PlainTransport
    from mediasoup_py.producer import Producer
    from mediasoup_py.rtp_observer import ActiveSpeakerObserver, AudioLevelObserver, RtpObserver
    from mediasoup_py.rtp_parameters import RtpCapabilities
    from mediasoup_py.sctp_parameters import NumSctpStreams
    from mediasoup_py.transport import ListenInfo
    from mediasoup_py.webrtc_server import WebRtcServer
    from mediasoup_py.webrtc_transport import WebRtcTransport
    from mediasoup_py.worker import Worker

__all__ = ["Router"]

_logger = logging.getLogger("mediasoup_py.router")


def _udp_listen(
    listen_info: ListenInfo | None, listen_ip: str | dict[str, str] | None, kind: str
) -> tuple[str, tuple[int, int]]:
    """The IP and port choice of a plain or pipe transport, which listen on UDP only."""
    from mediasoup_py.webrtc_transport import resolve_listen_info

    [resolved] = resolve_listen_info(
        None if listen_info is None else [listen_info],
        None if listen_ip is None else [listen_ip],
        enable_udp=True,
        enable_tcp=False,
    )
    if resolved["tcp"] is not None or resolved["udp"] is None:
        raise errors.MediasoupTypeError(
            f"listen_info.protocol: a {kind} listens on UDP", "listen_info.protocol"
        )
    return resolved["ip"], resolved["udp"]


class Router(Handle):
    """A router. Events: ``workerclose``. Observer events: ``close``, ``newtransport``,
    ``newrtpobserver``."""

    _noun = "router"

    def __init__(
        self, worker: Worker, rtp_capabilities: RtpCapabilities, app_data: dict[str, Any]
    ) -> None:
        super().__init__(str(uuid.uuid4()), app_data)
        self._worker = worker
        self._rtp_capabilities = rtp_capabilities
        self._registry = RouterRegistry()
        # PipeTransport pairs to other routers by their id, shared by piped producers.
        self._pipe_transports: dict[str, tuple[PipeTransport, PipeTransport]] = {}
        # Tasks started by event handlers (piped pause/resume), kept until done.
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def rtp_capabilities(self) -> RtpCapabilities:
        """The codecs and header extensions of this router, for clients to load
        (``device.load({routerRtpCapabilities})``)."""
        return copy.deepcopy(self._rtp_capabilities)

    @property
    def worker(self) -> Worker:
        """The worker the router lives on."""
        return self._worker

    def __repr__(self) -> str:
        return f"<Router id={self._id} closed={self._closed}>"

    @property
    def _objects(self) -> RouterRegistry:
        """Everything alive on this router, one table per kind (the only such tables)."""
        return self._registry

    def can_consume(self, *, producer_id: str, rtp_capabilities: RtpCapabilities) -> bool:
        """Whether an endpoint with ``rtp_capabilities`` can consume the producer (it has
        a matching codec). False for an unknown producer, as mediasoup."""
        producer = self._registry.producers.get(producer_id)
        if producer is None:
            return False
        capabilities = ortc.validate_rtp_capabilities(rtp_capabilities)
        return ortc.can_consume(producer.consumable_rtp_parameters, capabilities)

    @overload
    async def pipe_to_router(
        self,
        *,
        producer_id: str,
        router: Router,
        listen_info: ListenInfo | None = None,
        enable_sctp: bool = True,
        num_sctp_streams: NumSctpStreams | None = None,
        enable_srtp: bool = False,
        enable_rtx: bool = False,
    ) -> PipeToRouterResult: ...

    @overload
    async def pipe_to_router(
        self,
        *,
        data_producer_id: str,
        router: Router,
        listen_info: ListenInfo | None = None,
        enable_sctp: bool = True,
        num_sctp_streams: NumSctpStreams | None = None,
        enable_srtp: bool = False,
    ) -> PipeDataToRouterResult: ...

    async def pipe_to_router(
        self,
        *,
        producer_id: str | None = None,
        data_producer_id: str | None = None,
        router: Router,
        listen_info: ListenInfo | None = None,
        enable_sctp: bool = True,
        num_sctp_streams: NumSctpStreams | None = None,
        enable_srtp: bool = False,
        enable_rtx: bool = False,
    ) -> PipeToRouterResult | PipeDataToRouterResult:
        """Makes a producer (``producer_id``) or a data producer (``data_producer_id``) of
        this router available on ``router`` (another room, or the same room on another
        worker to spread load): returns the pipe consumer here and the producer there
        (``pipe_data_consumer`` and ``pipe_data_producer`` for a data producer), which has
        the same id. PipeTransports between the two routers are created on first use
        (127.0.0.1 unless ``listen_info`` says otherwise; with SCTP for data producers
        unless ``enable_sctp`` is off, ``num_sctp_streams`` each way) and reused."""
        self._check_open()
        if (producer_id is None) == (data_producer_id is None):
            raise errors.MediasoupTypeError(
                "producer_id: give producer_id or data_producer_id (one of them)", "producer_id"
            )
        if data_producer_id is not None:
            return await pipe_data_to_router(
                self,
                data_producer_id=data_producer_id,
                router=router,
                listen_info=listen_info,
                enable_srtp=enable_srtp,
                enable_sctp=enable_sctp,
                num_sctp_streams=num_sctp_streams,
            )
        assert producer_id is not None
        return await pipe_to_router(
            self,
            producer_id=producer_id,
            router=router,
            listen_info=listen_info,
            enable_srtp=enable_srtp,
            enable_rtx=enable_rtx,
            enable_sctp=enable_sctp,
            num_sctp_streams=num_sctp_streams,
        )

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """Runs ``coroutine`` as a task from a synchronous event handler, logging failures."""
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)

        def done(finished: asyncio.Task[None]) -> None:
            self._tasks.discard(finished)
            if not finished.cancelled() and finished.exception() is not None:
                _logger.warning("router task failed: %r", finished.exception())

        task.add_done_callback(done)

    def _producer(self, producer_id: str) -> Producer | None:
        return self._registry.producers.get(producer_id)

    def _find_data_producer(self, data_producer_id: object) -> DataProducer:
        """One of its data producers (``MediasoupTypeError`` naming ``data_producer_id``
        if it has no such one)."""
        producer = self._registry.data_producers.get(data_producer_id)
        if producer is None or producer.closed:
            raise errors.UnknownIdError(
                f"data_producer_id: no data producer {data_producer_id!r} in this router",
                "data_producer_id",
            )
        return producer

    async def create_webrtc_transport(
        self,
        *,
        listen_infos: list[ListenInfo] | None = None,
        listen_ips: list[str | dict[str, str]] | None = None,
        webrtc_server: WebRtcServer | None = None,
        enable_udp: bool = True,
        enable_tcp: bool | None = None,
        prefer_udp: bool = False,
        prefer_tcp: bool = False,
        ice_consent_timeout: float = 30,
        enable_sctp: bool = False,
        num_sctp_streams: NumSctpStreams | None = None,
        max_sctp_message_size: int | None = None,
        sctp_send_buffer_size: int | None = None,
        app_data: dict[str, Any] | None = None,
    ) -> WebRtcTransport:
        """A WebRTC transport (ICE-lite, DTLS, SRTP) listening on ports of the worker's range.

        ``listen_infos`` is mediasoup v3's ``[{"protocol": "udp" | "tcp", "ip": ...,
        "announcedAddress": ...}]``; ``listen_ips`` the older ``["ip"]`` /
        ``[{"ip", "announcedIp"}]`` form with ``enable_udp``/``enable_tcp``; or
        ``webrtc_server`` to share a WebRtcServer's ports (``enable_udp``/``enable_tcp``
        then choose which of its ports the client is offered, both by default; ``enable_tcp``
        is off by default otherwise). TCP candidates are passive (RFC 6544); ``prefer_tcp``
        puts the TCP candidate first. ``enable_sctp`` carries
        DataChannels over the DTLS session (SCTP, RFC 8261) with ``num_sctp_streams``
        (``{OS, MIS}``, default 1024 each), messages up to ``max_sctp_message_size`` bytes
        and ``sctp_send_buffer_size`` bytes queued (both 262144 by default), as mediasoup.
        """
        from mediasoup_py.transport import sctp_options
        from mediasoup_py.webrtc_transport import (
            ResolvedListen,
            WebRtcTransport,
            resolve_listen_info,
        )

        self._check_open()
        listen: list[ResolvedListen] | WebRtcServer
        protocols = {"udp"} if enable_udp else set()
        if webrtc_server is not None:
            if listen_infos is not None or listen_ips is not None:
                raise errors.MediasoupTypeError(
                    "webrtc_server: give webrtc_server or listen_infos, not both", "webrtc_server"
                )
            listen = webrtc_server
            if enable_tcp is not False:
                protocols.add("tcp")
            if not any(entry["protocol"] in protocols for entry in webrtc_server.listening):
                raise errors.MediasoupTypeError(
                    "enable_udp: the WebRtcServer listens on none of the enabled protocols",
                    "enable_udp",
                )
        else:
            listen = resolve_listen_info(listen_infos, listen_ips, enable_udp, bool(enable_tcp))
        sctp = sctp_options(
            enable_sctp, num_sctp_streams, max_sctp_message_size, sctp_send_buffer_size
        )
        transport = await WebRtcTransport.create(
            self,
            listen,
            server_protocols=tuple(sorted(protocols)),
            prefer_tcp=bool(prefer_tcp) and not prefer_udp,
            ice_consent_timeout=ice_consent_timeout,
            sctp=sctp,
            app_data=app_data or {},
        )
        self._registry.transports.add(transport)
        self.observer.emit("newtransport", transport)
        return transport

    async def create_plain_transport(
        self,
        *,
        listen_info: ListenInfo | None = None,
        listen_ip: str | dict[str, str] | None = None,
        rtcp_mux: bool = True,
        comedia: bool = False,
        enable_srtp: bool = False,
        srtp_crypto_suite: str = "AES_CM_128_HMAC_SHA1_80",
        enable_sctp: bool = False,
        num_sctp_streams: NumSctpStreams | None = None,
        max_sctp_message_size: int | None = None,
        sctp_send_buffer_size: int | None = None,
        app_data: dict[str, Any] | None = None,
    ) -> PlainTransport:
        """A plain RTP transport (for ffmpeg, GStreamer, recorders) on a port of the worker's
        range; a second port for RTCP when ``rtcp_mux`` is off. ``enable_sctp`` carries
        DataChannels over SCTP on the RTP tuple, with mediasoup's options and defaults
        (``num_sctp_streams`` 1024 each way, ``max_sctp_message_size`` and
        ``sctp_send_buffer_size`` 262144)."""
        from mediasoup_py.plain_transport import PlainTransport
        from mediasoup_py.transport import sctp_options

        self._check_open()
        ip, port = _udp_listen(listen_info, listen_ip, "PlainTransport")
        sctp = sctp_options(
            enable_sctp, num_sctp_streams, max_sctp_message_size, sctp_send_buffer_size
        )
        transport = await PlainTransport.create(
            self,
            ip,
            port,
            rtcp_mux=bool(rtcp_mux),
            comedia=bool(comedia),
            enable_srtp=bool(enable_srtp),
            srtp_crypto_suite=srtp_crypto_suite,
            sctp=sctp,
            app_data=app_data or {},
        )
        self._registry.transports.add(transport)
        self.observer.emit("newtransport", transport)
        return transport

    async def create_direct_transport(
        self,
        *,
        max_message_size: int = 262_144,
        app_data: dict[str, Any] | None = None,
    ) -> DirectTransport:
        """A transport whose endpoint is this Python process: produce with
        ``producer.send(rtp)``, receive a consumer's RTP from its ``rtp`` event."""
        from mediasoup_py.direct_transport import DirectTransport

        self._check_open()
        transport = await DirectTransport.create(self, max_message_size, app_data or {})
        self._registry.transports.add(transport)
        self.observer.emit("newtransport", transport)
        return transport

    async def create_pipe_transport(
        self,
        *,
        listen_info: ListenInfo | None = None,
        listen_ip: str | dict[str, str] | None = None,
        enable_srtp: bool = False,
        enable_sctp: bool = False,
        num_sctp_streams: NumSctpStreams | None = None,
        max_sctp_message_size: int | None = None,
        sctp_send_buffer_size: int | None = None,
        app_data: dict[str, Any] | None = None,
    ) -> PipeTransport:
        """One end of a plain RTP link to another router (mediasoup's PipeTransport).
        ``enable_sctp`` also carries data producers over SCTP on its tuple (mediasoup's
        pipe defaults: 1024 streams each way, messages and send buffer of 268435456
        bytes)."""
        from mediasoup_py.pipe_transport import PIPE_SCTP_MAX_SIZE, PipeTransport
        from mediasoup_py.transport import sctp_options

        self._check_open()
        ip, port = _udp_listen(listen_info, listen_ip, "PipeTransport")
        sctp = sctp_options(
            enable_sctp,
            num_sctp_streams,
            PIPE_SCTP_MAX_SIZE if max_sctp_message_size is None else max_sctp_message_size,
            PIPE_SCTP_MAX_SIZE if sctp_send_buffer_size is None else sctp_send_buffer_size,
        )
        transport = await PipeTransport.create_pipe(
            self,
            ip,
            port,
            enable_srtp=bool(enable_srtp),
            sctp=sctp,
            app_data=app_data or {},
        )
        self._registry.transports.add(transport)
        self.observer.emit("newtransport", transport)
        return transport

    async def create_audio_level_observer(
        self,
        *,
        max_entries: int = 1,
        threshold: int = -80,
        interval: int = 1000,
        app_data: dict[str, Any] | None = None,
    ) -> AudioLevelObserver:
        """Reports the ``max_entries`` loudest of its audio producers at or above
        ``threshold`` dBov every ``interval`` ms (``volumes``), or ``silence``."""
        from mediasoup_py.rtp_observer import AudioLevelObserver

        self._check_open()
        observer = await AudioLevelObserver.create(
            self,
            max_entries=max_entries,
            threshold=threshold,
            interval=interval,
            app_data=app_data or {},
        )
        self._add_rtp_observer(observer)
        return observer

    async def create_active_speaker_observer(
        self, *, interval: int = 300, app_data: dict[str, Any] | None = None
    ) -> ActiveSpeakerObserver:
        """Reports the dominant speaker among its audio producers (``dominantspeaker``),
        deciding every ``interval`` ms."""
        from mediasoup_py.rtp_observer import ActiveSpeakerObserver

        self._check_open()
        observer = await ActiveSpeakerObserver.create(
            self, interval=interval, app_data=app_data or {}
        )
        self._add_rtp_observer(observer)
        return observer

    def _add_rtp_observer(self, observer: RtpObserver) -> None:
        self._registry.rtp_observers.add(observer)
        self._worker._subscribe(observer.id, observer._on_worker_event)
        self.observer.emit("newrtpobserver", observer)

    def _forget_rtp_observer(self, observer_id: str) -> None:
        self._registry.rtp_observers.forget(observer_id)
        self._worker._unsubscribe(observer_id)

    async def dump(self) -> dict[str, Any]:
        """The router's state as its worker has it (mediasoup's ``dump()``): its transports,
        RTP observers, and which consumers each producer feeds."""
        self._check_open()
        native = self._worker._native
        data = await self._worker._request(
            lambda request_id: native.dump_router(request_id, self._id)
        )
        producers = data["producers"]
        return {
            "id": self._id,
            "transportIds": sorted(data["transportIds"]),
            "rtpObserverIds": sorted(data["rtpObserverIds"]),
            "mapProducerIdConsumerIds": [
                {"key": entry["producerId"], "values": sorted(entry["consumerIds"])}
                for entry in sorted(producers, key=lambda entry: entry["producerId"])
            ],
            "mapConsumerIdProducerId": sorted(
                (
                    {"key": consumer_id, "value": entry["producerId"]}
                    for entry in producers
                    for consumer_id in entry["consumerIds"]
                ),
                key=lambda pair: pair["key"],
            ),
        }

    def close(self) -> None:
        """Closes the router, its transports and its RTP observers."""
        if self._closed:
            return
        self._closed = True
        # The worker closes everything on the router with it.
        self._close_contents()
        native = self._worker._native
        self._worker._send_unawaited(lambda request_id: native.close_router(request_id, self._id))
        self._worker._forget_router(self._id)
        self.observer.emit("close")

    def _check_open(self) -> None:
        super()._check_open()
        self._worker._check_open()

    def _pipe_pair(self, router_id: str) -> tuple[PipeTransport, PipeTransport] | None:
        """The PipeTransports (here, there) linking it to another router, if made."""
        return self._pipe_transports.get(router_id)

    def _keep_pipe_pair(self, router_id: str, pair: tuple[PipeTransport, PipeTransport]) -> None:
        self._pipe_transports[router_id] = pair

    def _drop_pipe_pair(self, router_id: str, pair: tuple[PipeTransport, PipeTransport]) -> None:
        """Forgets ``pair`` (closed) unless another pair has replaced it."""
        if self._pipe_transports.get(router_id) == pair:
            del self._pipe_transports[router_id]

    def _forget_transport(self, transport_id: str) -> None:
        self._registry.transports.forget(transport_id)

    def _close_contents(self) -> None:
        """Its transports and RTP observers hear that it closed (the worker closed them
        with it)."""
        for transport in self._registry.transports.all():
            transport._on_router_closed(notify_worker=False)
        for rtp_observer in self._registry.rtp_observers.all():
            rtp_observer._on_router_closed(notify_worker=False)

    def _on_worker_closed(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._close_contents()
        self.emit("workerclose")
        self.observer.emit("close")
