"""RTP observers: a router's view of who is speaking, from the audio level (RFC 6464
ssrc-audio-level) that senders put in every audio packet. The worker does the listening;
these are handles that turn its reports into events with Producer objects.

- ``AudioLevelObserver``: every ``interval`` ms, the loudest producers (``volumes``) or
  ``silence``.
- ``ActiveSpeakerObserver``: the dominant speaker (``dominantspeaker``), by the dominant
  speaker identification that mediasoup and Jitsi use.
"""

from __future__ import annotations

import abc
import uuid
from typing import TYPE_CHECKING, Any, Literal, TypedDict

from mediasoup_py import _core, errors
from mediasoup_py.handle import Handle

if TYPE_CHECKING:
    from collections.abc import Callable

    from mediasoup_py.producer import Producer
    from mediasoup_py.router import Router

__all__ = [
    "ActiveSpeakerObserver",
    "AudioLevelObserver",
    "AudioLevelObserverVolume",
    "RtpObserver",
]


class AudioLevelObserverVolume(TypedDict):
    """One entry of ``volumes``: a producer and its average volume in dBov (-127..0)."""

    producer: Producer
    volume: int


class RtpObserver(Handle, abc.ABC):
    """What both observers share. Events: ``routerclose``. Observer events: ``close``,
    ``pause``, ``resume``, ``addproducer``, ``removeproducer``."""

    _noun = "RTP observer"

    type: Literal["audiolevel", "activespeaker"]

    def __init__(self, router: Router, observer_id: str, app_data: dict[str, Any]) -> None:
        super().__init__(observer_id, app_data)
        self._router = router
        self._paused = False

    @property
    def paused(self) -> bool:
        """Whether it is paused (no events)."""
        return self._paused

    def __repr__(self) -> str:
        return f"<{type(self).__name__} id={self._id} closed={self._closed}>"

    async def _create(self, request: Callable[[int], None]) -> None:
        worker = self._router.worker
        await worker._request(request)

    async def pause(self) -> None:
        """Stops listening and reporting until ``resume()``."""
        await self._set_paused(True)

    async def resume(self) -> None:
        """Listens and reports again."""
        await self._set_paused(False)

    async def _set_paused(self, paused: bool) -> None:
        self._check_open()
        worker = self._router.worker
        native = worker._native
        await worker._request(
            lambda request_id: native.set_rtp_observer_paused(
                request_id, self._router.id, self._id, paused
            )
        )
        if self._paused != paused:
            self._paused = paused
            self.observer.emit("pause" if paused else "resume")

    async def add_producer(self, *, producer_id: str) -> None:
        """Starts observing one of the router's audio producers."""
        await self._set_producer(producer_id, True)

    async def remove_producer(self, *, producer_id: str) -> None:
        """Stops observing a producer."""
        await self._set_producer(producer_id, False)

    async def _set_producer(self, producer_id: str, observed: bool) -> None:
        self._check_open()
        if not isinstance(producer_id, str):
            raise errors.MediasoupTypeError("producer_id: must be a string", "producer_id")
        producer = self._router._producer(producer_id)
        if producer is None:
            raise errors.UnknownIdError(
                f"producer_id: no producer with id {producer_id!r} in this router",
                "producer_id",
            )
        if producer.kind != "audio":
            raise errors.MediasoupTypeError(
                "producer_id: RTP observers take audio producers", "producer_id"
            )
        worker = self._router.worker
        native = worker._native
        await worker._request(
            lambda request_id: native.set_rtp_observer_producer(
                request_id, self._router.id, self._id, producer_id, observed
            )
        )
        self.observer.emit("addproducer" if observed else "removeproducer", producer)

    def close(self) -> None:
        """Closes the observer."""
        if self._closed:
            return
        worker = self._router.worker
        native = worker._native
        worker._send_unawaited(
            lambda request_id: native.close_rtp_observer(request_id, self._router.id, self._id)
        )
        self._close()

    def _close(self) -> None:
        self._closed = True
        self._router._forget_rtp_observer(self._id)
        self.observer.emit("close")

    def _on_router_closed(self, *, notify_worker: bool = True) -> None:
        if self._closed:
            return
        if notify_worker:
            native = self._router.worker._native
            self._router.worker._send_unawaited(
                lambda request_id: native.close_rtp_observer(request_id, self._router.id, self._id)
            )
        self._close()
        self.emit("routerclose")

    @abc.abstractmethod
    def _on_worker_event(self, event: _core.RtpObserverEvent) -> None:
        """Turns a worker report into this observer's event."""


def _int_option(value: object, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise errors.MediasoupTypeError(f"{field}: must be an integer in {low}..{high}", field)
    return value


class AudioLevelObserver(RtpObserver):
    """mediasoup's AudioLevelObserver. Events: ``volumes`` (a list of
    :class:`AudioLevelObserverVolume`, loudest first), ``silence``, ``routerclose``."""

    type: Literal["audiolevel", "activespeaker"] = "audiolevel"

    @classmethod
    async def create(
        cls,
        router: Router,
        *,
        max_entries: int,
        threshold: int,
        interval: int,
        app_data: dict[str, Any],
    ) -> AudioLevelObserver:
        """Use ``Router.create_audio_level_observer``."""
        max_entries = _int_option(max_entries, "max_entries", 1, 10_000)
        threshold = _int_option(threshold, "threshold", -127, 0)
        interval = _int_option(interval, "interval", 250, 600_000)
        observer = cls(router, str(uuid.uuid4()), app_data)
        native = router.worker._native
        await observer._create(
            lambda request_id: native.create_audio_level_observer(
                request_id, router.id, observer.id, max_entries, threshold, interval
            )
        )
        return observer

    def _on_worker_event(self, event: _core.RtpObserverEvent) -> None:
        if event["event"] == "silence":
            self.emit("silence")
            self.observer.emit("silence")
            return
        if event["event"] != "volumes":
            return
        volumes: list[AudioLevelObserverVolume] = []
        for entry in event["data"]:
            producer = self._router._producer(entry["producerId"])
            if producer is not None:
                volumes.append({"producer": producer, "volume": entry["volume"]})
        if volumes:
            self.emit("volumes", volumes)
            self.observer.emit("volumes", volumes)


class ActiveSpeakerObserver(RtpObserver):
    """mediasoup's ActiveSpeakerObserver. Events: ``dominantspeaker``
    (``{"producer": Producer}``), ``routerclose``."""

    type: Literal["audiolevel", "activespeaker"] = "activespeaker"

    @classmethod
    async def create(
        cls, router: Router, *, interval: int, app_data: dict[str, Any]
    ) -> ActiveSpeakerObserver:
        """Use ``Router.create_active_speaker_observer``."""
        interval = _int_option(interval, "interval", 100, 600_000)
        observer = cls(router, str(uuid.uuid4()), app_data)
        native = router.worker._native
        await observer._create(
            lambda request_id: native.create_active_speaker_observer(
                request_id, router.id, observer.id, interval
            )
        )
        return observer

    def _on_worker_event(self, event: _core.RtpObserverEvent) -> None:
        if event["event"] != "dominantspeaker":
            return
        producer = self._router._producer(event["data"]["producerId"])
        if producer is not None:
            self.emit("dominantspeaker", {"producer": producer})
            self.observer.emit("dominantspeaker", {"producer": producer})
