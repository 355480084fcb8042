"""The cascade planner, pure: which pipes a node opens and closes as consumers come and
go, checked against its invariants over random histories (hypothesis)."""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from mediasoup_py.cluster.cascade import REMOTE, CascadePlanner, Hop

ROUTERS = ["r1", "r2", "r3"]


def test_a_local_producer_is_piped_once_per_router_and_unpiped_after_its_last_consumer() -> None:
    planner = CascadePlanner("a")
    planner.add_producer("p", "a", "r1")
    assert planner.acquire("p", "r1") == []
    assert planner.acquire("p", "r2") == [Hop("p", "a", "r1", "r2")]
    assert planner.acquire("p", "r2") == []
    assert planner.copies("p") == {"r1": 1, "r2": 2}
    assert planner.release("p", "r2") == []
    assert planner.release("p", "r2") == [Hop("p", "a", "r1", "r2")]
    assert planner.hops() == []


def test_a_remote_producer_crosses_once_then_fans_out_from_its_landing_router() -> None:
    planner = CascadePlanner("b")
    planner.add_producer("p", "a", REMOTE)
    crossing = Hop("p", "a", REMOTE, "r2")
    assert planner.acquire("p", "r2") == [crossing]
    assert planner.acquire("p", "r1") == [Hop("p", "b", "r2", "r1")]
    # The landing router's last consumer goes; it still feeds r1, so it stays.
    assert planner.release("p", "r2") == []
    assert planner.release("p", "r1") == [Hop("p", "b", "r2", "r1"), crossing]
    assert planner.hops() == []
    # Another consumer later: it crosses again, landing where that consumer is.
    assert planner.acquire("p", "r3") == [Hop("p", "a", REMOTE, "r3")]


def test_a_dead_router_takes_its_producers_and_the_copies_it_fed() -> None:
    planner = CascadePlanner("b")
    planner.add_producer("local", "b", "r1")
    planner.add_producer("remote", "a", REMOTE)
    planner.acquire("local", "r2")
    planner.acquire("remote", "r1")
    planner.acquire("remote", "r2")
    gone, closed = planner.remove_router("r1")
    assert gone == ["local"]
    assert set(closed) == {
        Hop("local", "b", "r1", "r2"),
        Hop("remote", "a", REMOTE, "r1"),
        Hop("remote", "b", "r1", "r2"),
    }
    assert planner.hops() == []
    assert planner.remove_node("a") == ["remote"]


class CascadeHistory(RuleBasedStateMachine):
    """Random consumers coming and going on three routers of node ``b``, for producers on
    its routers and on other nodes."""

    def __init__(self) -> None:
        super().__init__()
        self.planner = CascadePlanner("b")
        self.producers: list[str] = []
        self.made = 0
        self.consumers: list[tuple[str, str]] = []
        self.open: set[Hop] = set()

    @rule(origin=st.sampled_from(["b:r1", "b:r2", "a", "c"]))
    def add_producer(self, origin: str) -> None:
        producer_id = f"p{self.made}"
        self.made += 1
        node, _, router = origin.partition(":")
        self.planner.add_producer(producer_id, node, router or REMOTE)
        self.producers.append(producer_id)

    @precondition(lambda self: self.producers)
    @rule(data=st.data(), router=st.sampled_from(ROUTERS))
    def consume(self, data: st.DataObject, router: str) -> None:
        producer_id = data.draw(st.sampled_from(self.producers))
        opened = self.planner.acquire(producer_id, router)
        for hop in opened:
            # Opened once, and only from a copy that exists.
            assert hop not in self.open
            assert hop.crosses_nodes or hop.source in self.planner.copies(producer_id)
        self.open.update(opened)
        self.consumers.append((producer_id, router))

    @precondition(lambda self: self.consumers)
    @rule(data=st.data())
    def consumer_goes(self, data: st.DataObject) -> None:
        consumer = data.draw(st.sampled_from(self.consumers))
        self.consumers.remove(consumer)
        closed = self.planner.release(*consumer)
        for hop in closed:
            assert hop in self.open
            self.open.discard(hop)

    @precondition(lambda self: self.producers)
    @rule(data=st.data())
    def producer_closes(self, data: st.DataObject) -> None:
        producer_id = data.draw(st.sampled_from(self.producers))
        self.producers.remove(producer_id)
        closed = self.planner.remove_producer(producer_id)
        assert set(closed) == {hop for hop in self.open if hop.producer_id == producer_id}
        self.open -= set(closed)
        self.consumers = [c for c in self.consumers if c[0] != producer_id]

    @invariant()
    def pipes_are_exactly_what_consumers_need(self) -> None:
        assert set(self.planner.hops()) == self.open
        for producer_id in self.producers:
            crossing = [h for h in self.open if h.producer_id == producer_id and h.crosses_nodes]
            assert len(crossing) <= 1
            copies = self.planner.copies(producer_id)
            for router, count in copies.items():
                assert count == self.consumers.count((producer_id, router))
            # No copy without a consumer on it or downstream of it.
            used = {router for p, router in self.consumers if p == producer_id}
            feeding = {h.source for h in self.open if h.producer_id == producer_id}
            origin_local = self.planner.origin_node(producer_id) == "b"
            for router in copies:
                assert router in used or router in feeding or origin_local


CascadeHistory.TestCase.settings = settings(max_examples=50, stateful_step_count=30, deadline=None)
test_cascade_history = CascadeHistory.TestCase
