"""The router's registry: every object alive on a router, one table per kind.

A router's transports, producers, consumers, data producers, data consumers and RTP
observers are each written in exactly one table, here. Everything else finds them through
it: a transport's own producers are the registry's producers on that transport, a router's
lookups by id are the registry's, and a transport's close cascades over what the registry
holds for it. (The worker keeps no tables of these: it hands each event to the handler the
object subscribed with, see ``Worker._subscribe``.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

if TYPE_CHECKING:
    from mediasoup_py.consumer import Consumer
    from mediasoup_py.data_consumer import DataConsumer
    from mediasoup_py.data_producer import DataProducer
    from mediasoup_py.producer import Producer
    from mediasoup_py.rtp_observer import RtpObserver
    from mediasoup_py.transport import Transport

__all__ = ["Registry", "RouterRegistry"]


class _Identified(Protocol):
    @property
    def id(self) -> str: ...


Entry = TypeVar("Entry", bound=_Identified)


class Registry(Generic[Entry]):
    """The live objects of one kind, by id, in creation order."""

    def __init__(self) -> None:
        self._by_id: dict[str, Entry] = {}

    def add(self, entry: Entry) -> None:
        self._by_id[entry.id] = entry

    def forget(self, entry_id: str) -> Entry | None:
        return self._by_id.pop(entry_id, None)

    def get(self, entry_id: object) -> Entry | None:
        return self._by_id.get(entry_id) if isinstance(entry_id, str) else None

    def all(self) -> list[Entry]:
        """A snapshot (callers close what they iterate)."""
        return list(self._by_id.values())

    def ids(self) -> list[str]:
        return list(self._by_id)

    def __len__(self) -> int:
        return len(self._by_id)


class RouterRegistry:
    """One router's tables."""

    def __init__(self) -> None:
        self.transports: Registry[Transport] = Registry()
        self.producers: Registry[Producer] = Registry()
        self.consumers: Registry[Consumer] = Registry()
        self.data_producers: Registry[DataProducer] = Registry()
        self.data_consumers: Registry[DataConsumer] = Registry()
        self.rtp_observers: Registry[RtpObserver] = Registry()

    def producers_on(self, transport: Transport) -> list[Producer]:
        return [entry for entry in self.producers.all() if entry.transport is transport]

    def consumers_on(self, transport: Transport) -> list[Consumer]:
        return [entry for entry in self.consumers.all() if entry.transport is transport]

    def consumers_of(self, producer: Producer) -> list[Consumer]:
        return [entry for entry in self.consumers.all() if entry.producer_id == producer.id]

    def data_producers_on(self, transport: Transport) -> list[DataProducer]:
        return [entry for entry in self.data_producers.all() if entry.transport is transport]

    def data_consumers_on(self, transport: Transport) -> list[DataConsumer]:
        return [entry for entry in self.data_consumers.all() if entry.transport is transport]

    def data_consumers_of(self, data_producer: DataProducer) -> list[DataConsumer]:
        return [
            entry
            for entry in self.data_consumers.all()
            if entry.data_producer_id == data_producer.id
        ]
