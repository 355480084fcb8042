"""The cascade planner: which copies of each producer one node needs, and which pipes feed
them. Pure bookkeeping, no I/O: the room asks it what to open when a consumer needs a
producer on a router, and what to close when a consumer goes.

A producer has an origin: a router of this node, or a node elsewhere. A consumer on router
R of this node needs a copy of the producer on R:

- origin on R: nothing to pipe;
- origin on another router of this node: one pipe, origin -> R (``pipe_to_router``);
- origin on another node: the producer comes over the network once per node, to this
  node's landing router for it (the router of its first consumer here), and from there
  to R inside the process.

Each copy counts the consumers on it and the copies it feeds; a copy nothing uses any more
is closed, then the pipe that fed it, and so on upstream. So a producer reaches a node
once and a router once, whatever the number of consumers, and nothing stays after the last.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["REMOTE", "CascadePlanner", "Hop"]

# The router of a remote origin: the planner does not know (or need) which router of the
# other node holds it.
REMOTE = ""


@dataclass(frozen=True)
class Hop:
    """A pipe of one producer: from ``source`` (a router here, or ``REMOTE`` with
    ``source_node`` another node) to ``destination`` (a router here)."""

    producer_id: str
    source_node: str
    source: str
    destination: str

    @property
    def crosses_nodes(self) -> bool:
        """Whether the pipe comes from another node."""
        return self.source == REMOTE


@dataclass
class _Copy:
    consumers: int = 0
    feeds: set[str] = field(default_factory=set)
    fed_by: Hop | None = None


@dataclass
class _Producer:
    origin_node: str
    origin_router: str
    copies: dict[str, _Copy] = field(default_factory=dict)
    landing: str | None = None


class CascadePlanner:
    """The copies of producers on this node's routers."""

    def __init__(self, node_id: str) -> None:
        self.node_id = node_id
        self._producers: dict[str, _Producer] = {}

    def add_producer(self, producer_id: str, origin_node: str, origin_router: str) -> None:
        """A producer this node may consume: on ``origin_router`` here, or on
        ``origin_node`` elsewhere (``origin_router`` is then ``REMOTE``)."""
        if producer_id in self._producers:
            return
        local = origin_node == self.node_id
        if local == (origin_router == REMOTE):
            raise ValueError("a local producer names its router; a remote one does not")
        producer = _Producer(origin_node, origin_router)
        if local:
            producer.copies[origin_router] = _Copy()
        self._producers[producer_id] = producer

    def has_producer(self, producer_id: str) -> bool:
        return producer_id in self._producers

    def origin_node(self, producer_id: str) -> str | None:
        producer = self._producers.get(producer_id)
        return producer.origin_node if producer else None

    def copies(self, producer_id: str) -> dict[str, int]:
        """The routers holding a copy of the producer and the consumers on each."""
        producer = self._producers.get(producer_id)
        if producer is None:
            return {}
        return {router: copy.consumers for router, copy in producer.copies.items()}

    def hops(self) -> list[Hop]:
        """Every pipe that exists."""
        return [
            copy.fed_by
            for producer in self._producers.values()
            for copy in producer.copies.values()
            if copy.fed_by is not None
        ]

    def acquire(self, producer_id: str, router: str) -> list[Hop]:
        """A consumer of the producer on ``router``: the pipes to open first, upstream
        first (empty when the copy is there already)."""
        producer = self._producers[producer_id]
        opened: list[Hop] = []
        self._ensure(producer_id, producer, router, opened)
        producer.copies[router].consumers += 1
        return opened

    def _ensure(
        self, producer_id: str, producer: _Producer, router: str, opened: list[Hop]
    ) -> None:
        if router in producer.copies:
            return
        if producer.origin_router != REMOTE:
            source = producer.origin_router
        elif producer.landing is None:
            producer.landing = router
            hop = Hop(producer_id, producer.origin_node, REMOTE, router)
            producer.copies[router] = _Copy(fed_by=hop)
            opened.append(hop)
            return
        else:
            source = producer.landing
            self._ensure(producer_id, producer, source, opened)
        hop = Hop(producer_id, self.node_id, source, router)
        producer.copies[source].feeds.add(router)
        producer.copies[router] = _Copy(fed_by=hop)
        opened.append(hop)

    def release(self, producer_id: str, router: str) -> list[Hop]:
        """A consumer on ``router`` went: the pipes to close, downstream first."""
        producer = self._producers.get(producer_id)
        if producer is None or router not in producer.copies:
            return []
        copy = producer.copies[router]
        copy.consumers = max(0, copy.consumers - 1)
        closed: list[Hop] = []
        self._collect(producer, router, closed)
        return closed

    def _collect(self, producer: _Producer, router: str, closed: list[Hop]) -> None:
        copy = producer.copies.get(router)
        if copy is None or copy.consumers or copy.feeds or copy.fed_by is None:
            return
        hop = copy.fed_by
        del producer.copies[router]
        closed.append(hop)
        if hop.crosses_nodes:
            producer.landing = None
            return
        producer.copies[hop.source].feeds.discard(router)
        self._collect(producer, hop.source, closed)

    def remove_producer(self, producer_id: str) -> list[Hop]:
        """The producer closed: every pipe of it, to close (its copies go with them)."""
        producer = self._producers.pop(producer_id, None)
        if producer is None:
            return []
        return [copy.fed_by for copy in producer.copies.values() if copy.fed_by is not None]

    def remove_router(self, router: str) -> tuple[list[str], list[Hop]]:
        """A router here closed (its worker died): the producers that originated on it
        (gone) and the pipes that lost their source or destination (to close; the copies
        they fed went with them)."""
        gone = [pid for pid, p in self._producers.items() if p.origin_router == router]
        closed: list[Hop] = []
        for producer_id in gone:
            closed.extend(self.remove_producer(producer_id))
        for producer_id, producer in self._producers.items():
            if router not in producer.copies:
                continue
            lost = self._downstream(producer, router)
            for lost_router in lost:
                hop = producer.copies.pop(lost_router).fed_by
                if hop is not None:
                    closed.append(hop)
            if producer.landing in lost:
                producer.landing = None
            for copy in producer.copies.values():
                copy.feeds -= set(lost)
            upstream = [hop for hop in closed if hop.producer_id == producer_id]
            for hop in upstream:
                if not hop.crosses_nodes and hop.source in producer.copies:
                    self._collect(producer, hop.source, closed)
        return gone, closed

    def _downstream(self, producer: _Producer, router: str) -> list[str]:
        """``router`` and every router fed from it, directly or not."""
        found = [router]
        for current in found:
            found.extend(sorted(producer.copies[current].feeds))
        return found

    def remove_node(self, node_id: str) -> list[str]:
        """Another node went: the producers that originated there (to forget with
        :meth:`remove_producer`)."""
        return [pid for pid, p in self._producers.items() if p.origin_node == node_id]
