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

__all__ = ["ChildRegistry", "Registry", "RouterRegistry"]


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


class _Child(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def transport(self) -> Transport: ...


Child = TypeVar("Child", bound=_Child)


class ChildRegistry(Registry[Child]):
    """The live objects of one kind made by transports, also indexed by transport (a
    DirectTransport looks its consumers up for every packet it hands to Python)."""

    def __init__(self) -> None:
        super().__init__()
        self._by_transport: dict[str, dict[str, Child]] = {}

    def add(self, entry: Child) -> None:
        super().add(entry)
        self._by_transport.setdefault(entry.transport.id, {})[entry.id] = entry

    def forget(self, entry_id: str) -> Child | None:
        entry = super().forget(entry_id)
        if entry is not None:
            on_transport = self._by_transport.get(entry.transport.id, {})
            on_transport.pop(entry_id, None)
            if not on_transport:
                self._by_transport.pop(entry.transport.id, None)
        return entry

    def on(self, transport: Transport) -> list[Child]:
        """Those made by ``transport``, a snapshot."""
        return list(self._by_transport.get(transport.id, {}).values())


class RouterRegistry:
    """One router's tables."""

    def __init__(self) -> None:
        self.transports: Registry[Transport] = Registry()
        self.producers: ChildRegistry[Producer] = ChildRegistry()
        self.consumers: ChildRegistry[Consumer] = ChildRegistry()
        self.data_producers: ChildRegistry[DataProducer] = ChildRegistry()
        self.data_consumers: ChildRegistry[DataConsumer] = ChildRegistry()
        self.rtp_observers: Registry[RtpObserver] = Registry()

    def producers_on(self, transport: Transport) -> list[Producer]:
        return self.producers.on(transport)

    def consumers_on(self, transport: Transport) -> list[Consumer]:
        return self.consumers.on(transport)

    def consumers_of(self, producer: Producer) -> list[Consumer]:
        return [entry for entry in self.consumers.all() if entry.producer_id == producer.id]

    def data_producers_on(self, transport: Transport) -> list[DataProducer]:
        return self.data_producers.on(transport)

    def data_consumers_on(self, transport: Transport) -> list[DataConsumer]:
        return self.data_consumers.on(transport)

    def data_consumers_of(self, data_producer: DataProducer) -> list[DataConsumer]:
        return [
            entry
            for entry in self.data_consumers.all()
            if entry.data_producer_id == data_producer.id
        ]
